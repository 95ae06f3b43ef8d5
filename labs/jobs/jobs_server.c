/* jobs-server: the jobs service every "result not ready yet" pattern uses: POST a
 * job, then learn it is done by short polling, long polling, Server-Sent Events, a
 * webhook or a WebSocket.  One thread, one epoll loop (io/ev), the sans-I/O HTTP
 * core (io/http/hconn) per connection: thousands of waiting clients cost a
 * struct each, not a thread.  labs/jobs/NOTES.md describes the service.
 *
 * This file: the command line, accepting, and moving bytes between sockets and
 * the HTTP core (or, after an upgrade, the WebSocket codec).  The endpoints are
 * in jobs_http.c, everything pushed to clients in jobs_push.c. */
#include "labs/jobs/jobs_server.h"

#include "io/acceptor.h"
#include "io/http/hconn_io.h"
#include "labs/jobs/dlist.h"
#include "io/net.h"
#include "jobs_index_html.h" /* generated from labs/jobs/www/index.html */

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

void jobs_conn_close(struct jobs_conn *c)
{
    struct jobs_srv *s = c->srv;
    if (c->wait.head) {
        waiter_remove(&s->waiters, &c->wait);
        ev_timer_cancel(s->loop, c->wait.timer);
    }
    jobs_stream_remove(c);
    DLIST_UNLINK(s->conns, c, prev, next);
    ev_timer_cancel(s->loop, c->flush_timer);
    ev_unwatch(s->loop, c->fd);
    close(c->fd);
    hconn_free(c->h);
    free(c->wsmsg);
    free(c->wout);
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

/* WebSocket mode: our own bounded output buffer, filled by jobs_push.c. */
static int jobs_ws_flush(struct jobs_conn *c)
{
    while (c->wout_off < c->wout_len) {
        ssize_t n = send(c->fd, c->wout + c->wout_off, c->wout_len - c->wout_off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return jobs_watch(c, EV_READ | EV_WRITE);
        if (n <= 0) {
            jobs_conn_close(c);
            return -1;
        }
        c->wout_off += (size_t)n;
    }
    c->wout_off = c->wout_len = 0;
    if (c->ws_closing) { /* our close frame is out: RFC 6455 7.1.1, the server closes TCP */
        jobs_conn_close(c);
        return -1;
    }
    return jobs_watch(c, EV_READ);
}

int jobs_conn_flush(struct jobs_conn *c)
{
    if (!c->h) return jobs_ws_flush(c);
    for (;;) {
        const uint8_t *p;
        ssize_t len = hconn_io_send(c->h, c->fd);
        if (len < 0) {
            jobs_conn_close(c);
            return -1;
        }
        /* Output drained below the core's mark: pipelined requests may go on,
         * a resuming SSE stream takes its next batch from the log. */
        if (len == 0 && !hconn_should_close(c->h) && !hconn_taken(c->h) && hconn_process(c->h) > 0)
            continue;
        if (len == 0 && c->kind == CK_SSE && c->sse_behind) {
            jobs_sse_catch_up(c);
            if (hconn_out(c->h, &p) > 0) continue;
        }
        if (hconn_should_close(c->h)) {
            jobs_conn_close(c);
            return -1;
        }
        if (hconn_taken(c->h)) {
            size_t n;
            const uint8_t *left = hconn_leftover(c->h, &n);
            if (jobs_ws_start(c, left, n) < 0) return -1; /* closed */
            return jobs_ws_flush(c);
        }
        unsigned mask = (hconn_want_read(c->h) ? EV_READ : 0) | (len > 0 ? EV_WRITE : 0);
        return jobs_watch(c, mask);
    }
}

static void jobs_flush_timer(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct jobs_conn *c = arg;
    c->flush_timer = 0;
    jobs_conn_flush(c);
}

void jobs_conn_flush_later(struct jobs_conn *c)
{
    if (!c->flush_timer) c->flush_timer = ev_timer_add(c->srv->loop, 0, jobs_flush_timer, c);
    if (!c->flush_timer) jobs_conn_flush(c); /* timer heap full: now, then */
}

static void jobs_conn_io(struct ev_loop *loop, int fd, unsigned mask, void *arg)
{
    struct jobs_conn *c = arg;
    int eof = 0;
    if (!c->h) { /* WebSocket */
        if (mask & (EV_READ | EV_ERROR)) {
            uint8_t buf[16384];
            ssize_t n = recv(fd, buf, sizeof(buf), 0);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                jobs_conn_close(c);
                return;
            }
            if (n > 0 && jobs_ws_input(c, buf, (size_t)n) < 0) return;
        }
        jobs_conn_flush(c);
        return;
    }
    if (mask & (EV_READ | EV_ERROR)) {
        c->active_ms = ev_now_ms();
        for (;;) {
            size_t room;
            uint8_t *p = hconn_in_space(c->h, &room);
            if (room == 0) break;
            ssize_t n = recv(fd, p, room, 0);
            if (n > 0) {
                hconn_in_commit(c->h, (size_t)n);
                if ((size_t)n < room) break;
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) break;
            eof = 1; /* closed or reset: answer what is complete, then go */
            break;
        }
        hconn_process(c->h);
    }
    if (jobs_conn_flush(c) < 0) return;
    if (eof) jobs_conn_close(c); /* a long-poll waiter or stream whose client left, too */
}

/* Once a second: close plain HTTP connections idle (no request open, nothing
 * read) for longer than --idle-timeout, so silent clients cannot pin
 * descriptors forever.  Held long polls and streams are not idle: they are
 * bounded by --max-waiters / --max-streams and their own timers. */
static void jobs_idle_sweep(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct jobs_srv *s = arg;
    uint64_t now = ev_now_ms(), limit = (uint64_t)s->o.idle_timeout_s * 1000;
    struct jobs_conn *next;
    for (struct jobs_conn *c = s->conns; c; c = next) {
        next = c->next;
        if (c->h && c->kind == CK_HTTP && !hconn_busy(c->h) && now - c->active_ms > limit)
            jobs_conn_close(c);
    }
    ev_timer_add(loop, 1000, jobs_idle_sweep, s);
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
    c->active_ms = ev_now_ms();
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
        "  --idle-timeout S       close connections idle this long (default 60)\n"
        "  --max-jobs N           jobs remembered (default 16384)\n"
        "  --workers N            jobs running at once (default 1024)\n"
        "  --event-log N          events kept for Last-Event-ID resume (default 65536)\n"
        "  --help\n");
}

static uint64_t opt_num(const char *name, const char *v, uint64_t min, uint64_t max)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || end == v || *end || v[0] == '-' || x < min || x > max) {
        fprintf(stderr, "jobs-server: --%s wants a number in %llu..%llu, got '%s'\n", name,
                (unsigned long long)min, (unsigned long long)max, v);
        exit(2);
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
                                             {"help", 0, 0, 'h'},
                                             {0, 0, 0, 0}};
    *o = (struct jobs_opts){
        .host = "127.0.0.1",
        .port = 8080,
        .heartbeat_s = 15,
        .max_wait_s = 300,
        .idle_timeout_s = 60,
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
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'H':
            if (net_parse_host(optarg) < 0) {
                fprintf(stderr, "jobs-server: bad --host '%s' (an IPv4 address or localhost)\n",
                        optarg);
                exit(2);
            }
            o->host = optarg;
            break;
        case 'p':
            if ((o->port = net_parse_port(optarg)) < 0) {
                fprintf(stderr, "jobs-server: bad --port '%s'\n", optarg);
                exit(2);
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
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            exit(2);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "jobs-server: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        exit(2);
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
    };
    char err[256];
    s.loop = ev_create();
    if (!s.loop || job_table_init(&s.jobs, s.o.max_jobs, s.o.workers, s.o.event_log,
                                  jobs_on_job_event, jobs_on_job_evict, &s) < 0) {
        fprintf(stderr, "jobs-server: out of memory\n");
        return 1;
    }
    s.hooks = hook_create(s.loop, &s.o.hook, jobs_hook_done, &s);
    s.lfd = net_listen(s.o.host, s.o.port, 1024, 1, err, sizeof(err));
    if (!s.hooks || s.lfd < 0) {
        fprintf(stderr, "jobs-server: %s\n", s.lfd < 0 ? err : "out of memory");
        return 1;
    }
    struct acceptor *acc = acceptor_start(s.loop, s.lfd, "jobs-server", jobs_accept, &s);
    if (!acc || ev_timer_add(s.loop, (uint64_t)s.o.heartbeat_s * 1000, jobs_heartbeat, &s) == 0 ||
        ev_timer_add(s.loop, 1000, jobs_idle_sweep, &s) == 0) {
        fprintf(stderr, "jobs-server: cannot watch the listener\n");
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
    return rc < 0 ? 1 : 0;
}
