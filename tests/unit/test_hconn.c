/* Unit tests for io/http (hconn): keep-alive, pipelining in one output block,
 * every byte split, Connection: close and HTTP/1.0, error statuses, deferred,
 * streamed and upgraded responses, bounded input and output, backpressure,
 * HEAD, 100-continue and phase timestamps; end of input (half-close), the three
 * close kinds, the deadlines (408, idle, slow reader), the body budget (503) and
 * raw output after a takeover. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/http/hconn.h"

struct app {
    struct hconn *deferred;
    int calls;
    uint64_t clock;
};

static void handler(struct hconn *c, const struct hconn_req *r, void *arg)
{
    struct app *a = arg;
    a->calls++;
#define IS(p) (r->path_len == strlen(p) && memcmp(r->path, p, r->path_len) == 0)
    if (IS("/"))
        hconn_respond(c, 200, "Content-Type: text/plain\r\n", "Hello", 5);
    else if (IS("/echo"))
        hconn_respond(c, 200, NULL, r->body, r->body_len);
    else if (IS("/defer"))
        a->deferred = c;
    else if (IS("/stream")) {
        hconn_stream_begin(c, 200, "Content-Type: text/event-stream\r\n");
        hconn_stream_write(c, "data: 1\n\n", 9);
        a->deferred = c;
    } else if (IS("/ws"))
        hconn_upgrade(c, "Connection: Upgrade\r\nUpgrade: websocket\r\n");
    else if (IS("/q")) {
        char b[64];
        int n = snprintf(b, sizeof b, "%.*s", (int)r->query_len, r->query ? r->query : "");
        hconn_respond(c, 200, NULL, b, (size_t)n);
    } else
        hconn_respond(c, 404, NULL, "nf", 2);
#undef IS
}

static struct hconn *mk(struct app *a, size_t max_out, size_t out_high)
{
    struct hconn_config cfg = {
        .on_request = handler, .app = a, .max_out = max_out, .out_high = out_high};
    struct hconn *c = hconn_new(&cfg);
    cr_assert_not_null(c);
    return c;
}

/* All pending output as a string, marked written. */
static char *drain(struct hconn *c)
{
    const uint8_t *p;
    size_t n = hconn_out(c, &p);
    char *s = malloc(n + 1);
    if (n) memcpy(s, p, n);
    s[n] = 0;
    hconn_out_done(c, n);
    return s;
}

#define R200                                                                                       \
    "HTTP/1.1 200 OK\r\nServer: wirelab\r\nContent-Type: text/plain\r\nContent-Length: "           \
    "5\r\n\r\nHello"

Test(hconn, keep_alive_pipelined_in_one_block)
{
    struct app a = {0};
    struct hconn *c = mk(&a, 0, 0);
    const char *in = "GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /nope HTTP/1.1\r\nHost: h\r\n\r\n"
                     "GET /q?x=1 HTTP/1.1\r\nHost: h\r\n\r\n";
    cr_assert_eq(hconn_feed(c, in, strlen(in)), 0);
    cr_assert_eq(hconn_process(c), 3);
    char *out = drain(c);
    cr_assert_str_eq(out,
                     R200 "HTTP/1.1 404 Not Found\r\nServer: wirelab\r\nContent-Length: 2\r\n\r\nnf"
                          "HTTP/1.1 200 OK\r\nServer: wirelab\r\nContent-Length: 3\r\n\r\nx=1");
    cr_assert_not(hconn_should_close(c));
    cr_assert(hconn_want_read(c));
    free(out);
    hconn_free(c);
}

Test(hconn, every_byte_split_gives_the_same_output)
{
    const char *in = "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"
                     "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nxy";
    struct app a = {0};
    struct hconn *c = mk(&a, 0, 0);
    hconn_feed(c, in, strlen(in));
    hconn_process(c);
    char *want = drain(c);
    hconn_free(c);
    for (size_t k = 1; k <= 7; k++) {
        c = mk(&a, 0, 0);
        char acc[1024] = "";
        for (size_t i = 0; i < strlen(in); i += k) {
            size_t n = strlen(in) - i < k ? strlen(in) - i : k;
            size_t room;
            uint8_t *p = hconn_in_space(c, &room);
            cr_assert_geq(room, n);
            memcpy(p, in + i, n);
            hconn_in_commit(c, n);
            hconn_process(c);
            char *o = drain(c);
            strcat(acc, o);
            free(o);
        }
        cr_assert_str_eq(acc, want, "step %zu", k);
        hconn_free(c);
    }
    free(want);
}

Test(hconn, connection_close_and_http10)
{
    struct app a = {0};
    struct hconn *c = mk(&a, 0, 0);
    const char *in =
        "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
    hconn_feed(c, in, strlen(in));
    cr_assert_eq(hconn_process(c), 1);
    cr_assert_not(hconn_should_close(c)); /* output still pending */
    char *out = drain(c);
    cr_assert(strstr(out, "Connection: close\r\n"));
    cr_assert(hconn_should_close(c));
    cr_assert_not(hconn_want_read(c));
    free(out);
    hconn_free(c);

    c = mk(&a, 0, 0);
    hconn_feed(c, "GET / HTTP/1.0\r\n\r\n", 18);
    hconn_process(c);
    out = drain(c);
    cr_assert(strstr(out, "Connection: close\r\n"));
    cr_assert(hconn_should_close(c));
    free(out);
    hconn_free(c);

    c = mk(&a, 0, 0);
    const char *ka = "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    hconn_feed(c, ka, strlen(ka));
    hconn_process(c);
    out = drain(c);
    cr_assert(strstr(out, "Connection: keep-alive\r\n"));
    cr_assert_not(hconn_should_close(c));
    free(out);
    hconn_free(c);
}

static void expect_error(const char *in, const char *status_line)
{
    struct app a = {0};
    struct hconn *c = mk(&a, 0, 0);
    hconn_feed(c, in, strlen(in));
    hconn_process(c);
    char *out = drain(c);
    cr_assert(strncmp(out, status_line, strlen(status_line)) == 0, "got %s", out);
    cr_assert(strstr(out, "Connection: close\r\n"));
    cr_assert(hconn_should_close(c));
    cr_assert_eq(a.calls, 0);
    free(out);
    hconn_free(c);
}

Test(hconn, errors_get_their_status_then_close)
{
    expect_error("GET / HTTP/1.1\r\nHost: h\r\nX : y\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n");
    expect_error(
        "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 400 ");
    expect_error("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n",
                 "HTTP/1.1 501 Not Implemented\r\n");
    expect_error("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2000000\r\n\r\n",
                 "HTTP/1.1 413 Content Too Large\r\n");
    char big[10000];
    snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: h\r\nX: %09000d\r\n\r\n", 0);
    expect_error(big, "HTTP/1.1 431 Request Header Fields Too Large\r\n");
}

Test(hconn, deferred_response_keeps_pipelined_order)
{
    struct app a = {0};
    struct hconn *c = mk(&a, 0, 0);
    const char *in = "GET /defer HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
    hconn_feed(c, in, strlen(in));
    cr_assert_eq(hconn_process(c), 1);
    cr_assert(hconn_busy(c));
    const uint8_t *p;
    cr_assert_eq(hconn_out(c, &p), 0);
    cr_assert_eq(hconn_process(c), 0); /* still waiting */
    cr_assert_eq(hconn_respond(a.deferred, 200, NULL, "late", 4), 0);
    cr_assert_not(hconn_busy(c));
    cr_assert_eq(hconn_process(c), 1);
    char *out = drain(c);
    cr_assert_str_eq(out,
                     "HTTP/1.1 200 OK\r\nServer: wirelab\r\nContent-Length: 4\r\n\r\nlate" R200);
    cr_assert_eq(hconn_respond(c, 200, NULL, "x", 1), -1); /* nothing open */
    free(out);
    hconn_free(c);
}

Test(hconn, streaming_response_chunked)
{
    struct app a = {0};
    struct hconn *c = mk(&a, 0, 0);
    const char *in = "GET /stream HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
    hconn_feed(c, in, strlen(in));
    cr_assert_eq(hconn_process(c), 1);
    char *out = drain(c);
    cr_assert_str_eq(out,
                     "HTTP/1.1 200 OK\r\nServer: wirelab\r\nContent-Type: text/event-stream\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n9\r\ndata: 1\n\n\r\n");
    free(out);
    cr_assert_eq(hconn_stream_write(c, "data: 22\n\n", 10), 0);
    cr_assert_eq(hconn_stream_end(c), 0);
    cr_assert_eq(hconn_process(c), 1);
    out = drain(c);
    cr_assert_str_eq(out, "a\r\ndata: 22\n\n\r\n0\r\n\r\n" R200);
    free(out);
    hconn_free(c);
}

Test(hconn, streaming_http10_closes_at_end)
{
    struct app a = {0};
    struct hconn *c = mk(&a, 0, 0);
    hconn_feed(c, "GET /stream HTTP/1.0\r\n\r\n", 24);
    hconn_process(c);
    char *out = drain(c);
    cr_assert(strstr(out, "Connection: close\r\n\r\ndata: 1\n\n"), "%s", out);
    cr_assert_not(hconn_should_close(c));
    hconn_stream_end(c);
    cr_assert(hconn_should_close(c));
    free(out);
    hconn_free(c);
}

Test(hconn, upgrade_hands_back_leftover_bytes)
{
    struct app a = {0};
    struct hconn *c = mk(&a, 0, 0);
    const char *in =
        "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
        "\x81\x85"
        "frame";
    hconn_feed(c, in, strlen(in));
    cr_assert_eq(hconn_process(c), 1);
    cr_assert_not(hconn_taken(c)); /* the 101 is not written yet */
    char *out = drain(c);
    cr_assert_str_eq(out, "HTTP/1.1 101 Switching Protocols\r\nServer: wirelab\r\n"
                          "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    cr_assert(hconn_taken(c));
    size_t n;
    const uint8_t *rest = hconn_leftover(c, &n);
    cr_assert_eq(n, 7);
    cr_assert(memcmp(rest,
                     "\x81\x85"
                     "frame",
                     7) == 0);
    cr_assert_eq(hconn_process(c), 0);
    free(out);
    hconn_free(c);
}

Test(hconn, slow_reader_is_cut_off_at_max_out)
{
    struct app a = {0};
    struct hconn *c = mk(&a, 4096, 0);
    hconn_feed(c, "GET /stream HTTP/1.1\r\nHost: h\r\n\r\n", 33);
    hconn_process(c);
    char chunk[1000] = {0};
    int rc = 0, i;
    for (i = 0; i < 10 && rc == 0; i++)
        rc = hconn_stream_write(c, chunk, sizeof chunk);
    cr_assert_eq(rc, -1);
    cr_assert_lt(i, 10);
    cr_assert(hconn_should_close(c));
    cr_assert_not_null(hconn_error(c));
    hconn_free(c);
}

Test(hconn, backpressure_stops_dispatch_until_drained)
{
    struct app a = {0};
    struct hconn *c = mk(&a, 0, 100); /* out_high: 100 bytes */
    char in[16 * 32];
    in[0] = 0;
    for (int i = 0; i < 16; i++)
        strcat(in, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    hconn_feed(c, in, strlen(in));
    int n = hconn_process(c);
    cr_assert_lt(n, 16);
    int total = n;
    while (total < 16) {
        free(drain(c));
        n = hconn_process(c);
        cr_assert_gt(n, 0);
        total += n;
    }
    cr_assert_eq(a.calls, 16);
    free(drain(c));
    hconn_free(c);
}

Test(hconn, input_is_bounded)
{
    struct app a = {0};
    struct hconn_config cfg = {.on_request = handler, .app = &a, .max_in = 1000};
    struct hconn *c = hconn_new(&cfg);
    char junk[600];
    memset(junk, 'a', sizeof junk);
    cr_assert_eq(hconn_feed(c, junk, sizeof junk), 0);
    cr_assert_eq(hconn_feed(c, junk, sizeof junk), -1);
    cr_assert(hconn_should_close(c));
    hconn_free(c);
}

Test(hconn, head_and_100_continue)
{
    struct app a = {0};
    struct hconn *c = mk(&a, 0, 0);
    hconn_feed(c, "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", 28);
    hconn_process(c);
    char *out = drain(c);
    cr_assert_str_eq(out, "HTTP/1.1 200 OK\r\nServer: wirelab\r\nContent-Type: text/plain\r\n"
                          "Content-Length: 5\r\n\r\n");
    free(out);
    const char *h =
        "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n";
    hconn_feed(c, h, strlen(h));
    cr_assert_eq(hconn_process(c), 0);
    out = drain(c);
    cr_assert_str_eq(out, "HTTP/1.1 100 Continue\r\n\r\n");
    free(out);
    hconn_feed(c, "abc", 3);
    cr_assert_eq(hconn_process(c), 1);
    out = drain(c);
    cr_assert_str_eq(out, "HTTP/1.1 200 OK\r\nServer: wirelab\r\nContent-Length: 3\r\n\r\nabc");
    free(out);
    hconn_free(c);
}

static uint64_t fake_clock(void *arg)
{
    struct app *a = arg;
    return a->clock += 1000000; /* every reading is 1 ms later */
}

Test(hconn, phase_timestamps_and_server_timing)
{
    struct app a = {0};
    struct hconn_config cfg = {.on_request = handler, .app = &a, .clock_ns = fake_clock};
    struct hconn *c = hconn_new(&cfg);                           /* idle clock t=1 */
    hconn_feed(c, "GET /defer HTTP/1.1\r\nHost: h\r\n\r\n", 32); /* t=2 */
    hconn_process(c);                                            /* parse t=3, dispatch t=4 */
    const struct hconn_times *t = hconn_times(c);
    cr_assert_eq(t->t_recv, 2000000);
    cr_assert_eq(t->t_parse, 3000000);
    cr_assert_eq(t->t_dispatch, 4000000);
    char st[128];
    size_t n = hconn_server_timing(c, st, sizeof st); /* now t=5 */
    cr_assert_gt(n, 0);
    cr_assert_str_eq(st, "Server-Timing: recv;dur=1.000, parse;dur=1.000, process;dur=1.000\r\n");
    hconn_respond(c, 200, st, "x", 1);
    cr_assert_gt(hconn_times(c)->t_respond, 4000000);
    free(drain(c));
    hconn_free(c);
}

/* ---- end of input, close kinds, deadlines, the body budget, raw output ------- */

static uint64_t set_clock(void *arg)
{
    return ((struct app *)arg)->clock; /* the test moves it */
}

#define MS 1000000ull

static struct hconn *mk_timed(struct app *a, uint32_t idle_ms, uint32_t req_ms,
                              struct hconn_budget *b)
{
    struct hconn_config cfg = {.on_request = handler,
                               .app = a,
                               .clock_ns = set_clock,
                               .idle_timeout_ms = idle_ms,
                               .request_timeout_ms = req_ms,
                               .budget = b};
    struct hconn *c = hconn_new(&cfg);
    cr_assert_not_null(c);
    return c;
}

Test(hconn, half_close_answers_every_complete_request_then_closes)
{
    struct app a = {0};
    struct hconn *c = mk(&a, 0, 0);
    const char *in = "GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /q?2 HTTP/1.1\r\nHost: h\r\n\r\nGET /";
    hconn_feed(c, in, strlen(in));
    hconn_in_eof(c);
    cr_assert_not(hconn_want_read(c));
    cr_assert_eq(hconn_process(c), 2);
    cr_assert_not(hconn_should_close(c)); /* the answers are not written yet */
    char *out = drain(c);
    cr_assert(strstr(out, "\r\n\r\nHello") && strstr(out, "\r\n\r\n2"), "got %s", out);
    cr_assert_eq(hconn_should_close(c), HCONN_CLOSE_NOW); /* the partial third is dropped */
    free(out);
    hconn_free(c);

    /* a request still open at EOF is answered when it completes, then the close */
    c = mk(&a, 0, 0);
    hconn_feed(c, "GET /defer HTTP/1.1\r\nHost: h\r\n\r\n", 32);
    cr_assert_eq(hconn_process(c), 1);
    hconn_in_eof(c);
    cr_assert_eq(hconn_process(c), 0);
    cr_assert_not(hconn_should_close(c));
    hconn_respond(a.deferred, 200, NULL, "late", 4);
    hconn_process(c);
    out = drain(c);
    cr_assert(strstr(out, "\r\n\r\nlate"));
    cr_assert_eq(hconn_should_close(c), HCONN_CLOSE_NOW);
    free(out);
    hconn_free(c);
}

Test(hconn, an_error_before_the_request_was_read_lingers)
{
    struct app a = {0};
    struct hconn *c = mk(&a, 0, 0);
    hconn_feed(c, "GET / HTTP/1.1\r\nHost: h\r\nX : y\r\n\r\n", 34);
    hconn_process(c);
    free(drain(c));
    cr_assert_eq(hconn_should_close(c), HCONN_CLOSE_LINGER);
    hconn_free(c);

    /* Connection: close with nothing more buffered: a plain close */
    c = mk(&a, 0, 0);
    const char *cl = "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
    hconn_feed(c, cl, strlen(cl));
    hconn_process(c);
    free(drain(c));
    cr_assert_eq(hconn_should_close(c), HCONN_CLOSE_NOW);
    hconn_free(c);

    /* ... with a pipelined request behind it that will never be read: linger */
    c = mk(&a, 0, 0);
    hconn_feed(c, cl, strlen(cl));
    hconn_feed(c, "GET / HTTP/1.1\r\n", 16);
    hconn_process(c);
    free(drain(c));
    cr_assert_eq(hconn_should_close(c), HCONN_CLOSE_LINGER);
    hconn_free(c);
}

Test(hconn, a_trickled_request_gets_408_at_its_deadline)
{
    struct app a = {.clock = 1000 * MS};
    struct hconn *c = mk_timed(&a, 10000, 500, NULL);
    cr_assert_eq(hconn_deadline(c), 11000 * MS); /* idle: nothing received yet */
    a.clock = 1100 * MS;
    hconn_feed(c, "G", 1);
    hconn_process(c);
    cr_assert_eq(hconn_deadline(c), 1600 * MS); /* from the request's first byte */
    const char *rest = "ET / HTTP/1.1\r\nHost:";
    for (const char *p = rest; *p; p++) { /* a byte at a time does not move it */
        a.clock += 10 * MS;
        hconn_feed(c, p, 1);
        hconn_process(c);
        cr_assert_eq(hconn_deadline(c), 1600 * MS);
        cr_assert_eq(hconn_expire(c, a.clock), 0);
    }
    a.clock = 1600 * MS;
    cr_assert_eq(hconn_expire(c, a.clock), 1);
    cr_assert_not(hconn_want_read(c));
    char *out = drain(c);
    cr_assert(strncmp(out, "HTTP/1.1 408 Request Timeout\r\n", 30) == 0, "got %s", out);
    cr_assert(strstr(out, "Connection: close\r\n"));
    cr_assert_eq(hconn_should_close(c), HCONN_CLOSE_NOW);
    cr_assert_eq(a.calls, 0);
    free(out);
    hconn_free(c);
}

Test(hconn, idle_and_slow_reader_deadlines)
{
    struct app a = {.clock = 5 * MS};
    struct hconn *c = mk_timed(&a, 1000, 300, NULL);
    a.clock = 100 * MS;
    hconn_feed(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 27);
    a.clock = 200 * MS;
    cr_assert_eq(hconn_process(c), 1);          /* the response is queued at 200 ms */
    cr_assert_eq(hconn_deadline(c), 1200 * MS); /* not written: a peer that reads has 1 s */
    const uint8_t *p;
    size_t n = hconn_out(c, &p);
    a.clock = 700 * MS;
    hconn_out_done(c, 10); /* progress moves it */
    cr_assert_eq(hconn_deadline(c), 1700 * MS);
    cr_assert_eq(hconn_expire(c, 1699 * MS), 0);
    cr_assert_eq(hconn_expire(c, 1700 * MS), 1);
    cr_assert_eq(hconn_should_close(c), HCONN_CLOSE_CUT); /* it does not read */
    cr_assert_not_null(hconn_error(c));
    hconn_free(c);

    c = mk_timed(&a, 1000, 300, NULL);
    hconn_feed(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 27);
    hconn_process(c);
    n = hconn_out(c, &p);
    a.clock = 900 * MS;
    hconn_out_done(c, n);                       /* all written at 900 ms */
    cr_assert_eq(hconn_deadline(c), 1900 * MS); /* idle from then */
    cr_assert_eq(hconn_expire(c, 1900 * MS), 1);
    cr_assert_eq(hconn_out(c, &p), 0); /* an idle close says nothing */
    cr_assert_eq(hconn_should_close(c), HCONN_CLOSE_CUT);
    hconn_free(c);

    /* a request open (a timer, a long poll) is the server's wait: no deadline */
    c = mk_timed(&a, 1000, 300, NULL);
    hconn_feed(c, "GET /defer HTTP/1.1\r\nHost: h\r\n\r\n", 32);
    hconn_process(c);
    cr_assert_eq(hconn_deadline(c), 0);
    cr_assert_eq(hconn_expire(c, UINT64_MAX), 0);
    hconn_free(c);
}

Test(hconn, body_budget_refuses_with_503_and_gives_back)
{
    struct hconn_budget b = {.max = 1000};
    struct app a = {0};
    struct hconn *c1 = mk_timed(&a, 0, 0, &b), *c2 = mk_timed(&a, 0, 0, &b);
    const char *h800 = "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 800\r\n\r\nabc";
    hconn_feed(c1, h800, strlen(h800));
    cr_assert_eq(hconn_process(c1), 0);
    cr_assert_eq(b.used, 800); /* reserved at the head, before the body is here */
    const char *h300 = "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 300\r\n\r\n";
    hconn_feed(c2, h300, strlen(h300));
    cr_assert_eq(hconn_process(c2), 0);
    char *out = drain(c2);
    cr_assert(strncmp(out, "HTTP/1.1 503 Service Unavailable\r\n", 34) == 0, "got %s", out);
    cr_assert(strstr(out, "Retry-After: 1\r\n"));
    cr_assert_eq(hconn_should_close(c2), HCONN_CLOSE_LINGER); /* its body is still coming */
    cr_assert_eq(b.refused, 1);
    cr_assert_eq(b.used, 800);
    free(out);
    hconn_free(c2);

    char body[797];
    memset(body, 'x', sizeof body);
    hconn_feed(c1, body, sizeof body);
    cr_assert_eq(hconn_process(c1), 1);
    cr_assert_eq(b.used, 0); /* dispatched: given back */
    free(drain(c1));

    /* a chunked body reserves its bytes as they come; hconn_free gives them back */
    const char *ch = "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "100\r\n";
    hconn_feed(c1, ch, strlen(ch));
    cr_assert_eq(hconn_process(c1), 0);
    size_t first = b.used;
    hconn_feed(c1, body, 200);
    cr_assert_eq(hconn_process(c1), 0);
    cr_assert_eq(b.used, first + 200);
    hconn_free(c1);
    cr_assert_eq(b.used, 0);

    /* a request that arrives whole reserves nothing, even past the budget */
    struct hconn_budget tiny = {.max = 10};
    c1 = mk_timed(&a, 0, 0, &tiny);
    const char *whole = "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 20\r\n\r\n"
                        "01234567890123456789";
    hconn_feed(c1, whole, strlen(whole));
    cr_assert_eq(hconn_process(c1), 1);
    out = drain(c1);
    cr_assert(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0);
    free(out);
    hconn_free(c1);
}

Test(hconn, raw_output_after_takeover_is_bounded)
{
    struct app a = {0};
    struct hconn *c = mk(&a, 4096, 0);
    cr_assert_eq(hconn_raw_write(c, "x", 1), -1); /* not taken over */
    const char *in =
        "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
    hconn_feed(c, in, strlen(in));
    hconn_process(c);
    free(drain(c));
    cr_assert(hconn_taken(c));
    cr_assert_eq(hconn_raw_write(c, "\x81\x02hi", 4), 0);
    const uint8_t *p;
    cr_assert_eq(hconn_out(c, &p), 4);
    cr_assert(memcmp(p, "\x81\x02hi", 4) == 0);
    hconn_raw_end(c); /* e.g. after a WebSocket close frame */
    cr_assert_not(hconn_should_close(c));
    hconn_out_done(c, 4);
    cr_assert_eq(hconn_should_close(c), HCONN_CLOSE_NOW);
    hconn_free(c);

    c = mk(&a, 4096, 0);
    hconn_feed(c, in, strlen(in));
    hconn_process(c);
    free(drain(c));
    char big[5000] = {0};
    cr_assert_eq(hconn_raw_write(c, big, sizeof big), -1); /* over max_out: cut off */
    cr_assert_eq(hconn_should_close(c), HCONN_CLOSE_CUT);
    hconn_free(c);
}
