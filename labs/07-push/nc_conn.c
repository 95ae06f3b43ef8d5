/* nc_conn: non-blocking client connections on io/ev (contract in nc_conn.h). */
#include "labs/07-push/nc_conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void nc_event(struct ev_loop *loop, int fd, unsigned mask, void *arg);

void nc_init(struct nc_conn *c, struct ev_loop *loop, uint64_t *bytes, nc_data_cb on_data,
             nc_close_cb on_close, void *arg)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->loop = loop;
    c->bytes = bytes;
    c->on_data = on_data;
    c->on_close = on_close;
    c->arg = arg;
}

static void nc_rewatch(struct nc_conn *c)
{
    unsigned m = EV_READ;
    if (c->connecting || c->out_off < c->out_len) m |= EV_WRITE;
    if (m != c->mask && ev_watch(c->loop, c->fd, m, nc_event, c) == 0)
        c->mask = m; /* only when it changes: one epoll_ctl less per event */
}

int nc_open(struct nc_conn *c, uint32_t addr, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = addr;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    c->fd = fd;
    c->connecting = 1;
    c->out_len = c->out_off = 0;
    c->mask = EV_READ | EV_WRITE;
    if (ev_watch(c->loop, fd, c->mask, nc_event, c) != 0) {
        int e = errno;
        close(fd);
        c->fd = -1;
        errno = e;
        return -1;
    }
    return 0;
}

void nc_close(struct nc_conn *c)
{
    if (c->fd < 0) return;
    ev_unwatch(c->loop, c->fd);
    close(c->fd);
    c->fd = -1;
    c->connecting = 0;
    c->mask = 0;
    c->out_len = c->out_off = 0;
}

static void nc_fail(struct nc_conn *c, int err)
{
    nc_close(c);
    if (c->on_close) c->on_close(c, err);
}

static int nc_flush(struct nc_conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (w < 0) return -1;
        c->out_off += (size_t)w;
        if (c->bytes) *c->bytes += (uint64_t)w;
    }
    if (c->out_off == c->out_len) c->out_off = c->out_len = 0;
    nc_rewatch(c);
    return 0;
}

int nc_send(struct nc_conn *c, const void *data, size_t len)
{
    if (c->fd < 0) {
        errno = ENOTCONN;
        return -1;
    }
    if (c->out_off && c->out_len + len > NC_OUT_MAX) { /* compact first */
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    if (c->out_len + len > NC_OUT_MAX) {
        errno = ENOBUFS;
        return -1;
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
    if (c->connecting) return 0;
    if (nc_flush(c) != 0) {
        /* report the error from the loop, not from inside the caller */
        c->out_len = c->out_off = 0;
        shutdown(c->fd, SHUT_RDWR);
    }
    return 0;
}

static void nc_event(struct ev_loop *loop, int fd, unsigned mask, void *arg)
{
    struct nc_conn *c = arg;
    if (c->connecting && (mask & (EV_WRITE | EV_ERROR))) {
        int err = 0;
        socklen_t l = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) {
            nc_fail(c, err);
            return;
        }
        c->connecting = 0;
    }
    if ((mask & EV_WRITE) && !c->connecting && nc_flush(c) != 0) {
        nc_fail(c, errno);
        return;
    }
    if (mask & (EV_READ | EV_ERROR)) {
        uint8_t buf[32768];
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (r <= 0) {
            nc_fail(c, r < 0 ? errno : 0);
            return;
        }
        if (c->bytes) *c->bytes += (uint64_t)r;
        c->on_data(c, buf, (size_t)r);
    }
    if (c->fd == fd && !c->connecting) nc_rewatch(c);
}
