/* jobs-server: the jobs service every "result not ready yet" pattern uses: POST a
 * job, then learn it is done by short polling, long polling, Server-Sent Events, a
 * webhook or a WebSocket.  One thread, one epoll loop (io/ev), the sans-I/O HTTP
 * core (io/http/hconn) per connection: thousands of waiting clients cost a
 * struct each, not a thread.  labs/jobs/NOTES.md describes the service.
 *
 * This file is the server core (the top of jobs_conn.h's call order): the
 * command line, accepting, reading bytes into the HTTP core (or, after an upgrade,
 * the WebSocket codec), writing what every part of the server appended, once per
 * loop round, and closing.  The endpoints are in jobs_http.c. */
#include "io/cli.h"
#include "labs/jobs/jobs_conn.h"

#include "io/acceptor.h"
#include "io/http/hconn_io.h"
#include "io/net.h"
#include "jobs_index_html.h" /* generated from labs/jobs/www/index.html */
#include "labs/jobs/dlist.h"
#include "labs/jobs/jobs_http.h"
#include "labs/jobs/jobs_longpoll.h"
#include "labs/jobs/jobs_push.h"
#include "labs/jobs/jobs_sse.h"
#include "labs/jobs/jobs_ws.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static void jobs_conn_io(struct ev_loop *loop, int fd, unsigned mask, void *arg);

/* SIGINT/SIGTERM: the handler sets the flag and wakes the loop, which stops. */
static volatile sig_atomic_t jobs_stopping;
static struct ev_loop *jobs_signal_loop;

static void jobs_on_signal(int sig)
{
    (void)sig;
    jobs_stopping = 1;
    if (jobs_signal_loop) ev_wake(jobs_signal_loop); /* async-signal-safe: an eventfd write */
}

static void jobs_on_wake(struct ev_loop *loop, void *arg)
{
    (void)arg;
    if (jobs_stopping) ev_stop(loop);
}

static uint64_t jobs_clock(void *app)
{
    (void)app;
    return ev_now_ns();
}

static void jobs_conn_close(struct jobs_conn *c)
{
    struct jobs_srv *s = c->srv;
    jobs_longpoll_cancel(c);
    jobs_stream_remove(c);
    if (c->dirty) { /* rare: only a connection closed in the middle of the flush list */
        struct jobs_conn **pp = &s->dirty;
        while (*pp && *pp != c)
            pp = &(*pp)->dnext;
        if (*pp) *pp = c->dnext;
    }
    DLIST_UNLINK(s->conns, c, prev, next);
    ev_unwatch(s->loop, c->fd);
    close(c->fd);
    hconn_free(c->h);
    free(c->wsmsg);
    free(c);
}

static int jobs_watch(struct jobs_conn *c, unsigned mask)
{
    if (mask == c->watched) return 0;
    if (ev_watch(c->srv->loop, c->fd, mask, jobs_conn_io, c) < 0) {
        jobs_conn_close(c);
        return -1;
    }
    c->watched = mask;
    return 0;
}

/* The connection is over: close it, cut it, or linger after an error (hconn_io.h). */
static void jobs_conn_end(struct jobs_conn *c, int how)
{
    if (!hconn_io_end(c->fd, how)) {
        jobs_conn_close(c);
        return;
    }
    jobs_longpoll_cancel(c);
    jobs_stream_remove(c);
    hconn_free(c->h); /* gives its body budget back */
    c->h = NULL;
    c->lingering = 1;
    c->linger_left = HCONN_IO_LINGER_BYTES;
    c->linger_end = ev_now_ms() + HCONN_IO_LINGER_MS; /* the sweep enforces it */
    jobs_watch(c, EV_READ);
}

/* Runs the HTTP core on what was read, writes what the connection has, lets the
 * core go on with what the written output held back, hands a connection whose
 * 101 is out to the WebSocket side, and closes what is over. */
static void jobs_conn_flush(struct jobs_conn *c)
{
    ssize_t left;
    if (c->lingering) return; /* marked again by its own last answer */
    for (;;) {
        const uint8_t *p;
        int done = hconn_process(c->h);
        if (c->kind == CK_SSE && c->sse_behind) jobs_sse_catch_up(c);
        size_t had = hconn_out(c->h, &p);
        if ((left = hconn_io_send(c->h, c->fd)) < 0) {
            jobs_conn_close(c);
            return;
        }
        if (c->kind == CK_WS && !c->ws_open && hconn_taken(c->h)) {
            size_t n;
            const uint8_t *rest = hconn_leftover(c->h, &n);
            jobs_ws_start(c, rest, n); /* may answer the frames that came with it */
            continue;
        }
        if (left > 0 || (done == 0 && had == 0)) break;
    }
    int how = hconn_should_close(c->h);
    if (how) {
        jobs_conn_end(c, how);
        return;
    }
    int reading = c->ws_open ? !c->ws_closing : hconn_want_read(c->h);
    jobs_watch(c, (reading ? EV_READ : 0) | (left > 0 ? EV_WRITE : 0));
}

/* The end of each loop round (ev_before_sleep): every connection something was
 * appended to in this loop iteration is written once. */
static void jobs_flush_dirty(struct ev_loop *loop, void *arg)
{
    struct jobs_srv *s = arg;
    struct jobs_conn *c;
    while ((c = s->dirty)) {
        s->dirty = c->dnext;
        c->dirty = 0;
        jobs_conn_flush(c);
    }
}

static void jobs_conn_io(struct ev_loop *loop, int fd, unsigned mask, void *arg)
{
    struct jobs_conn *c = arg;
    if (c->lingering) { /* drop what the peer still sends; close at EOF */
        if (hconn_io_linger_drain(fd, &c->linger_left)) jobs_conn_close(c);
        return;
    }
    if (mask & (EV_READ | EV_ERROR)) {
        for (int i = 0; i < 4; i++) {
            uint8_t buf[16384];
            size_t room = sizeof(buf);
            uint8_t *p = c->ws_open ? buf : hconn_in_space(c->h, &room);
            if (room == 0) break;
            ssize_t n = recv(fd, p, room, 0);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
            if (n == 0 && !c->ws_open && !hconn_busy(c->h)) {
                hconn_in_eof(c->h); /* half-closed: answer what it sent, then close */
                break;
            }
            if (n <= 0) { /* reset, or a long poll, stream or WebSocket whose client left */
                jobs_conn_close(c);
                return;
            }
            if (c->ws_open)
                jobs_ws_input(c, buf, (size_t)n);
            else
                hconn_in_commit(c->h, (size_t)n);
            if ((size_t)n < room) break;
        }
    }
    jobs_conn_dirty(c); /* processed and written at the end of the round */
}

/* Once a second: hconn's deadlines (a 408 for a request not in yet, an idle
 * connection, a peer that reads none of its output) and the lingers' time bound.
 * Held long polls and streams have no deadline while they write: they are
 * bounded by --max-waiters / --max-streams and their own timers. */
static void jobs_sweep(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct jobs_srv *s = arg;
    uint64_t now = ev_now_ns();
    struct jobs_conn *next;
    for (struct jobs_conn *c = s->conns; c; c = next) {
        next = c->next;
        if (c->lingering) {
            if (now / 1000000 >= c->linger_end) jobs_conn_close(c);
        } else if (hconn_expire(c->h, now)) {
            jobs_conn_dirty(c);
        }
    }
    ev_timer_add(loop, 1000, jobs_sweep, s);
}

static void jobs_heartbeat(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct jobs_srv *s = arg;
    jobs_sse_heartbeat(s);
    ev_timer_add(loop, (uint64_t)s->o.heartbeat_s * 1000, jobs_heartbeat, s);
}

/* A new connection (io/acceptor: accept4 with the out-of-descriptors pause). */
static void jobs_accept(struct ev_loop *loop, int fd, void *arg)
{
    struct jobs_srv *s = arg;
    struct jobs_conn *c = calloc(1, sizeof(*c));
    struct hconn_config cfg = s->hcfg;
    cfg.app = c; /* the handler gets its connection back */
    if (!c || !(c->h = hconn_new(&cfg))) {
        free(c);
        close(fd);
        return;
    }
    c->srv = s;
    c->fd = fd;
    c->wait.conn = c;
    DLIST_PUSH(s->conns, c, prev, next);
    if (jobs_watch(c, EV_READ) < 0)
        fprintf(stderr, "jobs-server: fd %d not watched (too many connections)\n", fd);
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: jobs-server [options]\n"
        "  --host ADDR            bind address (default 127.0.0.1)\n"
        "  --port N               port, 0 picks one and prints it (default 8080)\n"
        "  --heartbeat S          SSE comment heartbeat every S seconds (default 15)\n"
        "  --webhook-secret KEY   sign webhook bodies: X-Wirelab-Signature: sha256=HMAC\n"
        "  --webhook-timeout MS   per-attempt timeout (default 5000)\n"
        "  --webhook-retries N    attempts in all (default 6)\n"
        "  --webhook-backoff MS   wait before the 2nd attempt, doubling, max 30 s (default 500)\n"
        "  --max-waiters N        long-poll waiters per server (default 10000)\n"
        "  --max-streams N        SSE + WebSocket connections per server (default 4096)\n"
        "  --stream-buffer BYTES  per-connection output bound: slower readers are cut off\n"
        "                         (default 262144)\n"
        "  --max-wait S           longest long-poll wait (default 300)\n"
        "  --idle-timeout S       close a connection with nothing to do (no request, no\n"
        "                         byte of one, nothing written) this long (default 60)\n"
        "  --request-timeout S    a request must arrive whole within this long of its\n"
        "                         first byte, else 408 and close (default 10)\n"
        "  --max-body-memory BYTES request bodies held at once, over all connections;\n"
        "                         past it a request gets 503 (default 67108864)\n"
        "  --max-jobs N           jobs remembered (default 16384)\n"
        "  --workers N            jobs running at once (default 1024)\n"
        "  --event-log N          events kept for Last-Event-ID resume (default 65536)\n"
        "  --help\n");
}

static _Noreturn void usage_error(void)
{
    fprintf(stderr, "try 'jobs-server --help'\n");
    exit(2);
}

static uint64_t opt_num(const char *name, const char *v, uint64_t min, uint64_t max)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || end == v || *end || v[0] == '-' || x < min || x > max) {
        fprintf(stderr, "jobs-server: error: --%s wants a number in %llu..%llu, got '%s'\n", name,
                (unsigned long long)min, (unsigned long long)max, v);
        usage_error();
    }
    return x;
}

static void jobs_parse_args(int argc, char **argv, struct jobs_opts *o)
{
    static const struct option longopts[] = {{"host", 1, 0, 'H'},
                                             {"port", 1, 0, 'p'},
                                             {"heartbeat", 1, 0, 'b'},
                                             {"webhook-secret", 1, 0, 's'},
                                             {"webhook-timeout", 1, 0, 't'},
                                             {"webhook-retries", 1, 0, 'r'},
                                             {"webhook-backoff", 1, 0, 'k'},
                                             {"max-waiters", 1, 0, 'w'},
                                             {"max-streams", 1, 0, 'S'},
                                             {"stream-buffer", 1, 0, 'B'},
                                             {"max-wait", 1, 0, 'W'},
                                             {"max-jobs", 1, 0, 'J'},
                                             {"workers", 1, 0, 'K'},
                                             {"event-log", 1, 0, 'L'},
                                             {"idle-timeout", 1, 0, 'I'},
                                             {"request-timeout", 1, 0, 'R'},
                                             {"max-body-memory", 1, 0, 'M'},
                                             {"help", 0, 0, 'h'},
                                             {0, 0, 0, 0}};
    *o = (struct jobs_opts){
        .host = "127.0.0.1",
        .port = 8080,
        .heartbeat_s = 15,
        .max_wait_s = 300,
        .idle_timeout_s = 60,
        .request_timeout_s = 10,
        .max_body_memory = 64u << 20,
        .max_waiters = 10000,
        .max_streams = 4096,
        .stream_buffer = 256 * 1024,
        .max_jobs = 16384,
        .workers = 1024,
        .event_log = 65536,
        .hook = {.timeout_ms = 5000,
                 .base_ms = 500,
                 .max_ms = 30000,
                 .max_attempts = 6,
                 .max_pending = 4096},
    };
    int ch;
    opterr = 0; /* cli_getopt_error says it, in the one format */
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'H':
            if (net_parse_host(optarg) < 0) {
                fprintf(stderr,
                        "jobs-server: error: bad --host '%s' (an IPv4 address or localhost)\n",
                        optarg);
                usage_error();
            }
            o->host = optarg;
            break;
        case 'p':
            if ((o->port = net_parse_port(optarg)) < 0) {
                fprintf(stderr, "jobs-server: error: bad --port '%s' (0..65535)\n", optarg);
                usage_error();
            }
            break;
        case 'b':
            o->heartbeat_s = (unsigned)opt_num("heartbeat", optarg, 1, 3600);
            break;
        case 's':
            o->hook.secret = optarg;
            break;
        case 't':
            o->hook.timeout_ms = (uint32_t)opt_num("webhook-timeout", optarg, 10, 600000);
            break;
        case 'r':
            o->hook.max_attempts = (unsigned)opt_num("webhook-retries", optarg, 1, 30);
            break;
        case 'k':
            o->hook.base_ms = (uint32_t)opt_num("webhook-backoff", optarg, 1, 30000);
            break;
        case 'w':
            o->max_waiters = opt_num("max-waiters", optarg, 1, 1000000);
            break;
        case 'S':
            o->max_streams = opt_num("max-streams", optarg, 1, 100000);
            break;
        case 'B':
            o->stream_buffer = opt_num("stream-buffer", optarg, 4096, 1u << 30);
            break;
        case 'W':
            o->max_wait_s = (unsigned)opt_num("max-wait", optarg, 1, 86400);
            break;
        case 'J':
            o->max_jobs = opt_num("max-jobs", optarg, 1, 1u << 22);
            break;
        case 'K':
            o->workers = opt_num("workers", optarg, 1, 1u << 20);
            break;
        case 'L':
            o->event_log = opt_num("event-log", optarg, 16, 1u << 24);
            break;
        case 'I':
            o->idle_timeout_s = (unsigned)opt_num("idle-timeout", optarg, 1, 86400);
            break;
        case 'R':
            o->request_timeout_s = (unsigned)opt_num("request-timeout", optarg, 1, 86400);
            break;
        case 'M':
            o->max_body_memory = opt_num("max-body-memory", optarg, 1024, 1ull << 40);
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            cli_getopt_error("jobs-server", argv, optind);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "jobs-server: error: unexpected argument '%s'\n", argv[optind]);
        usage_error();
    }
}

int main(int argc, char **argv)
{
    struct jobs_srv s;
    memset(&s, 0, sizeof(s));
    jobs_parse_args(argc, argv, &s.o);
    signal(SIGPIPE, SIG_IGN);
    /* Every held long poll and open stream is a descriptor: allow what we may. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    s.index_html = jobs_index_html;
    s.index_len = sizeof(jobs_index_html) - 1; /* the generator appends a NUL */
    s.waiters.max = s.o.max_waiters;
    s.hcfg = (struct hconn_config){
        .limits = {.max_head = 8192, .max_headers = 64, .max_body = 64 * 1024},
        /* The output bound is the slow-reader limit; the page must still fit. */
        .max_out = s.o.stream_buffer > s.index_len + 8192 ? s.o.stream_buffer : s.index_len + 8192,
        .on_request = jobs_on_request,
        .clock_ns = jobs_clock,
        .server_timing = 1,
        .idle_timeout_ms = s.o.idle_timeout_s * 1000,
        .request_timeout_ms = s.o.request_timeout_s * 1000,
        .budget = &s.budget,
    };
    s.budget.max = s.o.max_body_memory;
    char err[256];
    s.loop = ev_create();
    if (!s.loop || job_table_init(&s.jobs, s.o.max_jobs, s.o.workers, s.o.event_log,
                                  jobs_on_job_event, jobs_on_job_evict, &s) < 0) {
        fprintf(stderr, "jobs-server: out of memory\n");
        return 1;
    }
    s.jobs.clock_ns = jobs_clock; /* each event's at_us, to the microsecond */
    s.hooks = hook_create(s.loop, &s.o.hook, jobs_hook_done, &s);
    s.lfd = net_listen(s.o.host, s.o.port, 1024, 1, err, sizeof(err));
    if (!s.hooks || s.lfd < 0) {
        fprintf(stderr, "jobs-server: error: %s\n", s.lfd < 0 ? err : "out of memory");
        return 1;
    }
    struct acceptor *acc = acceptor_start(s.loop, s.lfd, "jobs-server", jobs_accept, &s);
    if (!acc || ev_timer_add(s.loop, (uint64_t)s.o.heartbeat_s * 1000, jobs_heartbeat, &s) == 0 ||
        ev_timer_add(s.loop, 1000, jobs_sweep, &s) == 0 ||
        ev_before_sleep(s.loop, jobs_flush_dirty, &s) < 0) {
        fprintf(stderr, "jobs-server: error: cannot watch the listener\n");
        return 1;
    }
    ev_on_wake(s.loop, jobs_on_wake, NULL);
    jobs_signal_loop = s.loop;
    struct sigaction sa = {.sa_handler = jobs_on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    net_announce("listening", s.lfd);
    int rc = ev_run(s.loop);
    acceptor_stop(acc);
    close(s.lfd);
    while (s.conns)
        jobs_conn_close(s.conns);
    hook_destroy(s.hooks);
    job_table_free(&s.jobs);
    ev_destroy(s.loop);
    fprintf(stderr, "jobs-server: stopped\n");
    return rc < 0 ? 1 : 0;
}
