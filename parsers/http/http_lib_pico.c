/* http_lib_pico: picohttpparser (the HTTP/1 parser of H2O, as Debian's libh2o ships it)
 * behind parser.h, format "http", name "picohttpparser".
 *
 * picohttpparser parses a head (phr_parse_request: bytes of the head, -1 invalid, -2
 * incomplete), trailer fields (phr_parse_headers) and chunked bodies in place
 * (phr_decode_chunked); framing is left to its caller.  This adapter is that caller, as
 * small as a server's would be: Content-Length (digits only, once) or
 * Transfer-Encoding: chunked (and not both) decide the body; a line folded onto the
 * previous one (which picohttpparser returns as a field without a name) is refused,
 * since the dump has no form for it; empty lines between requests are skipped.  It
 * writes the canonical dump of http1.h through http_collect.
 *
 * Debian ships the library but not picohttpparser.h, so the four entry points are
 * declared here as that header documents them.  The chunked decoder's state is given
 * room for the fields later versions added after _state. */
#include "parsers/http/http_collect.h"
#include "parsers/http/http_impl.h"

#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

struct phr_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};
struct phr_chunked_decoder {
    size_t bytes_left_in_chunk;
    char consume_trailer;
    char hex_count_;
    char state_;
};
int phr_parse_request(const char *buf, size_t len, const char **method, size_t *method_len,
                      const char **path, size_t *path_len, int *minor_version,
                      struct phr_header *headers, size_t *num_headers, size_t last_len);
int phr_parse_headers(const char *buf, size_t len, struct phr_header *headers, size_t *num_headers,
                      size_t last_len);
ssize_t phr_decode_chunked(struct phr_chunked_decoder *decoder, char *buf, size_t *bufsz);

#define PICO_MAX_HEADERS 64 /* the hand parser's default limit */

static int pico_ieq(const char *a, size_t n, const char *lit, size_t litlen)
{
    if (n != litlen) return 0;
    for (size_t i = 0; i < n; i++)
        if ((a[i] | 0x20) != lit[i]) return 0;
    return 1;
}

/* The body framing from the header fields: 0 with *cl (-1 when absent) and *chunked,
 * or -1 with *why. */
static int pico_framing(const struct phr_header *h, size_t n, long long *cl, int *chunked,
                        const char **why)
{
    *cl = -1;
    *chunked = 0;
    for (size_t i = 0; i < n; i++) {
        if (!h[i].name) return *why = "obs-fold (a line folded onto the previous one)", -1;
        if (pico_ieq(h[i].name, h[i].name_len, "content-length", 14)) {
            const char *v = h[i].value;
            size_t k = h[i].value_len;
            if (*cl >= 0 || k == 0 || k > 18) return *why = "invalid Content-Length", -1;
            long long x = 0;
            for (size_t j = 0; j < k; j++) {
                if (v[j] < '0' || v[j] > '9') return *why = "invalid Content-Length", -1;
                x = x * 10 + (v[j] - '0');
            }
            *cl = x;
        } else if (pico_ieq(h[i].name, h[i].name_len, "transfer-encoding", 17)) {
            if (*chunked || !pico_ieq(h[i].value, h[i].value_len, "chunked", 7))
                return *why = "unsupported Transfer-Encoding", -1;
            *chunked = 1;
        }
    }
    if (*cl >= 0 && *chunked) return *why = "both Content-Length and Transfer-Encoding", -1;
    return 0;
}

static void pico_collect(struct http_collect *q, const char *method, size_t mlen, const char *path,
                         size_t plen, int minor, const struct phr_header *h, size_t nh,
                         const struct phr_header *t, size_t nt, size_t body)
{
    http_collect_begin(q);
    http_collect_url(q, path, plen);
    for (size_t i = 0; i < nh; i++) {
        http_collect_field(q, h[i].name, h[i].name_len);
        http_collect_value(q, h[i].value, h[i].value_len);
    }
    http_collect_head_done(q, method, mlen, 1, minor);
    for (size_t i = 0; i < nt; i++) {
        http_collect_field(q, t[i].name, t[i].name_len);
        http_collect_value(q, t[i].value, t[i].value_len);
    }
    q->body = body;
    http_collect_complete(q);
}

static int pico_parse(const uint8_t *in, size_t len, const struct parse_opts *opts,
                      struct parse_result *r, FILE *dump)
{
    const char *buf = (const char *)in, *why = NULL;
    struct phr_header h[PICO_MAX_HEADERS], t[PICO_MAX_HEADERS];
    struct http_collect *q = NULL;
    char *copy = NULL;
    size_t off = 0, nreq = 0;
    int rc = 1;
    r->items = 0;
    r->depth = 1;
    r->has_offset = 1;
    r->err_offset = 0;
    if (dump) { /* the collector is large: only for a dump */
        if (!(q = malloc(sizeof *q))) goto oom;
        memset(q, 0, offsetof(struct http_collect, target));
        q->base = in;
        q->dump = dump;
    }
    while (off < len) {
        while (len - off >= 2 && buf[off] == '\r' && buf[off + 1] == '\n')
            off += 2;
        if (off == len && nreq) break;
        const char *method, *path;
        size_t mlen, plen, nh = PICO_MAX_HEADERS, nt = 0;
        int minor;
        int n = phr_parse_request(buf + off, len - off, &method, &mlen, &path, &plen, &minor, h,
                                  &nh, 0);
        if (n < 0) {
            why = n == -2 ? "incomplete request" : "invalid request head";
            goto invalid;
        }
        long long cl;
        int chunked;
        if (pico_framing(h, nh, &cl, &chunked, &why)) goto invalid;
        size_t at = off + (size_t)n, body = 0;
        if (chunked) { /* decoded in place, so in a copy of the rest of the input */
            if (!copy && !(copy = malloc(len))) goto oom;
            size_t rest = len - at;
            memcpy(copy + at, buf + at, rest);
            struct {
                struct phr_chunked_decoder d;
                char later_fields[64];
            } dec;
            memset(&dec, 0, sizeof dec);
            ssize_t left = phr_decode_chunked(&dec.d, copy + at, &rest);
            if (left < 0) {
                why = left == -2 ? "incomplete chunked body" : "invalid chunked body";
                goto invalid;
            }
            body = rest;
            at = len - (size_t)left; /* the trailer section starts here */
            nt = PICO_MAX_HEADERS;
            int tn = phr_parse_headers(buf + at, len - at, t, &nt, 0);
            if (tn < 0) {
                why = tn == -2 ? "incomplete trailer section" : "invalid trailer section";
                goto invalid;
            }
            for (size_t i = 0; i < nt; i++)
                if (!t[i].name) {
                    why = "obs-fold (a line folded onto the previous one)";
                    goto invalid;
                }
            at += (size_t)tn;
        } else if (cl > 0) {
            if ((unsigned long long)cl > len - at) {
                why = "incomplete body";
                goto invalid;
            }
            body = (size_t)cl;
            at += body;
        }
        if (q) pico_collect(q, method, mlen, path, plen, minor, h, nh, t, nt, body);
        r->items += nh + nt;
        nreq++;
        off = at;
    }
    if (!nreq) {
        why = "empty input";
        goto invalid;
    }
    rc = 0;
    goto out;
invalid:
    r->err_offset = off;
    snprintf(r->err, sizeof r->err, "picohttpparser: %s", why);
    rc = 1;
    goto out;
oom:
    snprintf(r->err, sizeof r->err, "out of memory");
    rc = 2;
out:
    free(copy);
    free(q);
    return rc;
}

const struct parser_impl http_pico_impl = {"http", "picohttpparser", pico_parse};
