/* hconn_io: the socket side of an hconn, written once for every server on it.
 *
 * hconn itself stays sans-I/O; these are the small pieces of I/O every server on
 * it repeated: send what hconn_out() holds, and end the connection the way
 * hconn_should_close() says.
 *
 * Contract
 * - hconn_io_send(c, fd) sends hconn_out(c) to fd with send(MSG_NOSIGNAL), calls
 *   hconn_out_done() for every byte the kernel took, and returns how many bytes
 *   are still waiting: 0 when all are out; > 0 when the send would block
 *   (EAGAIN/EWOULDBLOCK): on a non-blocking socket watch for writable and call
 *   it again then; on a blocking socket with SO_SNDTIMEO it means the peer did
 *   not read for a whole timeout.
 * - It returns -1 when the send failed (peer gone, reset, ...): errno says why;
 *   the caller closes the connection.  c and fd are left as they were.
 * - It does not call hconn_process(): what the drained output lets go on
 *   (pipelined requests, a resuming stream) is the caller's decision.
 * - hconn_io_end(fd, how) starts the end; it returns 1 when the server must now
 *   linger, 0 when it closes fd at once:
 *     HCONN_CLOSE_NOW: nothing to do, close(fd) sends a FIN after what is written;
 *     HCONN_CLOSE_CUT: when the socket still holds unsent bytes (a peer that does
 *       not read) it sets SO_LINGER 0 (hconn_io_abort), so close() resets the
 *       connection at once instead of leaving the kernel pushing them for minutes;
 *     HCONN_CLOSE_LINGER (RFC 9112 9.6, nginx's lingering_close): the response is
 *       written but the peer may still be sending the request we refused, and
 *       close() with unread input sends a reset that can destroy the response in
 *       the peer's receive buffer.  It shuts down our sending side (the peer reads
 *       the response, then EOF) and returns 1: the server reads and discards until
 *       EOF, an error, HCONN_IO_LINGER_BYTES or HCONN_IO_LINGER_MS, then closes.
 * - On a non-blocking socket hconn_io_linger_drain(fd, &left) reads what is there
 *   and returns 1 when the linger is over (close now) or 0 (wait for readable; the
 *   server's timer enforces the time bound).  A blocking server calls
 *   hconn_io_linger(fd), which waits with poll() and returns when it is time to
 *   close.
 */
#ifndef WIRELAB_IO_HTTP_HCONN_IO_H
#define WIRELAB_IO_HTTP_HCONN_IO_H

#include <stddef.h>
#include <sys/types.h>

#include "io/http/hconn.h"

#define HCONN_IO_LINGER_MS    2000
#define HCONN_IO_LINGER_BYTES (4u << 20)

ssize_t hconn_io_send(struct hconn *c, int fd);
int hconn_io_end(int fd, int how);
void hconn_io_abort(int fd);
int hconn_io_linger_drain(int fd, size_t *left);
void hconn_io_linger(int fd);

#endif
