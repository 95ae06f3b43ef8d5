/* fuzz_xml_diff: differential libFuzzer target, hand-written XML parser vs expat.
 * When both accept an input their dumps (parsers/xml/xml.h) must be identical; either
 * may reject what the other accepts (expat reads more encodings, hand the 5th-edition
 * name characters).  expat rather than libxml2: it has no known dump quirk on the W3C
 * suite (parsers/xml/xmlconf-known.txt lists libxml2's). */
#include "parsers/xml/xml.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run(const struct parser_impl *p, const uint8_t *d, size_t n, char **out, size_t *len)
{
    FILE *f = open_memstream(out, len);
    if (!f) abort();
    struct parse_result r;
    int rc = p->parse(d, n, NULL, &r, f);
    fclose(f);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *a = NULL, *b = NULL;
    size_t la, lb;
    int ra = run(&xml_hand_impl, data, size, &a, &la);
    int rb = run(&xml_expat_impl, data, size, &b, &lb);
    if (ra == 0 && rb == 0 && (la != lb || memcmp(a, b, la) != 0)) abort();
    free(a);
    free(b);
    return 0;
}
