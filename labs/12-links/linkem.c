/* linkem: a network link between two programs on one machine.  It accepts TCP
 * connections on --listen, opens one to --to for each, and carries the bytes both
 * ways with a link's delay, jitter, rate and queue.  When each byte may cross is
 * io/link's decision (a scheduler with no system calls); this file only moves bytes:
 * read what the link has room for, hand out what has arrived, on one io/ev loop with
 * nanosecond timers.
 *
 *   linkem --to 127.0.0.1:6379 --profile continent        (listens on 127.0.0.1:0)
 *   linkem --listen 127.0.0.1:7001 --to 127.0.0.1:7000 --delay 40ms --rate 100mbit
 *
 * Per connection: side 0 is the client (accepted), side 1 the server (--to).  Flow i
 * carries what side i sends to side 1-i: flow 0 is "up", flow 1 "down".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/acceptor.h"
#include "io/ev.h"
#include "io/link/link.h"
#include "io/link/link_spec.h"
#include "io/net.h"

#define READS_PER_EVENT 4 /* then the next connection's turn: one sender cannot hog a round */
#define ROOM_WANT       16384

struct conn;

struct linkem {
    struct ev_loop *loop;
    struct link_path path[2]; /* [0] up (client -> server), [1] down */
    char to_host[64];
    int to_port;
    struct sockaddr_in to;
    struct conn *conns; /* every open connection, for the clean exit */
    unsigned long accepted, refused, reset, open;
    uint8_t buf[65536];
};

struct conn {
    struct linkem *app;
    struct conn *prev, *next;
    int fd[2];
    struct link_flow flow[2];
    uint64_t timer[2], timer_at[2];
    unsigned mask[2];
    uint8_t opened[2];  /* flow i's handshake is over: side i is read */
    uint8_t eof[2];     /* side i sent its FIN or RST: no more reads */
    uint8_t blocked[2]; /* flow i waits for side 1-i to be writable */
    uint8_t shut[2];    /* flow i's FIN was handed to side 1-i */
    uint8_t connecting, refused;
    uint64_t refused_at;
};

static volatile sig_atomic_t stopping;
static struct ev_loop *the_loop;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
    ev_wake(the_loop);
}

static void on_wake(struct ev_loop *loop, void *arg)
{
    if (stopping) ev_stop(loop);
}

static void on_io(struct ev_loop *loop, int fd, unsigned mask, void *arg);
static int wake(struct conn *c, int i);

static void conn_free(struct conn *c, int reset_side)
{
    struct linkem *a = c->app;
    for (int s = 0; s < 2; s++) {
        if (c->timer[s]) ev_timer_cancel(a->loop, c->timer[s]);
        link_flow_free(&c->flow[s]);
        if (c->fd[s] < 0) continue;
        ev_unwatch(a->loop, c->fd[s]);
        if (s == reset_side) { /* close with a RST, not a FIN */
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            setsockopt(c->fd[s], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        close(c->fd[s]);
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        a->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    a->open--;
    free(c);
}

/* What ev should watch on side s: reads while its flow has room, writes while the
 * flow toward it is blocked (or while the connect to --to is in progress). */
static void update_mask(struct conn *c, int s, uint64_t now)
{
    if (c->fd[s] < 0) return;
    unsigned m = 0;
    if (c->opened[s] && !c->eof[s] && link_flow_space(&c->flow[s], now) > 0) m |= EV_READ;
    if (c->blocked[1 - s] || (s == 1 && c->connecting)) m |= EV_WRITE;
    if (m == c->mask[s]) return;
    if (ev_watch(c->app->loop, c->fd[s], m, on_io, c) == 0) c->mask[s] = m;
}

static void on_timer0(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct conn *c = arg;
    c->timer[0] = 0;
    wake(c, 0);
}

static void on_timer1(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct conn *c = arg;
    c->timer[1] = 0;
    wake(c, 1);
}

static void arm(struct conn *c, int i, uint64_t at)
{
    struct ev_loop *loop = c->app->loop;
    if (c->timer[i] && c->timer_at[i] == at) return;
    if (c->timer[i]) ev_timer_cancel(loop, c->timer[i]);
    c->timer[i] = 0;
    if (at == LINK_NEVER) return;
    c->timer[i] = ev_timer_at_ns(loop, at, i ? on_timer1 : on_timer0, c);
    c->timer_at[i] = at;
}

/* Side s reset its connection (or is gone): the bytes toward it are lost, and the
 * reset travels to the other side after the link's delay. */
static void side_reset(struct conn *c, int s, uint64_t now)
{
    c->app->reset++;
    ev_unwatch(c->app->loop, c->fd[s]);
    close(c->fd[s]);
    c->fd[s] = -1;
    c->eof[s] = c->eof[1 - s] = 1; /* nothing more is read from either side */
    c->blocked[1 - s] = 0;
    link_flow_free(&c->flow[1 - s]);
    if (c->flow[s].end != LINK_RST) {
        if (!c->opened[s]) c->opened[s] = 1;
        link_flow_end(&c->flow[s], now, LINK_RST);
    }
    update_mask(c, 1 - s, now);
    arm(c, 1 - s, LINK_NEVER);
}

/* Hands flow i's arrived bytes to side 1-i.  Returns -1 when that side is gone. */
static int deliver(struct conn *c, int i, uint64_t now)
{
    int to = c->fd[1 - i];
    const uint8_t *p;
    size_t n;
    while ((n = link_flow_peek(&c->flow[i], now, &p)) > 0) {
        ssize_t w = write(to, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) {
            c->blocked[i] = 1;
            return 0;
        }
        if (w <= 0) {
            side_reset(c, 1 - i, now);
            return -1;
        }
        link_flow_consume(&c->flow[i], (size_t)w);
    }
    return 0;
}

/* Everything flow i waits for: its handshake, arrivals, its end, room on the link.
 * Returns -1 when the connection is over (c is freed). */
static int wake(struct conn *c, int i)
{
    uint64_t now = ev_now_ns();
    struct link_flow *f = &c->flow[i];
    if (c->refused) { /* the SYN's RST reaches the client: nothing else happens */
        if (now >= c->refused_at) {
            conn_free(c, 0);
            return -1;
        }
        arm(c, 0, c->refused_at);
        return 0;
    }
    int can_write = c->fd[1 - i] >= 0 && !(i == 0 && c->connecting);
    if (!c->opened[i] && now >= f->open_ns && !(i == 1 && c->connecting)) c->opened[i] = 1;
    if (can_write && !c->blocked[i] && deliver(c, i, now) < 0) {
        /* side 1-i reset: flow i is gone; flow 1-i carries the reset */
        return wake(c, 1 - i);
    }
    switch (link_flow_ended(f, now)) {
    case LINK_RST:
        conn_free(c, 1 - i);
        return -1;
    case LINK_FIN:
        if (can_write && !c->shut[i]) {
            shutdown(c->fd[1 - i], SHUT_WR);
            c->shut[i] = 1;
            if (c->shut[1 - i]) {
                conn_free(c, -1);
                return -1;
            }
        }
        break;
    case LINK_OPEN:
        break;
    }
    uint64_t at = LINK_NEVER;
    if (!c->opened[i] && !c->eof[i] && !(i == 1 && c->connecting)) at = f->open_ns;
    if (can_write && !c->blocked[i] && !c->shut[i]) {
        uint64_t next = link_flow_next_ns(f);
        if (next < at) at = next;
    }
    if (c->blocked[i] && f->end == LINK_RST && f->end_at_ns < at) at = f->end_at_ns;
    if (c->opened[i] && !c->eof[i] && link_flow_space(f, now) == 0 &&
        link_path_room(f->path, now) == 0) { /* the link's queue is full: wait for room */
        size_t want = f->path->p.queue / 2 < ROOM_WANT ? f->path->p.queue / 2 : ROOM_WANT;
        uint64_t room = link_path_room_at(f->path, want ? want : 1);
        if (room < at) at = room;
    }
    if (at != LINK_NEVER && at <= now) at = now + 1; /* next round, not a loop here */
    arm(c, i, at);
    update_mask(c, i, now);
    update_mask(c, 1 - i, now);
    return 0;
}

static void read_side(struct conn *c, int s)
{
    struct linkem *a = c->app;
    for (int k = 0; k < READS_PER_EVENT && !c->eof[s]; k++) {
        uint64_t now = ev_now_ns();
        size_t room = link_flow_space(&c->flow[s], now);
        if (room == 0) break;
        if (room > sizeof a->buf) room = sizeof a->buf;
        ssize_t r = read(c->fd[s], a->buf, room);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && errno == EAGAIN) break;
        if (r < 0) {
            side_reset(c, s, now);
            break;
        }
        if (r == 0) {
            c->eof[s] = 1;
            link_flow_end(&c->flow[s], now, LINK_FIN);
            break;
        }
        if (link_flow_push(&c->flow[s], now, a->buf, (size_t)r) != r) {
            /* room was asked for just before: only out of memory gets here */
            fprintf(stderr, "linkem: out of memory: resetting a connection\n");
            side_reset(c, s, now);
            break;
        }
    }
    wake(c, s);
}

/* The connect to --to finished: err is 0 or why it failed. */
static void connected(struct conn *c, int err)
{
    c->connecting = 0;
    if (err) {
        struct linkem *a = c->app;
        if (a->refused++ < 10)
            fprintf(stderr, "linkem: connect %s:%d: %s\n", a->to_host, a->to_port, strerror(err));
        ev_unwatch(a->loop, c->fd[1]);
        close(c->fd[1]);
        c->fd[1] = -1;
        ev_unwatch(a->loop, c->fd[0]);
        c->mask[0] = c->mask[1] = 0;
        c->refused = 1;
        arm(c, 1, LINK_NEVER);
        wake(c, 0);
        return;
    }
    net_set_nodelay(c->fd[1]);
    if (wake(c, 0) == 0) wake(c, 1);
}

static void on_io(struct ev_loop *loop, int fd, unsigned mask, void *arg)
{
    struct conn *c = arg;
    int s = fd == c->fd[0] ? 0 : 1;
    if (s == 1 && c->connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
        connected(c, err);
        return;
    }
    if ((mask & EV_WRITE) && c->blocked[1 - s]) {
        c->blocked[1 - s] = 0;
        wake(c, 1 - s); /* may free c */
        return;
    }
    if (mask & EV_READ && c->opened[s] && !c->eof[s]) {
        read_side(c, s);
        return;
    }
    if (mask & EV_ERROR) { /* nothing to read or write, yet an error: the peer is gone */
        side_reset(c, s, ev_now_ns());
        wake(c, s);
    }
}

static void on_accept(struct ev_loop *loop, int fd, void *arg)
{
    struct linkem *a = arg;
    struct conn *c = calloc(1, sizeof *c);
    int up = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (!c || up < 0) {
        fprintf(stderr, "linkem: cannot take a connection: %s\n", strerror(errno));
        free(c);
        if (up >= 0) close(up);
        close(fd);
        return;
    }
    c->app = a;
    c->fd[0] = fd;
    c->fd[1] = up;
    uint64_t now = ev_now_ns(), up_open, down_open;
    link_handshake(&a->path[0], &a->path[1], now, &up_open, &down_open, &c->refused_at);
    link_flow_init(&c->flow[0], &a->path[0], up_open);
    link_flow_init(&c->flow[1], &a->path[1], down_open);
    c->next = a->conns;
    if (a->conns) a->conns->prev = c;
    a->conns = c;
    a->accepted++;
    a->open++;
    /* The server side is dialled at once: on loopback its answer comes back in
     * microseconds, and the link's handshake is the open times above. */
    c->connecting = 1;
    if (connect(up, (struct sockaddr *)&a->to, sizeof a->to) == 0 || errno == EINPROGRESS) {
        update_mask(c, 1, now);
        wake(c, 0); /* arms the client side's open */
        return;
    }
    connected(c, errno); /* refused at once */
}

static void usage(FILE *f)
{
    fprintf(f, "usage: linkem --to HOST:PORT [--listen HOST:PORT] [--profile NAME]\n"
               "              [--delay D] [--jitter D] [--rate R] [--up-rate R] [--down-rate R]\n"
               "              [--queue BYTES] [--seed N] [--lazy]\n"
               "  Carries every TCP connection made to --listen to a new connection to --to,\n"
               "  through an emulated link: bytes leave in order at no more than the rate,\n"
               "  wait in the link's queue, and arrive after the delay.  A new connection's\n"
               "  first byte waits one round trip (its handshake); FIN and RST cross after\n"
               "  the delay.  When the link holds --queue bytes for a direction it stops\n"
               "  reading that side (TCP backpressure).\n"
               "  --listen HOST:PORT  where to accept (default 127.0.0.1:0: a free port,\n"
               "                      printed as 'listening on 127.0.0.1:PORT')\n"
               "  --to HOST:PORT      the server; checked at start (exit 2 when nothing\n"
               "                      answers within 2 s), then dialled once per connection\n"
               "  --lazy              no check at start: the server may come up later\n"
               "  --profile NAME      a preset; the flags below override its numbers:\n");
    for (int i = 0; i < LINK_SPEC_NPROFILES; i++)
        fprintf(f, "                        %-10s %s\n", link_spec_profiles[i].name,
                link_spec_profiles[i].what);
    fprintf(f, "  --delay D           one-way delay, each direction (e.g. 40ms, 250us; default 0)\n"
               "  --jitter D          each segment's delay varies by up to D either way,\n"
               "                      uniformly; bytes are never reordered (default 0)\n"
               "  --rate R            both directions (e.g. 100mbit, 1gbit; default 0: no limit)\n"
               "  --up-rate R         client -> server only\n"
               "  --down-rate R       server -> client only\n"
               "  --queue BYTES       the link's buffer per direction, shared by every\n"
               "                      connection; one connection holds at most this much\n"
               "                      per direction (e.g. 1MiB, 256k; default 1MiB)\n"
               "  --seed N            the jitter's random seed (default 1)\n");
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "linkem: error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\ntry 'linkem --help'\n");
    va_end(ap);
    return 2;
}

/* Does anything answer at --to?  A server started just before linkem may not listen
 * yet: a refusal is asked again for up to 2 s. */
static int probe(const struct sockaddr_in *to, char *err, size_t errlen)
{
    uint64_t give_up = ev_now_ns() + 2000000000u;
    for (;;) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            snprintf(err, errlen, "socket: %s", strerror(errno));
            return -1;
        }
        int e = 0;
        if (connect(fd, (const struct sockaddr *)to, sizeof *to) < 0) {
            e = errno;
            if (e == EINPROGRESS) {
                struct pollfd pfd = {.fd = fd, .events = POLLOUT};
                socklen_t len = sizeof e;
                if (poll(&pfd, 1, 3000) != 1)
                    e = ETIMEDOUT;
                else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
                    e = errno;
            }
        }
        close(fd);
        if (e == 0) return 0;
        if (e != ECONNREFUSED || ev_now_ns() > give_up) {
            snprintf(err, errlen, "%s", strerror(e));
            return -1;
        }
        usleep(50000);
    }
}

int main(int argc, char **argv)
{
    static struct linkem a;
    const char *listen_at = "127.0.0.1:0", *to = NULL, *profile = NULL;
    const char *delay = NULL, *jitter = NULL, *rate = NULL, *up_rate = NULL, *down_rate = NULL;
    const char *queue = NULL, *seed_s = "1";
    int lazy = 0;
    static const struct option opts[] = {{"listen", required_argument, 0, 'l'},
                                         {"to", required_argument, 0, 't'},
                                         {"profile", required_argument, 0, 'p'},
                                         {"delay", required_argument, 0, 'd'},
                                         {"jitter", required_argument, 0, 'j'},
                                         {"rate", required_argument, 0, 'r'},
                                         {"up-rate", required_argument, 0, 'u'},
                                         {"down-rate", required_argument, 0, 'D'},
                                         {"queue", required_argument, 0, 'q'},
                                         {"seed", required_argument, 0, 's'},
                                         {"lazy", no_argument, 0, 'z'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int o;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'l':
            listen_at = optarg;
            break;
        case 't':
            to = optarg;
            break;
        case 'p':
            profile = optarg;
            break;
        case 'd':
            delay = optarg;
            break;
        case 'j':
            jitter = optarg;
            break;
        case 'r':
            rate = optarg;
            break;
        case 'u':
            up_rate = optarg;
            break;
        case 'D':
            down_rate = optarg;
            break;
        case 'q':
            queue = optarg;
            break;
        case 's':
            seed_s = optarg;
            break;
        case 'z':
            lazy = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            return usage_error("unknown option or missing value: %s", argv[optind - 1]);
        }
    }
    if (optind != argc) return usage_error("unexpected argument '%s'", argv[optind]);
    if (!to) return usage_error("--to HOST:PORT is required");

    /* the profile first, then each flag given overrides its number */
    struct link_params p = {.queue = 1 << 20};
    uint64_t bps[2] = {0, 0};
    if (profile) {
        const struct link_profile *pr = link_spec_profile(profile);
        if (!pr)
            return usage_error("unknown profile '%s' (lan, region, continent, mobile)", profile);
        p.delay_ns = pr->delay_ns;
        p.jitter_ns = pr->jitter_ns;
        p.queue = pr->queue;
        bps[0] = pr->up_bps;
        bps[1] = pr->down_bps;
    }
    char err[200];
    if ((delay && link_spec_duration(delay, &p.delay_ns, err, sizeof err) < 0) ||
        (jitter && link_spec_duration(jitter, &p.jitter_ns, err, sizeof err) < 0))
        return usage_error("%s", err);
    if (rate) {
        if (link_spec_rate(rate, &bps[0], err, sizeof err) < 0) return usage_error("%s", err);
        bps[1] = bps[0];
    }
    if ((up_rate && link_spec_rate(up_rate, &bps[0], err, sizeof err) < 0) ||
        (down_rate && link_spec_rate(down_rate, &bps[1], err, sizeof err) < 0))
        return usage_error("%s", err);
    if (queue && link_spec_size(queue, &p.queue, err, sizeof err) < 0)
        return usage_error("%s", err);
    if (p.queue < 1024) return usage_error("--queue %s is below 1KiB", queue);
    char *end;
    errno = 0;
    unsigned long long seed = strtoull(seed_s, &end, 10);
    if (errno || !*seed_s || *end) return usage_error("bad --seed '%s'", seed_s);

    char lhost[64];
    int lport;
    if (net_parse_hostport(listen_at, lhost, sizeof lhost, &lport) != 0 || net_parse_host(lhost))
        return usage_error("bad --listen '%s' (want e.g. 127.0.0.1:0)", listen_at);
    if (net_parse_hostport(to, a.to_host, sizeof a.to_host, &a.to_port) != 0 ||
        net_parse_host(a.to_host) || a.to_port == 0)
        return usage_error("bad --to '%s' (want e.g. 127.0.0.1:6379)", to);
    a.to.sin_family = AF_INET;
    a.to.sin_port = htons((uint16_t)a.to_port);
    if (inet_pton(AF_INET, strcmp(a.to_host, "localhost") ? a.to_host : "127.0.0.1",
                  &a.to.sin_addr) != 1)
        return usage_error("bad --to '%s'", to);
    if (!lazy && probe(&a.to, err, sizeof err) < 0) {
        return usage_error("--to %s does not answer: %s (start it first, or --lazy)", to, err);
    }

    for (int d = 0; d < 2; d++) {
        struct link_params q = p;
        q.rate_bps = bps[d];
        link_path_init(&a.path[d], &q, seed + (uint64_t)d);
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* Two descriptors per connection: take what the hard limit allows. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    /* The kernel may fire a sleeping task's timer up to its slack late (50 us by
     * default): too coarse for a 100 us LAN delay. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

    if (!(a.loop = the_loop = ev_create())) {
        fprintf(stderr, "linkem: error: cannot create the event loop: %s\n", strerror(errno));
        return 1;
    }
    ev_on_wake(a.loop, on_wake, NULL);
    int lfd = net_listen(lhost, lport, 4096, 1, err, sizeof err);
    if (lfd < 0) {
        fprintf(stderr, "linkem: error: %s\n", err);
        return 1;
    }
    struct acceptor *acc = acceptor_start(a.loop, lfd, "linkem", on_accept, &a);
    if (!acc) {
        fprintf(stderr, "linkem: error: cannot watch the listener: %s\n", strerror(errno));
        return 1;
    }
    fprintf(stderr,
            "linkem: to %s: delay %.3f ms, jitter %.3f ms, up %" PRIu64 " bit/s, down %" PRIu64
            " bit/s (0 = no limit), queue %zu bytes\n",
            to, (double)p.delay_ns / 1e6, (double)p.jitter_ns / 1e6, bps[0], bps[1], p.queue);
    net_announce("listening", lfd);
    int rc = ev_run(a.loop) < 0 ? 1 : 0;
    if (rc) fprintf(stderr, "linkem: error: epoll_wait: %s\n", strerror(errno));
    acceptor_stop(acc);
    close(lfd);
    while (a.conns)
        conn_free(a.conns, -1);
    fprintf(stderr,
            "linkem: stopped: %lu connections, %lu refused by --to, %lu reset, %" PRIu64
            " bytes up, %" PRIu64 " bytes down\n",
            a.accepted, a.refused, a.reset, a.path[0].bytes, a.path[1].bytes);
    ev_destroy(a.loop);
    return rc;
}
