/* hconn: the sans-I/O HTTP/1.1 server connection core.
 *
 * Bytes in, response bytes out.  No system calls and no clock of its own (the
 * caller's clock is an optional callback), so the blocking, epoll and io_uring
 * servers differ only in how bytes move, every server gets the same limits and
 * deadlines, and tests drive it byte by byte.  Requests are parsed by
 * parsers/http (http1.h).
 *
 * Contract
 * - One struct hconn per connection, from hconn_new(cfg); cfg is copied.
 * - Input.  Either recv straight into the core: p = hconn_in_space(c, &room),
 *   recv up to room bytes at p, then hconn_in_commit(c, n); or copy with
 *   hconn_feed(c, data, n).  The input buffer is bounded (max_in, default
 *   2 * max_head + 2 * max_body + 128 KiB): hconn_feed() returns -1 when the bytes
 *   do not fit (the connection is then dead), and hconn_in_space() returns room
 *   0 while it is full (stop reading until hconn_process() has made room).
 *   Feeding never runs handlers.
 * - hconn_process(c) parses and dispatches every complete request buffered, in
 *   order, and returns how many it dispatched.  Call it after feeding bytes,
 *   after completing a deferred or streamed response, and after the output
 *   drained below cfg.out_high (it stops dispatching while more than out_high
 *   bytes wait, which bounds what pipelining can pile up).  Never call it from
 *   inside a handler.
 * - Output.  len = hconn_out(c, &p) gives every response byte not yet written,
 *   in one contiguous block: all the responses to the requests read in one go
 *   leave in one write(); after writing n bytes call hconn_out_done(c, n).
 *   The output buffer is bounded by cfg.max_out: an append that would exceed it
 *   fails with -1 and marks the connection dead (a slow reader is cut off;
 *   hconn_error() says why).
 * - End of input: when the peer has shut down its sending side (recv returned
 *   0), call hconn_in_eof(c) and then hconn_process(c).  The requests already
 *   received are still answered, in order (a half-closed client gets its
 *   responses); then the connection closes.  An incomplete request at EOF is
 *   dropped without an answer.
 * - When to close: hconn_should_close(c) is nonzero once the connection must
 *   close: HCONN_CLOSE_CUT when it is dead (a slow reader over max_out or its
 *   deadline, an input overflow, an idle timeout: close at once, resetting it when
 *   bytes are still unsent); HCONN_CLOSE_NOW when it ends cleanly (Connection:
 *   close, HTTP/1.0 without keep-alive, end of input, the end of a stream without
 *   framing, a 408) and all its output is written: a plain close, whatever the
 *   kernel still holds is delivered; HCONN_CLOSE_LINGER when it ends after an error status
 *   answered before the request was read whole (400, 413, 431, 501, 505, 503),
 *   or with bytes of further requests unread: the peer may still be sending, and
 *   closing a socket with unread input sends a reset that can destroy the
 *   response before the peer reads it.  Shut down the write side, read and
 *   discard for a bounded time and amount, then close (hconn_io.h does it).
 *   hconn_want_read(c) is 1 while reading more input makes sense.
 * - Deadlines (with cfg.clock_ns; nothing here reads a clock on its own: the
 *   caller's clock is read when bytes are fed, when output is marked written and
 *   when a response is queued).  hconn_deadline(c) gives the clock value at which
 *   the connection's current wait ends, or 0 when none applies:
 *     output waiting to be written: no byte written for cfg.idle_timeout_ms
 *       (a peer that does not read); the connection dies;
 *     a request open (deferred, streaming) with its output written: none (the
 *       server's own timers bound it);
 *     bytes of a request received but not the whole request: the request must
 *       arrive whole (head and body) within cfg.request_timeout_ms of its first
 *       byte, like nginx's client_header_timeout: else 408 and close, so a
 *       client that trickles a byte at a time holds a connection for that long
 *       and no longer;
 *     nothing to do (no request, no byte of one): cfg.idle_timeout_ms since the
 *       last activity (connected, response queued, output written); the
 *       connection closes quietly.
 *   A zero timeout turns its rule off.  The server arms one timer (or sweeps)
 *   for hconn_deadline(c) and, when it passes, calls hconn_expire(c, now): it
 *   applies the rule (returns 1) or, when the deadline moved meanwhile, does
 *   nothing (returns 0); then the server writes what was queued and looks at
 *   hconn_should_close().
 * - Body budget: cfg.budget (optional) is a server-wide cap on request bodies
 *   held in input buffers, shared by every connection of the server and safe to
 *   share between threads.  A request whose head is in but whose body is not
 *   reserves its Content-Length (a chunked body: its bytes so far) from the
 *   budget; when the budget cannot give it, the request is answered 503 with
 *   Retry-After and the connection closes.  The reservation is given back once
 *   the request was dispatched, and by hconn_free().  A request that arrives
 *   whole in one read reserves nothing (it is never waiting for its body).
 *
 * Handlers.  cfg.on_request(c, req, app) runs once per request, in order, with
 * at most one request open at a time.  req and every pointer in it are valid
 * only during the call: copy what you keep.  A handler does exactly one of:
 *   (a) immediate: hconn_respond() before returning;
 *   (b) deferred: return without responding; the request stays open, later
 *       pipelined requests wait (buffered, unparsed) in order; when a timer or
 *       an event fires, call hconn_respond(c, ...), then hconn_process(c), then
 *       write the output;
 *   (c) streaming: hconn_stream_begin() (now or later) sends the head (chunked
 *       for HTTP/1.1; unframed, closing at the end for HTTP/1.0), then
 *       hconn_stream_write() appends body bytes (e.g. SSE events) as they come,
 *       hconn_stream_end() finishes the response; then hconn_process();
 *   (d) takeover: hconn_upgrade() queues a "101 Switching Protocols" head; once
 *       the output is written, hconn_taken(c) is 1 and hconn_leftover() gives
 *       the bytes already received after the request (e.g. the first WebSocket
 *       frames).  The core stops parsing and has no deadline; the server owns
 *       the protocol, and may keep using the output buffer for it:
 *       hconn_raw_write() appends the new protocol's bytes (bounded by max_out
 *       like any response: a slow reader is cut off), hconn_out() and
 *       hconn_io_send() write them, and hconn_raw_end() asks for a close once
 *       they are written (HCONN_CLOSE_NOW then).
 * hconn_busy(c) is 1 while a request is open (deferred or streaming).
 *
 * Errors are answered by the core: a parse error gets its status (400, 413,
 * 431, 501 or 505), a request over the body budget 503, a request not received
 * in time 408, each with a one-line text body (and, with cfg.server_timing, a
 * Server-Timing line: recv, parse, process), then the connection closes.
 * "Expect: 100-continue" gets "100 Continue" before the body is read.  HEAD
 * responses carry the Content-Length of the body but not the body.
 *
 * Phase timestamps.  With cfg.clock_ns set, hconn_times(c) gives the open
 * request's phases: t_recv (its first byte was fed), t_parse (the process call
 * that completed it started), t_dispatch (the handler was called), t_respond
 * (the response head was queued).  hconn_server_timing() formats them as a
 * Server-Timing header line (recv, parse, process durations in ms).
 */
#ifndef WIRELAB_IO_HTTP_HCONN_H
#define WIRELAB_IO_HTTP_HCONN_H

#include <stddef.h>
#include <stdint.h>

#include "parsers/http/http1.h"

struct hconn;

struct hconn_req {
    const char *method;
    size_t method_len;
    const char *target; /* as received */
    size_t target_len;
    const char *origin; /* the target in origin-form, path?query: what servers route on */
    size_t origin_len;  /* (an absolute-form target's path and query, RFC 9112 3.2.2) */
    const char *path;   /* origin up to '?' ("/" when an absolute-form target has none) */
    size_t path_len;
    const char *query; /* after '?', NULL when there is none */
    size_t query_len;
    int minor; /* HTTP/1.<minor> */
    int keep_alive;
    int upgrade; /* Connection: upgrade with an Upgrade field */
    const uint8_t *body;
    size_t body_len;
    uint64_t seq;                    /* 1 for the first request on the connection */
    const struct http1_request *raw; /* all fields, spans into raw_buf */
    const uint8_t *raw_buf;
};

typedef void (*hconn_handler)(struct hconn *c, const struct hconn_req *req, void *app);

/* The server-wide body budget (see the contract): zero-initialize, set max. */
struct hconn_budget {
    size_t max;               /* bytes; 0: no cap */
    _Atomic size_t used;      /* reserved now */
    _Atomic uint64_t refused; /* requests answered 503 because of it */
};

struct hconn_config {
    struct http1_limits limits; /* zero fields take the defaults */
    size_t max_in;              /* input buffer bound (0: default, see above) */
    size_t max_out;             /* output buffer bound (0: max_body + 256 KiB) */
    size_t out_high;            /* stop dispatching above this (0: 64 KiB) */
    hconn_handler on_request;
    void *app;
    uint64_t (*clock_ns)(void *app); /* optional; deadlines need it */
    int server_timing;               /* the core's error answers carry Server-Timing */
    uint32_t idle_timeout_ms;        /* 0: no idle or slow-reader deadline */
    uint32_t request_timeout_ms;     /* 0: no deadline for receiving a request */
    struct hconn_budget *budget;     /* optional, shared */
};

enum { HCONN_CLOSE_NOW = 1, HCONN_CLOSE_LINGER = 2, HCONN_CLOSE_CUT = 3 };

struct hconn_times {
    uint64_t t_recv, t_parse, t_dispatch, t_respond;
};

struct hconn *hconn_new(const struct hconn_config *cfg);
void hconn_free(struct hconn *c);

uint8_t *hconn_in_space(struct hconn *c, size_t *room);
void hconn_in_commit(struct hconn *c, size_t n);
int hconn_feed(struct hconn *c, const void *data, size_t n);
void hconn_in_eof(struct hconn *c);

int hconn_process(struct hconn *c);

size_t hconn_out(struct hconn *c, const uint8_t **p);
void hconn_out_done(struct hconn *c, size_t n);

int hconn_want_read(const struct hconn *c);
int hconn_should_close(const struct hconn *c);
int hconn_busy(const struct hconn *c);
int hconn_taken(const struct hconn *c);
const uint8_t *hconn_leftover(const struct hconn *c, size_t *n);
const char *hconn_error(const struct hconn *c); /* why it is dead or closing, or NULL */

uint64_t hconn_deadline(const struct hconn *c);
int hconn_expire(struct hconn *c, uint64_t now_ns);

/* Responses to the open request.  headers: extra header lines, each ending in
 * "\r\n" (e.g. "Content-Type: text/plain\r\n"), or NULL.  Content-Length,
 * Connection and Server are added by the core.  Return 0, or -1 when the output
 * bound is exceeded (the connection is then dead) or no request is open. */
int hconn_respond(struct hconn *c, int status, const char *headers, const void *body, size_t len);
int hconn_stream_begin(struct hconn *c, int status, const char *headers);
int hconn_stream_write(struct hconn *c, const void *data, size_t len);
int hconn_stream_end(struct hconn *c);
int hconn_upgrade(struct hconn *c, const char *headers);
/* After a takeover: append len bytes of the new protocol to the output.  0, or
 * -1 when the output bound is exceeded (the connection is then dead) or the
 * connection was not taken over. */
int hconn_raw_write(struct hconn *c, const void *data, size_t len);
void hconn_raw_end(struct hconn *c);

/* The first field named name in the request (case-insensitive), or NULL. */
const char *hconn_header(const struct hconn_req *r, const char *name, size_t *len);

const struct hconn_times *hconn_times(const struct hconn *c);
/* Writes "Server-Timing: recv;dur=X, parse;dur=Y, process;dur=Z\r\n" (ms, up to
 * now) into buf; returns its length, 0 without a clock or when it does not fit. */
size_t hconn_server_timing(const struct hconn *c, char *buf, size_t cap);

/* The reason phrase of a status code ("OK", "Not Found", ...). */
const char *hconn_reason(int status);

#endif
