/* httpc: the incremental HTTP/1.1 response parser for the lab clients (contract in
 * httpc.h).  The head is copied into the parser (bounded) so header values stay valid
 * while the body streams through as slices of the caller's buffers. */
#include "io/httpc/httpc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { S_HEAD, S_CL, S_CHUNK_SIZE, S_CHUNK_DATA, S_CHUNK_CRLF, S_TRAILER, S_CLOSE, S_DONE, S_ERR };

void httpc_init(struct httpc *p, int head_request)
{
    p->status = 0;
    p->head_request = head_request;
    p->chunked = p->until_close = 0;
    p->content_length = -1;
    p->head_len = 0;
    p->nhdr = 0;
    p->state = S_HEAD;
    p->remaining = 0;
    p->line_len = 0;
    p->err[0] = 0;
}

static size_t fail(struct httpc *p, struct httpc_event *ev, const char *why, size_t used)
{
    p->state = S_ERR;
    snprintf(p->err, sizeof p->err, "%s", why);
    ev->type = HTTPC_ERROR;
    return used;
}

const char *httpc_header(const struct httpc *p, const char *name)
{
    for (unsigned i = 0; i < p->nhdr; i++)
        if (strcasecmp(p->head + p->hdr[i].name, name) == 0) return p->head + p->hdr[i].value;
    return NULL;
}

/* The head (up to and including the blank line) is in p->head: split it in place. */
static const char *parse_head(struct httpc *p)
{
    char *s = p->head, *end = p->head + p->head_len;
    char *eol = memchr(s, '\n', (size_t)(end - s));
    if (!eol || eol - s < 12 || strncmp(s, "HTTP/1.", 7) != 0 || (s[7] != '1' && s[7] != '0') ||
        s[8] != ' ')
        return "bad status line";
    if (s[9] < '1' || s[9] > '5' || s[10] < '0' || s[10] > '9' || s[11] < '0' || s[11] > '9')
        return "bad status code";
    p->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    s = eol + 1;
    while (s < end) {
        eol = memchr(s, '\n', (size_t)(end - s));
        if (!eol) return "unterminated header line";
        char *le = eol;
        if (le > s && le[-1] == '\r') le--;
        if (le == s) break; /* the blank line */
        char *colon = memchr(s, ':', (size_t)(le - s));
        if (!colon || colon == s) return "header line without a name";
        if (p->nhdr == HTTPC_MAX_HEADERS) return "too many header fields";
        char *v = colon + 1;
        while (v < le && (*v == ' ' || *v == '\t'))
            v++;
        char *ve = le;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        *colon = 0;
        *ve = 0;
        p->hdr[p->nhdr].name = (uint16_t)(s - p->head);
        p->hdr[p->nhdr].value = (uint16_t)(v - p->head);
        p->nhdr++;
        s = eol + 1;
    }
    const char *te = httpc_header(p, "transfer-encoding");
    const char *cl = httpc_header(p, "content-length");
    if (te) {
        if (strcasecmp(te, "chunked") != 0) return "unsupported Transfer-Encoding";
        p->chunked = 1;
    } else if (cl) {
        char *e;
        errno = 0;
        long long n = strtoll(cl, &e, 10);
        if (errno || *e || e == cl || n < 0) return "bad Content-Length";
        p->content_length = n;
    }
    return NULL;
}

/* Read one CRLF- or LF-terminated line into p->line; 1 when complete, -1 too long. */
static int take_line(struct httpc *p, const uint8_t *d, size_t len, size_t *i)
{
    while (*i < len) {
        char c = (char)d[(*i)++];
        if (c == '\n') {
            if (p->line_len && p->line[p->line_len - 1] == '\r') p->line_len--;
            p->line[p->line_len] = 0;
            return 1;
        }
        if (p->line_len + 1 >= sizeof p->line) return -1;
        p->line[p->line_len++] = c;
    }
    return 0;
}

size_t httpc_parse(struct httpc *p, const uint8_t *data, size_t len, struct httpc_event *ev)
{
    size_t i = 0;
    ev->type = HTTPC_NONE;
    ev->data = NULL;
    ev->len = 0;
    for (;;) {
        switch (p->state) {
        case S_ERR:
            ev->type = HTTPC_ERROR;
            return 0;
        case S_DONE:
            ev->type = HTTPC_DONE;
            return i;
        case S_HEAD: {
            /* copy byte by byte until the blank line: heads are small */
            while (i < len) {
                if (p->head_len == HTTPC_MAX_HEAD) return fail(p, ev, "response head too large", i);
                char c = (char)data[i++];
                p->head[p->head_len++] = c;
                size_t n = p->head_len;
                if (c == '\n' && ((n >= 2 && p->head[n - 2] == '\n') ||
                                  (n >= 4 && memcmp(p->head + n - 4, "\r\n\r\n", 4) == 0)))
                    break;
            }
            size_t n = p->head_len;
            if (!(n >= 2 && p->head[n - 1] == '\n' &&
                  (p->head[n - 2] == '\n' ||
                   (n >= 4 && memcmp(p->head + n - 4, "\r\n\r\n", 4) == 0))))
                return i; /* need more */
            p->head[n] = 0;
            const char *why = parse_head(p);
            if (why) return fail(p, ev, why, i);
            if (p->status >= 100 && p->status < 200 && p->status != 101) {
                httpc_init(p, p->head_request); /* interim response: skip it */
                continue;
            }
            if (p->status == 101 || p->status == 204 || p->status == 304 || p->head_request ||
                p->content_length == 0)
                p->state = S_DONE;
            else if (p->chunked)
                p->state = S_CHUNK_SIZE;
            else if (p->content_length > 0)
                p->state = S_CL, p->remaining = (uint64_t)p->content_length;
            else
                p->state = S_CLOSE, p->until_close = 1;
            ev->type = HTTPC_HEAD;
            return i;
        }
        case S_CL:
        case S_CHUNK_DATA:
        case S_CLOSE: {
            if (i == len) return i;
            size_t take = len - i;
            if (p->state != S_CLOSE && take > p->remaining) take = (size_t)p->remaining;
            ev->type = HTTPC_BODY;
            ev->data = data + i;
            ev->len = take;
            i += take;
            if (p->state != S_CLOSE) {
                p->remaining -= take;
                if (p->remaining == 0) p->state = p->state == S_CL ? S_DONE : S_CHUNK_CRLF;
            }
            return i;
        }
        case S_CHUNK_SIZE:
        case S_CHUNK_CRLF:
        case S_TRAILER: {
            int r = take_line(p, data, len, &i);
            if (r < 0) return fail(p, ev, "chunk line too long", i);
            if (r == 0) return i;
            p->line_len = 0;
            if (p->state == S_CHUNK_CRLF) {
                if (p->line[0]) return fail(p, ev, "chunk data not followed by CRLF", i);
                p->state = S_CHUNK_SIZE;
            } else if (p->state == S_TRAILER) {
                if (!p->line[0]) p->state = S_DONE; /* trailer fields themselves are ignored */
            } else {
                char *e;
                errno = 0;
                unsigned long long n = strtoull(p->line, &e, 16);
                if (errno || e == p->line || (*e && *e != ';' && *e != ' ' && *e != '\t'))
                    return fail(p, ev, "bad chunk size", i);
                p->remaining = n;
                p->state = n ? S_CHUNK_DATA : S_TRAILER;
            }
            continue;
        }
        }
    }
}

int httpc_eof(struct httpc *p)
{
    if (p->state == S_CLOSE || p->state == S_DONE) {
        p->state = S_DONE;
        return 1;
    }
    return 0;
}
