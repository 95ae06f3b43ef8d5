/* notify-client: N clients each start M jobs on a jobs-server and learn that each is
 * done by one pattern: short polling, long polling, SSE, a webhook or WebSocket.
 * It measures what the patterns notes argue about: the delay from the job's
 * completion (the server's done_us timestamp, CLOCK_MONOTONIC like ours: same host)
 * to the client knowing, and the HTTP requests and bytes each completed job cost.
 * One process, one io/ev loop, every client a small state machine: 1000 clients
 * are 1000 structs and sockets, not 1000 threads.  With --changes it also measures
 * the delay of every change of every job, not only of its completion (nchanges.c).
 */
#include "io/cli.h"
#include "labs/07-push/notify.h"

#include "io/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static const char *const MODE_NAMES[] = {"short", "long", "sse", "webhook", "ws"};

/* ---- small JSON field readers (our server's flat objects) ---- */

int notify_json_u64(const char *js, const char *key, uint64_t *v)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(js, pat);
    if (!p) return -1;
    p += strlen(pat);
    while (*p == ' ' || *p == '"')
        p++;
    if (*p < '0' || *p > '9') return -1;
    *v = strtoull(p, NULL, 10);
    return 0;
}

int notify_json_is_done(const char *js)
{
    return strstr(js, "\"status\":\"done\"") != NULL;
}

/* The server's completion time in microseconds, or 0 when the JSON has none. */
uint64_t notify_json_done_us(const char *js)
{
    uint64_t v;
    if (notify_json_u64(js, "done_us", &v) == 0) return v;
    if (notify_json_u64(js, "done_ms", &v) == 0) return v * 1000;
    return 0;
}

/* xorshift64: WebSocket keys and masks, and each client's polling phase */
uint64_t notify_rand(struct app *a)
{
    a->rng ^= a->rng << 13;
    a->rng ^= a->rng >> 7;
    a->rng ^= a->rng << 17;
    return a->rng;
}

/* ---- the life of one client ---- */

void notify_next(struct client *c);
static void http_data(struct nc_conn *nc, const uint8_t *d, size_t len);
static void http_closed(struct nc_conn *nc, int err);

void notify_fail(struct client *c, const char *why)
{
    struct app *a = c->app;
    if (a->failed < 5) fprintf(stderr, "notify-client: client %d: %s\n", c->idx, why);
    a->failed++;
    c->phase = PH_DONE;
    nc_close(&c->http);
    nc_close(&c->ws);
    if (++a->finished == a->nclients) ev_stop(a->loop);
}

void notify_complete(struct client *c, uint64_t done_us)
{
    struct app *a = c->app;
    uint64_t now_us = ev_now_ns() / 1000;
    nchg_seen(a, c->job, NOTIFY_VERSIONS);
    if (done_us)
        a->delays_ms[a->ndelays++] = done_us <= now_us ? (double)(now_us - done_us) / 1000.0 : 0;
    else
        a->missing_ts++;
    c->jobs_done++;
    c->job = 0;
    if (c->phase == PH_STREAM) {
        nc_close(&c->http); /* an event stream never ends by itself */
        c->gen++;
    }
    c->phase = PH_IDLE;
    notify_next(c);
}

/* Send one HTTP request on the client's connection to the jobs server, opening it
 * first when the server closed the last one. */
static void http_request(struct client *c, const char *method, const char *target, const char *body,
                         enum phase ph)
{
    struct app *a = c->app;
    char req[1024];
    int n;
    if (body)
        n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     method, target, a->port, strlen(body), body);
    else
        n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s\r\n", method,
                     target, a->port, ph == PH_STREAM ? "Accept: text/event-stream\r\n" : "");
    if (c->http.fd < 0) {
        c->gen++;
        if (nc_open(&c->http, a->addr, a->port) != 0) {
            notify_fail(c, strerror(errno));
            return;
        }
    }
    httpc_init(&c->rp, 0);
    c->body_len = 0;
    c->phase = ph;
    a->requests++;
    if (nc_send(&c->http, req, (size_t)n) != 0)
        notify_fail(c, "request does not fit the output buffer");
}

static void poll_timer(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct client *c = arg;
    char target[128];
    c->timer = 0;
    snprintf(target, sizeof target, "/jobs/%" PRIu64, c->job);
    http_request(c, "GET", target, NULL, PH_POLL);
}

static void long_poll(struct client *c)
{
    char target[160];
    snprintf(target, sizeof target, "/jobs/%" PRIu64 "?wait=%u&since=%" PRIu64, c->job,
             c->app->wait_s, c->version);
    http_request(c, "GET", target, NULL, PH_POLL);
}

void notify_next(struct client *c)
{
    struct app *a = c->app;
    if (c->jobs_done == (int)a->njobs) {
        c->phase = PH_DONE;
        nc_close(&c->http);
        nc_close(&c->ws);
        if (++a->finished == a->nclients) ev_stop(a->loop);
        return;
    }
    char body[256];
    if (a->mode == M_WEBHOOK)
        snprintf(body, sizeof body, "{\"work_ms\":%u,\"callback\":\"http://127.0.0.1:%d/hook/%d\"}",
                 a->work_ms, a->rcv_port, c->idx);
    else
        snprintf(body, sizeof body, "{\"work_ms\":%u}", a->work_ms);
    http_request(c, "POST", "/jobs", body, PH_POST);
}

/* A whole response to the client's last request is in (status, body). */
static void http_response(struct client *c, int st)
{
    struct app *a = c->app;
    c->body[c->body_len] = 0;
    if (c->phase == PH_POST) {
        if (st != 202 && st != 201 && st != 200) {
            char why[160];
            snprintf(why, sizeof why, "POST /jobs answered %d: %.100s", st, c->body);
            notify_fail(c, why);
            return;
        }
        if (notify_json_u64(c->body, "id", &c->job) != 0) {
            notify_fail(c, "POST /jobs answer has no id");
            return;
        }
        c->version = 0;
        nchg_seen(a, c->job, 1);
        for (unsigned i = 0; i < a->nearly; i++) /* the push came first */
            if (a->early[i].job == c->job) {
                uint64_t d = a->early[i].done_us;
                a->early[i] = a->early[--a->nearly];
                c->phase = PH_WAIT;
                notify_complete(c, d);
                return;
            }
        char target[128];
        switch (a->mode) {
        case M_SHORT:
            /* the first poll at a random point of the interval: real clients poll at
             * their own phase, and a fixed phase against a fixed work_ms would make
             * every delay the same (e.g. interval - work_ms % interval) */
            c->phase = PH_WAIT;
            c->timer = ev_timer_add(a->loop, 1 + notify_rand(a) % a->interval_ms, poll_timer, c);
            break;
        case M_LONG:
            long_poll(c);
            break;
        case M_SSE:
            snprintf(target, sizeof target, "/jobs/%" PRIu64 "/events", c->job);
            http_request(c, "GET", target, NULL, PH_STREAM);
            break;
        case M_WS:
            c->phase = PH_WAIT;
            nws_subscribe(c);
            break;
        default:
            c->phase = PH_WAIT;
            break; /* the server will push */
        }
        return;
    }
    if (c->phase == PH_POLL) {
        if (st == 503 || st == 429) { /* too many waiters: back off and try again */
            c->phase = PH_WAIT;
            c->timer = ev_timer_add(a->loop, 100, poll_timer, c);
            return;
        }
        if (st != 200) {
            char why[160];
            snprintf(why, sizeof why, "GET /jobs/%" PRIu64 " answered %d", c->job, st);
            notify_fail(c, why);
            return;
        }
        if (notify_json_u64(c->body, "version", &c->version) == 0) nchg_seen(a, c->job, c->version);
        if (notify_json_is_done(c->body)) {
            notify_complete(c, notify_json_done_us(c->body));
            return;
        }
        if (a->mode == M_LONG) {
            long_poll(c);
        } else {
            c->phase = PH_WAIT;
            c->timer = ev_timer_add(a->loop, a->interval_ms, poll_timer, c);
        }
    }
}

static void sse_body(struct client *c, const uint8_t *d, size_t len)
{
    while (len && c->phase == PH_STREAM) {
        struct ssec_event ev;
        size_t used = ssec_parse(&c->sp, d, len, &ev);
        d += used;
        len -= used;
        if (ev.type == SSEC_ERROR) {
            notify_fail(c, "SSE line or event over the parser's limit");
            return;
        }
        if (ev.type == SSEC_EVENT) {
            uint64_t v;
            c->app->events_seen++;
            if (notify_json_u64(ev.data, "version", &v) == 0) nchg_seen(c->app, c->job, v);
            if (notify_json_is_done(ev.data)) {
                notify_complete(c, notify_json_done_us(ev.data));
                return;
            }
        }
    }
}

static void http_data(struct nc_conn *nc, const uint8_t *d, size_t len)
{
    struct client *c = nc->arg;
    unsigned gen = c->gen; /* stop when a callback closed or replaced the connection */
    /* until the parser says it needs more: a DONE may come with no bytes left */
    while (c->http.fd >= 0 && c->gen == gen) {
        struct httpc_event ev;
        size_t used = httpc_parse(&c->rp, d, len, &ev);
        d += used;
        len -= used;
        switch (ev.type) {
        case HTTPC_NONE:
            return;
        case HTTPC_ERROR:
            notify_fail(c, c->rp.err);
            return;
        case HTTPC_HEAD:
            if (c->phase == PH_STREAM) {
                if (c->rp.status != 200) {
                    notify_fail(c, "event stream refused");
                    return;
                }
                ssec_init(&c->sp);
            }
            break;
        case HTTPC_BODY:
            if (c->phase == PH_STREAM) {
                sse_body(c, ev.data, ev.len);
            } else {
                if (c->body_len + ev.len > BODY_MAX) {
                    notify_fail(c, "response body over the client's limit");
                    return;
                }
                memcpy(c->body + c->body_len, ev.data, ev.len);
                c->body_len += ev.len;
            }
            break;
        case HTTPC_DONE: {
            const char *conn = httpc_header(&c->rp, "connection");
            int closing = conn && strcasecmp(conn, "close") == 0;
            if (closing) {
                nc_close(&c->http); /* the next request opens a new one */
                c->gen++;
            }
            if (c->phase == PH_STREAM) {
                notify_fail(c, "event stream ended before the job was done");
                return;
            }
            int status = c->rp.status;
            httpc_init(&c->rp, 0); /* ready for the next response on this connection */
            http_response(c, status);
            if (closing) return;
            break;
        }
        }
    }
}

static void http_closed(struct nc_conn *nc, int err)
{
    struct client *c = nc->arg;
    c->gen++;
    if (c->phase == PH_WAIT || c->phase == PH_IDLE || c->phase == PH_DONE)
        return; /* nothing outstanding: the next request reconnects */
    if (c->phase == PH_POLL && httpc_eof(&c->rp)) {
        http_response(c, c->rp.status);
        return;
    }
    notify_fail(c, err ? strerror(err) : "server closed the connection mid-request");
}

/* ---- webhook mode: deliveries land in our receiver ---- */

static void on_delivery(void *arg, const char *path, const char *body, size_t len, int sig_ok)
{
    struct app *a = arg;
    char js[BODY_MAX + 1];
    size_t n = len < BODY_MAX ? len : BODY_MAX;
    memcpy(js, body, n);
    js[n] = 0;
    a->hook_deliveries++;
    a->requests++;
    if (sig_ok == 0) a->bad_sigs++;
    int idx;
    uint64_t id;
    if (sscanf(path, "/hook/%d", &idx) != 1 || idx < 0 || idx >= (int)a->nclients ||
        notify_json_u64(js, "id", &id) != 0 || !notify_json_is_done(js))
        return;
    struct client *c = &a->clients[idx];
    if (id == c->job && c->phase == PH_WAIT)
        notify_complete(c, notify_json_done_us(js));
    else if (a->nearly < EARLY_MAX)
        a->early[a->nearly++] = (struct early){id, notify_json_done_us(js)};
}

/* ---- results ---- */

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double pct(const double *v, size_t n, double p)
{
    if (!n) return -1;
    size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static void report(struct app *a, int json)
{
    qsort(a->delays_ms, a->ndelays, sizeof(double), cmp_double);
    size_t done = 0;
    for (unsigned i = 0; i < a->nclients; i++)
        done += (size_t)a->clients[i].jobs_done;
    double wall = (double)(ev_now_ns() - a->t_start_ns) / 1e9;
    double p50 = pct(a->delays_ms, a->ndelays, 50), p99 = pct(a->delays_ms, a->ndelays, 99);
    double mx = a->ndelays ? a->delays_ms[a->ndelays - 1] : -1;
    double rpj = done ? (double)a->requests / (double)done : 0;
    double bpj = done ? (double)a->bytes / (double)done : 0;
    char interval[32], chg[200] = "";
    snprintf(interval, sizeof interval, " interval=%ums", a->interval_ms);
    if (a->changes) { /* every change of every job: versions 2..12 */
        qsort(a->chg_delays, a->nchg, sizeof(double), cmp_double);
        double c50 = pct(a->chg_delays, a->nchg, 50), c99 = pct(a->chg_delays, a->nchg, 99);
        double cmx = a->nchg ? a->chg_delays[a->nchg - 1] : -1;
        snprintf(chg, sizeof chg,
                 json ? ",\"changes\":%zu,\"changes_missing\":%zu,\"change_p50_ms\":%.3f,"
                        "\"change_p99_ms\":%.3f,\"change_max_ms\":%.3f"
                      : " changes=%zu changes_missing=%zu change_p50=%.3fms change_p99=%.3fms "
                        "change_max=%.3fms",
                 a->nchg, a->chg_missing, c50, c99, cmx);
    }
    if (json)
        printf("{\"mode\":\"%s\",\"interval_ms\":%u,\"clients\":%u,\"jobs\":%u,\"work_ms\":%u,"
               "\"completed\":%zu,\"failed_clients\":%u,\"delay_p50_ms\":%.3f,"
               "\"delay_p99_ms\":%.3f,\"delay_max_ms\":%.3f,\"requests\":%" PRIu64 ","
               "\"requests_per_job\":%.2f,\"bytes\":%" PRIu64 ",\"bytes_per_job\":%.0f,"
               "\"events\":%" PRIu64 ",\"webhook_deliveries\":%" PRIu64
               ",\"bad_signatures\":%" PRIu64 ",\"missing_timestamps\":%" PRIu64
               ",\"wall_s\":%.3f%s}\n",
               MODE_NAMES[a->mode], a->mode == M_SHORT ? a->interval_ms : 0, a->nclients, a->njobs,
               a->work_ms, done, a->failed, p50, p99, mx, a->requests, rpj, a->bytes, bpj,
               a->events_seen, a->hook_deliveries, a->bad_sigs, a->missing_ts, wall, chg);
    else
        printf("mode=%s%s clients=%u jobs=%u completed=%zu/%u delay_p50=%.3fms delay_p99=%.3fms "
               "requests/job=%.2f bytes/job=%.0f failed_clients=%u wall=%.2fs%s\n",
               MODE_NAMES[a->mode], a->mode == M_SHORT ? interval : "", a->nclients, a->njobs, done,
               a->nclients * a->njobs, p50, p99, rpj, bpj, a->failed, wall, chg);
}

static void overall_timeout(struct ev_loop *loop, uint64_t id, void *arg)
{
    fprintf(stderr, "notify-client: timed out before every job was seen done\n");
    ev_stop(loop);
}

/* Every client starts its first job (or, in ws mode, its socket). */
static void start_clients(struct app *a)
{
    a->t_start_ns = ev_now_ns();
    for (unsigned i = 0; i < a->nclients; i++) {
        if (a->mode == M_WS)
            nws_start(&a->clients[i]);
        else
            notify_next(&a->clients[i]);
    }
}

static void usage(FILE *f)
{
    fprintf(f, "usage: notify-client --mode short|long|sse|webhook|ws [--interval MS] --clients N\n"
               "                     --jobs M [--server HOST:PORT] [--work-ms MS] [--wait S]\n"
               "                     [--webhook-secret S] [--receiver-offline-ms MS]\n"
               "                     [--timeout S] [--changes] [--json]\n"
               "  N clients (one event loop, not a thread each) each start M jobs one after\n"
               "  the other and wait for each by the pattern; prints delay p50/p99 from the\n"
               "  job's completion to the client knowing, requests and bytes per job.\n"
               "  --changes: also the delay of every change of every job (versions 2..12),\n"
               "  against the server's at_us stamps, read from one extra SSE stream of\n"
               "  GET /events (not counted in requests or bytes per job).\n"
               "  defaults: --server 127.0.0.1:8080 --interval 100 --work-ms 200 --wait 30\n"
               "  --timeout 60\n");
}

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    char *e;
    errno = 0;
    unsigned long v = strtoul(s, &e, 10);
    if (errno || !*s || *e || v < lo || v > hi) return -1;
    *out = (unsigned)v;
    return 0;
}

int main(int argc, char **argv)
{
    static struct app a;
    const char *server = "127.0.0.1:8080", *secret = NULL;
    unsigned timeout_s = 60, offline_ms = 0;
    int json = 0, mode = -1;
    a.interval_ms = 100, a.wait_s = 30, a.work_ms = 200, a.nclients = 1, a.njobs = 1;
    static const struct option opts[] = {{"mode", required_argument, 0, 'm'},
                                         {"interval", required_argument, 0, 'i'},
                                         {"clients", required_argument, 0, 'c'},
                                         {"jobs", required_argument, 0, 'n'},
                                         {"server", required_argument, 0, 's'},
                                         {"work-ms", required_argument, 0, 'w'},
                                         {"wait", required_argument, 0, 'W'},
                                         {"webhook-secret", required_argument, 0, 'k'},
                                         {"receiver-offline-ms", required_argument, 0, 'o'},
                                         {"timeout", required_argument, 0, 't'},
                                         {"json", no_argument, 0, 'j'},
                                         {"changes", no_argument, 0, 'C'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int o, bad = 0;
    opterr = 0; /* cli_getopt_error says it, in the one format */
    while ((o = getopt_long(argc, argv, "m:i:c:n:s:w:W:k:o:t:jCh", opts, NULL)) != -1) {
        switch (o) {
        case 'm':
            for (int i = 0; i < 5; i++)
                if (strcmp(optarg, MODE_NAMES[i]) == 0) mode = i;
            bad |= mode < 0;
            break;
        case 'i':
            bad |= parse_uint(optarg, 1, 3600000, &a.interval_ms);
            break;
        case 'c':
            bad |= parse_uint(optarg, 1, 5000, &a.nclients);
            break;
        case 'n':
            bad |= parse_uint(optarg, 1, 100000, &a.njobs);
            break;
        case 's':
            server = optarg;
            break;
        case 'w':
            bad |= parse_uint(optarg, 1, 600000, &a.work_ms);
            break;
        case 'W':
            bad |= parse_uint(optarg, 1, 3600, &a.wait_s);
            break;
        case 'k':
            secret = optarg;
            break;
        case 'o':
            bad |= parse_uint(optarg, 0, 600000, &offline_ms);
            break;
        case 't':
            bad |= parse_uint(optarg, 1, 86400, &timeout_s);
            break;
        case 'j':
            json = 1;
            break;
        case 'C':
            a.changes = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            cli_getopt_error("notify-client", argv, optind);
        }
    }
    char host[64];
    if (bad || mode < 0 || optind != argc ||
        net_parse_hostport(server, host, sizeof host, &a.port) != 0 ||
        inet_pton(AF_INET, strcmp(host, "localhost") ? host : "127.0.0.1", &a.addr) != 1) {
        cli_usage_error("notify-client", "bad arguments%s",
                        mode < 0 ? " (--mode is required)" : "");
    }
    a.mode = (enum mode)mode;
    /* two sockets per client in ws mode, plus the receiver's: ask for the hard limit */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    a.loop = ev_create();
    a.clients = calloc(a.nclients, sizeof *a.clients);
    a.delays_ms = calloc((size_t)a.nclients * a.njobs, sizeof(double));
    if (!a.loop || !a.clients || !a.delays_ms) {
        fprintf(stderr, "notify-client: out of memory\n");
        return 1;
    }
    a.rng = ev_now_ns() | 1;
    if (a.mode == M_WEBHOOK) {
        char err[160];
        a.rcv =
            rcv_create(a.loop, 0, offline_ms, secret, &a.bytes, on_delivery, &a, err, sizeof err);
        if (!a.rcv) {
            fprintf(stderr, "notify-client: webhook receiver: %s\n", err);
            return 1;
        }
        a.rcv_port = rcv_port(a.rcv);
    }
    for (unsigned i = 0; i < a.nclients; i++) {
        struct client *c = &a.clients[i];
        c->app = &a;
        c->idx = (int)i;
        nc_init(&c->http, a.loop, &a.bytes, http_data, http_closed, c);
        nws_init(c);
    }
    uint64_t deadline = ev_timer_add(a.loop, (uint64_t)timeout_s * 1000, overall_timeout, NULL);
    if (!a.changes) {
        start_clients(&a);
    } else if (nchg_init(&a, (size_t)a.nclients * a.njobs) < 0 ||
               nchg_start(&a, start_clients) < 0) {
        fprintf(stderr, "notify-client: --changes: cannot open the observer: %s\n",
                strerror(errno));
        return 1;
    }
    if (a.finished < a.nclients) ev_run(a.loop);
    ev_timer_cancel(a.loop, deadline);
    if (a.changes) nchg_finish(&a);
    report(&a, json);
    int ok = a.failed == 0 && a.ndelays + a.missing_ts == (size_t)a.nclients * a.njobs &&
             (!a.changes || (!a.obs_failed && a.chg_missing == 0 && a.nchg > 0));
    for (unsigned i = 0; i < a.nclients; i++) {
        nc_close(&a.clients[i].http);
        nc_close(&a.clients[i].ws);
    }
    rcv_destroy(a.rcv);
    ev_destroy(a.loop);
    free(a.clients);
    free(a.delays_ms);
    free(a.chg);
    free(a.chg_delays);
    return ok ? 0 : 1;
}
