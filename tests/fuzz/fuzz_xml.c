/* fuzz_xml: libFuzzer target for the hand-written XML parser (parsers/xml/xml.h).
 * Any input: no crash, no over-read (libFuzzer's exact-size buffer), no unbounded
 * memory; the result is deterministic (a second parse gives the same answer and dump),
 * an accepted input reports at least one element, a rejected one a message. */
#include "parsers/xml/xml.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int parse_dump(const uint8_t *data, size_t size, struct parse_result *r, char **out,
                      size_t *len)
{
    FILE *f = open_memstream(out, len);
    if (!f) abort();
    int rc = xml_hand_impl.parse(data, size, NULL, r, f);
    fclose(f);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct parse_result r1, r2;
    char *a = NULL, *b = NULL;
    size_t la, lb;
    int rc1 = parse_dump(data, size, &r1, &a, &la);
    int rc2 = xml_hand_impl.parse(data, size, NULL, &r2, NULL);
    if (rc1 != rc2) abort(); /* dumping must not change the verdict */
    if (rc1 == 0 && r1.items == 0) abort();
    if (rc1 == 1 && (r1.err[0] == 0 || !r1.has_offset || r1.err_offset > size)) abort();
    int rc3 = parse_dump(data, size, &r2, &b, &lb);
    if (rc3 != rc1 || la != lb || memcmp(a, b, la) != 0) abort();
    free(a);
    free(b);
    return 0;
}
