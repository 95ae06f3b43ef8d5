/* fuzz_http_diff: differential libFuzzer target, the hand-written HTTP parser against
 * llhttp and picohttpparser.  Either may refuse what the other accepts (the notes list
 * where and why), but when both accept, their canonical dumps (http1.h) must be
 * byte-identical. */
#include "parsers/http/http_impl.h"

#include "tests/fuzz/fuzz_dump.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct parser_impl *const libs[] = {&http_llhttp_impl, &http_pico_impl};
    char *a = NULL;
    size_t la = 0;
    int ra = fuzz_dump(&http1_hand_impl, data, size, &a, &la);
    for (size_t k = 0; k < sizeof libs / sizeof libs[0]; k++) {
        char *b = NULL;
        size_t lb = 0;
        int rb = fuzz_dump(libs[k], data, size, &b, &lb);
        if (ra == 0 && rb == 0 && (la != lb || memcmp(a, b, la))) {
            fprintf(stderr, "hand:\n%.*s\n%s:\n%.*s\n", (int)la, a, libs[k]->name, (int)lb, b);
            abort();
        }
        free(b);
    }
    free(a);
    return 0;
}
