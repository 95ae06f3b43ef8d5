/* http_lib_httpparser: nodejs http-parser (Debian libhttp-parser 2.9) behind parser.h,
 * format "http", name "http-parser".  Requests only; pipelined requests in one input
 * are dumped in order like the hand parser does (http1.h). */
#include "parsers/http/http_collect.h"
#include "parsers/http/http_impl.h"

#include <http_parser.h>
#include <stddef.h>
#include <string.h>

static int hp_begin(http_parser *p)
{
    http_collect_begin(p->data);
    return 0;
}
static int hp_url(http_parser *p, const char *at, size_t len)
{
    return http_collect_url(p->data, at, len);
}
static int hp_field(http_parser *p, const char *at, size_t len)
{
    return http_collect_field(p->data, at, len);
}
static int hp_value(http_parser *p, const char *at, size_t len)
{
    return http_collect_value(p->data, at, len);
}
static int hp_body(http_parser *p, const char *at, size_t len)
{
    ((struct http_collect *)p->data)->body += len;
    return 0;
}
static int hp_headers_complete(http_parser *p)
{
    const char *m = http_method_str((enum http_method)p->method);
    http_collect_head_done(p->data, m, strlen(m), p->http_major, p->http_minor);
    return 0;
}
static int hp_complete(http_parser *p)
{
    http_collect_complete(p->data);
    return 0;
}

static int hp_parse(const uint8_t *buf, size_t len, const struct parse_opts *opts,
                    struct parse_result *r, FILE *dump)
{
    http_parser_settings s;
    memset(&s, 0, sizeof s);
    s.on_message_begin = hp_begin;
    s.on_url = hp_url;
    s.on_header_field = hp_field;
    s.on_header_value = hp_value;
    s.on_headers_complete = hp_headers_complete;
    s.on_body = hp_body;
    s.on_message_complete = hp_complete;
    /* On the stack and not zeroed: the span arrays are filled as fields arrive. */
    struct http_collect qs, *q = &qs;
    memset(q, 0, offsetof(struct http_collect, target));
    q->base = buf;
    q->dump = dump;
    /* One parser for the whole input: http-parser keeps pipelined requests apart and
     * refuses data after a request that closed the connection. */
    http_parser p;
    http_parser_init(&p, HTTP_REQUEST);
    p.data = q;
    size_t n = len ? http_parser_execute(&p, &s, (const char *)buf, len) : 0;
    int rc = 0;
    r->has_offset = 1;
    r->depth = 1;
    if (HTTP_PARSER_ERRNO(&p) != HPE_OK || n != len) {
        r->err_offset = n;
        snprintf(r->err, sizeof r->err, "http-parser: %s",
                 q->too_many ? "too many header fields"
                 : p.upgrade ? "upgrade / CONNECT: data after the head is not HTTP"
                             : http_errno_description(HTTP_PARSER_ERRNO(&p)));
        rc = 1;
    } else if (q->in_message || !q->nreq) {
        r->err_offset = len;
        snprintf(r->err, sizeof r->err, "http-parser: %s",
                 len ? "incomplete request" : "empty input");
        rc = 1;
    }
    r->items = q->items;
    return rc;
}

const struct parser_impl http_parser_impl = {"http", "http-parser", hp_parse};
