/* resp: RESP2 request parser (multibulk and inline) and reply encoders.  Contract in resp.h. */
#include "parsers/resp/resp.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    RESP_ST_START,    /* nothing of the frame parsed yet */
    RESP_ST_COUNT,    /* reading "*N\r\n" */
    RESP_ST_BULKHDR,  /* expecting "$N\r\n" at pos */
    RESP_ST_BULKDATA, /* expecting bulklen bytes and CRLF at pos */
    RESP_ST_INLINE,   /* scanning an inline line for '\n' */
};

void resp_init(struct resp_parser *p, const struct resp_limits *lim)
{
    memset(p, 0, sizeof(*p));
    p->lim.max_args = (lim && lim->max_args) ? lim->max_args : RESP_ARGS_MAX;
    if (p->lim.max_args > RESP_ARGS_MAX) p->lim.max_args = RESP_ARGS_MAX;
    p->lim.max_bulk = (lim && lim->max_bulk) ? lim->max_bulk : (size_t)8 << 20;
    p->lim.max_inline = (lim && lim->max_inline) ? lim->max_inline : (size_t)64 << 10;
    p->state = RESP_ST_START;
}

void resp_free(struct resp_parser *p)
{
    free(p->argv);
    free(p->argl);
    free(p->off);
    p->argv = NULL;
    p->argl = NULL;
    p->off = NULL;
    p->cap = 0;
    p->argc = 0;
}

static ssize_t resp_fail(struct resp_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static ssize_t resp_fail(struct resp_parser *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, sizeof(p->err), fmt, ap);
    va_end(ap);
    p->state = RESP_ST_START;
    p->pos = p->scan = 0;
    p->argc = 0;
    return -1;
}

/* Room for one more argument; -1 when memory ran out. */
static int resp_grow(struct resp_parser *p)
{
    if ((size_t)p->argc < p->cap) return 0;
    size_t cap = p->cap ? p->cap * 2 : 16;
    const char **argv = realloc(p->argv, cap * sizeof(*argv));
    if (!argv) return -1;
    p->argv = argv;
    size_t *argl = realloc(p->argl, cap * sizeof(*argl));
    if (!argl) return -1;
    p->argl = argl;
    size_t *off = realloc(p->off, cap * sizeof(*off));
    if (!off) return -1;
    p->off = off;
    p->cap = cap;
    return 0;
}

/* Redis's string2ll for counts and lengths: "0", or an optional '-' and [1-9][0-9]*;
 * at most 18 digits (a longer number is past every limit anyway).  0 or -1. */
static int resp_num(const char *d, const char *e, long *v)
{
    int neg = 0;
    if (e - d == 1 && *d == '0') {
        *v = 0;
        return 0;
    }
    if (d < e && *d == '-') {
        neg = 1;
        d++;
    }
    if (d == e || e - d > 18 || *d < '1' || *d > '9') return -1;
    long n = 0;
    for (; d < e; d++) {
        if (*d < '0' || *d > '9') return -1;
        n = n * 10 + (*d - '0');
    }
    *v = neg ? -n : n;
    return 0;
}

/* Finds the CR ending the "<c>N" line that starts at p->pos.  Returns 1 with *v and
 * *next set, -2 when incomplete, -1 when bad (*toolong: no CR within max_inline bytes;
 * *badtype: the line is complete but does not start with `type`). */
static int resp_len_line(struct resp_parser *p, const char *buf, size_t len, char type, long *v,
                         size_t *next, int *toolong, int *badtype)
{
    /* the usual case first: "<type>[1-9][0-9]*\r\n" all here, read in one pass */
    const char *d = buf + p->pos + 1, *q = d, *end = buf + len;
    *toolong = *badtype = 0;
    if (q < end && buf[p->pos] == type && *q >= '1' && *q <= '9') {
        long n = 0;
        while (q < end && *q >= '0' && *q <= '9' && q - d < 18)
            n = n * 10 + (*q++ - '0');
        if (end - q >= 2 && q[0] == '\r' && q[1] == '\n') {
            *v = n;
            *next = (size_t)(q - buf) + 2;
            p->scan = 0;
            return 1;
        }
    }
    size_t from = p->scan > p->pos ? p->scan : p->pos;
    const char *cr = memchr(buf + from, '\r', len - from);
    if (!cr) {
        p->scan = len;
        if (len - p->pos > p->lim.max_inline) {
            *toolong = 1;
            return -1;
        }
        return -2;
    }
    size_t crpos = (size_t)(cr - buf);
    p->scan = crpos;
    if (crpos + 1 >= len) return -2;
    p->scan = 0;
    if (buf[p->pos] != type) {
        *badtype = 1;
        return -1;
    }
    if (buf[crpos + 1] != '\n' || resp_num(buf + p->pos + 1, cr, v) < 0) return -1;
    *next = crpos + 2;
    return 1;
}

static int resp_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static int resp_hex(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Splits buf[0..n) in place into arguments, as redis-cli/sdssplitargs do.
 * Returns 0, or -1 with p->err set. */
static int resp_split_inline(struct resp_parser *p, char *buf, size_t n)
{
    size_t r = 0;
    p->argc = 0;
    for (;;) {
        while (r < n && resp_is_space(buf[r]))
            r++;
        if (r == n) return 0;
        if ((size_t)p->argc == p->lim.max_args) {
            snprintf(p->err, sizeof(p->err),
                     "ERR Protocol error: too many arguments in inline request (limit %zu)",
                     p->lim.max_args);
            return -1;
        }
        if (resp_grow(p) < 0) {
            snprintf(p->err, sizeof(p->err), "ERR Protocol error: out of memory");
            return -1;
        }
        size_t start = r, w = r;
        int dq = 0, sq = 0;
        for (;;) {
            if (dq) {
                if (r == n) goto unbalanced;
                if (buf[r] == '\\' && r + 3 < n && buf[r + 1] == 'x' && resp_hex(buf[r + 2]) >= 0 &&
                    resp_hex(buf[r + 3]) >= 0) {
                    buf[w++] = (char)(resp_hex(buf[r + 2]) * 16 + resp_hex(buf[r + 3]));
                    r += 4;
                } else if (buf[r] == '\\' && r + 1 < n) {
                    char c = buf[r + 1];
                    buf[w++] = c == 'n'   ? '\n'
                               : c == 'r' ? '\r'
                               : c == 't' ? '\t'
                               : c == 'b' ? '\b'
                               : c == 'a' ? '\a'
                                          : c;
                    r += 2;
                } else if (buf[r] == '"') {
                    r++;
                    if (r < n && !resp_is_space(buf[r]))
                        goto unbalanced; /* closing quote must end the word */
                    break;
                } else {
                    buf[w++] = buf[r++];
                }
            } else if (sq) {
                if (r == n) goto unbalanced;
                if (buf[r] == '\\' && r + 1 < n && buf[r + 1] == '\'') {
                    buf[w++] = '\'';
                    r += 2;
                } else if (buf[r] == '\'') {
                    r++;
                    if (r < n && !resp_is_space(buf[r])) goto unbalanced;
                    break;
                } else {
                    buf[w++] = buf[r++];
                }
            } else { /* Redis's sdssplitargs: \v and \f skip between words, not inside */
                if (r == n || buf[r] == ' ' || buf[r] == '\t' || buf[r] == '\r' || buf[r] == '\n')
                    break;
                if (buf[r] == '"')
                    dq = 1;
                else if (buf[r] == '\'')
                    sq = 1;
                else
                    buf[w++] = buf[r];
                r++;
            }
        }
        assert(w <= r);
        p->argv[p->argc] = buf + start;
        p->argl[p->argc] = w - start;
        p->argc++;
    }
unbalanced:
    snprintf(p->err, sizeof(p->err), "ERR Protocol error: unbalanced quotes in request");
    return -1;
}

static ssize_t resp_done(struct resp_parser *p, char *buf, size_t end)
{
    if (p->state != RESP_ST_INLINE)
        for (int i = 0; i < p->argc; i++)
            p->argv[i] = buf + p->off[i];
    p->state = RESP_ST_START;
    p->pos = p->scan = 0;
    return (ssize_t)end;
}

static ssize_t resp_inline(struct resp_parser *p, char *buf, size_t len)
{
    const char *nl = memchr(buf + p->scan, '\n', len - p->scan);
    if (!nl) {
        p->scan = len;
        if (len > p->lim.max_inline)
            return resp_fail(p, "ERR Protocol error: too big inline request");
        return -2;
    }
    size_t end = (size_t)(nl - buf) + 1;
    size_t n = end - 1;
    if (n > 0 && buf[n - 1] == '\r') n--;
    if (resp_split_inline(p, buf, n) < 0) {
        char why[sizeof(p->err)];
        memcpy(why, p->err, sizeof(why));
        return resp_fail(p, "%s", why);
    }
    return resp_done(p, buf, end);
}

ssize_t resp_parse(struct resp_parser *p, char *buf, size_t len)
{
    if (p->state == RESP_ST_START) {
        p->err[0] = 0;
        p->argc = 0;
        p->pos = p->scan = 0;
        if (len == 0) return -2;
        p->state = buf[0] == '*' ? RESP_ST_COUNT : RESP_ST_INLINE;
    }
    assert(p->pos <= len);
    if (p->state == RESP_ST_INLINE) return resp_inline(p, buf, len);

    for (;;) {
        long v = 0;
        size_t next = 0;
        int toolong, badtype, r;
        switch (p->state) {
        case RESP_ST_COUNT:
            r = resp_len_line(p, buf, len, '*', &v, &next, &toolong, &badtype);
            if (r == -2) return -2;
            if (r < 0)
                return resp_fail(p, toolong ? "ERR Protocol error: too big mbulk count string"
                                            : "ERR Protocol error: invalid multibulk length");
            if (v > INT_MAX) return resp_fail(p, "ERR Protocol error: invalid multibulk length");
            if (v > (long)p->lim.max_args)
                return resp_fail(p, "ERR Protocol error: %ld arguments over the limit of %zu", v,
                                 p->lim.max_args);
            p->pos = next;
            if (v <= 0) /* "*0" and "*-1" (any negative, as Redis): an empty frame */
                return resp_done(p, buf, next);
            p->nargs = v;
            p->state = RESP_ST_BULKHDR;
            break;
        case RESP_ST_BULKHDR:
            r = resp_len_line(p, buf, len, '$', &v, &next, &toolong, &badtype);
            if (r == -2) return -2;
            if (badtype) { /* Redis's text, a CR or LF shown as a space */
                char c = buf[p->pos];
                return resp_fail(p, "ERR Protocol error: expected '$', got '%c'",
                                 c == '\r' || c == '\n' ? ' '
                                 : c                    ? c
                                                        : '?');
            }
            if (r < 0)
                return resp_fail(p, toolong ? "ERR Protocol error: too big bulk count string"
                                            : "ERR Protocol error: invalid bulk length");
            if (v < 0 || (size_t)v > p->lim.max_bulk)
                return resp_fail(p, "ERR Protocol error: invalid bulk length");
            if (resp_grow(p) < 0) return resp_fail(p, "ERR Protocol error: out of memory");
            p->bulklen = v;
            p->pos = next;
            p->state = RESP_ST_BULKDATA;
            break;
        case RESP_ST_BULKDATA:
            if (len - p->pos < (size_t)p->bulklen + 2) return -2;
            if (buf[p->pos + (size_t)p->bulklen] != '\r' ||
                buf[p->pos + (size_t)p->bulklen + 1] != '\n')
                return resp_fail(p, "ERR Protocol error: bulk string not followed by CRLF");
            assert((size_t)p->argc < p->cap);
            p->off[p->argc] = p->pos;
            p->argl[p->argc] = (size_t)p->bulklen;
            p->argc++;
            p->pos += (size_t)p->bulklen + 2;
            if (p->argc == p->nargs) return resp_done(p, buf, p->pos);
            p->state = RESP_ST_BULKHDR;
            break;
        default:
            assert(0 && "bad resp parser state");
            return resp_fail(p, "ERR internal parser state");
        }
    }
}

/* ---- encoders ---------------------------------------------------------- */

void resp_out_init(struct resp_out *o, size_t limit)
{
    memset(o, 0, sizeof(*o));
    o->limit = limit ? limit : (size_t)64 << 20;
}

void resp_out_free(struct resp_out *o)
{
    free(o->data);
    memset(o, 0, sizeof(*o));
}

void resp_out_consume(struct resp_out *o, size_t n)
{
    assert(n <= o->len);
    if (n == 0) return; /* data may still be NULL */
    memmove(o->data, o->data + n, o->len - n);
    o->len -= n;
}

static int resp_reserve(struct resp_out *o, size_t n)
{
    if (n > o->limit - o->len) {
        o->overflow = 1;
        return -1;
    }
    if (o->len + n <= o->cap) return 0;
    size_t cap = o->cap ? o->cap : 256;
    while (cap < o->len + n)
        cap *= 2;
    if (cap > o->limit) cap = o->limit;
    char *d = realloc(o->data, cap);
    if (!d) {
        o->overflow = 1;
        return -1;
    }
    o->data = d;
    o->cap = cap;
    return 0;
}

int resp_add_raw(struct resp_out *o, const void *p, size_t n)
{
    if (resp_reserve(o, n) < 0) return -1;
    if (n) memcpy(o->data + o->len, p, n);
    o->len += n;
    return 0;
}

static int resp_add_line(struct resp_out *o, char type, const char *s, size_t n)
{
    if (resp_reserve(o, n + 3) < 0) return -1;
    o->data[o->len++] = type;
    memcpy(o->data + o->len, s, n);
    o->len += n;
    o->data[o->len++] = '\r';
    o->data[o->len++] = '\n';
    return 0;
}

int resp_add_simple(struct resp_out *o, const char *s)
{
    return resp_add_line(o, '+', s, strcspn(s, "\r\n"));
}

int resp_add_error(struct resp_out *o, const char *msg)
{
    return resp_add_line(o, '-', msg, strcspn(msg, "\r\n"));
}

int resp_add_errorf(struct resp_out *o, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return resp_add_error(o, msg);
}

int resp_add_rawf(struct resp_out *o, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (n < 0) return -1;
    return resp_add_raw(o, text, (size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1);
}

static int resp_add_num(struct resp_out *o, char type, long long v)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%lld", v);
    return resp_add_line(o, type, num, (size_t)n);
}

int resp_add_int(struct resp_out *o, long long v)
{
    return resp_add_num(o, ':', v);
}

int resp_add_array(struct resp_out *o, long long n)
{
    return resp_add_num(o, '*', n);
}

int resp_add_null(struct resp_out *o)
{
    return resp_add_raw(o, "$-1\r\n", 5);
}

int resp_add_null_array(struct resp_out *o)
{
    return resp_add_raw(o, "*-1\r\n", 5);
}

int resp_add_bulk(struct resp_out *o, const void *p, size_t n)
{
    char hdr[32];
    int h = snprintf(hdr, sizeof(hdr), "$%zu\r\n", n);
    if (resp_reserve(o, (size_t)h + n + 2) < 0) return -1;
    memcpy(o->data + o->len, hdr, (size_t)h);
    o->len += (size_t)h;
    if (n) memcpy(o->data + o->len, p, n);
    o->len += n;
    o->data[o->len++] = '\r';
    o->data[o->len++] = '\n';
    return 0;
}

int resp_add_cstr(struct resp_out *o, const char *s)
{
    return resp_add_bulk(o, s, strlen(s));
}

int resp_add_argv(struct resp_out *o, int argc, const char *const *argv, const size_t *argl)
{
    size_t len = o->len;
    int bad = resp_add_array(o, argc) < 0;
    for (int i = 0; i < argc && !bad; i++)
        bad = resp_add_bulk(o, argv[i], argl ? argl[i] : strlen(argv[i])) < 0;
    if (bad) o->len = len; /* all or nothing; overflow stays set */
    return bad ? -1 : 0;
}
