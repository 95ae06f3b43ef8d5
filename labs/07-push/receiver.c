/* receiver: notify-client's webhook receiver (contract in receiver.h).  Requests are
 * parsed with the project's HTTP/1.1 request parser (parsers/http/http1.h). */
#include "labs/07-push/receiver.h"

#include "io/net.h"
#include "parsers/http/http1.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

struct rcv_conn {
    struct receiver *r;
    struct rcv_conn *prev, *next; /* every open connection, so destroy can free them */
    int fd;
    uint8_t buf[RCV_MAX_REQ];
    size_t len;
    const char *reply;
    size_t reply_len, reply_off;
    struct http1_parser p;
    struct http1_header hdrs[32];
};

struct receiver {
    struct ev_loop *loop;
    int fd;
    const char *secret;
    uint64_t *bytes;
    rcv_delivery_cb cb;
    void *arg;
    size_t nconns;
    struct rcv_conn *conns;
};

static const char REPLY_OK[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
static const char REPLY_BAD[] =
    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
static const char REPLY_BIG[] =
    "HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

static void rcv_conn_close(struct rcv_conn *c)
{
    ev_unwatch(c->r->loop, c->fd);
    close(c->fd);
    c->r->nconns--;
    if (c->prev)
        c->prev->next = c->next;
    else
        c->r->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    free(c);
}

/* The X-Wirelab-Signature header is "sha256=HEX" of HMAC-SHA256(secret, body). */
static int rcv_check_sig(const struct receiver *r, const uint8_t *buf,
                         const struct http1_request *q)
{
    if (!r->secret || !*r->secret) return -1;
    const struct http1_header *h = http1_find(q, buf, "x-wirelab-signature");
    if (!h || h->value.len != 7 + 64 || memcmp(buf + h->value.off, "sha256=", 7) != 0) return 0;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    HMAC(EVP_sha256(), r->secret, (int)strlen(r->secret), buf + q->body.off, q->body.len, md,
         &mdlen);
    char hex[65];
    for (unsigned i = 0; i < 32 && i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return memcmp(hex, buf + h->value.off + 7, 64) == 0;
}

static void rcv_conn_event(struct ev_loop *loop, int fd, unsigned mask, void *arg)
{
    struct rcv_conn *c = arg;
    struct receiver *r = c->r;
    if (c->reply) { /* answering: write, then close (every reply says Connection: close) */
        ssize_t w = send(fd, c->reply + c->reply_off, c->reply_len - c->reply_off, MSG_NOSIGNAL);
        if (w > 0) {
            c->reply_off += (size_t)w;
            *r->bytes += (uint64_t)w;
        }
        if ((w < 0 && errno != EAGAIN) || c->reply_off == c->reply_len) rcv_conn_close(c);
        return;
    }
    ssize_t n = recv(fd, c->buf + c->len, sizeof c->buf - c->len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
        rcv_conn_close(c);
        return;
    }
    *r->bytes += (uint64_t)n;
    c->len += (size_t)n;
    ssize_t pr = http1_parse(&c->p, c->buf, c->len);
    if (pr == HTTP1_NEED_MORE && c->len < sizeof c->buf) return;
    if (pr == HTTP1_NEED_MORE || pr == HTTP1_ERROR) {
        c->reply = pr == HTTP1_ERROR && c->p.err_status != 413 ? REPLY_BAD : REPLY_BIG;
        c->reply_len = strlen(c->reply);
        ev_watch(loop, fd, EV_WRITE, rcv_conn_event, c);
        return;
    }
    /* Acknowledge first, then report: the report may end the program, and an
     * unacknowledged delivery is one the sender retries (at-least-once). */
    const struct http1_request *q = &c->p.req;
    char path[256];
    snprintf(path, sizeof path, "%.*s", (int)q->origin.len, (const char *)c->buf + q->origin.off);
    int sig = rcv_check_sig(r, c->buf, q);
    c->reply = REPLY_OK;
    c->reply_len = strlen(c->reply);
    ssize_t w = send(fd, c->reply, c->reply_len, MSG_NOSIGNAL);
    if (w > 0) {
        c->reply_off = (size_t)w;
        *r->bytes += (uint64_t)w;
    }
    r->cb(r->arg, path, (const char *)c->buf + q->body.off, q->body.len, sig);
    if (c->reply_off == c->reply_len)
        rcv_conn_close(c);
    else
        ev_watch(loop, fd, EV_WRITE, rcv_conn_event, c);
}

static void rcv_accept(struct ev_loop *loop, int fd, unsigned mask, void *arg)
{
    struct receiver *r = arg;
    for (int k = 0; k < 64; k++) {
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) return;
        struct rcv_conn *c = r->nconns < RCV_MAX_CONNS ? calloc(1, sizeof *c) : NULL;
        if (!c) {
            close(cfd);
            continue;
        }
        c->r = r;
        c->fd = cfd;
        struct http1_limits lim = {8192, 32, RCV_MAX_REQ / 2};
        http1_init(&c->p, &lim, c->hdrs);
        if (ev_watch(loop, cfd, EV_READ, rcv_conn_event, c) != 0) {
            close(cfd);
            free(c);
            continue;
        }
        r->nconns++;
        c->next = r->conns;
        if (r->conns) r->conns->prev = c;
        r->conns = c;
    }
}

static void rcv_go_online(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct receiver *r = arg;
    if (listen(r->fd, 1024) == 0) ev_watch(loop, r->fd, EV_READ, rcv_accept, r);
}

struct receiver *rcv_create(struct ev_loop *loop, int port, uint32_t offline_ms, const char *secret,
                            uint64_t *bytes, rcv_delivery_cb cb, void *arg, char *err,
                            size_t errlen)
{
    struct receiver *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    /* net_listen binds and listens; to be "offline" we want bound-but-not-listening,
     * so a fresh socket would be needed.  Instead: listen with net_listen, and for
     * the offline period close it and re-bind the same port without listen(). */
    int fd = net_listen("127.0.0.1", port, 1024, 1, err, errlen);
    if (fd < 0) {
        free(r);
        return NULL;
    }
    if (offline_ms) {
        int bport = net_bound_port(fd);
        close(fd);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)bport)};
        sa.sin_addr.s_addr = htonl(0x7f000001);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
            snprintf(err, errlen, "re-binding the receiver port: %s", strerror(errno));
            if (fd >= 0) close(fd);
            free(r);
            return NULL;
        }
    }
    r->loop = loop;
    r->fd = fd;
    r->secret = secret;
    r->bytes = bytes;
    r->cb = cb;
    r->arg = arg;
    if (offline_ms)
        ev_timer_add(loop, offline_ms, rcv_go_online, r);
    else
        ev_watch(loop, fd, EV_READ, rcv_accept, r);
    return r;
}

int rcv_port(const struct receiver *r)
{
    return net_bound_port(r->fd);
}

void rcv_destroy(struct receiver *r)
{
    if (!r) return;
    while (r->conns)
        rcv_conn_close(r->conns);
    ev_unwatch(r->loop, r->fd);
    close(r->fd);
    free(r);
}
