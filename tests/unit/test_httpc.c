/* Unit tests for io/httpc: responses (Content-Length, chunked, close-delimited, 101,
 * interim 1xx) and SSE streams give the same result over every input split. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "io/httpc/httpc.h"
#include "io/httpc/ssec.h"

struct got {
    int status, done, error;
    char body[512];
    size_t body_len, leftover;
};

/* Feed s in two pieces split at cut; collect the body of one response. */
static struct got feed(const char *s, size_t n, size_t cut, struct httpc *p)
{
    struct got g = {0};
    httpc_init(p, 0);
    size_t bounds[3] = {0, cut, n};
    for (int k = 0; k < 2; k++) {
        const uint8_t *d = (const uint8_t *)s + bounds[k];
        size_t len = bounds[k + 1] - bounds[k];
        while (!g.done && !g.error) {
            struct httpc_event ev;
            size_t used = httpc_parse(p, d, len, &ev);
            cr_assert_leq(used, len);
            d += used;
            len -= used;
            if (ev.type == HTTPC_HEAD)
                g.status = p->status;
            else if (ev.type == HTTPC_BODY) {
                cr_assert_leq(g.body_len + ev.len, sizeof g.body);
                memcpy(g.body + g.body_len, ev.data, ev.len);
                g.body_len += ev.len;
            } else if (ev.type == HTTPC_DONE)
                g.done = 1;
            else if (ev.type == HTTPC_ERROR)
                g.error = 1;
            else
                break;
        }
        if (g.done) g.leftover += len;
    }
    return g;
}

static void every_split(const char *s, int status, const char *body, size_t leftover)
{
    size_t n = strlen(s);
    for (size_t cut = 0; cut <= n; cut++) {
        struct httpc p;
        struct got g = feed(s, n, cut, &p);
        cr_assert(g.done, "cut %zu: not done (err %s)", cut, p.err);
        cr_assert_eq(g.status, status);
        cr_assert_eq(g.body_len, strlen(body), "cut %zu", cut);
        cr_assert_eq(memcmp(g.body, body, g.body_len), 0);
        cr_assert_eq(g.leftover, leftover, "cut %zu leftover %zu", cut, g.leftover);
    }
}

Test(httpc, content_length)
{
    every_split("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer-Timing: a;dur=1\r\n\r\nhelloX", 200,
                "hello", 1);
    struct httpc p;
    const char *s = "HTTP/1.1 202 Accepted\r\nLocation:  /jobs/7 \r\nContent-Length: 0\r\n\r\n";
    struct got g = feed(s, strlen(s), 3, &p);
    cr_assert(g.done);
    cr_assert_str_eq(httpc_header(&p, "location"), "/jobs/7");
    cr_assert_null(httpc_header(&p, "x-none"));
}

Test(httpc, chunked_with_extension_and_trailer)
{
    every_split("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                "3;x=y\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nT: v\r\n\r\n",
                200, "abc0123456789abcdef", 0);
}

Test(httpc, interim_and_switching_protocols)
{
    every_split("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", 204, "", 0);
    every_split("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi", 101, "",
                4);
}

Test(httpc, close_delimited_and_errors)
{
    struct httpc p;
    struct httpc_event ev;
    httpc_init(&p, 0);
    const char *s = "HTTP/1.0 200 OK\nContent-Type: text/event-stream\n\ndata: x\n\n";
    size_t used = httpc_parse(&p, (const uint8_t *)s, strlen(s), &ev);
    cr_assert_eq(ev.type, HTTPC_HEAD);
    used += httpc_parse(&p, (const uint8_t *)s + used, strlen(s) - used, &ev);
    cr_assert_eq(ev.type, HTTPC_BODY);
    cr_assert_eq(used, strlen(s));
    cr_assert_eq(httpc_eof(&p), 1);

    const char *bad[] = {"HTTP/2 200 OK\r\n\r\n",
                         "HTTP/1.1 2x0 OK\r\n\r\n",
                         "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                         "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
                         "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
                         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        httpc_init(&p, 0);
        const uint8_t *d = (const uint8_t *)bad[i];
        size_t len = strlen(bad[i]);
        do {
            used = httpc_parse(&p, d, len, &ev);
            d += used;
            len -= used;
        } while (ev.type == HTTPC_HEAD || ev.type == HTTPC_BODY);
        cr_assert_eq(ev.type, HTTPC_ERROR, "case %zu", i);
    }
    /* a head over the limit */
    static char big[HTTPC_MAX_HEAD + 100];
    memset(big, 'a', sizeof big);
    memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
    httpc_init(&p, 0);
    httpc_parse(&p, (const uint8_t *)big, sizeof big, &ev);
    cr_assert_eq(ev.type, HTTPC_ERROR);
}

Test(ssec, events_over_every_split)
{
    const char *s = ": hello\r\nretry: 1500\r\n\r\nid: 7\r\nevent: job\r\ndata: {\"a\":1}\r\n"
                    "data: second\r\n\r\nid: 8\ndata\n\n:hb\n\n";
    size_t n = strlen(s);
    for (size_t cut = 0; cut <= n; cut++) {
        struct ssec sp;
        ssec_init(&sp);
        char got[4][64];
        int ng = 0;
        size_t bounds[3] = {0, cut, n};
        for (int k = 0; k < 2; k++) {
            const uint8_t *d = (const uint8_t *)s + bounds[k];
            size_t len = bounds[k + 1] - bounds[k];
            while (len) {
                struct ssec_event ev;
                size_t used = ssec_parse(&sp, d, len, &ev);
                d += used;
                len -= used;
                cr_assert_neq(ev.type, SSEC_ERROR);
                if (ev.type == SSEC_EVENT)
                    snprintf(got[ng++], sizeof got[0], "%s|%s|%s", ev.id, ev.event, ev.data);
            }
        }
        cr_assert_eq(ng, 2, "cut %zu", cut);
        cr_assert_str_eq(got[0], "7|job|{\"a\":1}\nsecond");
        cr_assert_str_eq(got[1], "8|message|");
        cr_assert_eq(sp.retry_ms, 1500);
        cr_assert_eq(sp.comments, 2);
    }
}

Test(ssec, line_limit)
{
    static char big[SSEC_MAX_LINE + 10];
    memset(big, 'x', sizeof big);
    struct ssec sp;
    struct ssec_event ev;
    ssec_init(&sp);
    ssec_parse(&sp, (const uint8_t *)big, sizeof big, &ev);
    cr_assert_eq(ev.type, SSEC_ERROR);
}
