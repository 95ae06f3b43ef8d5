/* fuzz_dump: what the differential fuzz targets share: run one parser_impl on an
 * input with its canonical dump captured in memory. */
#ifndef WIRELAB_TESTS_FUZZ_DUMP_H
#define WIRELAB_TESTS_FUZZ_DUMP_H

#include "parsers/parser.h"

#include <stdlib.h>
#include <string.h>

/* impl->parse() with the dump in a malloc'd *out (*len bytes); returns its code. */
static inline int fuzz_dump(const struct parser_impl *p, const uint8_t *data, size_t size,
                            char **out, size_t *len)
{
    struct parse_result r;
    memset(&r, 0, sizeof r);
    FILE *f = open_memstream(out, len);
    if (!f) abort();
    int rc = p->parse(data, size, NULL, &r, f);
    fclose(f);
    return rc;
}

#endif
