/* http_lib_llhttp: llhttp 8 (the parser of Node.js; C sources from Debian's node-llhttp,
 * compiled by a rule in parsers/http/module.mk) behind parser.h, format "http",
 * name "llhttp".  Requests only, strict mode (no lenient flags). */
#include "parsers/http/http_collect.h"
#include "parsers/http/http_impl.h"

#include <llhttp.h>
#include <stddef.h>
#include <string.h>

static int lh_begin(llhttp_t *p)
{
    http_collect_begin(p->data);
    return 0;
}
static int lh_url(llhttp_t *p, const char *at, size_t len)
{
    return http_collect_url(p->data, at, len);
}
static int lh_field(llhttp_t *p, const char *at, size_t len)
{
    return http_collect_field(p->data, at, len);
}
static int lh_value(llhttp_t *p, const char *at, size_t len)
{
    return http_collect_value(p->data, at, len);
}
static int lh_body(llhttp_t *p, const char *at, size_t len)
{
    ((struct http_collect *)p->data)->body += len;
    return 0;
}
static int lh_headers_complete(llhttp_t *p)
{
    const char *m = llhttp_method_name((llhttp_method_t)p->method);
    http_collect_head_done(p->data, m, strlen(m), p->http_major, p->http_minor);
    return 0;
}
static int lh_complete(llhttp_t *p)
{
    http_collect_complete(p->data);
    return 0;
}

static int lh_parse(const uint8_t *buf, size_t len, const struct parse_opts *opts,
                    struct parse_result *r, FILE *dump)
{
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = lh_begin;
    s.on_url = lh_url;
    s.on_header_field = lh_field;
    s.on_header_value = lh_value;
    s.on_headers_complete = lh_headers_complete;
    s.on_body = lh_body;
    s.on_message_complete = lh_complete;
    /* On the stack and not zeroed: the span arrays are filled as fields arrive. */
    struct http_collect qs, *q = &qs;
    memset(q, 0, offsetof(struct http_collect, target));
    q->base = buf;
    q->dump = dump;
    /* One parser for the whole input: llhttp itself keeps pipelined requests apart and
     * refuses data after a request that closed the connection. */
    llhttp_t p;
    llhttp_init(&p, HTTP_REQUEST, &s);
    p.data = q;
    llhttp_errno_t e = len ? llhttp_execute(&p, (const char *)buf, len) : HPE_OK;
    /* After an upgrade (or CONNECT) request the bytes are another protocol's: fine when
     * there are none. */
    if (e == HPE_PAUSED_UPGRADE && !q->in_message &&
        (const uint8_t *)llhttp_get_error_pos(&p) == buf + len)
        e = HPE_OK;
    int rc = 0;
    r->has_offset = 1;
    r->depth = 1;
    if (e != HPE_OK) {
        const char *pos = llhttp_get_error_pos(&p);
        r->err_offset = pos ? (size_t)((const uint8_t *)pos - buf) : 0;
        snprintf(r->err, sizeof r->err, "llhttp: %s",
                 q->too_many               ? "too many header fields"
                 : e == HPE_PAUSED_UPGRADE ? "upgrade / CONNECT: data after the head is not HTTP"
                                           : llhttp_get_error_reason(&p));
        rc = 1;
    } else if (q->in_message || !q->nreq) {
        r->err_offset = len;
        snprintf(r->err, sizeof r->err, "llhttp: %s", len ? "incomplete request" : "empty input");
        rc = 1;
    }
    r->items = q->items;
    return rc;
}

const struct parser_impl http_llhttp_impl = {"http", "llhttp", lh_parse};
