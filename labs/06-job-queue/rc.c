/* rc: a tiny blocking RESP2 client.  Contract in rc.h. */
#include "labs/06-job-queue/rc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/net.h"

struct rc {
    int fd;
    char buf[65536];
    size_t off, len;
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
    return c;
}

void rc_close(struct rc *c)
{
    if (c) {
        close(c->fd);
        free(c);
    }
}

static int rc_fill(struct rc *c, char *err, size_t errlen)
{
    if (c->off > 0) {
        memmove(c->buf, c->buf + c->off, c->len - c->off);
        c->len -= c->off;
        c->off = 0;
    }
    if (c->len == sizeof(c->buf)) {
        snprintf(err, errlen, "reply line too long");
        return -1;
    }
    for (;;) {
        ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            snprintf(err, errlen, "%s",
                     n == 0 ? "connection closed by the server" : strerror(errno));
            return -1;
        }
        c->len += (size_t)n;
        return 0;
    }
}

/* One CRLF-terminated line, without the CRLF, NUL-terminated in place. */
static char *rc_line(struct rc *c, char *err, size_t errlen)
{
    for (;;) {
        char *s = c->buf + c->off;
        char *e = memchr(s, '\n', c->len - c->off);
        if (e && e > s && e[-1] == '\r') {
            e[-1] = 0;
            c->off = (size_t)(e - c->buf) + 1;
            return s;
        }
        if (rc_fill(c, err, errlen) < 0) return NULL;
    }
}

static int rc_read_exact(struct rc *c, char *dst, size_t n, char *err, size_t errlen)
{
    while (n > 0) {
        if (c->off == c->len && rc_fill(c, err, errlen) < 0) return -1;
        size_t k = c->len - c->off < n ? c->len - c->off : n;
        memcpy(dst, c->buf + c->off, k);
        c->off += k;
        dst += k;
        n -= k;
    }
    return 0;
}

static struct rc_reply *rc_parse(struct rc *c, int depth, char *err, size_t errlen)
{
    if (depth > RC_MAX_DEPTH) {
        snprintf(err, errlen, "reply nested too deep");
        return NULL;
    }
    char *line = rc_line(c, err, errlen);
    if (!line) return NULL;
    struct rc_reply *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->type = line[0];
    char *end;
    switch (line[0]) {
    case '+':
    case '-':
        r->len = strlen(line + 1);
        if (!(r->str = strdup(line + 1))) goto oom;
        return r;
    case ':':
        r->integer = strtoll(line + 1, &end, 10);
        return r;
    case '$': {
        long long n = strtoll(line + 1, &end, 10);
        if (n < 0) {
            r->is_null = 1;
            return r;
        }
        if ((unsigned long long)n > RC_MAX_BULK) {
            snprintf(err, errlen, "bulk reply of %lld bytes is over the limit", n);
            goto fail;
        }
        if (!(r->str = malloc((size_t)n + 2))) goto oom;
        if (rc_read_exact(c, r->str, (size_t)n + 2, err, errlen) < 0) goto fail;
        r->str[n] = 0;
        r->len = (size_t)n;
        return r;
    }
    case '*': {
        long long n = strtoll(line + 1, &end, 10);
        if (n < 0) {
            r->is_null = 1;
            return r;
        }
        if ((unsigned long long)n > RC_MAX_ELEMS) {
            snprintf(err, errlen, "array reply of %lld elements is over the limit", n);
            goto fail;
        }
        if (n && !(r->elem = calloc((size_t)n, sizeof(*r->elem)))) goto oom;
        for (long long i = 0; i < n; i++) {
            if (!(r->elem[i] = rc_parse(c, depth + 1, err, errlen))) goto fail;
            r->n++;
        }
        return r;
    }
    default:
        snprintf(err, errlen, "bad reply type byte 0x%02x", (unsigned char)line[0]);
        goto fail;
    }
oom:
    snprintf(err, errlen, "out of memory");
fail:
    rc_reply_free(r);
    return NULL;
}

struct rc_reply *rc_command(struct rc *c, int argc, const char **argv, char *err, size_t errlen)
{
    size_t need = 32;
    for (int i = 0; i < argc; i++)
        need += strlen(argv[i]) + 32;
    char *out = malloc(need), *w = out;
    if (!out) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w += sprintf(w, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        size_t l = strlen(argv[i]);
        w += sprintf(w, "$%zu\r\n", l);
        memcpy(w, argv[i], l);
        w += l;
        *w++ = '\r';
        *w++ = '\n';
    }
    size_t len = (size_t)(w - out), off = 0;
    while (off < len) {
        ssize_t n = write(c->fd, out + off, len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            snprintf(err, errlen, "write: %s", strerror(errno));
            free(out);
            return NULL;
        }
        off += (size_t)n;
    }
    free(out);
    return rc_parse(c, 0, err, errlen);
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
