/* hconn: the sans-I/O HTTP/1.1 server connection core (contract in hconn.h).
 *
 * One input buffer (the current request starts at in_start; the parser keeps
 * offsets from there, so compaction may move it at any time) and one output
 * buffer (every queued response byte, written from out_off).  At most one
 * request is open; the bytes of later pipelined requests wait unparsed.
 */
#include "io/http/hconn.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum req_state { R_NONE, R_OPEN, R_STREAM };

struct hconn {
    struct hconn_config cfg;
    struct http1_parser parser;
    struct http1_header *headers;

    uint8_t *in;
    size_t in_cap, in_start, in_len;

    uint8_t *out;
    size_t out_cap, out_off, out_len;

    enum req_state req;
    int req_keep_alive, req_minor, req_head; /* of the open request */
    int stream_chunked;
    int in_handler;
    int closing; /* close once the output is written */
    int linger;  /* ... and drain the peer's input first (HCONN_CLOSE_LINGER) */
    int dead;    /* close now */
    int taken;   /* upgraded: the server owns the connection */
    int in_eof;  /* the peer sends nothing more */
    int sent_continue;
    int recv_stamped; /* t_next_recv holds the first byte of the next request */
    uint64_t seq;
    uint64_t t_last_feed, t_next_recv;
    uint64_t t_active; /* connected, output started or written: the idle clock */
    size_t charged;    /* reserved from cfg.budget for the current request's body */
    struct hconn_times times;
    const char *why;
};

#define IN_INITIAL  4096
#define OUT_INITIAL 4096

static uint64_t now(const struct hconn *c)
{
    return c->cfg.clock_ns ? c->cfg.clock_ns(c->cfg.app) : 0;
}

struct hconn *hconn_new(const struct hconn_config *cfg)
{
    const struct http1_limits def = HTTP1_LIMITS_DEFAULT;
    struct hconn *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->cfg = *cfg;
    struct http1_limits *l = &c->cfg.limits;
    if (!l->max_head) l->max_head = def.max_head;
    if (!l->max_headers) l->max_headers = def.max_headers;
    if (!l->max_body) l->max_body = def.max_body;
    if (!c->cfg.max_in) c->cfg.max_in = l->max_head * 2 + 2 * l->max_body + 128 * 1024;
    if (!c->cfg.max_out) c->cfg.max_out = l->max_body + 256 * 1024;
    if (!c->cfg.out_high) c->cfg.out_high = 64 * 1024;
    c->headers = calloc(l->max_headers, sizeof *c->headers);
    if (!c->headers) {
        free(c);
        return NULL;
    }
    http1_init(&c->parser, l, c->headers);
    c->t_active = now(c);
    return c;
}

/* ---- the body budget ------------------------------------------------------- */

/* Raises the current request's reservation to want bytes; -1 when the budget
 * cannot give that much (nothing is taken then). */
static int budget_take(struct hconn *c, size_t want)
{
    struct hconn_budget *b = c->cfg.budget;
    if (!b || !b->max || want <= c->charged) return 0;
    size_t add = want - c->charged, cur = atomic_load(&b->used);
    do {
        if (cur + add > b->max || cur + add < cur) return -1;
    } while (!atomic_compare_exchange_weak(&b->used, &cur, cur + add));
    c->charged = want;
    return 0;
}

static void budget_give(struct hconn *c)
{
    if (!c->charged) return;
    atomic_fetch_sub(&c->cfg.budget->used, c->charged);
    c->charged = 0;
}

void hconn_free(struct hconn *c)
{
    if (!c) return;
    budget_give(c);
    free(c->headers);
    free(c->in);
    free(c->out);
    free(c);
}

/* ---- input ----------------------------------------------------------------- */

/* Makes room for want more bytes after *len in a buffer whose live bytes are
 * [*start, *len): moves them to the front when that is needed or free, then grows
 * (doubling) up to max.  Returns 0, -1 when max does not allow it, -2 without
 * memory.  Input and output buffers both use it. */
static int buf_reserve(uint8_t **buf, size_t *cap, size_t *start, size_t *len, size_t want,
                       size_t max, size_t initial)
{
    if (*start > 0 && (*start == *len || *cap - *len < want)) {
        memmove(*buf, *buf + *start, *len - *start);
        *len -= *start;
        *start = 0;
    }
    if (*cap - *len >= want) return 0;
    size_t need = *len + want;
    if (need > max) return -1;
    size_t ncap = *cap ? *cap : initial;
    while (ncap < need)
        ncap *= 2;
    if (ncap > max) ncap = max;
    uint8_t *p = realloc(*buf, ncap);
    if (!p) return -2;
    *buf = p;
    *cap = ncap;
    return 0;
}

static int in_reserve(struct hconn *c, size_t want)
{
    return buf_reserve(&c->in, &c->in_cap, &c->in_start, &c->in_len, want, c->cfg.max_in,
                       IN_INITIAL) == 0
               ? 0
               : -1;
}

uint8_t *hconn_in_space(struct hconn *c, size_t *room)
{
    size_t want = c->in_cap - c->in_len < 1024 ? 16 * 1024 : 1024;
    if (in_reserve(c, want) < 0) (void)in_reserve(c, 1); /* take what is left below max_in */
    *room = c->in_cap - c->in_len;
    return c->in ? c->in + c->in_len : c->in;
}

static void stamp_recv(struct hconn *c)
{
    c->t_last_feed = now(c);
    if (!c->recv_stamped) {
        c->recv_stamped = 1;
        c->t_next_recv = c->t_last_feed;
    }
}

void hconn_in_commit(struct hconn *c, size_t n)
{
    assert(c->in_len + n <= c->in_cap);
    c->in_len += n;
    if (n) stamp_recv(c);
}

int hconn_feed(struct hconn *c, const void *data, size_t n)
{
    if (n == 0) return 0;
    if (in_reserve(c, n) < 0) {
        c->dead = 1;
        c->why = "input buffer full";
        return -1;
    }
    memcpy(c->in + c->in_len, data, n);
    c->in_len += n;
    stamp_recv(c);
    return 0;
}

void hconn_in_eof(struct hconn *c)
{
    c->in_eof = 1;
}

/* ---- output ---------------------------------------------------------------- */

static int out_reserve(struct hconn *c, size_t n)
{
    if (c->dead) return -1;
    if (c->out_len == c->out_off) c->t_active = now(c); /* the slow-reader clock starts */
    int rc =
        buf_reserve(&c->out, &c->out_cap, &c->out_off, &c->out_len, n, c->cfg.max_out, OUT_INITIAL);
    if (rc < 0) {
        c->dead = 1;
        c->why = rc == -1 ? "output buffer full (slow reader)" : "out of memory";
        return -1;
    }
    return 0;
}

static void put(struct hconn *c, const void *p, size_t n)
{
    assert(c->out_cap - c->out_len >= n);
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
}

static void put_str(struct hconn *c, const char *s)
{
    put(c, s, strlen(s));
}

static void put_uint(struct hconn *c, uint64_t v, int base)
{
    char tmp[24];
    int i = sizeof tmp;
    do {
        tmp[--i] = "0123456789abcdef"[v % (unsigned)base];
        v /= (unsigned)base;
    } while (v);
    put(c, tmp + i, sizeof tmp - (size_t)i);
}

size_t hconn_out(struct hconn *c, const uint8_t **p)
{
    *p = c->out ? c->out + c->out_off : c->out;
    return c->out_len - c->out_off;
}

void hconn_out_done(struct hconn *c, size_t n)
{
    assert(n <= c->out_len - c->out_off);
    c->out_off += n;
    if (c->out_off == c->out_len) c->out_off = c->out_len = 0;
    if (n) c->t_active = now(c); /* progress: a slow but reading peer is not idle */
}

/* ---- state ----------------------------------------------------------------- */

int hconn_should_close(const struct hconn *c)
{
    if (c->dead) return HCONN_CLOSE_CUT;
    if (c->closing && c->out_len == c->out_off && c->req == R_NONE)
        return c->linger ? HCONN_CLOSE_LINGER : HCONN_CLOSE_NOW;
    return 0;
}

int hconn_want_read(const struct hconn *c)
{
    return !c->dead && !c->closing && !c->taken && !c->in_eof &&
           c->in_len - c->in_start < c->cfg.max_in;
}

int hconn_busy(const struct hconn *c)
{
    return c->req != R_NONE;
}

int hconn_taken(const struct hconn *c)
{
    return c->taken && c->out_len == c->out_off;
}

const uint8_t *hconn_leftover(const struct hconn *c, size_t *n)
{
    *n = c->in_len - c->in_start;
    return c->in ? c->in + c->in_start : c->in;
}

const char *hconn_error(const struct hconn *c)
{
    return c->why;
}

const struct hconn_times *hconn_times(const struct hconn *c)
{
    return &c->times;
}

/* ---- deadlines ------------------------------------------------------------- */

uint64_t hconn_deadline(const struct hconn *c)
{
    uint64_t idle = (uint64_t)c->cfg.idle_timeout_ms * 1000000;
    uint64_t req = (uint64_t)c->cfg.request_timeout_ms * 1000000;
    if (!c->cfg.clock_ns || c->dead || c->taken) return 0;
    if (c->out_len > c->out_off) return idle ? c->t_active + idle : 0; /* a peer that reads */
    if (c->req != R_NONE || c->closing) return 0;                      /* the server's wait */
    if (c->in_start < c->in_len) { /* a request on its way: from its first byte, or from when
                                      it could start when it came behind another one */
        uint64_t t0 = c->t_next_recv > c->t_active ? c->t_next_recv : c->t_active;
        return req ? t0 + req : 0;
    }
    return idle ? c->t_active + idle : 0;
}

static void answer_error(struct hconn *c, int status, const char *msg, int linger);

int hconn_expire(struct hconn *c, uint64_t now_ns)
{
    uint64_t d = hconn_deadline(c);
    if (!d || now_ns < d) return 0;
    if (c->out_len > c->out_off) {
        c->dead = 1;
        c->why = "no byte written for the idle timeout (a peer that does not read)";
    } else if (c->in_start < c->in_len) {
        c->times.t_recv = c->t_next_recv;
        c->times.t_parse = c->times.t_dispatch = now_ns;
        answer_error(c, 408, "request not received whole within the request timeout", 0);
    } else {
        c->dead = 1;
        c->why = "idle timeout";
    }
    return 1;
}

const char *hconn_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content"; /* RFC 9110 15.5.21 */
    case 426:
        return "Upgrade Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

/* ---- responses ------------------------------------------------------------- */

/* Queues a status line, the caller's headers, Server and Connection, but not the
 * final CRLF; extra is room the caller needs after it. */
static int put_head(struct hconn *c, int status, const char *headers, size_t extra)
{
    const char *reason = hconn_reason(status);
    size_t hl = headers ? strlen(headers) : 0;
    if (out_reserve(c, 64 + strlen(reason) + hl + extra) < 0) return -1;
    put_str(c, "HTTP/1.1 "); /* a server sends its own version (RFC 9110 2.5) */
    put_uint(c, (uint64_t)status, 10);
    put(c, " ", 1);
    put_str(c, reason);
    put_str(c, "\r\nServer: wirelab\r\n");
    if (hl) put(c, headers, hl);
    if (!c->req_keep_alive)
        put_str(c, "Connection: close\r\n");
    else if (c->req_minor == 0)
        put_str(c, "Connection: keep-alive\r\n");
    c->times.t_respond = now(c);
    return 0;
}

static void request_finished(struct hconn *c)
{
    c->req = R_NONE;
    if (!c->req_keep_alive) {
        c->closing = 1;
        c->linger = c->in_start < c->in_len; /* pipelined bytes that will not be read */
    }
}

int hconn_respond(struct hconn *c, int status, const char *headers, const void *body, size_t len)
{
    if (c->req != R_OPEN) return -1;
    size_t blen = c->req_head ? 0 : len;
    if (put_head(c, status, headers, 48 + blen) < 0) return -1;
    if (status >= 200 && status != 204 && status != 304) {
        put_str(c, "Content-Length: ");
        put_uint(c, len, 10);
        put_str(c, "\r\n");
    }
    put_str(c, "\r\n");
    if (blen) put(c, body, blen);
    request_finished(c);
    return 0;
}

int hconn_stream_begin(struct hconn *c, int status, const char *headers)
{
    if (c->req != R_OPEN) return -1;
    c->stream_chunked = c->req_minor == 1;
    if (!c->stream_chunked) c->req_keep_alive = 0; /* HTTP/1.0: the end of the body is the close */
    if (put_head(c, status, headers, 64) < 0) return -1;
    put_str(c, c->stream_chunked ? "Transfer-Encoding: chunked\r\n\r\n" : "\r\n");
    c->req = R_STREAM;
    return 0;
}

int hconn_stream_write(struct hconn *c, const void *data, size_t len)
{
    if (c->req != R_STREAM) return -1;
    if (len == 0 || c->req_head) return 0;
    if (out_reserve(c, len + 24) < 0) return -1;
    if (c->stream_chunked) {
        put_uint(c, len, 16);
        put(c, "\r\n", 2);
    }
    put(c, data, len);
    if (c->stream_chunked) put(c, "\r\n", 2);
    return 0;
}

int hconn_stream_end(struct hconn *c)
{
    if (c->req != R_STREAM) return -1;
    if (c->stream_chunked && !c->req_head) {
        if (out_reserve(c, 5) < 0) return -1;
        put_str(c, "0\r\n\r\n");
    }
    request_finished(c);
    return 0;
}

int hconn_upgrade(struct hconn *c, const char *headers)
{
    if (c->req != R_OPEN) return -1;
    c->req_keep_alive = 1; /* no "Connection: close"; the caller sends Connection: Upgrade */
    if (put_head(c, 101, headers, 2) < 0) return -1;
    put_str(c, "\r\n");
    c->req = R_NONE;
    c->taken = 1;
    return 0;
}

int hconn_raw_write(struct hconn *c, const void *data, size_t len)
{
    if (!c->taken) return -1;
    if (len == 0) return 0;
    if (out_reserve(c, len) < 0) return -1;
    put(c, data, len);
    return 0;
}

void hconn_raw_end(struct hconn *c)
{
    if (c->taken) c->closing = 1;
}

size_t hconn_server_timing(const struct hconn *c, char *buf, size_t cap)
{
    if (!c->cfg.clock_ns) return 0;
    const struct hconn_times *t = &c->times;
    uint64_t n = now(c);
    int w = snprintf(buf, cap, "Server-Timing: recv;dur=%.3f, parse;dur=%.3f, process;dur=%.3f\r\n",
                     (double)(t->t_parse - t->t_recv) / 1e6,
                     (double)(t->t_dispatch - t->t_parse) / 1e6, (double)(n - t->t_dispatch) / 1e6);
    return w > 0 && (size_t)w < cap ? (size_t)w : 0;
}

const char *hconn_header(const struct hconn_req *r, const char *name, size_t *len)
{
    const struct http1_header *h = http1_find(r->raw, r->raw_buf, name);
    if (!h) return NULL;
    *len = h->value.len;
    return (const char *)r->raw_buf + h->value.off;
}

/* ---- the request loop ------------------------------------------------------ */

/* An error answered by the core; the connection closes after it, lingering when
 * the peer may still be sending the rest of a request we did not read. */
static void answer_error(struct hconn *c, int status, const char *msg, int linger)
{
    char body[160];
    int n = snprintf(body, sizeof body, "%d %s: %s\n", status, hconn_reason(status), msg);
    c->req = R_OPEN;
    c->req_keep_alive = 0;
    c->req_head = 0;
    c->req_minor = 1;
    /* Errors can carry Server-Timing like the server's other responses. */
    char hdr[224] = "Content-Type: text/plain\r\n";
    if (status == 503) strcat(hdr, "Retry-After: 1\r\n");
    size_t hl = strlen(hdr);
    if (!c->cfg.server_timing || hconn_server_timing(c, hdr + hl, sizeof hdr - hl) == 0)
        hdr[hl] = '\0';
    hconn_respond(c, status, hdr, body, (size_t)n);
    c->closing = 1;
    c->linger = linger;
    if (!c->why) c->why = msg;
}

/* The head of the current request is in, its body is not: reserve the body from
 * the budget (Content-Length, or a chunked body's bytes so far).  -1 when over. */
static int reserve_body(struct hconn *c)
{
    const struct http1_request *r = &c->parser.req;
    size_t want = r->content_length > 0 ? (size_t)r->content_length
                  : r->chunked          ? c->in_len - c->in_start - r->head_len
                                        : 0;
    if (budget_take(c, want) == 0) return 0;
    atomic_fetch_add(&c->cfg.budget->refused, 1);
    return -1;
}

static void dispatch(struct hconn *c, uint8_t *buf, size_t consumed)
{
    const struct http1_request *r = &c->parser.req;
    struct hconn_req q = {0};
    q.method = (const char *)buf + r->method.off;
    q.method_len = r->method.len;
    q.target = (const char *)buf + r->target.off;
    q.target_len = r->target.len;
    /* Routing uses the origin-form (RFC 9112 3.2.2: an absolute-form target is answered
     * like its origin-form; "http://h" has an empty one, which means "/"). */
    const char *o = (const char *)buf + r->origin.off;
    const char *qm = memchr(o, '?', r->origin.len);
    q.origin = r->origin.len ? o : "/";
    q.origin_len = r->origin.len ? r->origin.len : 1;
    q.path = o;
    q.path_len = qm ? (size_t)(qm - o) : r->origin.len;
    if (q.path_len == 0) q.path = "/", q.path_len = 1;
    if (qm) {
        q.query = qm + 1;
        q.query_len = r->origin.len - (size_t)(qm - o) - 1;
    }
    q.minor = r->minor;
    q.keep_alive = r->keep_alive;
    q.upgrade = r->upgrade;
    q.body = buf + r->body.off;
    q.body_len = r->body.len;
    q.seq = ++c->seq;
    q.raw = r;
    q.raw_buf = buf;

    c->req = R_OPEN;
    c->req_keep_alive = r->keep_alive;
    c->req_minor = r->minor;
    c->req_head = r->method.len == 4 && memcmp(q.method, "HEAD", 4) == 0;
    c->times.t_dispatch = now(c);
    c->times.t_respond = 0;
    /* the next request's first bytes, if already here, came with the last feed */
    c->in_start += consumed;
    c->recv_stamped = c->in_start < c->in_len;
    c->t_next_recv = c->t_last_feed;

    c->in_handler = 1;
    c->cfg.on_request(c, &q, c->cfg.app);
    c->in_handler = 0;
    http1_reset(&c->parser);
    c->sent_continue = 0;
}

int hconn_process(struct hconn *c)
{
    int n = 0, need_more = 0;
    assert(!c->in_handler);
    while (!c->dead && !c->closing && !c->taken && c->req == R_NONE &&
           c->out_len - c->out_off <= c->cfg.out_high && c->in_start < c->in_len) {
        uint8_t *buf = c->in + c->in_start;
        uint64_t t0 = now(c);
        ssize_t rc = http1_parse(&c->parser, buf, c->in_len - c->in_start);
        /* Phases for an error's Server-Timing: nothing ran past the parser. */
        c->times.t_recv = c->t_next_recv;
        c->times.t_parse = t0;
        if (rc == HTTP1_NEED_MORE) {
            need_more = 1;
            if (!http1_head_done(&c->parser) || c->in_eof) break;
            if (reserve_body(c) < 0) {
                c->times.t_dispatch = now(c);
                answer_error(c, 503, "request bodies over the server's memory budget", 1);
                break;
            }
            if (c->parser.req.expect_continue && !c->sent_continue && c->parser.req.minor == 1) {
                c->sent_continue = 1;
                if (out_reserve(c, 25) == 0) put_str(c, "HTTP/1.1 100 Continue\r\n\r\n");
            }
            break;
        }
        if (rc == HTTP1_ERROR) {
            c->times.t_dispatch = now(c);
            answer_error(c, c->parser.err_status, c->parser.err_msg, 1);
            break;
        }
        dispatch(c, buf, (size_t)rc);
        budget_give(c); /* the handler has had the body */
        n++;
    }
    /* End of input: what was complete is answered; nothing more will come. */
    if (c->in_eof && c->req == R_NONE && !c->taken && !c->dead &&
        (need_more || c->in_start == c->in_len))
        c->closing = 1;
    return n;
}
