/* http_hand: http1, the strict, incremental HTTP/1.1 request parser (contract in
 * http1.h): the byte scanners, the head fast path and the resumable state machine.
 *
 * Two ways through a head, one set of rules:
 * - The state machine keeps its whole state in struct http1_parser as offsets, so a
 *   call may stop at any byte and the next call, given the same bytes plus more,
 *   resumes exactly there (never rescanning what it has passed).  It knows every rule
 *   and every error message.
 * - The fast path (head_fast) runs when a call starts a request and the whole head is
 *   there, the common case for a server that read a request in one go: the same checks
 *   in straight-line code on locals, without storing a state per token.  It only
 *   accepts: at anything unusual (an error, an empty line before the request line, the
 *   end of the bytes) it gives up, and the state machine parses the head from its first
 *   byte, so errors, their offsets and every split point come from one place.  Work
 *   stays linear: the fast path runs at most once per request.
 * Targets and field values are scanned 16 bytes at a time with SSE2 (scalar class
 * tables elsewhere; the unit test checks both agree on every byte value); framing
 * headers are picked out by name length first (http_fields.c).
 */
#include "parsers/http/http_int.h"

#include <assert.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h> /* x86_64 baseline: no runtime check needed */
#endif

#define CHUNK_EXT_MAX    1024
#define CHUNK_DIGITS_MAX 16
#define CHUNK_RAW_SLACK  (64u * 1024)

/* tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_"
 *       / "`" / "|" / "~" / DIGIT / ALPHA   (RFC 9110 5.6.2) */
const uint8_t tchar_tab[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
    ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1,  ['~'] = 1, ['0'] = 1,
    ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,  ['7'] = 1, ['8'] = 1,
    ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1,  ['F'] = 1, ['G'] = 1,
    ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1,  ['N'] = 1, ['O'] = 1,
    ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,  ['V'] = 1, ['W'] = 1,
    ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1,  ['d'] = 1, ['e'] = 1,
    ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1,  ['l'] = 1, ['m'] = 1,
    ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1,  ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

/* A field name (tchars only) equals the lowercase literal lit of the same length.
 * For tchars, c | 0x20 is a lowercase letter exactly when c is that letter in
 * either case, and '-' (0x2d) has only CR (not a tchar) as its other preimage,
 * so one OR per byte is an exact case-insensitive compare. */
static int name_is(const uint8_t *a, const char *lit, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((a[i] | 0x20) != (uint8_t)lit[i]) return 0;
    return 1;
}

static int is_tchar(uint8_t c)
{
    return tchar_tab[c];
}

/* Bytes that may appear inside a field value (field-vchar, SP, HTAB): everything
 * but CTLs other than HTAB, and DEL.  The scalar scanners use these tables; the
 * SSE2 ones compute the same classes 16 bytes at a time. */
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
static const uint8_t value_ok[256] = {
    0,      0,      0,      0,      0,      0,      0,      0,      0,      1, 0, 0, 0,
    0,      0,      0,      R16(0), R16(1), R16(1), R16(1), R16(1), R16(1), 1, 1, 1, 1,
    1,      1,      1,      1,      1,      1,      1,      1,      1,      1, 1, 0, /* 0x7f DEL */
    R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), R16(1),
};
#undef R16

/* The first offset in [i, end) whose byte may not be in a field value (CR ends a
 * value, so it is one of them), or end.  Never reads at or past end. */
static inline __attribute__((always_inline)) size_t scan_value(const uint8_t *buf, size_t i,
                                                               size_t end)
{
#ifdef __SSE2__
    const __m128i c1f = _mm_set1_epi8(0x1f), tab = _mm_set1_epi8('\t'), del = _mm_set1_epi8(0x7f);
    while (end - i >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(buf + i));
        __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(x, c1f), x); /* x <= 0x1f */
        __m128i bad =
            _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(x, tab), ctl), _mm_cmpeq_epi8(x, del));
        unsigned m = (unsigned)_mm_movemask_epi8(bad);
        if (m) return i + (size_t)__builtin_ctz(m);
        i += 16;
    }
#endif
    while (i < end && value_ok[buf[i]])
        i++;
    return i;
}

/* The first offset in [i, end) whose byte is not visible ASCII (0x21-0x7e) or is '#'
 * (a fragment is in no form of the target), or end: the request target. */
static inline __attribute__((always_inline)) size_t scan_target(const uint8_t *buf, size_t i,
                                                                size_t end)
{
#ifdef __SSE2__
    const __m128i c21 = _mm_set1_epi8(0x21), del = _mm_set1_epi8(0x7f), hash = _mm_set1_epi8('#');
    while (end - i >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(buf + i));
        /* signed compare: 0x80-0xff are negative, so they are below 0x21 too */
        __m128i bad = _mm_or_si128(_mm_cmpgt_epi8(c21, x),
                                   _mm_or_si128(_mm_cmpeq_epi8(x, del), _mm_cmpeq_epi8(x, hash)));
        unsigned m = (unsigned)_mm_movemask_epi8(bad);
        if (m) return i + (size_t)__builtin_ctz(m);
        i += 16;
    }
#endif
    while (i < end && buf[i] > 0x20 && buf[i] < 0x7f && buf[i] != '#')
        i++;
    return i;
}

/* The first offset in [i, end) that is not a tchar, or end: field names. */
static inline __attribute__((always_inline)) size_t scan_token(const uint8_t *buf, size_t i,
                                                               size_t end)
{
    while (end - i >= 4) {
        if (!tchar_tab[buf[i]]) return i;
        if (!tchar_tab[buf[i + 1]]) return i + 1;
        if (!tchar_tab[buf[i + 2]]) return i + 2;
        if (!tchar_tab[buf[i + 3]]) return i + 3;
        i += 4;
    }
    while (i < end && tchar_tab[buf[i]])
        i++;
    return i;
}

/* field-vchar = VCHAR / obs-text */
static int is_fvchar(uint8_t c)
{
    return (c > 0x20 && c < 0x7f) || c >= 0x80;
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ) with
 * chunk-ext-name = token, chunk-ext-val = token / quoted-string (RFC 9112 7.1.1): its
 * sub-states (p->ext_state), byte by byte. */
enum {
    X_SEMI,       /* BWS after the size or an extension: only ';' may follow */
    X_NAME0,      /* after ';': BWS, then the name */
    X_NAME,       /* in the name */
    X_AFTER_NAME, /* BWS after the name: '=' or ';' */
    X_VAL0,       /* after '=': BWS, then a token or a quoted string */
    X_TOKEN,      /* in a token value */
    X_QS,         /* in a quoted string */
    X_QP,         /* after a backslash in a quoted string */
    X_AFTER_VAL,  /* after the closing quote */
    X_END,        /* the CR that ends the line */
    X_BAD
};

static int ext_byte(int st, uint8_t c)
{
    int ws = c == ' ' || c == '\t';
    switch (st) {
    case X_SEMI:
        return ws ? X_SEMI : c == ';' ? X_NAME0 : X_BAD; /* "5 \r\n" ends here */
    case X_NAME0:
        return ws ? X_NAME0 : is_tchar(c) ? X_NAME : X_BAD;
    case X_NAME:
        return is_tchar(c) ? X_NAME
               : c == '='  ? X_VAL0
               : c == ';'  ? X_NAME0
               : ws        ? X_AFTER_NAME
               : c == '\r' ? X_END
                           : X_BAD;
    case X_AFTER_NAME:
        return ws ? X_AFTER_NAME : c == '=' ? X_VAL0 : c == ';' ? X_NAME0 : X_BAD;
    case X_VAL0:
        return ws ? X_VAL0 : c == '"' ? X_QS : is_tchar(c) ? X_TOKEN : X_BAD;
    case X_TOKEN:
        return is_tchar(c) ? X_TOKEN : c == ';' ? X_NAME0 : ws ? X_SEMI : c == '\r' ? X_END : X_BAD;
    case X_QS: /* qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text */
        return c == '"'                           ? X_AFTER_VAL
               : c == '\\'                        ? X_QP
               : (ws || (c >= 0x21 && c != 0x7f)) ? X_QS
                                                  : X_BAD;
    case X_QP: /* quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ) */
        return ws || (c >= 0x21 && c != 0x7f) ? X_QS : X_BAD;
    case X_AFTER_VAL:
        return c == ';' ? X_NAME0 : ws ? X_SEMI : c == '\r' ? X_END : X_BAD;
    }
    return X_BAD;
}

/* The semantics of one complete header (trailer = 0) or trailer (trailer = 1) field:
 * framing, Host, Connection, Upgrade, Expect.  0, or the error status with
 * p->err_msg set. */
static inline __attribute__((always_inline)) int
field_rules(struct http1_parser *p, const uint8_t *buf, const struct http1_header *h, int trailer)
{
    const uint8_t *v = buf + h->value.off, *name = buf + h->name.off;
    size_t n = h->value.len;
    /* length first: most fields are none of these and cost one switch */
    switch (h->name.len) {
    case 4: /* host */
        if (!name_is(name, "host", 4)) return 0;
        if (trailer) return p->err_msg = "Host in the trailer section", 400;
        if (++p->hosts > 1) return p->err_msg = "duplicate Host", 400;
        return 0;
    case 6:
        if (!trailer && name_is(name, "expect", 6))
            p->req.expect_continue = IEQ_LIT(v, n, "100-continue");
        return 0;
    case 7:
        if (!trailer && name_is(name, "upgrade", 7)) p->has_upgrade = 1;
        return 0;
    case 10:
        if (!trailer && name_is(name, "connection", 10)) http1_connection(p, v, n);
        return 0;
    case 14:
    case 17:
        break;
    default:
        return 0;
    }
    if (h->name.len == 14 && name_is(name, "content-length", 14)) {
        if (trailer) return p->err_msg = "Content-Length in the trailer section", 400;
        if (p->req.content_length >= 0) return p->err_msg = "duplicate Content-Length", 400;
        if (p->te_seen) return p->err_msg = "both Content-Length and Transfer-Encoding", 400;
        if (n == 0 || n > 18) return p->err_msg = "invalid Content-Length", 400;
        int64_t cl = 0;
        for (size_t i = 0; i < n; i++) {
            if (v[i] < '0' || v[i] > '9') return p->err_msg = "invalid Content-Length", 400;
            cl = cl * 10 + (v[i] - '0');
        }
        p->req.content_length = cl;
    } else if (h->name.len == 17 && name_is(name, "transfer-encoding", 17)) {
        if (trailer) return p->err_msg = "Transfer-Encoding in the trailer section", 400;
        if (p->te_seen) return p->err_msg = "duplicate Transfer-Encoding", 400;
        p->te_seen = 1;
        if (p->req.content_length >= 0)
            return p->err_msg = "both Content-Length and Transfer-Encoding", 400;
        if (p->req.minor == 0) return p->err_msg = "Transfer-Encoding in HTTP/1.0", 400;
        if (!IEQ_LIT(v, n, "chunked")) return p->err_msg = "unsupported Transfer-Encoding", 501;
        p->req.chunked = 1;
    }
    return 0;
}

/* The head is complete, its final LF at offset i: decides the framing and the next
 * state.  0 or an error status. */
static inline __attribute__((always_inline)) int head_end(struct http1_parser *p, size_t i)
{
    struct http1_request *r = &p->req;
    r->head_len = i + 1;
    if (r->minor == 1 && p->hosts == 0) return p->err_msg = "missing Host", 400;
    if (p->connect && (r->chunked || r->content_length >= 0))
        return p->err_msg = "CONNECT with Content-Length or Transfer-Encoding", 400;
    r->keep_alive = p->connect      ? 0
                    : r->minor == 1 ? !p->conn_close
                                    : (p->conn_keepalive && !p->conn_close);
    r->upgrade = p->conn_upgrade && p->has_upgrade;
    r->body.off = (uint32_t)r->head_len;
    p->body_end = r->head_len;
    if (r->chunked) {
        p->state = S_CHUNK_SIZE;
    } else if (r->content_length > 0) {
        if ((uint64_t)r->content_length > p->lim.max_body)
            return p->err_msg = "body larger than the limit", 413;
        p->remaining = (uint64_t)r->content_length;
        p->state = S_BODY;
    } else {
        p->state = S_DONE;
    }
    return 0;
}

/* Field by field, not memset: gcc turns a 232-byte memset into `rep stosq`, whose
 * start-up cost was a visible share of parsing a minimal request (this runs once or
 * twice per request).  Every field of struct http1_parser but lim and closed is set
 * here. */
static void req_clear(struct http1_parser *p)
{
    struct http1_request *r = &p->req;
    struct http1_header *h = r->headers;
    r->method = r->target = r->origin = r->body = (struct http1_span){0, 0};
    r->minor = 0;
    r->headers = h;
    r->nheaders = r->ntrailers = 0;
    r->content_length = -1;
    r->chunked = r->keep_alive = r->upgrade = r->expect_continue = 0;
    r->head_len = 0;
    p->state = S_START;
    p->pos = p->mark = p->vend = p->line_start = p->body_end = 0;
    p->remaining = 0;
    p->ndigits = p->ext_len = p->ext_state = 0;
    p->in_trailer = p->hosts = p->te_seen = p->conn_close = p->conn_keepalive = 0;
    p->conn_upgrade = p->has_upgrade = p->connect = 0;
    p->err_offset = 0;
    p->err_status = 0;
    p->err_msg = NULL;
}

void http1_init(struct http1_parser *p, const struct http1_limits *lim,
                struct http1_header *headers)
{
    assert(lim->max_body < (1u << 30) && lim->max_head > 0);
    p->lim = *lim;
    p->req.headers = headers;
    p->closed = 0;
    p->keep_chunks = 0;
    req_clear(p);
}

void http1_reset(struct http1_parser *p)
{
    p->closed = p->closed || (p->state == S_DONE && !p->req.keep_alive);
    req_clear(p);
}

void http1_keep_chunks(struct http1_parser *p)
{
    p->keep_chunks = 1;
}

int http1_head_done(const struct http1_parser *p)
{
    return p->req.head_len > 0 && p->state != S_ERROR;
}

int http1_between(const struct http1_parser *p)
{
    return p->state == S_START;
}

/* The head, or the trailer section, must end before this offset. */
static size_t head_limit(const struct http1_parser *p)
{
    return (p->in_trailer ? p->line_start : 0) + p->lim.max_head;
}

/* The whole head in one go, when a call starts a request (see the top of the file).
 * Returns 1 with the head parsed, http1_head_end() applied and p->pos past it; 0 when
 * it gives up, having changed nothing the state machine reads (the caller clears). */
static inline __attribute__((always_inline)) int head_fast(struct http1_parser *p,
                                                           const uint8_t *buf, size_t len)
{
    struct http1_request *r = &p->req;
    size_t hend = len < p->lim.max_head ? len : p->lim.max_head;
    uint32_t w4;
    if (hend >= 4) memcpy(&w4, buf, 4);
    size_t i = hend >= 4 && w4 == 0x20544547u ? 3 : scan_token(buf, 0, hend); /* "GET " */
    if (i == 0 || i >= hend || buf[i] != ' ') return 0;
    r->method = (struct http1_span){0, (uint32_t)i};
    size_t t = i + 1;
    i = scan_target(buf, t, hend);
    if (i == t || i >= hend || buf[i] != ' ') return 0;
    r->target = (struct http1_span){(uint32_t)t, (uint32_t)(i - t)};
    if (buf[t] == '/' && r->method.len != 7) /* origin-form, and the method is not CONNECT */
        r->origin = r->target;
    else if (http1_target_form(p, buf))
        return 0;
    i++;
    if (hend - i < 10 || memcmp(buf + i, "HTTP/1.", 7) != 0 ||
        (buf[i + 7] != '0' && buf[i + 7] != '1') || buf[i + 8] != '\r' || buf[i + 9] != '\n')
        return 0;
    r->minor = buf[i + 7] - '0';
    i += 10;
    size_t nh = 0, cap = p->lim.max_headers;
    for (;;) {
        if (i >= hend) return 0;
        uint8_t c = buf[i];
        if (c == '\r') {
            if (i + 1 >= hend || buf[i + 1] != '\n') return 0;
            r->nheaders = nh;
            if (head_end(p, i + 1)) return 0;
            p->pos = i + 2;
            return 1;
        }
        size_t n = i;
        i = scan_token(buf, i, hend);
        if (i == n || i >= hend || buf[i] != ':' || nh >= cap) return 0;
        struct http1_header *h = &r->headers[nh];
        h->name = (struct http1_span){(uint32_t)n, (uint32_t)(i - n)};
        i++;
        while (i < hend && (buf[i] == ' ' || buf[i] == '\t'))
            i++;
        size_t v = i;
        i = scan_value(buf, i, hend);
        if (i + 1 >= hend || buf[i] != '\r' || buf[i + 1] != '\n') return 0;
        size_t e = i;
        while (e > v && (buf[e - 1] == ' ' || buf[e - 1] == '\t'))
            e--;
        h->value = (struct http1_span){(uint32_t)v, (uint32_t)(e - v)};
        nh++;
        if (h->name.len >= 4 && field_rules(p, buf, h, 0)) return 0;
        i += 2;
    }
}

#define FAIL(st, msg)                                                                              \
    do {                                                                                           \
        p->err_status = (st);                                                                      \
        p->err_msg = (msg);                                                                        \
        goto fail;                                                                                 \
    } while (0)

/* The resumable state machine, from p->pos. */
static __attribute__((noinline)) ssize_t machine(struct http1_parser *p, uint8_t *buf, size_t len)
{
    struct http1_request *r = &p->req;
    size_t i = p->pos;
    int st;
    const char *why;
    size_t hlim = head_limit(p);           /* changes only when the trailer section starts */
    size_t hend = len < hlim ? len : hlim; /* where the head scanners must stop */
    while (i < len && p->state != S_DONE) {
        uint8_t c = buf[i];
        if (p->state <= S_H_END_LF && i >= hlim)
            FAIL(431,
                 p->in_trailer ? "trailer section too large" : "request header section too large");
        switch (p->state) {
            /* The head states chain into each other with GO() while bytes remain
             * before hend, instead of going round the loop and the switch once per
             * transition; p->state is stored at each transition, so stopping at any
             * byte (hend reached) resumes exactly there. */
#define GO(st, label)                                                                              \
    do {                                                                                           \
        p->state = (st);                                                                           \
        if (++i >= hend) goto next;                                                                \
        c = buf[i];                                                                                \
        goto label;                                                                                \
    } while (0)
        case S_START:
        l_start:
            if (c == '\r') {
                GO(S_START_LF, l_start_lf);
            } else if (p->closed) {
                FAIL(400, "data after a request that closed the connection");
            } else if (is_tchar(c)) {
                p->mark = i;
                p->state = S_METHOD;
                goto l_method;
            } else {
                FAIL(400, c == '\n' ? "bare LF" : "invalid method");
            }
        case S_START_LF:
        l_start_lf:
            if (c != '\n') FAIL(400, "bare CR");
            GO(S_START, l_start);
        case S_METHOD:
        l_method:
            i = scan_token(buf, i, hend);
            if (i >= hend) goto next;
            c = buf[i];
            if (c != ' ') FAIL(400, "invalid method");
            r->method = (struct http1_span){(uint32_t)p->mark, (uint32_t)(i - p->mark)};
            p->mark = i + 1;
            GO(S_TARGET, l_target);
        case S_TARGET:
        l_target:
            i = scan_target(buf, i, hend); /* hot: the whole target in one go */
            if (i >= hend) goto next;
            c = buf[i];
            if (c == '#') FAIL(400, "fragment ('#') in the request target");
            if (c != ' ') FAIL(400, "invalid character in request target");
            if (i == p->mark) FAIL(400, "empty request target");
            r->target = (struct http1_span){(uint32_t)p->mark, (uint32_t)(i - p->mark)};
            if ((why = http1_target_form(p, buf)) != NULL) {
                i = p->mark;
                FAIL(400, why);
            }
            p->mark = i + 1;
            GO(S_VERSION, l_version);
        case S_VERSION:
        l_version:
            /* fast path: the whole version and its CRLF are here */
            if (i == p->mark && hend - i >= 10 && memcmp(buf + i, "HTTP/1.", 7) == 0 &&
                (buf[i + 7] == '0' || buf[i + 7] == '1') && buf[i + 8] == '\r' &&
                buf[i + 9] == '\n') {
                r->minor = buf[i + 7] - '0';
                i += 9;
                GO(S_H_START, l_h_start);
            }
            if (c == '\r') {
                const uint8_t *v = buf + p->mark;
                size_t n = i - p->mark;
                if (n == 8 && memcmp(v, "HTTP/1.", 7) == 0 && (v[7] == '0' || v[7] == '1'))
                    r->minor = v[7] - '0';
                else if (n == 8 && memcmp(v, "HTTP/", 5) == 0 && v[5] >= '0' && v[5] <= '9' &&
                         v[6] == '.' && v[7] >= '0' && v[7] <= '9')
                    FAIL(505, "HTTP version not supported");
                else
                    FAIL(400, "invalid HTTP version");
                GO(S_RL_LF, l_rl_lf);
            } else if (i - p->mark >= 8 || c <= 0x20 || c >= 0x7f) {
                FAIL(400, c == '\n' ? "bare LF" : "invalid HTTP version");
            }
            GO(S_VERSION, l_version);
        case S_RL_LF:
        l_rl_lf:
            if (c != '\n') FAIL(400, "bare CR");
            GO(S_H_START, l_h_start);
        case S_H_START:
        l_h_start:
            if (c == '\r') {
                GO(S_H_END_LF, l_h_end_lf);
            } else if (c == ' ' || c == '\t') {
                FAIL(400, "obs-fold (line folding) is not allowed");
            } else if (is_tchar(c)) {
                if (r->nheaders + r->ntrailers >= p->lim.max_headers)
                    FAIL(431, p->in_trailer ? "too many trailer fields" : "too many header fields");
                p->mark = i;
                p->state = S_H_NAME;
                goto l_h_name;
            } else {
                FAIL(400, c == '\n' ? "bare LF" : "invalid field name");
            }
        case S_H_NAME:
        l_h_name:
            i = scan_token(buf, i, hend);
            if (i >= hend) goto next;
            c = buf[i];
            if (c == ':') {
                r->headers[r->nheaders + r->ntrailers].name =
                    (struct http1_span){(uint32_t)p->mark, (uint32_t)(i - p->mark)};
                GO(S_H_OWS, l_h_ows);
            }
            FAIL(400, c == ' ' || c == '\t' ? "whitespace before the colon"
                                            : "invalid character in field name");
        case S_H_OWS:
        l_h_ows:
            if (c == ' ' || c == '\t') GO(S_H_OWS, l_h_ows);
            p->mark = p->vend = i;
            if (c == '\r') GO(S_H_LF, l_h_lf);
            if (!is_fvchar(c))
                FAIL(400, c == '\n' ? "bare LF" : "control character in field value");
            p->state = S_H_VALUE;
            goto l_h_value;
        case S_H_VALUE:
        l_h_value : {
            /* the hot loop: most bytes of a request are field values.  It resumes
             * at pos, so bytes already seen are not scanned again. */
            i = scan_value(buf, i, hend);
            if (i >= hend) goto next;
            c = buf[i];
            if (c != '\r') FAIL(400, c == '\n' ? "bare LF" : "control character in field value");
            /* trailing OWS is trimmed once, at the end of the line; the value's
             * first byte (at mark) is not OWS, so this stops there at the latest */
            size_t e = i;
            while (buf[e - 1] == ' ' || buf[e - 1] == '\t')
                e--;
            p->vend = e;
            GO(S_H_LF, l_h_lf);
        }
        case S_H_LF:
        l_h_lf : {
            if (c != '\n') FAIL(400, "bare CR");
            struct http1_header *h = &r->headers[r->nheaders + r->ntrailers];
            h->value = (struct http1_span){(uint32_t)p->mark, (uint32_t)(p->vend - p->mark)};
            if (h->name.len >= 4 && (st = field_rules(p, buf, h, p->in_trailer)) != 0) {
                i = h->name.off;
                p->err_status = st;
                goto fail;
            }
            if (p->in_trailer)
                r->ntrailers++;
            else
                r->nheaders++;
            GO(S_H_START, l_h_start);
        }
#undef GO
        case S_H_END_LF:
        l_h_end_lf:
            if (c != '\n') FAIL(400, "bare CR");
            if (p->in_trailer) {
                r->body.len = (uint32_t)(p->body_end - r->body.off);
                p->state = S_DONE;
            } else if ((st = head_end(p, i)) != 0) {
                p->err_status = st;
                goto fail;
            }
            break;
        case S_BODY: {
            size_t take = len - i < p->remaining ? len - i : (size_t)p->remaining;
            i += take;
            p->remaining -= take;
            if (p->remaining == 0) {
                r->body.len = (uint32_t)r->content_length;
                p->state = S_DONE;
            }
            continue;
        }
        case S_CHUNK_SIZE: {
            int v = hexval(c);
            if (v >= 0) {
                if (p->ndigits == 0 && i - r->head_len > 2 * p->lim.max_body + CHUNK_RAW_SLACK)
                    FAIL(413, "chunked framing too large");
                if (++p->ndigits > CHUNK_DIGITS_MAX) FAIL(400, "chunk size too long");
                p->remaining = p->remaining * 16 + (uint64_t)v;
                break;
            }
            if (p->ndigits == 0) FAIL(400, "invalid chunk size");
            if (p->remaining > p->lim.max_body - (p->body_end - r->body.off))
                FAIL(413, "body larger than the limit");
            if (c == '\r') {
                p->state = S_CHUNK_SIZE_LF;
            } else if (c == ';' || c == ' ' || c == '\t') {
                p->ext_state = c == ';' ? X_NAME0 : X_SEMI;
                p->ext_len = 1;
                p->state = S_CHUNK_EXT;
            } else {
                FAIL(400, "invalid chunk size");
            }
            break;
        }
        case S_CHUNK_EXT:
            if (++p->ext_len > CHUNK_EXT_MAX) FAIL(400, "chunk extension too long");
            p->ext_state = (unsigned)ext_byte((int)p->ext_state, c);
            if (p->ext_state == X_END)
                p->state = S_CHUNK_SIZE_LF;
            else if (p->ext_state == X_BAD)
                FAIL(400, c == '\r' ? "whitespace or an unfinished extension before the end of "
                                      "the chunk-size line"
                                    : "invalid chunk extension");
            break;
        case S_CHUNK_SIZE_LF:
            if (c != '\n') FAIL(400, "bare CR");
            if (p->remaining == 0) {
                p->in_trailer = 1;
                p->line_start = i + 1;
                hlim = head_limit(p);
                hend = len < hlim ? len : hlim;
                p->state = S_H_START;
            } else {
                p->state = S_CHUNK_DATA;
            }
            break;
        case S_CHUNK_DATA: {
            size_t take = len - i < p->remaining ? len - i : (size_t)p->remaining;
            if (!p->keep_chunks) memmove(buf + p->body_end, buf + i, take); /* decode in place */
            p->body_end += take;
            i += take;
            p->remaining -= take;
            if (p->remaining == 0) p->state = S_CHUNK_DATA_CR;
            continue;
        }
        case S_CHUNK_DATA_CR:
            if (c != '\r') FAIL(400, "chunk data not followed by CRLF");
            p->state = S_CHUNK_DATA_LF;
            break;
        case S_CHUNK_DATA_LF:
            if (c != '\n') FAIL(400, "bare CR");
            p->ndigits = p->ext_len = 0;
            p->state = S_CHUNK_SIZE;
            break;
        default:
            assert(0 && "unreachable parser state");
        }
        i++;
    next:;
    }
    p->pos = i;
    if (p->state == S_DONE) return (ssize_t)i;
    if (p->state <= S_H_END_LF && i >= head_limit(p))
        FAIL(431, p->in_trailer ? "trailer section too large" : "request header section too large");
    return HTTP1_NEED_MORE;
fail:
    p->err_offset = i;
    p->state = S_ERROR;
    return HTTP1_ERROR;
}

ssize_t http1_parse(struct http1_parser *p, uint8_t *buf, size_t len)
{
    assert(len < UINT32_MAX);
    if (p->pos == 0 && p->state == S_START && len > 0 && !p->closed) {
        if (head_fast(p, buf, len)) {
            if (p->state == S_DONE) return (ssize_t)p->pos;
        } else {
            req_clear(p);
        }
    } else if (p->state == S_ERROR) {
        return HTTP1_ERROR;
    }
    return machine(p, buf, len);
}
