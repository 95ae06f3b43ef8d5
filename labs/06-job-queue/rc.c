/* rc: a tiny blocking RESP2 client.  Contract in rc.h. */
#include "labs/06-job-queue/rc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/net.h"
#include "parsers/resp/resp.h"

struct rc {
    int fd;
    char *buf; /* received, not yet parsed */
    size_t len, cap;
    struct resp_reply rp;
    struct resp_out out;
};

struct rc *rc_connect(const char *host, int port, char *err, size_t errlen)
{
    int fd = net_connect(host, port, err, errlen);
    if (fd < 0) return NULL;
    struct rc *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->fd = fd;
    resp_reply_init(&c->rp, RC_MAX_ELEMS, RC_MAX_BULK);
    resp_out_init(&c->out, 0);
    return c;
}

void rc_close(struct rc *c)
{
    if (!c) return;
    close(c->fd);
    resp_reply_free(&c->rp);
    resp_out_free(&c->out);
    free(c->buf);
    free(c);
}

/* The reply tree of the element at *i (and its children); *i moves past them. */
static struct rc_reply *rc_tree(const struct resp_reply *rp, size_t *i, int depth, char *err,
                                size_t errlen)
{
    const struct resp_elem *e = &rp->elem[(*i)++];
    if (depth > RC_MAX_DEPTH) {
        snprintf(err, errlen, "reply nested too deep");
        return NULL;
    }
    struct rc_reply *r = calloc(1, sizeof(*r));
    if (!r) goto oom;
    r->type = e->type;
    r->is_null = e->null;
    if (e->type == ':') {
        r->integer = e->n;
    } else if (e->type == '*') {
        if (e->n && !(r->elem = calloc((size_t)e->n, sizeof(*r->elem)))) goto oom;
        for (long long k = 0; k < e->n; k++) {
            if (!(r->elem[k] = rc_tree(rp, i, depth + 1, err, errlen))) goto fail;
            r->n++;
        }
    } else if (!e->null) { /* '+', '-', '$': a NUL-terminated copy */
        if (!(r->str = malloc((size_t)e->n + 1))) goto oom;
        memcpy(r->str, e->p, (size_t)e->n);
        r->str[e->n] = 0;
        r->len = (size_t)e->n;
    }
    return r;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    rc_reply_free(r);
    return NULL;
}

/* Reads until one whole reply is buffered, returns its tree and drops its bytes. */
static struct rc_reply *rc_read(struct rc *c, char *err, size_t errlen)
{
    for (;;) {
        ssize_t r = c->len ? resp_reply_parse(&c->rp, c->buf, c->len) : -2;
        if (r > 0) {
            size_t i = 0;
            struct rc_reply *t = rc_tree(&c->rp, &i, 0, err, errlen);
            memmove(c->buf, c->buf + r, c->len - (size_t)r);
            c->len -= (size_t)r;
            return t;
        }
        if (r == -1) {
            snprintf(err, errlen, "bad reply: %s", c->rp.err);
            return NULL;
        }
        if (c->cap - c->len < 16384) {
            size_t cap = c->cap ? c->cap * 2 : 65536;
            if (cap > (size_t)RC_MAX_BULK * 2) {
                snprintf(err, errlen, "reply over %u bytes", RC_MAX_BULK * 2);
                return NULL;
            }
            char *b = realloc(c->buf, cap);
            if (!b) {
                snprintf(err, errlen, "out of memory");
                return NULL;
            }
            c->buf = b;
            c->cap = cap;
        }
        ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            snprintf(err, errlen, "%s",
                     n == 0 ? "connection closed by the server" : strerror(errno));
            return NULL;
        }
        c->len += (size_t)n;
    }
}

struct rc_reply *rc_command(struct rc *c, int argc, const char **argv, char *err, size_t errlen)
{
    c->out.len = 0;
    if (resp_add_argv(&c->out, argc, argv, NULL) < 0) {
        snprintf(err, errlen, "command too large");
        return NULL;
    }
    size_t off = 0;
    while (off < c->out.len) {
        ssize_t n = write(c->fd, c->out.data + off, c->out.len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            snprintf(err, errlen, "write: %s", strerror(errno));
            return NULL;
        }
        off += (size_t)n;
    }
    return rc_read(c, err, errlen);
}

void rc_reply_free(struct rc_reply *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n; i++)
        rc_reply_free(r->elem[i]);
    free(r->elem);
    free(r->str);
    free(r);
}
