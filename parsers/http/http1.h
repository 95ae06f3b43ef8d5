/* http1: a hand-written, incremental, allocation-free, strict RFC 9112 HTTP/1.1
 * request parser.
 *
 * Return convention (like picohttpparser):
 *   n > 0             one whole request (head and body) is complete; it used the
 *                     first n bytes of buf.  The next pipelined request starts at buf+n.
 *   HTTP1_NEED_MORE   (-2) everything so far is valid; call again with more bytes.
 *   HTTP1_ERROR       (-1) invalid: p->err_offset is the byte offset of the error
 *                     (from the start of this request), p->err_status the status a
 *                     server should answer with (400, 413, 431, 501 or 505) and
 *                     p->err_msg a short static message.  The connection must close.
 *
 * Incremental: call http1_parse(p, buf, len) with ALL the bytes of the current
 * request received so far, starting at its first byte, each time more arrive (the
 * caller may move or realloc buf between calls; the parser keeps offsets, never
 * pointers).  It resumes where it stopped, so total work is linear.  Any split of
 * the same bytes gives the same result.  Allocation-free: the caller provides the
 * header array; nothing is allocated.
 *
 * Chunked bodies are decoded IN PLACE: the data bytes are moved down over the
 * chunk-size lines, so when the request is done the decoded body is contiguous at
 * buf + req.body.off (req.body.len bytes).  buf is therefore not const, and bytes
 * the parser has passed must not be changed by the caller; after
 * http1_keep_chunks() the parser never writes to buf.  A Content-Length body is
 * simply the bytes after the head.
 *
 * Limits (struct http1_limits, all parameters):
 *   max_head     bytes of request line + header fields + final CRLF  -> 431
 *                (also the bound on the trailer section)
 *   max_headers  header fields plus trailer fields (also the capacity of the
 *                caller's array)                                      -> 431
 *   max_body     decoded body bytes (Content-Length or chunked)        -> 413
 *                a chunked body's raw size (framing included) is bounded by
 *                2 * max_body + 64 KiB, so tiny chunks cannot grow the caller's
 *                buffer without bound                                  -> 413
 *
 * Strictness: each rule below is an error with its status in brackets, and a line
 * with its RFC 9112 section in the strictness table of labs/02-parsers/NOTES.md.
 *   - empty lines (CRLF) before the request line are skipped (2.2).
 *   - request line: method is a token, then exactly one SP, the target (visible
 *     ASCII, no '#': a fragment is not part of any form), one SP, "HTTP/1.1" or
 *     "HTTP/1.0" [400]; another HTTP version [505] (3).
 *   - the target is in one of the four forms of 3.2, checked per method: CONNECT
 *     takes only authority-form (host:port), OPTIONS also "*", every other method
 *     origin-form ("/..." ) or absolute-form ("scheme:..."; an http(s) URI needs
 *     "//" and a host) [400].  req.origin is the origin-form part (3.2.2).
 *   - every line ends in CRLF: a bare CR [400] or a bare LF [400] is refused (2.2).
 *   - field name: a non-empty token immediately followed by ':'; whitespace
 *     before the colon [400]; a line starting with SP/HTAB (obs-fold) [400] (5).
 *   - field value: control characters (other than HTAB) or DEL [400] (5.5).
 *   - Content-Length: 1*DIGIT only, no list, no sign, no overflow [400];
 *     a second Content-Length field, even with the same value [400] (6.3).
 *   - Transfer-Encoding: only "chunked" (case-insensitive) is accepted; any
 *     other coding or list, e.g. "gzip, chunked" [501]; a second
 *     Transfer-Encoding field [400]; Transfer-Encoding in HTTP/1.0 [400] (6.1).
 *   - both Content-Length and Transfer-Encoding [400] (6.1, 6.3).
 *   - Host: missing in HTTP/1.1 or present twice [400] (3.2).
 *   - CONNECT: Content-Length or Transfer-Encoding [400] (RFC 9110 9.3.6: it has no
 *     content); the bytes after its head are a tunnel, so it never keeps alive (9.3).
 *   - chunk-size: 1 to 16 hex digits [400]; chunk-ext only as its grammar says:
 *     *( BWS ";" BWS token [ BWS "=" BWS ( token / quoted-string ) ] ), at most 1024
 *     bytes [400]; no whitespace before CRLF ("5 \r\n") [400]; chunk data must be
 *     followed by CRLF [400] (7.1.1).
 *   - trailer fields follow the header field rules; Content-Length,
 *     Transfer-Encoding and Host are refused in trailers [400] (7.1.2).
 *   - after a request that closes the connection (Connection: close, HTTP/1.0
 *     without keep-alive, CONNECT) nothing but empty lines is parsed [400] (9.6).
 *
 * Trailer fields are kept apart from the header fields: the caller's array holds
 * req.nheaders header fields, then req.ntrailers trailer fields.  http1_find() sees
 * header fields only, http1_find_trailer() trailer fields only.
 *
 * Canonical dump (parsers/parser.h, format "http"; every implementation, the
 * library adapters included, writes exactly this for the same valid input):
 *     method METHOD
 *     target TARGET
 *     version 1.1                 (or 1.0)
 *     header NAME: VALUE          one line per header field, in order; NAME
 *                                 lowercased, VALUE as received with surrounding
 *                                 OWS trimmed
 *     trailer NAME: VALUE         the same for each trailer field
 *     body LENGTH                 decoded body bytes, 0 when there is none
 * Each line ends in "\n".  A file holding several pipelined requests dumps each
 * in order, separated by one empty line; empty lines between and after requests are
 * ignored.  items = number of header and trailer lines (over all requests), depth = 1.
 */
#ifndef WIRELAB_PARSERS_HTTP_HTTP1_H
#define WIRELAB_PARSERS_HTTP_HTTP1_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HTTP1_NEED_MORE (-2)
#define HTTP1_ERROR     (-1)

struct http1_limits {
    size_t max_head;    /* default 8192 */
    size_t max_headers; /* default 64 */
    size_t max_body;    /* default 1 MiB; must be < 1 GiB */
};
#define HTTP1_LIMITS_DEFAULT                                                                       \
    {                                                                                              \
        8192, 64, 1u << 20                                                                         \
    }

/* A byte range of the caller's buffer, from the start of the request. */
struct http1_span {
    uint32_t off, len;
};

struct http1_header {
    struct http1_span name, value; /* value without surrounding OWS */
};

struct http1_request {
    struct http1_span method, target;
    /* The target in origin-form, absolute-path [ "?" query ]: the target itself in
     * origin-form, what follows the authority in absolute-form (empty when there is no
     * path: it means "/"), "*" in asterisk-form, empty in authority-form. */
    struct http1_span origin;
    int minor;                    /* 1 for HTTP/1.1, 0 for HTTP/1.0 */
    struct http1_header *headers; /* caller's array, limits.max_headers entries */
    size_t nheaders;              /* header fields: headers[0, nheaders) */
    size_t ntrailers;             /* trailer fields: the ntrailers entries after them */
    int64_t content_length;       /* -1 when absent */
    int chunked;                  /* Transfer-Encoding: chunked */
    int keep_alive;               /* 1.1 without "close", or 1.0 with "keep-alive";
                                     never for CONNECT */
    int upgrade;                  /* Connection has "upgrade" and Upgrade is present */
    int expect_continue;          /* Expect: 100-continue */
    size_t head_len;              /* bytes of the head, final CRLF included */
    struct http1_span body;       /* decoded body */
};

struct http1_parser {
    struct http1_limits lim;
    struct http1_request req;
    /* private state (http1_reset() sets each field by name: add new ones there) */
    int state;
    size_t pos;         /* next raw byte to look at */
    size_t mark;        /* start of the current token */
    size_t vend;        /* end of the value so far, trailing OWS excluded */
    size_t line_start;  /* for the head/trailer size limits */
    size_t body_end;    /* decoded body bytes end here (chunked, in place) */
    uint64_t remaining; /* of the body or of the current chunk */
    unsigned ndigits, ext_len, ext_state;
    /* per-request flags, side by side so clearing them is one or two stores */
    uint8_t in_trailer, hosts, te_seen, conn_close, conn_keepalive, conn_upgrade, has_upgrade;
    uint8_t connect;     /* the method is CONNECT */
    uint8_t closed;      /* a finished request closed the connection: kept by http1_reset() */
    uint8_t keep_chunks; /* http1_keep_chunks(): kept by http1_reset() */
    size_t err_offset;
    int err_status;
    const char *err_msg;
};

/* Prepares p for a new request.  headers has lim->max_headers entries. */
void http1_init(struct http1_parser *p, const struct http1_limits *lim,
                struct http1_header *headers);
/* Forgets the current request (after one is done), keeping limits and array, and
 * whether a finished request closed the connection (nothing more is parsed then). */
void http1_reset(struct http1_parser *p);
ssize_t http1_parse(struct http1_parser *p, uint8_t *buf, size_t len);
/* From now on chunked bodies are checked and counted but not decoded in place: buf is
 * only read, req.body.len is the decoded length, and the bytes at req.body.off are the
 * chunked section as received, not the body.  For a caller that validates or
 * measures (the parser_impl entry) and must not write into its input. */
void http1_keep_chunks(struct http1_parser *p);
/* 1 once the whole head (request line and header fields) has been parsed. */
int http1_head_done(const struct http1_parser *p);
/* 1 when everything given so far was empty lines (CRLF), nothing of a request: the
 * bytes between or after requests, which a whole-input parse may end with. */
int http1_between(const struct http1_parser *p);

/* Helpers over a parsed request; buf is the buffer passed to http1_parse. */
int http1_span_eq(const uint8_t *buf, struct http1_span s, const char *lit);
int http1_span_ieq(const uint8_t *buf, struct http1_span s, const char *lit);
/* The first header field named name (case-insensitive), or NULL; trailer fields are
 * never returned. */
const struct http1_header *http1_find(const struct http1_request *r, const uint8_t *buf,
                                      const char *name);
/* The first trailer field named name (case-insensitive), or NULL. */
const struct http1_header *http1_find_trailer(const struct http1_request *r, const uint8_t *buf,
                                              const char *name);

#endif
