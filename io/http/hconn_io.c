/* hconn_io: send an hconn's pending output to a socket; see hconn_io.h. */
#include "io/http/hconn_io.h"

#include <errno.h>
#include <sys/socket.h>

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
