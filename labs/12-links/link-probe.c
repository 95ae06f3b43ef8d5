/* link-probe: both ends of a measurement through linkem (or any TCP path).
 *
 *   link-probe serve [--port 0]
 *       The far end.  A connection's first byte says what it wants: 'e' echo
 *       (half-closes after the client's FIN), 'd' discard (at the client's FIN it
 *       answers "BYTES FIRST_NS LAST_NS": what it received and when, CLOCK_MONOTONIC),
 *       's' a stream of bytes as fast as it goes out, 'n' nothing: the server never
 *       reads (a stuck receiver), 'r' a reset at once, 'w' "k", then it waits and
 *       prints "reset NS" or "eof NS" when the client resets or closes.
 *   link-probe rtt --to HOST:PORT [--count N] [--size B] [--new]
 *       N echo round trips of B bytes on one connection (after one untimed), or with
 *       --new one per new connection, timed from connect(): prints min, p50, p99, max.
 *   link-probe bulk --to HOST:PORT [--conns C] [--seconds S] [--dir down|up]
 *       C connections move bytes for S seconds.  down: the server streams, rate as
 *       received here; up: we send, rate as the server received it.  Prints bytes/s.
 *   link-probe flood --to HOST:PORT [--conns C] [--seconds S]
 *       C connections write as fast as they can to a server that never reads.
 *   link-probe conns --to HOST:PORT [--conns C] [--size B]
 *       C connections at once, one echo of B bytes on each; prints how many came back
 *       whole.
 *   link-probe reset --to HOST:PORT --who server|client
 *       server: ask for a reset ('r'), print how long until it arrived (and that it
 *       was a reset, not a FIN); client: reset after the server's "k", print when.
 *   link-probe halfclose --to HOST:PORT [--size B]
 *       send B bytes for echo, shut down writing at once, read to the end: prints how
 *       many came back, intact, before the FIN.
 * Results are one line of key=value, for scripts.  Blocking sockets in the clients (a
 * few connections, read top to bottom); the server is one io/ev loop.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/acceptor.h"
#include "io/ev.h"
#include "io/net.h"

#define MAX_CONNS 5000

static char host[64];
static int port;

static void die(const char *what)
{
    fprintf(stderr, "link-probe: error: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int dial(void)
{
    char err[200];
    int fd = net_connect(host, port, err, sizeof err);
    if (fd < 0) {
        fprintf(stderr, "link-probe: error: %s\n", err);
        exit(1);
    }
    return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) die("write");
        c += w;
        n -= (size_t)w;
    }
}

static void read_all(int fd, void *p, size_t n)
{
    char *c = p;
    while (n) {
        ssize_t r = read(fd, c, n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) die("read");
        if (r == 0) {
            fprintf(stderr, "link-probe: error: the connection closed early\n");
            exit(1);
        }
        c += r;
        n -= (size_t)r;
    }
}

static uint8_t pattern(size_t i)
{
    return (uint8_t)(i * 7 + (i >> 9));
}

/* ---- the server ---- */

struct sconn {
    int fd;
    char mode;
    uint64_t bytes, first_ns, last_ns;
    uint8_t out[65536];
    size_t olen, ooff; /* 'e': echo bytes not yet written */
};

static struct ev_loop *sloop;
static volatile sig_atomic_t sstop;

static void s_close(struct sconn *c)
{
    ev_unwatch(sloop, c->fd);
    close(c->fd);
    free(c);
}

static void s_io(struct ev_loop *loop, int fd, unsigned mask, void *arg)
{
    struct sconn *c = arg;
    uint8_t buf[65536];
    if (c->mode == 's') { /* stream until the client goes away */
        static uint8_t src[65536];
        if (!src[1])
            for (size_t i = 0; i < sizeof src; i++)
                src[i] = pattern(i);
        for (int k = 0; k < 16; k++) {
            ssize_t w = write(fd, src, sizeof src);
            if (w < 0 && errno == EAGAIN) return;
            if (w <= 0) {
                s_close(c);
                return;
            }
        }
        return;
    }
    if (c->mode == 'e' && c->olen > c->ooff) { /* echo what is pending first */
        ssize_t w = write(fd, c->out + c->ooff, c->olen - c->ooff);
        if (w < 0 && errno == EAGAIN) return;
        if (w <= 0) {
            s_close(c);
            return;
        }
        c->ooff += (size_t)w;
        if (c->ooff < c->olen) return;
        c->olen = c->ooff = 0;
        ev_watch(loop, fd, EV_READ, s_io, c);
        return;
    }
    ssize_t r = read(fd, buf, c->mode == 0 ? 1 : sizeof buf);
    int err = errno;
    if (r < 0 && (err == EAGAIN || err == EINTR)) return;
    uint64_t now = ev_now_ns();
    if (r < 0 || r == 0) {
        if (c->mode == 'w') {
            printf("%s %" PRIu64 "\n", r < 0 && err == ECONNRESET ? "reset" : "eof", now);
            fflush(stdout);
        }
        if (r == 0 && c->mode == 'd') {
            char line[96];
            int n = snprintf(line, sizeof line, "%" PRIu64 " %" PRIu64 " %" PRIu64 "\n", c->bytes,
                             c->first_ns, c->last_ns);
            net_set_nonblock(fd, 0);
            if (write(fd, line, (size_t)n) < 0) { /* the client went away: nothing to tell */
            }
        }
        if (r == 0 && c->mode == 'e') shutdown(fd, SHUT_WR);
        s_close(c);
        return;
    }
    size_t off = 0;
    if (c->mode == 0) {
        c->mode = (char)buf[0];
        off = 1;
        switch (c->mode) {
        case 'n':
            ev_unwatch(loop, fd); /* never read again; closed at exit */
            return;
        case 'r': {
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            s_close(c);
            return;
        }
        case 's':
            ev_watch(loop, fd, EV_WRITE, s_io, c);
            return;
        case 'w':
            send_all(fd, "k", 1);
            break;
        case 'e':
        case 'd':
            break;
        default:
            s_close(c);
            return;
        }
    }
    size_t n = (size_t)r - off;
    if (n == 0) return;
    if (!c->first_ns) c->first_ns = now;
    c->last_ns = now;
    c->bytes += n;
    if (c->mode == 'e') {
        memcpy(c->out, buf + off, n);
        c->olen = n;
        c->ooff = 0;
        ev_watch(loop, fd, EV_WRITE, s_io, c); /* write it before reading more */
    }
}

static void s_accept(struct ev_loop *loop, int fd, void *arg)
{
    struct sconn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->fd = fd;
    if (ev_watch(loop, fd, EV_READ, s_io, c) < 0) {
        free(c);
        close(fd);
    }
}

static void s_signal(int sig)
{
    (void)sig;
    sstop = 1;
    ev_wake(sloop);
}

static void s_wake(struct ev_loop *loop, void *arg)
{
    if (sstop) ev_stop(loop);
}

static int serve(int lport)
{
    char err[200];
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = s_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (!(sloop = ev_create())) die("ev_create");
    ev_on_wake(sloop, s_wake, NULL);
    int lfd = net_listen("127.0.0.1", lport, 4096, 1, err, sizeof err);
    if (lfd < 0) {
        fprintf(stderr, "link-probe: error: %s\n", err);
        return 1;
    }
    struct acceptor *acc = acceptor_start(sloop, lfd, "link-probe", s_accept, NULL);
    if (!acc) die("watch the listener");
    net_announce("listening", lfd);
    ev_run(sloop);
    acceptor_stop(acc);
    close(lfd);
    ev_destroy(sloop);
    return 0;
}

/* ---- the clients ---- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static double pct_us(const uint64_t *v, size_t n, double p)
{
    size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return (double)v[i < n ? i : n - 1] / 1e3;
}

static int rtt(long count, long size, int fresh)
{
    uint64_t *t = calloc((size_t)count, sizeof *t);
    uint8_t *out = malloc((size_t)size), *in = malloc((size_t)size);
    if (!t || !out || !in) die("malloc");
    for (long i = 0; i < size; i++)
        out[i] = pattern((size_t)i);
    int fd = -1;
    for (long i = -1; i < count; i++) {
        if (fresh && i < 0) continue;
        uint64_t t0 = ev_now_ns();
        if (fresh || fd < 0) {
            if (fd >= 0) close(fd);
            fd = dial();
            send_all(fd, "e", 1);
        }
        send_all(fd, out, (size_t)size);
        read_all(fd, in, (size_t)size);
        uint64_t t1 = ev_now_ns();
        if (memcmp(in, out, (size_t)size) != 0) {
            fprintf(stderr, "link-probe: error: the echo differs from what was sent\n");
            return 1;
        }
        if (i >= 0) t[i] = t1 - t0;
    }
    close(fd);
    qsort(t, (size_t)count, sizeof *t, cmp_u64);
    printf("rtt_min_us=%.1f rtt_p50_us=%.1f rtt_p99_us=%.1f rtt_max_us=%.1f count=%ld size=%ld "
           "new=%d\n",
           pct_us(t, (size_t)count, 0), pct_us(t, (size_t)count, 50), pct_us(t, (size_t)count, 99),
           pct_us(t, (size_t)count, 100), count, size, fresh);
    return 0;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int bulk(int nconns, double secs, int up)
{
    static int fds[MAX_CONNS];
    static struct pollfd pfd[MAX_CONNS];
    static uint8_t buf[65536];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = pattern(i);
    for (int i = 0; i < nconns; i++) {
        fds[i] = dial();
        if (up) { /* a small send buffer: what is measured is the link, not a backlog here */
            int sz = 65536;
            setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
        }
        send_all(fds[i], up ? "d" : "s", 1);
        net_set_nonblock(fds[i], 1);
        pfd[i] = (struct pollfd){.fd = fds[i], .events = up ? POLLOUT : POLLIN};
    }
    uint64_t t0 = ev_now_ns(), end = t0 + (uint64_t)(secs * 1e9), first = 0, last = 0;
    unsigned long long bytes = 0;
    while (ev_now_ns() < end) {
        int n = poll(pfd, (nfds_t)nconns, 100);
        if (n < 0 && errno != EINTR) die("poll");
        for (int i = 0; i < nconns && n > 0; i++) {
            if (!pfd[i].revents) continue;
            ssize_t r = up ? write(fds[i], buf, sizeof buf) : read(fds[i], buf, sizeof buf);
            if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (r <= 0) {
                fprintf(stderr, "link-probe: error: connection %d: %s\n", i,
                        r ? strerror(errno) : "closed");
                return 1;
            }
            uint64_t now = ev_now_ns();
            if (!first) first = now;
            last = now;
            bytes += (unsigned long long)r;
        }
    }
    if (!up) {
        /* received here: from the first byte to the last */
        double s = (double)(last - first) / 1e9;
        printf("rate_Bps=%.0f bytes=%llu secs=%.3f conns=%d dir=down\n",
               s > 0 ? (double)bytes / s : 0, bytes, s, nconns);
        return 0;
    }
    /* sent here is not received there (the link holds a queue): ask the server */
    unsigned long long got = 0;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < nconns; i++) {
        net_set_nonblock(fds[i], 0);
        shutdown(fds[i], SHUT_WR);
        char line[128];
        size_t len = 0;
        ssize_t r;
        while (len < sizeof line - 1 && (r = read(fds[i], line + len, sizeof line - 1 - len)) > 0)
            len += (size_t)r;
        line[len] = 0;
        unsigned long long b;
        uint64_t f, l;
        if (sscanf(line, "%llu %" SCNu64 " %" SCNu64, &b, &f, &l) != 3) {
            fprintf(stderr, "link-probe: error: connection %d: no count from the server\n", i);
            return 1;
        }
        got += b;
        if (f && f < lo) lo = f;
        if (l > hi) hi = l;
        close(fds[i]);
    }
    double s = hi > lo ? (double)(hi - lo) / 1e9 : 0;
    printf("rate_Bps=%.0f bytes=%llu secs=%.3f conns=%d dir=up sent=%llu\n",
           s > 0 ? (double)got / s : 0, got, s, nconns, bytes);
    return 0;
}

static int flood(int nconns, double secs)
{
    static int fds[MAX_CONNS];
    static struct pollfd pfd[MAX_CONNS];
    static uint8_t buf[65536];
    for (int i = 0; i < nconns; i++) {
        fds[i] = dial();
        send_all(fds[i], "n", 1);
        net_set_nonblock(fds[i], 1);
        pfd[i] = (struct pollfd){.fd = fds[i], .events = POLLOUT};
    }
    uint64_t end = ev_now_ns() + (uint64_t)(secs * 1e9);
    unsigned long long bytes = 0;
    while (ev_now_ns() < end) {
        int n = poll(pfd, (nfds_t)nconns, 50);
        for (int i = 0; i < nconns && n > 0; i++) {
            if (!pfd[i].revents) continue;
            ssize_t w = write(fds[i], buf, sizeof buf);
            if (w > 0) bytes += (unsigned long long)w;
        }
    }
    printf("written=%llu conns=%d secs=%.1f\n", bytes, nconns, secs);
    for (int i = 0; i < nconns; i++)
        close(fds[i]);
    return 0;
}

static int conns(int n, long size)
{
    static int fds[MAX_CONNS];
    uint8_t *out = malloc((size_t)size + 1), *in = malloc((size_t)size);
    if (!out || !in) die("malloc");
    out[0] = 'e';
    for (long i = 0; i < size; i++)
        out[i + 1] = pattern((size_t)i);
    uint64_t t0 = ev_now_ns();
    for (int i = 0; i < n; i++) {
        fds[i] = dial();
        send_all(fds[i], out, (size_t)size + 1);
    }
    int ok = 0;
    for (int i = 0; i < n; i++) {
        size_t got = 0;
        ssize_t r;
        while (got < (size_t)size && (r = read(fds[i], in + got, (size_t)size - got)) > 0)
            got += (size_t)r;
        if (got == (size_t)size && memcmp(in, out + 1, (size_t)size) == 0) ok++;
        close(fds[i]);
    }
    printf("ok=%d failed=%d conns=%d secs=%.3f\n", ok, n - ok, n, (double)(ev_now_ns() - t0) / 1e9);
    return ok == n ? 0 : 1;
}

static int reset(int server)
{
    uint64_t t0 = ev_now_ns(); /* before the SYN: a refusal answers it */
    int fd = dial();
    if (server) {
        send_all(fd, "r", 1);
        char c;
        ssize_t r = read(fd, &c, 1);
        int e = errno;
        printf("got=%s after_us=%.0f\n",
               r < 0 && e == ECONNRESET ? "reset"
               : r == 0                 ? "eof"
                                        : "data",
               (double)(ev_now_ns() - t0) / 1e3);
        close(fd);
        return 0;
    }
    send_all(fd, "w", 1);
    char k;
    read_all(fd, &k, 1);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    uint64_t t = ev_now_ns();
    close(fd);
    printf("reset_at_ns=%" PRIu64 "\n", t);
    return 0;
}

static int halfclose(long size)
{
    uint8_t *out = malloc((size_t)size + 1), *in = malloc((size_t)size + 1);
    if (!out || !in) die("malloc");
    out[0] = 'e';
    for (long i = 0; i < size; i++)
        out[i + 1] = pattern((size_t)i);
    int fd = dial();
    /* the reply is read while sending: the echo must not fill both buffers and stall */
    net_set_nonblock(fd, 1);
    size_t sent = 0, got = 0;
    int shut = 0, eof = 0;
    while (!eof) {
        struct pollfd p = {.fd = fd, .events = POLLIN | (shut ? 0 : POLLOUT)};
        if (poll(&p, 1, 10000) != 1) {
            fprintf(stderr, "link-probe: error: stalled with %zu of %ld bytes back\n", got, size);
            return 1;
        }
        if (!shut && (p.revents & POLLOUT)) {
            ssize_t w = write(fd, out + sent, (size_t)size + 1 - sent);
            if (w > 0) sent += (size_t)w;
            if (sent == (size_t)size + 1) {
                shutdown(fd, SHUT_WR);
                shut = 1;
            }
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = read(fd, in + got, got < (size_t)size ? (size_t)size - got : 1);
            if (r < 0 && errno != EAGAIN) die("read");
            if (r == 0) eof = 1;
            if (r > 0) got += (size_t)r;
        }
    }
    int same = got == (size_t)size && memcmp(in, out + 1, (size_t)size) == 0;
    printf("echoed=%zu sent=%ld intact=%d\n", got, size, same);
    close(fd);
    return same ? 0 : 1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: link-probe serve [--port 0]\n"
               "       link-probe rtt --to HOST:PORT [--count 20] [--size 64] [--new]\n"
               "       link-probe bulk --to HOST:PORT [--conns 1] [--seconds 2] [--dir down|up]\n"
               "       link-probe flood --to HOST:PORT [--conns 1] [--seconds 2]\n"
               "       link-probe conns --to HOST:PORT [--conns 1000] [--size 100]\n"
               "       link-probe reset --to HOST:PORT --who server|client\n"
               "       link-probe halfclose --to HOST:PORT [--size 100000]\n"
               "  The far end (serve) and the near end of measurements through a link;\n"
               "  each client prints one line of key=value.\n");
}

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "link-probe: error: %s '%s'\ntry 'link-probe --help'\n", what, arg);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    const char *cmd = argv[1], *to = NULL, *dir = "down", *who = NULL;
    long count = 20, size = -1, nconns = -1, lport = 0;
    double secs = 2;
    int fresh = 0;
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *e = NULL;
        if (!strcmp(o, "--new")) {
            fresh = 1;
            continue;
        }
        if (!v) return usage_error("missing value for", o);
        i++;
        if (!strcmp(o, "--to"))
            to = v;
        else if (!strcmp(o, "--dir"))
            dir = v;
        else if (!strcmp(o, "--who"))
            who = v;
        else if (!strcmp(o, "--seconds")) {
            secs = strtod(v, &e);
            if (*e || secs <= 0 || secs > 3600) return usage_error("bad --seconds", v);
        } else {
            long x = strtol(v, &e, 10);
            if (*e || x < 0) return usage_error("bad value", v);
            if (!strcmp(o, "--count") && x > 0 && x <= 1000000)
                count = x;
            else if (!strcmp(o, "--size") && x > 0 && x <= (1 << 26))
                size = x;
            else if (!strcmp(o, "--conns") && x > 0 && x <= MAX_CONNS)
                nconns = x;
            else if (!strcmp(o, "--port") && x <= 65535)
                lport = x;
            else
                return usage_error("bad option", o);
        }
    }
    if (!strcmp(cmd, "serve")) return serve((int)lport);
    if (!to || net_parse_hostport(to, host, sizeof host, &port) != 0)
        return usage_error("--to HOST:PORT is required, got", to ? to : "nothing");
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    if (!strcmp(cmd, "rtt")) return rtt(count, size > 0 ? size : 64, fresh);
    if (!strcmp(cmd, "bulk")) {
        if (strcmp(dir, "down") && strcmp(dir, "up")) return usage_error("bad --dir", dir);
        return bulk(nconns > 0 ? (int)nconns : 1, secs, !strcmp(dir, "up"));
    }
    if (!strcmp(cmd, "flood")) return flood(nconns > 0 ? (int)nconns : 1, secs);
    if (!strcmp(cmd, "conns")) return conns(nconns > 0 ? (int)nconns : 1000, size > 0 ? size : 100);
    if (!strcmp(cmd, "reset")) {
        if (!who || (strcmp(who, "server") && strcmp(who, "client")))
            return usage_error("--who must be server or client, got", who ? who : "nothing");
        return reset(!strcmp(who, "server"));
    }
    if (!strcmp(cmd, "halfclose")) return halfclose(size > 0 ? size : 100000);
    return usage_error("unknown command", cmd);
}
