/* hconn_io: moving an hconn's output to a socket (the one place that does it).
 *
 * hconn itself stays sans-I/O; this is the small piece of I/O every server on it
 * repeated: send what hconn_out() holds, mark it written, retry EINTR, stop when
 * the socket buffer is full.
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
 */
#ifndef WIRELAB_IO_HTTP_HCONN_IO_H
#define WIRELAB_IO_HTTP_HCONN_IO_H

#include <sys/types.h>

#include "io/http/hconn.h"

ssize_t hconn_io_send(struct hconn *c, int fd);

#endif
