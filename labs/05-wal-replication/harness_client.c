/* harness_client: blocking RESP client for the crash harness.  Contract in the header. */
#include "labs/05-wal-replication/harness_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int hc_connect(struct hc *c, int port, int timeout_ms)
{
    memset(c, 0, offsetof(struct hc, buf));
    c->len = c->pos = 0;
    c->str = NULL;
    c->strcap = 0;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0) return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

void hc_close(struct hc *c)
{
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    free(c->str);
    c->str = NULL;
    c->strcap = 0;
}

int hc_send(struct hc *c, int argc, const char *const *argv)
{
    char out[4096];
    size_t n = (size_t)snprintf(out, sizeof(out), "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        size_t l = strlen(argv[i]);
        if (n + l + 32 > sizeof(out)) return -1;
        n += (size_t)snprintf(out + n, sizeof(out) - n, "$%zu\r\n%s\r\n", l, argv[i]);
    }
    size_t off = 0;
    while (off < n) {
        ssize_t w = send(c->fd, out + off, n - off, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        off += (size_t)w;
    }
    return 0;
}

static int fill(struct hc *c)
{
    if (c->pos > 0) {
        memmove(c->buf, c->buf + c->pos, c->len - c->pos);
        c->len -= c->pos;
        c->pos = 0;
    }
    if (c->len == sizeof(c->buf)) return -1;
    ssize_t r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
    if (r <= 0) return -1;
    c->len += (size_t)r;
    return 0;
}

static int keep(struct hc *c, const char *p, size_t n)
{
    if (n + 1 > c->strcap) {
        char *s = realloc(c->str, n + 1);
        if (!s) return -1;
        c->str = s;
        c->strcap = n + 1;
    }
    memcpy(c->str, p, n);
    c->str[n] = 0;
    return 0;
}

/* One CRLF-terminated line (without CRLF) into c->str. */
static int line(struct hc *c)
{
    for (;;) {
        char *nl = memchr(c->buf + c->pos, '\n', c->len - c->pos);
        if (nl) {
            size_t n = (size_t)(nl - (c->buf + c->pos));
            int rc = keep(c, c->buf + c->pos, n > 0 && nl[-1] == '\r' ? n - 1 : n);
            c->pos += n + 1;
            return rc;
        }
        if (fill(c) < 0) return -1;
    }
}

int hc_read(struct hc *c, struct hc_reply *r)
{
    if (line(c) < 0) return -1;
    r->type = c->str[0];
    r->len = strtoll(c->str + 1, NULL, 10);
    r->str = c->str + 1;
    if (r->type == '$' && r->len >= 0) {
        size_t n = (size_t)r->len;
        char *tmp = malloc(n + 1);
        if (!tmp) return -1;
        size_t got = 0;
        while (got < n + 2) {
            if (c->pos == c->len && fill(c) < 0) {
                free(tmp);
                return -1;
            }
            size_t take = c->len - c->pos;
            if (take > n + 2 - got) take = n + 2 - got;
            if (got < n) memcpy(tmp + got, c->buf + c->pos, take > n - got ? n - got : take);
            got += take;
            c->pos += take;
        }
        int rc = keep(c, tmp, n);
        free(tmp);
        r->str = c->str;
        return rc;
    }
    if (r->type == '*')
        for (long long i = 0; i < r->len; i++) {
            struct hc_reply e;
            if (hc_read(c, &e) < 0) return -1;
        }
    return 0;
}

int hc_info_field(const char *info, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *p = info; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (!strncmp(p, name, nl) && p[nl] == ':') {
            size_t n = strcspn(p + nl + 1, "\r\n");
            if (n >= cap) n = cap - 1;
            memcpy(out, p + nl + 1, n);
            out[n] = 0;
            return 0;
        }
    }
    return -1;
}
