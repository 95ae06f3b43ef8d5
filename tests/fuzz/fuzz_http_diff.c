/* fuzz_http_diff: differential libFuzzer target, hand-written HTTP parser vs llhttp.
 * Either may refuse what the other accepts (the notes list where and why), but when
 * both accept, their canonical dumps (http1.h) must be byte-identical. */
#include "parsers/http/http_impl.h"

#include "tests/fuzz/fuzz_dump.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *a = NULL, *b = NULL;
    size_t la = 0, lb = 0;
    int ra = fuzz_dump(&http1_hand_impl, data, size, &a, &la);
    int rb = fuzz_dump(&http_llhttp_impl, data, size, &b, &lb);
    if (ra == 0 && rb == 0 && (la != lb || memcmp(a, b, la))) {
        fprintf(stderr, "hand:\n%.*s\nllhttp:\n%.*s\n", (int)la, a, (int)lb, b);
        abort();
    }
    free(a);
    free(b);
    return 0;
}
