/* httpc: the client side of HTTP/1.1, sans-I/O: an incremental response parser
 * (status, headers, Content-Length / chunked / close-delimited bodies streamed as
 * slices).  io/httpc/ssec.h parses an SSE body.  Its users move the bytes: the
 * lab clients (rr-client, notify-client, which also parses SSE with ssec) and
 * jobs-server's webhook sender (labs/jobs/webhook.c, the status of each
 * delivery).
 *
 * Contract of the response parser (httpc_*)
 * - httpc_init(p, head_request): head_request = 1 when the request was HEAD (no body
 *   follows whatever the headers say).
 * - httpc_parse(p, data, len, &ev) consumes bytes until it has one event or runs out
 *   of input and returns the bytes consumed (<= len).  ev.type is:
 *     HTTPC_NONE   all input consumed, need more;
 *     HTTPC_HEAD   status line and headers are in: p->status, httpc_header();
 *     HTTPC_BODY   ev.data/ev.len: the next slice of the decoded body (points into
 *                  the caller's data, valid until the caller reuses it);
 *     HTTPC_DONE   the response is complete; call httpc_init again for the next
 *                  one on the same connection.  A 101 response is DONE right after
 *                  its head: the bytes after it (not consumed) belong to the new
 *                  protocol.  1xx other than 101 are skipped.  204, 304 and HEAD
 *                  responses have no body;
 *     HTTPC_ERROR  malformed or over a limit: p->err says what; the connection
 *                  must close.  The parser stays in the error state.
 * - A body with neither Content-Length nor chunked ends when the connection does:
 *   call httpc_eof(p) then; it returns 1 when that completed the response, 0 when
 *   the connection closed mid-response (an error).
 * - Limits: the head is at most HTTPC_MAX_HEAD bytes and HTTPC_MAX_HEADERS fields,
 *   chunk-size lines and trailers are bounded the same way.
 *
 */
#ifndef WIRELAB_IO_HTTPC_HTTPC_H
#define WIRELAB_IO_HTTPC_HTTPC_H

#include <stddef.h>
#include <stdint.h>

#define HTTPC_MAX_HEAD    4096
#define HTTPC_MAX_HEADERS 32

enum httpc_event_type { HTTPC_NONE, HTTPC_HEAD, HTTPC_BODY, HTTPC_DONE, HTTPC_ERROR };

struct httpc_event {
    enum httpc_event_type type;
    const uint8_t *data;
    size_t len;
};

struct httpc {
    int status;
    int head_request;
    int chunked, until_close;
    int64_t content_length; /* -1 when absent */
    char head[HTTPC_MAX_HEAD + 1];
    size_t head_len;
    struct {
        uint16_t name, value; /* offsets into head, NUL-terminated there */
    } hdr[HTTPC_MAX_HEADERS];
    unsigned nhdr;
    /* private */
    int state;
    uint64_t remaining;
    char line[128]; /* chunk-size or trailer line */
    size_t line_len;
    char err[96];
};

void httpc_init(struct httpc *p, int head_request);
size_t httpc_parse(struct httpc *p, const uint8_t *data, size_t len, struct httpc_event *ev);
int httpc_eof(struct httpc *p);
/* The value of the first header named name (case-insensitive), or NULL. */
const char *httpc_header(const struct httpc *p, const char *name);

#endif
