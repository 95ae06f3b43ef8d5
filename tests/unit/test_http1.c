/* Unit tests for parsers/http (http1): every split of a request parses the same,
 * against a guard page; each strictness rejection with its status and offset;
 * limits; chunked decoding with trailers; pipelining; the canonical dump. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "parsers/http/http1.h"
#include "parsers/http/http_impl.h"

static const struct http1_limits lim_default = HTTP1_LIMITS_DEFAULT;

/* A text summary of a parsed request, body bytes included. */
static void summarize(char *out, size_t cap, const uint8_t *buf, const struct http1_request *r)
{
    size_t n = (size_t)snprintf(out, cap, "%.*s|%.*s|1.%d|ka=%d|", (int)r->method.len,
                                (const char *)buf + r->method.off, (int)r->target.len,
                                (const char *)buf + r->target.off, r->minor, r->keep_alive);
    for (size_t i = 0; i < r->nheaders + r->ntrailers && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%.*s=%.*s;",
                              i < r->nheaders ? "" : "T:", (int)r->headers[i].name.len,
                              (const char *)buf + r->headers[i].name.off,
                              (int)r->headers[i].value.len,
                              (const char *)buf + r->headers[i].value.off);
    if (n < cap)
        snprintf(out + n, cap - n, "|%u:%.*s", (unsigned)r->body.len, (int)r->body.len,
                 (const char *)buf + r->body.off);
}

/* Parses msg in one go with its last byte against a PROT_NONE page; returns the
 * result and fills sum. */
static ssize_t parse_guarded(const char *msg, size_t n, const struct http1_limits *lim, char *sum,
                             size_t cap, struct http1_parser *out)
{
    long pg = sysconf(_SC_PAGESIZE);
    size_t span = ((n + (size_t)pg - 1) / (size_t)pg + 1) * (size_t)pg;
    uint8_t *map = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert(map != MAP_FAILED);
    cr_assert_eq(mprotect(map + span - pg, (size_t)pg, PROT_NONE), 0);
    uint8_t *buf = map + span - pg - n;
    memcpy(buf, msg, n);
    static struct http1_header hs[256];
    http1_init(out, lim, hs);
    ssize_t rc = http1_parse(out, buf, n);
    if (rc > 0 && sum) summarize(sum, cap, buf, &out->req);
    munmap(map, span);
    return rc;
}

/* Every split point: the first k bytes, then the rest, gives the same result as
 * one call; and byte-at-a-time feeding too. */
static void check_splits(const char *msg)
{
    size_t n = strlen(msg);
    char want[4096], got[4096];
    struct http1_parser p;
    ssize_t whole = parse_guarded(msg, n, &lim_default, want, sizeof want, &p);
    cr_assert_eq(whole, (ssize_t)n, "whole parse: %zd (%s at %zu)", whole, p.err_msg, p.err_offset);
    uint8_t *buf = malloc(n);
    struct http1_header hs[64];
    for (size_t k = 0; k <= n; k++) {
        http1_init(&p, &lim_default, hs);
        memcpy(buf, msg, k);
        ssize_t rc = http1_parse(&p, buf, k);
        if (k < n) cr_assert_eq(rc, HTTP1_NEED_MORE, "split %zu: %zd", k, rc);
        memcpy(buf + k, msg + k, n - k);
        rc = http1_parse(&p, buf, n);
        cr_assert_eq(rc, (ssize_t)n, "split %zu: rc %zd", k, rc);
        summarize(got, sizeof got, buf, &p.req);
        cr_assert_str_eq(got, want, "split %zu", k);
    }
    http1_init(&p, &lim_default, hs);
    ssize_t rc = HTTP1_NEED_MORE;
    for (size_t k = 1; k <= n; k++) {
        buf[k - 1] = (uint8_t)msg[k - 1];
        rc = http1_parse(&p, buf, k);
        if (k < n) cr_assert_eq(rc, HTTP1_NEED_MORE, "byte %zu: %zd", k, rc);
    }
    cr_assert_eq(rc, (ssize_t)n);
    summarize(got, sizeof got, buf, &p.req);
    cr_assert_str_eq(got, want);
    free(buf);
}

Test(http1, simple_get_fields)
{
    const char *m = "GET /plaintext?x=1 HTTP/1.1\r\nHost: a\r\nX-Sp:  \t padded value \t\r\n"
                    "Empty:\r\n\r\n";
    char sum[512];
    struct http1_parser p;
    cr_assert_eq(parse_guarded(m, strlen(m), &lim_default, sum, sizeof sum, &p),
                 (ssize_t)strlen(m));
    cr_assert_str_eq(sum, "GET|/plaintext?x=1|1.1|ka=1|Host=a;X-Sp=padded value;Empty=;|0:");
}

Test(http1, every_split_parses_the_same)
{
    check_splits(
        "GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/7.88\r\nAccept: */*\r\n\r\n");
    check_splits("\r\nGET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    check_splits("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world");
    check_splits("POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "5\r\nhello\r\n1;ext=\"v\\\"w\"\r\n \r\n05 ; a = b ;c=\"q \\x\"\r\nworld\r\n"
                 "0;last\r\nX-Trailer: t1\r\nX-Other: t2\r\n\r\n");
    check_splits("GET http://example.com:8080/a?b HTTP/1.1\r\nHost: x\r\n\r\n");
    check_splits("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
    check_splits("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    check_splits("PUT /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n"
                 "a\r\n0123456789\r\n0\r\n\r\n");
}

Test(http1, chunked_decoded_in_place_with_trailers)
{
    const char *m = "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "3\r\nabc\r\n2\r\nde\r\n0\r\nTr: x\r\n\r\n";
    char sum[512];
    struct http1_parser p;
    cr_assert_eq(parse_guarded(m, strlen(m), &lim_default, sum, sizeof sum, &p),
                 (ssize_t)strlen(m));
    cr_assert_eq(p.req.nheaders, 2);
    cr_assert_eq(p.req.ntrailers, 1);
    cr_assert_str_eq(sum, "POST|/echo|1.1|ka=1|Host=h;Transfer-Encoding=chunked;T:Tr=x;|5:abcde");
}

Test(http1, pipelined_requests_consume_exactly_one)
{
    const char *m = "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n"
                    "Connection: close\r\n\r\n";
    uint8_t buf[256];
    memcpy(buf, m, strlen(m));
    struct http1_header hs[8];
    struct http1_parser p;
    struct http1_limits lim = {8192, 8, 1024};
    http1_init(&p, &lim, hs);
    ssize_t n1 = http1_parse(&p, buf, strlen(m));
    cr_assert_eq(n1, 28);
    cr_assert(p.req.keep_alive);
    http1_reset(&p);
    ssize_t n2 = http1_parse(&p, buf + n1, strlen(m) - (size_t)n1);
    cr_assert_eq(n1 + n2, (ssize_t)strlen(m));
    cr_assert(http1_span_eq(buf + n1, p.req.target, "/b"));
    cr_assert_not(p.req.keep_alive);
}

/* RFC 9112 9.6: after a request that closes the connection nothing more is parsed,
 * whatever closes it: Connection: close, HTTP/1.0 without keep-alive, CONNECT. */
Test(http1, nothing_is_parsed_after_a_request_that_closes_the_connection)
{
    static const char *const closers[] = {
        "GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        "GET /a HTTP/1.0\r\n\r\n",
        "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n",
    };
    const char *next = "GET /b HTTP/1.1\r\nHost: h\r\n\r\n";
    for (size_t k = 0; k < sizeof closers / sizeof closers[0]; k++) {
        uint8_t buf[256];
        size_t n1 = strlen(closers[k]), n2 = strlen(next);
        memcpy(buf, closers[k], n1);
        memcpy(buf + n1, "\r\n", 2); /* an empty line is still fine */
        memcpy(buf + n1 + 2, next, n2);
        struct http1_header hs[8];
        struct http1_parser p;
        http1_init(&p, &lim_default, hs);
        cr_assert_eq(http1_parse(&p, buf, n1 + 2 + n2), (ssize_t)n1, "closer %zu", k);
        cr_assert_not(p.req.keep_alive, "closer %zu", k);
        http1_reset(&p);
        cr_assert_eq(http1_parse(&p, buf + n1, 2), HTTP1_NEED_MORE, "closer %zu", k);
        cr_assert(http1_between(&p));
        cr_assert_eq(http1_parse(&p, buf + n1, 2 + n2), HTTP1_ERROR, "closer %zu", k);
        cr_assert_eq(p.err_status, 400);
        cr_assert_eq(p.err_offset, 2, "closer %zu: %zu", k, p.err_offset);
        /* a keep-alive request leaves the next one alone */
        http1_init(&p, &lim_default, hs);
        cr_assert_gt(http1_parse(&p, (uint8_t *)next, n2), 0);
        http1_reset(&p);
        cr_assert_gt(http1_parse(&p, (uint8_t *)next, n2), 0);
    }
}

/* RFC 9112 3.2: what each form of the target leaves in req.origin, the part servers
 * route on (3.2.2: absolute-form is answered like its origin-form). */
Test(http1, target_forms_and_their_origin)
{
    static const struct {
        const char *line, *origin;
    } cases[] = {
        {"GET /a?b HTTP/1.1", "/a?b"},
        {"GET http://h/plaintext HTTP/1.1", "/plaintext"},
        {"GET http://u@h:8080/p?q HTTP/1.1", "/p?q"},
        {"GET HTTPS://h?x HTTP/1.1", "?x"},
        {"GET http://h HTTP/1.1", ""},
        {"GET urn:isbn:1 HTTP/1.1", ""},
        {"OPTIONS * HTTP/1.1", "*"},
        {"OPTIONS /x HTTP/1.1", "/x"},
        {"CONNECT [::1]:443 HTTP/1.1", ""},
        {"CONNECT h.example:8443 HTTP/1.1", ""},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char m[256];
        snprintf(m, sizeof m, "%s\r\nHost: h\r\n\r\n", cases[k].line);
        struct http1_parser p;
        ssize_t rc = parse_guarded(m, strlen(m), &lim_default, NULL, 0, &p);
        cr_assert_gt(rc, 0, "%s: %s", cases[k].line, p.err_msg);
        cr_assert_eq(p.req.origin.len, strlen(cases[k].origin), "%s", cases[k].line);
    }
    /* the span itself, on a buffer that stays */
    uint8_t buf[] = "GET http://h:1/x?y HTTP/1.1\r\nHost: h\r\n\r\n";
    struct http1_header hs[4];
    struct http1_parser p;
    http1_init(&p, &lim_default, hs);
    cr_assert_gt(http1_parse(&p, buf, sizeof buf - 1), 0);
    cr_assert(http1_span_eq(buf, p.req.origin, "/x?y"));
}

/* RFC 9112 7.1.2: trailer fields are not header fields: lookups keep them apart. */
Test(http1, trailers_are_kept_apart_from_header_fields)
{
    uint8_t buf[] = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nX-A: head\r\n\r\n"
                    "1\r\nz\r\n0\r\nX-A: trail\r\nX-B: only-trail\r\n\r\n";
    struct http1_header hs[8];
    struct http1_parser p;
    http1_init(&p, &lim_default, hs);
    cr_assert_eq(http1_parse(&p, buf, sizeof buf - 1), (ssize_t)sizeof buf - 1);
    cr_assert_eq(p.req.nheaders, 3);
    cr_assert_eq(p.req.ntrailers, 2);
    const struct http1_header *h = http1_find(&p.req, buf, "x-a");
    cr_assert(h && http1_span_eq(buf, h->value, "head"));
    cr_assert_null(http1_find(&p.req, buf, "x-b"));
    h = http1_find_trailer(&p.req, buf, "X-A");
    cr_assert(h && http1_span_eq(buf, h->value, "trail"));
    cr_assert_null(http1_find_trailer(&p.req, buf, "host"));
}

/* Chunked framing already refuses a second Content-Length, Transfer-Encoding or
 * Host, so the status alone cannot tell the trailer rule apart: the message names
 * the trailer section, which is what a log reader needs. */
Test(http1, framing_fields_in_trailers_are_named_as_trailers)
{
    static const struct {
        const char *msg, *why;
    } cases[] = {
        {"0\r\nContent-Length: 5\r\n\r\n", "Content-Length in the trailer section"},
        {"0\r\nTransfer-Encoding: chunked\r\n\r\n", "Transfer-Encoding in the trailer section"},
        {"0\r\nHost: x\r\n\r\n", "Host in the trailer section"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s%s",
                 "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", cases[i].msg);
        struct http1_parser p;
        cr_assert_eq(parse_guarded(msg, strlen(msg), &lim_default, NULL, 0, &p), HTTP1_ERROR);
        cr_assert_eq(p.err_status, 400);
        cr_assert_str_eq(p.err_msg, cases[i].why);
    }
}

Test(http1, keep_alive_and_upgrade_flags)
{
    struct http1_parser p;
    const char *m10 = "GET / HTTP/1.0\r\n\r\n";
    cr_assert_gt(parse_guarded(m10, strlen(m10), &lim_default, NULL, 0, &p), 0);
    cr_assert_not(p.req.keep_alive);
    const char *ws = "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\n"
                     "Upgrade: websocket\r\nExpect: 100-continue\r\n\r\n";
    cr_assert_gt(parse_guarded(ws, strlen(ws), &lim_default, NULL, 0, &p), 0);
    cr_assert(p.req.upgrade);
    cr_assert(p.req.expect_continue);
    /* Connection is a list of tokens: an element counts only when all of it is one */
    const char *list = "GET / HTTP/1.0\r\nConnection: foo ,  Keep-Alive \t,bar\r\n\r\n";
    cr_assert_gt(parse_guarded(list, strlen(list), &lim_default, NULL, 0, &p), 0);
    cr_assert(p.req.keep_alive);
    const char *notone = "GET / HTTP/1.0\r\nConnection: foo keep-alive\r\n\r\n";
    cr_assert_gt(parse_guarded(notone, strlen(notone), &lim_default, NULL, 0, &p), 0);
    cr_assert_not(p.req.keep_alive);
}

struct reject {
    const char *msg;
    int status;
    long offset; /* -1: do not check */
};

static const struct reject rejects[] = {
    {"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
     44},
    {"GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400,
     53},
    {"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400, 44},
    {"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3a\r\n\r\n", 400, 25},
    {"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400, 25},
    {"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 1\r\n\r\n", 400, 25},
    {"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n", 400, 25},
    {"GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n", 400, 33}, /* obs-fold */
    {"GET / HTTP/1.1\r\nHost: h\r\nX-A : a\r\n\r\n", 400, 28},      /* space before colon */
    {"GET / HTTP/1.1\r\nHost: h\r\nX-A\t: a\r\n\r\n", 400, 28},
    {"GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n", 400, 32}, /* bare CR */
    {"GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", 400, 24},
    {"GET / HTTP/1.1\nHost: h\r\n\r\n", 400, 14}, /* bare LF */
    {"GET / HTTP/1.1\r\nHost: h\n\r\n", 400, 23},
    {"GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x01"
     "b\r\n\r\n",
     400, 31}, /* CTL in value */
    {"GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x7f\r\n\r\n", 400, 31},
    {"GET / HTTP/1.1\r\nHost: h\r\nX\x01: a\r\n\r\n", 400, 26}, /* CTL in name */
    {"GET / HTTP/1.1\r\nHost: h\r\nX(A: a\r\n\r\n", 400, 26},
    {"GET / HTTP/1.1\r\nHost: h\r\n: a\r\n\r\n", 400, 25}, /* empty name */
    {"GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 501, 25},
    {"GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, 25},
    {"GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
     "chunked\r\n\r\n",
     400, 53},
    {"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, 16},
    {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
     "chunked\r\n\r\n00000000000000001\r\nx\r\n0\r\n\r\n",
     400, 72},
    {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n", 400,
     72},
    {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, 56},
    {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n", 400, 62},
    {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n", 400, 57},
    {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT : x\r\n\r\n", 400, 60},
    {"GET / HTTP/1.1\r\n\r\n", 400, -1}, /* no Host */
    {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, 25},
    {"GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400, 4},
    {"GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400, 14},
    {"GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", 400, -1},
    {"GET /\x80 HTTP/1.1\r\nHost: h\r\n\r\n", 400, 5},
    {"G@T / HTTP/1.1\r\nHost: h\r\n\r\n", 400, 1},
    {"GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505, 14},
    {"GET / HTTX/1.1\r\nHost: h\r\n\r\n", 400, 14},
    {"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1048577\r\n\r\n", 413, -1},
/* chunk-size and chunk-ext grammar (RFC 9112 7.1.1) */
#define CHUNKED "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" /* 56 bytes */
    {CHUNKED "5 \r\nhello\r\n0\r\n\r\n", 400, 58}, /* BWS with no extension */
    {CHUNKED "5\t\r\nhello\r\n0\r\n\r\n", 400, 58},
    {CHUNKED "5;\r\nhello\r\n0\r\n\r\n", 400, 58}, /* no extension name */
    {CHUNKED "5; =b\r\nhello\r\n0\r\n\r\n", 400, 59},
    {CHUNKED "5;a=\"b\r\nhello\r\n0\r\n\r\n", 400, 62},  /* unterminated quoted string */
    {CHUNKED "5;a=\xff\r\nhello\r\n0\r\n\r\n", 400, 60}, /* not a token */
    {CHUNKED "5;a=\r\nhello\r\n0\r\n\r\n", 400, 60},     /* '=' without a value */
    {CHUNKED "5;a \r\nhello\r\n0\r\n\r\n", 400, 60},     /* BWS before CRLF */
    {CHUNKED "5;a=\"x\"y\r\nhello\r\n0\r\n\r\n", 400, 63},
    {CHUNKED "5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n", 400, 61},
    /* trailers may not carry framing or routing (RFC 9112 7.1.2) */
    {CHUNKED "0\r\nContent-Length: 5\r\n\r\n", 400, 59},
    {CHUNKED "0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, 59},
    {CHUNKED "0\r\nhost: x\r\n\r\n", 400, 59},
    /* request-target forms per method (RFC 9112 3.2) */
    {"GET B HTTP/1.1\r\nHost: h\r\n\r\n", 400, 4},
    {"GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400, 4},
    {"GET 1a:b HTTP/1.1\r\nHost: h\r\n\r\n", 400, 4},
    {"GET http:/a HTTP/1.1\r\nHost: h\r\n\r\n", 400, 4},
    {"GET http:///a HTTP/1.1\r\nHost: h\r\n\r\n", 400, 4},
    {"GET https://:80/a HTTP/1.1\r\nHost: h\r\n\r\n", 400, 4},
    {"GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n", 400, 6},
    {"CONNECT /x HTTP/1.1\r\nHost: h\r\n\r\n", 400, 8},
    {"CONNECT h HTTP/1.1\r\nHost: h\r\n\r\n", 400, 8},
    {"CONNECT h:123456 HTTP/1.1\r\nHost: h\r\n\r\n", 400, 8},
    {"CONNECT h/x:80 HTTP/1.1\r\nHost: h\r\n\r\n", 400, 8},
    /* CONNECT has no content (RFC 9110 9.3.6) */
    {"CONNECT h:80 HTTP/1.1\r\nHost: h:80\r\nContent-Length: 0\r\n\r\n", 400, -1},
    {"CONNECT h:80 HTTP/1.1\r\nHost: h:80\r\nTransfer-Encoding: chunked\r\n\r\n", 400, -1},
};

Test(http1, each_rejection_has_its_status_and_offset)
{
    for (size_t i = 0; i < sizeof rejects / sizeof rejects[0]; i++) {
        const struct reject *t = &rejects[i];
        struct http1_parser p;
        ssize_t rc = parse_guarded(t->msg, strlen(t->msg), &lim_default, NULL, 0, &p);
        cr_assert_eq(rc, HTTP1_ERROR, "case %zu: rc %zd", i, rc);
        cr_assert_eq(p.err_status, t->status, "case %zu: status %d (%s)", i, p.err_status,
                     p.err_msg);
        if (t->offset >= 0)
            cr_assert_eq(p.err_offset, (size_t)t->offset, "case %zu: offset %zu (%s)", i,
                         p.err_offset, p.err_msg);
        /* an error is sticky */
        cr_assert_eq(http1_parse(&p, (uint8_t *)"", 0), HTTP1_ERROR);
    }
}

Test(http1, limits_are_parameters)
{
    struct http1_limits lim = {64, 2, 10};
    struct http1_parser p;
    char big[200];
    snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: h\r\nX-Long: %060d\r\n\r\n", 0);
    cr_assert_eq(parse_guarded(big, strlen(big), &lim, NULL, 0, &p), HTTP1_ERROR);
    cr_assert_eq(p.err_status, 431);
    /* an unfinished head over the limit is refused without waiting for more */
    cr_assert_eq(parse_guarded(big, 70, &lim, NULL, 0, &p), HTTP1_ERROR);
    cr_assert_eq(p.err_status, 431);
    const char *many = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n";
    cr_assert_eq(parse_guarded(many, strlen(many), &lim, NULL, 0, &p), HTTP1_ERROR);
    cr_assert_eq(p.err_status, 431);
    const char *cl = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n";
    cr_assert_eq(parse_guarded(cl, strlen(cl), &(struct http1_limits){128, 4, 10}, NULL, 0, &p),
                 HTTP1_ERROR);
    cr_assert_eq(p.err_status, 413);
    const char *ch = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\n6\r\n";
    cr_assert_eq(parse_guarded(ch, strlen(ch), &(struct http1_limits){128, 4, 10}, NULL, 0, &p),
                 HTTP1_ERROR);
    cr_assert_eq(p.err_status, 413);
    /* exactly at the limit is fine */
    const char *ok = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789";
    cr_assert_gt(parse_guarded(ok, strlen(ok), &(struct http1_limits){128, 4, 10}, NULL, 0, &p), 0);
}

Test(http1, impl_dump_is_canonical)
{
    const char *m = "GET /a?q HTTP/1.1\r\nHost: h\r\nX-Mixed-Case:  v 1 \r\n\r\n"
                    "POST /echo HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi";
    char *out = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    struct parse_result r;
    cr_assert_eq(http1_hand_impl.parse((const uint8_t *)m, strlen(m), NULL, &r, f), 0);
    fclose(f);
    cr_assert_str_eq(out, "method GET\ntarget /a?q\nversion 1.1\nheader host: h\n"
                          "header x-mixed-case: v 1\nbody 0\n\nmethod POST\ntarget /echo\n"
                          "version 1.0\nheader content-length: 2\nbody 2\n");
    cr_assert_eq(r.items, 3);
    cr_assert_eq(r.depth, 1);
    free(out);
    const char *badm = "GET / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost : h\r\n\r\n";
    cr_assert_eq(http1_hand_impl.parse((const uint8_t *)badm, strlen(badm), NULL, &r, NULL), 1);
    cr_assert(r.has_offset);
    cr_assert_eq(r.err_offset, 27 + 20);
    cr_assert_eq(http1_hand_impl.parse((const uint8_t *)"GET / HT", 8, NULL, &r, NULL), 1);
    /* empty lines after the last request are not an incomplete one (RFC 9112 2.2) */
    const char *tail = "GET / HTTP/1.1\r\nHost: h\r\n\r\n\r\n\r\n";
    cr_assert_eq(http1_hand_impl.parse((const uint8_t *)tail, strlen(tail), NULL, &r, NULL), 0,
                 "%s", r.err);
    cr_assert_eq(http1_hand_impl.parse((const uint8_t *)"\r\n", 2, NULL, &r, NULL), 1);
    const char *half = "GET / HTTP/1.1\r\nHost: h\r\n\r\n\r";
    cr_assert_eq(http1_hand_impl.parse((const uint8_t *)half, strlen(half), NULL, &r, NULL), 1);
    /* trailer fields dump as trailers */
    const char *tr = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "2\r\nhi\r\n0\r\nX-T: v\r\n\r\n";
    out = NULL;
    f = open_memstream(&out, &outlen);
    cr_assert_eq(http1_hand_impl.parse((const uint8_t *)tr, strlen(tr), NULL, &r, f), 0);
    fclose(f);
    cr_assert_str_eq(out, "method POST\ntarget /\nversion 1.1\nheader host: h\n"
                          "header transfer-encoding: chunked\ntrailer x-t: v\nbody 2\n");
    cr_assert_eq(r.items, 3);
    free(out);
}

/* pre + mid[0..n) + post into out (mid may hold NUL bytes); returns the length. */
static int build(char *out, const char *pre, const char *mid, int n, const char *post)
{
    size_t a = strlen(pre), c = strlen(post);
    memcpy(out, pre, a);
    memcpy(out + a, mid, (size_t)n);
    memcpy(out + a + (size_t)n, post, c);
    return (int)(a + (size_t)n + c);
}

/* The block scanners (16 bytes at a time, then a scalar tail) must classify every
 * byte value at every position exactly like the byte-by-byte rules: a value, a
 * target and a field name of 40+ bytes with byte b at offset k, for all b and k,
 * parsed against the guard page.  Accepted: the header comes back intact, with
 * surrounding OWS trimmed; refused: 400 at the offending byte. */
Test(http1, block_scanners_classify_every_byte_at_every_offset)
{
    char msg[256], want[512], got[512];
    struct http1_parser p;
    enum { N = 41 };
    for (int b = 0; b < 256; b++) {
        for (int k = 0; k < N; k++) {
            /* field value */
            if (b != '\r') {
                char v[N + 1];
                memset(v, 'v', N);
                v[k] = (char)b;
                v[N] = 0;
                int n = build(msg, "GET / HTTP/1.1\r\nHost: h\r\nX-Long: ", v, N, "\r\n\r\n");
                size_t voff = 33; /* strlen("GET / HTTP/1.1\r\nHost: h\r\nX-Long: ") */
                int ok = b == '\t' || (b >= 0x20 && b != 0x7f);
                ssize_t rc = parse_guarded(msg, (size_t)n, &lim_default, got, sizeof got, &p);
                if (ok) {
                    int s = 0, e = N;
                    while (s < e && (v[s] == ' ' || v[s] == '\t'))
                        s++;
                    while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
                        e--;
                    snprintf(want, sizeof want, "GET|/|1.1|ka=1|Host=h;X-Long=%.*s;|0:", e - s,
                             v + s);
                    cr_assert_eq(rc, n, "value b=%d k=%d: %zd (%s)", b, k, rc, p.err_msg);
                    cr_assert_str_eq(got, want, "value b=%d k=%d", b, k);
                } else {
                    cr_assert_eq(rc, HTTP1_ERROR, "value b=%d k=%d", b, k);
                    cr_assert_eq(p.err_status, 400, "value b=%d k=%d", b, k);
                    cr_assert_eq(p.err_offset, voff + (size_t)k, "value b=%d k=%d: %zu", b, k,
                                 p.err_offset);
                }
            }
            /* request target (after its leading '/') and field name (after 'X') */
            if (k > 0 && b != ' ' && b != ':') {
                char t[N + 1];
                memset(t, 't', N);
                t[0] = '/';
                t[k] = (char)b;
                t[N] = 0;
                int n = build(msg, "GET ", t, N, " HTTP/1.1\r\nHost: h\r\n\r\n");
                ssize_t rc = parse_guarded(msg, (size_t)n, &lim_default, NULL, 0, &p);
                if (b > 0x20 && b < 0x7f && b != '#') {
                    cr_assert_eq(rc, n, "target b=%d k=%d: %s", b, k, p.err_msg);
                } else {
                    cr_assert_eq(rc, HTTP1_ERROR, "target b=%d k=%d", b, k);
                    cr_assert_eq(p.err_offset, 4 + (size_t)k, "target b=%d k=%d", b, k);
                }
                t[0] = 'X';
                n = build(msg, "GET / HTTP/1.1\r\nHost: h\r\n", t, N, ": v\r\n\r\n");
                rc = parse_guarded(msg, (size_t)n, &lim_default, NULL, 0, &p);
                if (b < 0x80 && strchr("!#$%&'*+-.^_`|~", b) && b != 0) {
                    cr_assert_eq(rc, n, "name b=%d k=%d: %s", b, k, p.err_msg);
                } else if (b < 0x80 && isalnum(b)) {
                    cr_assert_eq(rc, n, "name b=%d k=%d: %s", b, k, p.err_msg);
                } else {
                    cr_assert_eq(rc, HTTP1_ERROR, "name b=%d k=%d", b, k);
                    cr_assert_eq(p.err_status, 400, "name b=%d k=%d", b, k);
                    cr_assert_eq(p.err_offset, 25 + (size_t)k, "name b=%d k=%d", b, k);
                }
            }
        }
    }
}
