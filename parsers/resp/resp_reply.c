/* resp_reply: the RESP2 reply parser a client runs.  Contract in resp.h. */
#include "parsers/resp/resp.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void resp_reply_init(struct resp_reply *r, size_t max_elems, size_t max_bulk)
{
    memset(r, 0, sizeof(*r));
    r->max_elems = max_elems ? max_elems : (size_t)1 << 20;
    r->max_bulk = max_bulk ? max_bulk : (size_t)512 << 20;
}

void resp_reply_free(struct resp_reply *r)
{
    free(r->elem);
    r->elem = NULL;
    r->cap = r->nelem = 0;
}

static ssize_t reply_fail(struct resp_reply *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static ssize_t reply_fail(struct resp_reply *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof(r->err), fmt, ap);
    va_end(ap);
    r->done = 1; /* the next call starts afresh */
    r->nelem = 0;
    return -1;
}

/* A signed decimal of 1..19 digits (no '+', leading zeros allowed: a client reads what
 * servers write, it does not police them).  0 or -1. */
static int reply_num(const char *d, const char *e, long long *v)
{
    int neg = 0;
    if (d < e && *d == '-') {
        neg = 1;
        d++;
    }
    if (d == e || e - d > 18) return -1;
    long long n = 0;
    for (; d < e; d++) {
        if (*d < '0' || *d > '9') return -1;
        n = n * 10 + (*d - '0');
    }
    *v = neg ? -n : n;
    return 0;
}

ssize_t resp_reply_parse(struct resp_reply *r, const char *buf, size_t len)
{
    if (r->done) {
        r->done = 0;
        r->pos = r->nelem = 0;
        r->depth = 0;
        r->err[0] = 0;
    }
    for (;;) {
        size_t at = r->pos;
        if (at >= len) return -2;
        char t = buf[at];
        if (t != '+' && t != '-' && t != ':' && t != '$' && t != '*')
            return reply_fail(r, "bad reply type byte 0x%02x at offset %zu", (unsigned char)t, at);
        /* the header line; a simple string or error may be long, a number is short */
        size_t maxline = (t == '+' || t == '-') ? r->max_bulk + 3 : 24;
        size_t avail = len - at < maxline ? len - at : maxline;
        const char *cr = memchr(buf + at, '\r', avail);
        if (!cr) {
            if (len - at >= maxline) return reply_fail(r, "reply line too long at offset %zu", at);
            return -2;
        }
        size_t crpos = (size_t)(cr - buf);
        if (crpos + 1 >= len) return -2;
        if (buf[crpos + 1] != '\n') return reply_fail(r, "line not ended by CRLF at %zu", crpos);
        struct resp_elem e = {.type = t};
        size_t next = crpos + 2;
        if (t == '+' || t == '-') {
            e.off = at + 1;
            e.n = (long long)(crpos - at - 1);
        } else if (reply_num(buf + at + 1, cr, &e.n) < 0) {
            return reply_fail(r, "bad number in '%c' line at offset %zu", t, at);
        } else if ((t == '$' || t == '*') && e.n < 0) {
            if (e.n != -1) return reply_fail(r, "negative length at offset %zu", at);
            e.null = 1;
            e.n = 0;
        } else if (t == '$') {
            if ((unsigned long long)e.n > r->max_bulk)
                return reply_fail(r, "bulk of %lld bytes over the limit", e.n);
            if (len - next < (size_t)e.n + 2) return -2;
            if (buf[next + e.n] != '\r' || buf[next + e.n + 1] != '\n')
                return reply_fail(r, "bulk not followed by CRLF at offset %zu", next);
            e.off = next;
            next += (size_t)e.n + 2;
        } else if (t == '*' && (unsigned long long)e.n > r->max_elems) {
            return reply_fail(r, "array of %lld elements over the limit", e.n);
        }
        if (r->nelem == r->max_elems) return reply_fail(r, "more than %zu elements", r->max_elems);
        if (r->nelem == r->cap) {
            size_t cap = r->cap ? r->cap * 2 : 16;
            struct resp_elem *v = realloc(r->elem, cap * sizeof(*v));
            if (!v) return reply_fail(r, "out of memory");
            r->elem = v;
            r->cap = cap;
        }
        r->elem[r->nelem++] = e;
        r->pos = next;
        if (t == '*' && e.n > 0) { /* its elements follow */
            if (r->depth == RESP_REPLY_DEPTH)
                return reply_fail(r, "reply nested deeper than %d", RESP_REPLY_DEPTH);
            r->left[r->depth++] = e.n;
            continue;
        }
        /* one element complete: close every array it completes */
        while (r->depth > 0 && --r->left[r->depth - 1] == 0)
            r->depth--;
        if (r->depth > 0) continue;
        for (size_t i = 0; i < r->nelem; i++)
            if (r->elem[i].type != ':' && r->elem[i].type != '*' && !r->elem[i].null)
                r->elem[i].p = buf + r->elem[i].off;
        r->done = 1;
        return (ssize_t)r->pos;
    }
}

size_t resp_reply_skip(const struct resp_reply *r, size_t i)
{
    long long need = r->elem[i].type == '*' ? r->elem[i].n : 0;
    size_t j = i + 1;
    while (need > 0 && j < r->nelem) {
        const struct resp_elem *e = &r->elem[j++];
        need--;
        if (e->type == '*') need += e->n;
    }
    return j;
}
