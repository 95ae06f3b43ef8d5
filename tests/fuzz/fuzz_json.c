/* fuzz_json: libFuzzer target for the hand-written JSON parser (parsers/json/json.h).
 * Any input: no crash, no over-read (the input is libFuzzer's exact-size buffer),
 * and an accepted input's canonical dump must itself parse and dump identically. */
#include "parsers/json/json.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *dump_of(const struct json_doc *d, size_t *len)
{
    char *out = NULL;
    FILE *f = open_memstream(&out, len);
    if (!f) abort();
    json_dump(d, f);
    fclose(f);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct json_doc d = JSON_DOC_INIT, d2 = JSON_DOC_INIT;
    struct json_error e;
    if (json_parse(&d, (const char *)data, size, NULL, &e) == 0) {
        size_t l1, l2;
        char *a = dump_of(&d, &l1);
        if (json_parse(&d2, a, l1, NULL, &e) != 0) abort(); /* our own output must parse */
        char *b = dump_of(&d2, &l2);
        if (l1 != l2 || memcmp(a, b, l1)) abort(); /* and be a fixed point */
        free(a);
        free(b);
    } else if (e.offset > size) {
        abort();
    }
    json_doc_free(&d);
    json_doc_free(&d2);
    return 0;
}
