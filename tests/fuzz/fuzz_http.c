/* fuzz_http: libFuzzer target for the hand-written HTTP/1.1 parser (parsers/http/http1.h).
 * The whole input at once and the same bytes fed in two pieces (split at a point
 * taken from the first byte) must give the same verdict and the same request: the
 * whole input takes the head fast path when the head is complete, a split one the
 * resumable state machine, so this holds the two to the same rules, spans, error
 * statuses and error offsets. */
#include "parsers/http/http1.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ssize_t run(const uint8_t *data, size_t size, size_t split, struct http1_request *out,
                   uint8_t **keep, int *status, size_t *err_off)
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
    *status = p.err_status;
    *err_off = p.err_offset;
    return n;
}

static int same_span(struct http1_span a, struct http1_span b)
{
    return a.off == b.off && a.len == b.len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http1_request r1, r2;
    uint8_t *b1, *b2;
    int s1, s2;
    size_t e1, e2;
    size_t split = size ? data[0] % (size + 1) : 0;
    ssize_t n1 = run(data, size, 0, &r1, &b1, &s1, &e1);
    /* the spans point into the static header array: keep the first run's */
    static struct http1_header h1[64];
    memcpy(h1, r1.headers, sizeof h1);
    ssize_t n2 = run(data, size, split, &r2, &b2, &s2, &e2);
    if (n1 != n2) abort();
    if (n1 == HTTP1_ERROR && (s1 != s2 || e1 != e2)) abort();
    if (n1 > 0) {
        if (r1.nheaders != r2.nheaders || r1.ntrailers != r2.ntrailers ||
            !same_span(r1.method, r2.method) || !same_span(r1.target, r2.target) ||
            !same_span(r1.origin, r2.origin) || !same_span(r1.body, r2.body) ||
            r1.minor != r2.minor || r1.keep_alive != r2.keep_alive ||
            r1.content_length != r2.content_length || r1.chunked != r2.chunked ||
            r1.upgrade != r2.upgrade || r1.expect_continue != r2.expect_continue ||
            r1.head_len != r2.head_len)
            abort();
        for (size_t i = 0; i < r1.nheaders + r1.ntrailers; i++)
            if (!same_span(h1[i].name, r2.headers[i].name) ||
                !same_span(h1[i].value, r2.headers[i].value))
                abort();
        if (memcmp(b1 + r1.body.off, b2 + r2.body.off, r1.body.len)) abort();
    }
    free(b1);
    free(b2);
    return 0;
}
