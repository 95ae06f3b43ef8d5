/* http_collect: request collection and canonical dump for the library adapters (http_collect.h). */
#include "parsers/http/http_collect.h"

#include <string.h>

void http_collect_begin(struct http_collect *q)
{
    q->in_message = 1;
    q->last_was_value = 0;
    q->method = NULL;
    q->target = (struct http_collect_span){0, 0};
    q->nheaders = 0;
    q->head_fields = HTTP_COLLECT_MAX_HEADERS + 1;
    q->body = 0;
}

void http_collect_head_done(struct http_collect *q, const char *method, size_t method_len,
                            int major, int minor)
{
    q->method = method;
    q->method_len = method_len;
    q->major = major;
    q->minor = minor;
    q->head_fields = q->nheaders;
}

static void hc_extend(struct http_collect *q, struct http_collect_span *s, const char *at,
                      size_t len)
{
    size_t off = (size_t)((const uint8_t *)at - q->base);
    if (!s->len) s->off = off;
    s->len = off + len - s->off;
}

int http_collect_url(struct http_collect *q, const char *at, size_t len)
{
    hc_extend(q, &q->target, at, len);
    return 0;
}

int http_collect_field(struct http_collect *q, const char *at, size_t len)
{
    if (q->last_was_value || !q->nheaders) {
        if (q->nheaders == HTTP_COLLECT_MAX_HEADERS) {
            q->too_many = 1;
            return -1;
        }
        q->name[q->nheaders] = q->value[q->nheaders] = (struct http_collect_span){0, 0};
        q->nheaders++;
        q->last_was_value = 0;
    }
    hc_extend(q, &q->name[q->nheaders - 1], at, len);
    return 0;
}

int http_collect_value(struct http_collect *q, const char *at, size_t len)
{
    if (!q->nheaders) return -1;
    q->last_was_value = 1;
    if (len) hc_extend(q, &q->value[q->nheaders - 1], at, len);
    return 0;
}

static void hc_put(FILE *f, const uint8_t *p, size_t len, int lower, int trim)
{
    if (trim) {
        while (len && (p[0] == ' ' || p[0] == '\t'))
            p++, len--;
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
    }
    for (size_t i = 0; i < len; i++)
        putc(lower && p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i], f);
}

void http_collect_complete(struct http_collect *q)
{
    FILE *f = q->dump;
    q->in_message = 0;
    q->items += q->nheaders;
    if (f) {
        if (q->nreq) putc('\n', f);
        fprintf(f, "method %.*s\ntarget ", q->method ? (int)q->method_len : 1,
                q->method ? q->method : "?");
        hc_put(f, q->base + q->target.off, q->target.len, 0, 0);
        fprintf(f, "\nversion %d.%d\n", q->major, q->minor);
        for (size_t i = 0; i < q->nheaders; i++) {
            fputs(i < q->head_fields ? "header " : "trailer ", f);
            hc_put(f, q->base + q->name[i].off, q->name[i].len, 1, 0);
            fputs(": ", f);
            hc_put(f, q->base + q->value[i].off, q->value[i].len, 0, 1);
            putc('\n', f);
        }
        fprintf(f, "body %zu\n", q->body);
    }
    q->nreq++;
}
