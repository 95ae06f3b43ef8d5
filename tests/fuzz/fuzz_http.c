/* fuzz_http: libFuzzer target for the hand-written HTTP/1.1 parser (parsers/http/http1.h).
 * The whole input at once and the same bytes fed in two pieces (split at a point
 * taken from the first byte) must give the same verdict and the same request. */
#include "parsers/http/http1.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ssize_t run(const uint8_t *data, size_t size, size_t split, struct http1_request *out,
                   uint8_t **keep)
{
    const struct http1_limits lim = HTTP1_LIMITS_DEFAULT;
    static struct http1_header h[64];
    struct http1_parser p;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) abort();
    http1_init(&p, &lim, h);
    ssize_t n = HTTP1_NEED_MORE;
    if (split && split < size) {
        memcpy(buf, data, split);
        n = http1_parse(&p, buf, split);
    }
    if (n == HTTP1_NEED_MORE) {
        /* only the new bytes: the parser may have rewritten what it passed (chunked) */
        size_t have = split && split < size ? split : 0;
        memcpy(buf + have, data + have, size - have);
        n = http1_parse(&p, buf, size);
    }
    *out = p.req;
    *keep = buf;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http1_request r1, r2;
    uint8_t *b1, *b2;
    size_t split = size ? data[0] % (size + 1) : 0;
    ssize_t n1 = run(data, size, 0, &r1, &b1);
    ssize_t n2 = run(data, size, split, &r2, &b2);
    if (n1 != n2 && !(n1 > 0 && n2 > 0 && n1 == n2)) abort();
    if (n1 > 0) {
        if (r1.nheaders != r2.nheaders || r1.body.len != r2.body.len ||
            r1.method.len != r2.method.len || r1.target.len != r2.target.len)
            abort();
        if (memcmp(b1 + r1.body.off, b2 + r2.body.off, r1.body.len)) abort();
    }
    free(b1);
    free(b2);
    return 0;
}
