/* harness_client: blocking RESP client for the crash harness.  Contract in the header. */
#include "labs/05-wal-replication/harness_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define HC_MAX_REPLY ((size_t)64 << 20)

int hc_connect(struct hc *c, int port, int timeout_ms)
{
    memset(c, 0, sizeof(*c));
    resp_reply_init(&c->rp, 0, HC_MAX_REPLY);
    resp_out_init(&c->out, 0);
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
    resp_reply_free(&c->rp);
    resp_out_free(&c->out);
    free(c->buf);
    free(c->str);
    c->buf = c->str = NULL;
    c->len = c->cap = c->strcap = 0;
}

int hc_send(struct hc *c, int argc, const char *const *argv)
{
    c->out.len = 0;
    if (resp_add_argv(&c->out, argc, argv, NULL) < 0) return -1;
    size_t off = 0;
    while (off < c->out.len) {
        ssize_t w = send(c->fd, c->out.data + off, c->out.len - off, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        off += (size_t)w;
    }
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

int hc_read(struct hc *c, struct hc_reply *r)
{
    ssize_t k;
    while ((k = c->len ? resp_reply_parse(&c->rp, c->buf, c->len) : -2) == -2) {
        if (c->cap - c->len < 4096) {
            size_t cap = c->cap ? c->cap * 2 : 65536;
            char *b = cap <= 2 * HC_MAX_REPLY ? realloc(c->buf, cap) : NULL;
            if (!b) return -1;
            c->buf = b;
            c->cap = cap;
        }
        ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (n <= 0) return -1;
        c->len += (size_t)n;
    }
    if (k < 0) return -1;
    const struct resp_elem *e = &c->rp.elem[0];
    char num[24];
    int rc;
    r->type = e->type;
    r->len = e->null ? -1 : e->n;
    if (e->type == ':' || e->type == '*')
        rc = keep(c, num, (size_t)snprintf(num, sizeof(num), "%lld", r->len));
    else
        rc = keep(c, e->null ? "" : e->p, e->null ? 0 : (size_t)e->n);
    r->str = c->str;
    memmove(c->buf, c->buf + k, c->len - (size_t)k);
    c->len -= (size_t)k;
    return rc;
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
