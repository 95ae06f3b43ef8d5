/* hconn_io: an hconn's output to a socket, and its two ways to close; see hconn_io.h. */
#include "io/http/hconn_io.h"

#include <errno.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

ssize_t hconn_io_send(struct hconn *c, int fd)
{
    const uint8_t *p;
    size_t n;
    while ((n = hconn_out(c, &p)) > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return (ssize_t)n;
        if (w < 0) return -1;
        if (w == 0) { /* not for a stream socket with n > 0; do not spin on it */
            errno = EPIPE;
            return -1;
        }
        hconn_out_done(c, (size_t)w);
    }
    return 0;
}

void hconn_io_abort(int fd)
{
    int unsent = 0;
    if (ioctl(fd, SIOCOUTQ, &unsent) == 0 && unsent > 0) {
        struct linger lg = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
}

int hconn_io_end(int fd, int how)
{
    if (how == HCONN_CLOSE_CUT) hconn_io_abort(fd);
    return how == HCONN_CLOSE_LINGER && shutdown(fd, SHUT_WR) == 0;
}

int hconn_io_linger_drain(int fd, size_t *left)
{
    char buf[16384];
    while (*left > 0) {
        ssize_t n = recv(fd, buf, *left < sizeof buf ? *left : sizeof buf, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        if (n <= 0) return 1; /* EOF: the peer is done; or an error */
        *left -= (size_t)n;
    }
    return 1;
}

void hconn_io_linger(int fd)
{
    struct timespec t0, t;
    size_t left = HCONN_IO_LINGER_BYTES;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        long ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (ms >= HCONN_IO_LINGER_MS || poll(&pfd, 1, (int)(HCONN_IO_LINGER_MS - ms)) == 0) return;
        if (hconn_io_linger_drain(fd, &left)) return;
    }
}
