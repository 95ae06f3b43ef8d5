/* http_impl: the hand-written HTTP/1.1 parser behind parsers/parser.h
 * (format "http", name "hand"); the canonical dump is specified in http1.h. */
#include <stdlib.h>
#include <string.h>

#include "parsers/http/http1.h"
#include "parsers/http/http_impl.h"

static void dump_span(FILE *f, const uint8_t *buf, struct http1_span s, int lowercase)
{
    for (uint32_t i = 0; i < s.len; i++) {
        int c = buf[s.off + i];
        fputc(lowercase && c >= 'A' && c <= 'Z' ? c + 32 : c, f);
    }
}

static void dump_request(FILE *f, const uint8_t *buf, const struct http1_request *r)
{
    fputs("method ", f);
    dump_span(f, buf, r->method, 0);
    fputs("\ntarget ", f);
    dump_span(f, buf, r->target, 0);
    fprintf(f, "\nversion 1.%d\n", r->minor);
    for (size_t i = 0; i < r->nheaders + r->ntrailers; i++) {
        fputs(i < r->nheaders ? "header " : "trailer ", f);
        dump_span(f, buf, r->headers[i].name, 1);
        fputs(": ", f);
        dump_span(f, buf, r->headers[i].value, 0);
        fputc('\n', f);
    }
    fprintf(f, "body %u\n", (unsigned)r->body.len);
}

static int hand_parse(const uint8_t *in, size_t len, const struct parse_opts *opts,
                      struct parse_result *res, FILE *dump)
{
    const struct http1_limits lim = HTTP1_LIMITS_DEFAULT;
    struct http1_header headers[64];
    struct http1_parser p;
    int rc = 1;
    /* field by field: a memset of the whole struct (its err[] included) was ~40
     * instructions per call, a tenth of parsing a minimal request */
    res->items = 0;
    res->has_offset = 0;
    res->err_offset = res->err_line = res->err_col = 0;
    res->err[0] = '\0';
    /* Parsed where it lies, never written (http1_keep_chunks): a copy to decode chunked
     * bodies in place cost a fifth of a minimal request, the copy's stores stalling the
     * vector loads that read them back.  The dump needs the body's length only. */
    uint8_t *buf = (uint8_t *)(uintptr_t)in;
    res->depth = 1;
    http1_init(&p, &lim, headers);
    http1_keep_chunks(&p);
    size_t off = 0;
    if (len == 0) {
        snprintf(res->err, sizeof res->err, "empty input");
        res->has_offset = 1;
        goto out;
    }
    while (off < len) {
        ssize_t n = http1_parse(&p, buf + off, len - off);
        if (n == HTTP1_NEED_MORE && off > 0 && http1_between(&p))
            break; /* only empty lines after the last request (RFC 9112 2.2) */
        if (n == HTTP1_NEED_MORE) {
            snprintf(res->err, sizeof res->err, "incomplete request");
            res->has_offset = 1;
            res->err_offset = len;
            goto out;
        }
        if (n == HTTP1_ERROR) {
            snprintf(res->err, sizeof res->err, "%s (status %d)", p.err_msg, p.err_status);
            res->has_offset = 1;
            res->err_offset = off + p.err_offset;
            goto out;
        }
        if (dump) {
            if (off > 0) fputc('\n', dump);
            dump_request(dump, buf + off, &p.req);
        }
        res->items += p.req.nheaders + p.req.ntrailers;
        off += (size_t)n;
        if (off < len) http1_reset(&p); /* another pipelined request follows */
    }
    rc = 0;
out:
    return rc;
}

const struct parser_impl http1_hand_impl = {"http", "hand", hand_parse};
