/* test_jobs_webhook: the webhook client against an in-process receiver on the same
 * event loop: signature, delivery id kept across retries, backoff after refused
 * connections and 5xx answers, an interim 1xx before the status, a hanging
 * receiver timed out, giving up. */
#include "io/net.h"
#include "labs/jobs/webhook.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

Test(webhook, hmac_sha256_rfc4231_case2)
{
    char hex[HOOK_SIG_LEN + 1];
    const char *data = "what do ya want for nothing?";
    hook_sign("Jefe", data, strlen(data), hex);
    cr_assert_str_eq(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

Test(webhook, parse_url)
{
    uint32_t a;
    int port;
    char path[64];
    cr_assert_eq(hook_parse_url("http://127.0.0.1:8080/hook?x=1", &a, &port, path, sizeof(path)),
                 0);
    cr_assert_eq(port, 8080);
    cr_assert_eq(a, htonl(0x7f000001));
    cr_assert_str_eq(path, "/hook?x=1");
    cr_assert_eq(hook_parse_url("http://localhost:9", &a, &port, path, sizeof(path)), 0);
    cr_assert_str_eq(path, "/");
    const char *badurls[] = {
        "https://127.0.0.1:1/",  "http://example.com:80/",  "http://127.0.0.1/",
        "http://127.0.0.1:0/",   "http://127.0.0.1:70000/", "http://:80/",
        "http://127.0.0.1:80x/", "http://127.0.0.1:80/a b", "ftp://x"};
    for (size_t i = 0; i < sizeof(badurls) / sizeof(*badurls); i++)
        cr_assert_eq(hook_parse_url(badurls[i], &a, &port, path, sizeof(path)), -1, "%s",
                     badurls[i]);
}

Test(webhook, backoff_doubles_and_caps)
{
    struct hook_opts o = {.base_ms = 100, .max_ms = 1000};
    cr_assert_eq(hook_backoff_ms(&o, 2), 100);
    cr_assert_eq(hook_backoff_ms(&o, 3), 200);
    cr_assert_eq(hook_backoff_ms(&o, 4), 400);
    cr_assert_eq(hook_backoff_ms(&o, 5), 800);
    cr_assert_eq(hook_backoff_ms(&o, 6), 1000);
    cr_assert_eq(hook_backoff_ms(&o, 60), 1000);
}

/* ---- an in-process receiver ---------------------------------------------- */

enum rx_mode { RX_OK, RX_500_THEN_OK, RX_HANG, RX_INTERIM };

struct rx {
    struct ev_loop *loop;
    int lfd, port;
    enum rx_mode mode;
    int requests;
    int sig_ok;
    char delivery[8][HOOK_ID_LEN + 1];
    int attempt[8];
    /* the done callback */
    int done, ok;
    unsigned attempts;
    int status;
    char done_id[HOOK_ID_LEN + 1];
    int hanging[8], nhanging;
};

struct rx_conn {
    struct rx *rx;
    char buf[4096];
    size_t len;
};

static const char *hdr(const char *req, const char *name, char *out, size_t cap)
{
    const char *p = strstr(req, name);
    if (!p) return NULL;
    p += strlen(name);
    size_t n = strcspn(p, "\r");
    if (n >= cap) n = cap - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    return out;
}

static void rx_conn_io(struct ev_loop *loop, int fd, unsigned mask, void *arg)
{
    struct rx_conn *c = arg;
    struct rx *rx = c->rx;
    ssize_t n = recv(fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, 0);
    if (n > 0) {
        c->len += (size_t)n;
        c->buf[c->len] = '\0';
        char *end = strstr(c->buf, "\r\n\r\n");
        char v[128];
        if (!end || !hdr(c->buf, "Content-Length: ", v, sizeof(v))) return;
        size_t bl = strtoul(v, NULL, 10);
        const char *body = end + 4;
        if ((size_t)(c->buf + c->len - body) < bl) return;
        int i = rx->requests++;
        if (i < 8) {
            hdr(c->buf, "X-Wirelab-Delivery: ", rx->delivery[i], sizeof(rx->delivery[i]));
            rx->attempt[i] = hdr(c->buf, "X-Wirelab-Attempt: ", v, sizeof(v)) ? atoi(v) : -1;
        }
        char want[HOOK_SIG_LEN + 1];
        hook_sign("s3cret", body, bl, want);
        rx->sig_ok =
            hdr(c->buf, "X-Wirelab-Signature: sha256=", v, sizeof(v)) && strcmp(v, want) == 0;
        if (rx->mode == RX_HANG) {
            ev_unwatch(loop, fd); /* keep it open, say nothing */
            rx->hanging[rx->nhanging++] = fd;
            free(c);
            return;
        }
        const char *resp = (rx->mode == RX_500_THEN_OK && i == 0)
                               ? "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n"
                           : rx->mode == RX_INTERIM
                               ? "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\n"
                                 "Content-Length: 2\r\n\r\nok"
                               : "HTTP/1.1 204 No Content\r\n\r\n";
        cr_assert(send(fd, resp, strlen(resp), MSG_NOSIGNAL) > 0);
    }
    ev_unwatch(loop, fd);
    close(fd);
    free(c);
}

static void rx_accept(struct ev_loop *loop, int fd, unsigned mask, void *arg)
{
    int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (cfd < 0) return;
    struct rx_conn *c = calloc(1, sizeof(*c));
    c->rx = arg;
    cr_assert_eq(ev_watch(loop, cfd, EV_READ, rx_conn_io, c), 0);
}

static void rx_listen(struct rx *rx, int port)
{
    char err[128];
    rx->lfd = net_listen("127.0.0.1", port, 16, 1, err, sizeof(err));
    cr_assert_geq(rx->lfd, 0, "%s", err);
    rx->port = net_bound_port(rx->lfd);
    cr_assert_eq(ev_watch(rx->loop, rx->lfd, EV_READ, rx_accept, rx), 0);
}

static void on_done(void *arg, const char *id, int ok, unsigned attempts, int status)
{
    struct rx *rx = arg;
    rx->done++;
    rx->ok = ok;
    rx->attempts = attempts;
    rx->status = status;
    snprintf(rx->done_id, sizeof(rx->done_id), "%s", id);
    ev_stop(rx->loop);
}

static void on_deadline(struct ev_loop *loop, uint64_t id, void *arg)
{
    ev_stop(loop);
}

static void on_relisten(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct rx *rx = arg;
    rx_listen(rx, rx->port);
}

static struct hook_client *setup(struct rx *rx, enum rx_mode mode, unsigned attempts,
                                 uint32_t timeout_ms)
{
    memset(rx, 0, sizeof(*rx));
    rx->loop = ev_create();
    rx->mode = mode;
    rx->lfd = -1;
    struct hook_opts o = {.secret = "s3cret",
                          .timeout_ms = timeout_ms,
                          .base_ms = 50,
                          .max_ms = 400,
                          .max_attempts = attempts,
                          .max_pending = 4};
    return hook_create(rx->loop, &o, on_done, rx);
}

static void teardown(struct rx *rx, struct hook_client *hc)
{
    hook_destroy(hc);
    if (rx->lfd >= 0) close(rx->lfd);
    for (int i = 0; i < rx->nhanging; i++)
        close(rx->hanging[i]);
    ev_destroy(rx->loop);
}

static int send_one(struct rx *rx, struct hook_client *hc, char *id)
{
    char url[64], err[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", rx->port);
    const char *body = "{\"id\":\"1\",\"status\":\"done\"}";
    int rc = hook_send(hc, url, "job.done", body, strlen(body), id, err, sizeof(err));
    cr_assert_eq(rc, 0, "%s", err);
    ev_timer_add(rx->loop, 5000, on_deadline, NULL);
    ev_run(rx->loop);
    return rc;
}

Test(webhook, delivers_signed)
{
    struct rx rx;
    struct hook_client *hc = setup(&rx, RX_OK, 3, 2000);
    rx_listen(&rx, 0);
    char id[HOOK_ID_LEN + 1];
    send_one(&rx, hc, id);
    cr_assert_eq(rx.done, 1);
    cr_assert_eq(rx.ok, 1);
    cr_assert_eq(rx.status, 204);
    cr_assert_eq(rx.attempts, 1);
    cr_assert_eq(rx.requests, 1);
    cr_assert(rx.sig_ok, "receiver verified the HMAC");
    cr_assert_str_eq(rx.delivery[0], id);
    cr_assert_eq(strlen(id), HOOK_ID_LEN);
    cr_assert_str_eq(rx.done_id, id);
    cr_assert_eq(hook_pending(hc), 0);
    teardown(&rx, hc);
}

/* The response is parsed as HTTP (io/httpc), not by its first 12 bytes: an interim
 * 100 Continue is skipped and the final status counts. */
Test(webhook, interim_response_then_the_final_status)
{
    struct rx rx;
    struct hook_client *hc = setup(&rx, RX_INTERIM, 3, 2000);
    rx_listen(&rx, 0);
    char id[HOOK_ID_LEN + 1];
    send_one(&rx, hc, id);
    cr_assert_eq(rx.ok, 1);
    cr_assert_eq(rx.status, 202);
    cr_assert_eq(rx.attempts, 1);
    teardown(&rx, hc);
}

Test(webhook, retries_after_500_with_same_delivery_id)
{
    struct rx rx;
    struct hook_client *hc = setup(&rx, RX_500_THEN_OK, 3, 2000);
    rx_listen(&rx, 0);
    char id[HOOK_ID_LEN + 1];
    send_one(&rx, hc, id);
    cr_assert_eq(rx.ok, 1);
    cr_assert_eq(rx.attempts, 2);
    cr_assert_eq(rx.requests, 2);
    cr_assert_str_eq(rx.delivery[0], id);
    cr_assert_str_eq(rx.delivery[1], id);
    cr_assert_eq(rx.attempt[0], 1);
    cr_assert_eq(rx.attempt[1], 2);
    cr_assert_eq(hook_stats(hc)->failed_attempts, 1);
    teardown(&rx, hc);
}

Test(webhook, retries_after_refused_connection)
{
    struct rx rx;
    struct hook_client *hc = setup(&rx, RX_OK, 5, 2000);
    rx_listen(&rx, 0); /* learn a free port, then stop listening: connect is refused */
    ev_unwatch(rx.loop, rx.lfd);
    close(rx.lfd);
    rx.lfd = -1;
    ev_timer_add(rx.loop, 120, on_relisten, &rx); /* after attempts 1 and 2 (+50 ms) */
    uint64_t t0 = ev_now_ms();
    char id[HOOK_ID_LEN + 1];
    send_one(&rx, hc, id);
    cr_assert_eq(rx.ok, 1);
    cr_assert_geq(rx.attempts, 2);
    cr_assert_eq(rx.requests, 1, "only the successful attempt reached a receiver");
    cr_assert_eq(rx.attempt[0], (int)rx.attempts);
    cr_assert_geq(ev_now_ms() - t0, 100, "backed off");
    teardown(&rx, hc);
}

Test(webhook, hanging_receiver_times_out_then_gives_up)
{
    struct rx rx;
    struct hook_client *hc = setup(&rx, RX_HANG, 2, 150);
    rx_listen(&rx, 0);
    uint64_t t0 = ev_now_ms();
    char id[HOOK_ID_LEN + 1];
    send_one(&rx, hc, id);
    uint64_t took = ev_now_ms() - t0;
    cr_assert_eq(rx.done, 1);
    cr_assert_eq(rx.ok, 0);
    cr_assert_eq(rx.attempts, 2);
    cr_assert_eq(rx.status, 0);
    cr_assert_eq(rx.requests, 2);
    cr_assert_geq(took, 150 + 50 + 150 - 5);
    cr_assert_lt(took, 4000);
    cr_assert_eq(hook_stats(hc)->given_up, 1);
    teardown(&rx, hc);
}

Test(webhook, bounded_pending_and_bad_url)
{
    struct rx rx;
    struct hook_client *hc = setup(&rx, RX_HANG, 1, 1000);
    rx_listen(&rx, 0);
    char url[64], err[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", rx.port);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(hook_send(hc, url, "job.done", "{}", 2, NULL, err, sizeof(err)), 0);
    cr_assert_eq(hook_send(hc, url, "job.done", "{}", 2, NULL, err, sizeof(err)), -1);
    cr_assert(strstr(err, "too many"), "%s", err);
    cr_assert_eq(hook_pending(hc), 4);
    teardown(&rx, hc);
    hc = setup(&rx, RX_OK, 1, 1000);
    cr_assert_eq(hook_send(hc, "http://example.com/", "e", "{}", 2, NULL, err, sizeof(err)), -1);
    cr_assert(strstr(err, "callback must be"), "%s", err);
    teardown(&rx, hc);
}
