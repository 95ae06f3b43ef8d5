/* fuzz_json_diff: differential libFuzzer target, hand-written JSON parser vs jansson.
 * Either may refuse what the other accepts (jansson: integers beyond int64, "\u0000"
 * in keys, nesting over 2048), but when both accept, the canonical dumps must be
 * identical, except for the two documented differences: duplicate keys (jansson
 * keeps the last) and the integer literal -0 (jansson reads it as the integer 0). */
#include "parsers/json/json.h"
#include "parsers/json/json_impl.h"

#include "tests/fuzz/fuzz_dump.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int explained(const uint8_t *data, size_t size)
{
    json_error_t e;
    json_t *j = json_loadb((const char *)data, size,
                           JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &e);
    if (!j) return 1; /* duplicate keys */
    json_decref(j);
    struct json_doc d = JSON_DOC_INIT;
    struct json_error err;
    int neg_zero = 0;
    if (json_parse(&d, (const char *)data, size, NULL, &err) == 0)
        for (size_t i = 0; i < d.n; i++)
            if (d.nodes[i].type == JSON_T_NUMBER && d.nodes[i].len == 2 &&
                !memcmp(d.nodes[i].s, "-0", 2))
                neg_zero = 1;
    json_doc_free(&d);
    return neg_zero;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *a = NULL, *b = NULL;
    size_t la = 0, lb = 0;
    int ra = fuzz_dump(&json_hand_impl, data, size, &a, &la);
    int rb = fuzz_dump(&json_jansson_impl, data, size, &b, &lb);
    if (ra == 0 && rb == 0 && (la != lb || memcmp(a, b, la)) && !explained(data, size)) {
        fprintf(stderr, "hand:    %.*s\njansson: %.*s\n", (int)la, a, (int)lb, b);
        abort();
    }
    free(a);
    free(b);
    return 0;
}
