/* broker: a Redis-protocol publish/subscribe broker with durable streams and consumer
 * groups, single-threaded on io/ev.
 *
 * The story of one event: read bytes, parse RESP frames (parsers/resp), run each
 * command to completion (cmds.c, xcmd.c, ...), which appends replies to output buffers.
 * Then broker_after_events(): retry readers blocked on keys that got entries, ask the WAL
 * (blog.c) for a group commit, write every output buffer whose log records are written
 * (the others wait until the WAL writer wakes the loop), and free clients marked for
 * closing.  A subscriber that cannot keep up is cut by the hard/soft/seconds rule
 * (oblimit.c), never waited for.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "io/net.h"
#include "labs/11-pubsub/blog.h"
#include "labs/11-pubsub/broker.h"
#include "labs/11-pubsub/stream.h"

static volatile sig_atomic_t g_stop; /* set by SIGINT/SIGTERM, read on the loop */
static struct ev_loop *g_loop;       /* for the handler: the signal may land on the WAL
                                      * writer thread, so it wakes the loop explicitly */

uint64_t broker_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void broker_touch(struct client *c)
{
    if (c->flags & CF_FAKE) {
        c->out.len = 0; /* the log loader's replies go nowhere */
        c->out.overflow = 0;
        return;
    }
    if (c->out.len > c->sent && !(c->flags & CF_PENDING)) {
        c->flags |= CF_PENDING;
        c->wnext = c->b->pending;
        c->b->pending = c;
    }
}

void broker_close_async(struct client *c, const char *why)
{
    if (c->flags & (CF_CLOSE | CF_FAKE)) return;
    c->flags |= CF_CLOSE;
    c->cnext = c->b->closing;
    c->b->closing = c;
    if (why)
        fprintf(stderr, "broker: closing client id=%llu addr=%s: %s (output %zu bytes pending)\n",
                (unsigned long long)c->id, c->addr, why, c->out.len - c->sent);
}

static void propagate(struct broker *b, int argc, const char *const *argv, const size_t *argl,
                      int gate)
{
    if (!b->log || b->loading) return;
    uint64_t lsn = blog_append(b->log, argc, argv, argl);
    if (lsn == 0) {
        /* Applied in memory but not logged: never acknowledge it, drop the client. */
        fprintf(stderr, "broker: log append failed (%s)\n", strerror(errno));
        if (b->cur) broker_close_async(b->cur, "its command could not be logged: not acknowledged");
        return;
    }
    if (gate) b->last_gate = lsn;
    /* A delivery never leaves before the entry it carries is in the log. */
    uint64_t wait = gate ? lsn : b->last_gate;
    if (b->cur && b->cur->wait_lsn < wait) b->cur->wait_lsn = wait;
}

void broker_propagate(struct broker *b, int argc, const char *const *argv, const size_t *argl)
{
    propagate(b, argc, argv, argl, 1);
}

void broker_propagate_delivery(struct broker *b, int argc, const char *const *argv,
                               const size_t *argl)
{
    propagate(b, argc, argv, argl, b->gate_deliveries);
}

/* ---- clients ---------------------------------------------------------------------- */

static void client_free(struct client *c)
{
    struct broker *b = c->b;
    if (c->flags & CF_BLOCKED) block_release(c);
    pubsub_sub_release(&b->ps, &c->sub);
    if (c->fd >= 0) {
        ev_unwatch(b->loop, c->fd);
        close(c->fd);
        b->byfd[c->fd] = NULL;
        b->nclients--;
    }
    resp_out_free(&c->out);
    resp_free(&c->rp);
    free(c->in);
    free(c);
}

static void client_event(struct ev_loop *loop, int fd, unsigned mask, void *arg);

static void client_set_watch(struct client *c)
{
    unsigned m = EV_READ;
    if (c->sent < c->out.len) m |= EV_WRITE;
    if (ev_watch(c->b->loop, c->fd, m, client_event, c) == 0) {
        if (m & EV_WRITE)
            c->flags |= CF_WATCHW;
        else
            c->flags &= ~CF_WATCHW;
    }
}

static void client_write(struct client *c)
{
    while (c->sent < c->out.len) {
        ssize_t n = write(c->fd, c->out.data + c->sent, c->out.len - c->sent);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n <= 0) {
            broker_close_async(c, NULL);
            return;
        }
        c->sent += (size_t)n;
    }
    if (c->sent == c->out.len) {
        c->out.len = 0;
        c->sent = 0;
        if (c->flags & CF_QUIT) {
            broker_close_async(c, NULL);
            return;
        }
    } else if (c->sent > (1u << 20)) {
        resp_out_consume(&c->out, c->sent); /* do not let a slow reader pin old bytes */
        c->sent = 0;
    }
    int want = c->sent < c->out.len;
    if (want != !!(c->flags & CF_WATCHW)) client_set_watch(c);
}

/* Runs every complete command in the input buffer (until the client blocks). */
void broker_client_process(struct client *c)
{
    size_t off = 0;
    while (!(c->flags & (CF_BLOCKED | CF_CLOSE | CF_QUIT)) && off < c->inlen) {
        ssize_t r = resp_parse(&c->rp, c->in + off, c->inlen - off);
        if (r == -2) break;
        if (r < 0) {
            resp_add_error(RB(c), c->rp.err); /* Redis replies, then closes */
            c->flags |= CF_QUIT;
            broker_touch(c);
            fprintf(stderr, "broker: client id=%llu addr=%s: %s\n", (unsigned long long)c->id,
                    c->addr, c->rp.err);
            off = c->inlen;
            break;
        }
        if (c->rp.err[0]) {
            resp_add_error(RB(c), c->rp.err);
            broker_touch(c);
        } else if (c->rp.argc > 0) {
            cmd_dispatch(c, c->rp.argc, c->rp.argv, c->rp.argl);
        }
        off += (size_t)r;
    }
    if (off) {
        memmove(c->in, c->in + off, c->inlen - off);
        c->inlen -= off;
    }
}

static void client_read(struct client *c)
{
    if (c->flags & CF_QUIT) {
        /* Closing once its last reply is out: drain and drop what it still sends, so a
         * level-triggered readable socket does not spin the loop. */
        char junk[4096];
        ssize_t n = read(c->fd, junk, sizeof(junk));
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) broker_close_async(c, NULL);
        return;
    }
    if (c->incap - c->inlen < 16384) {
        size_t cap = c->incap ? c->incap * 2 : 16384;
        if (cap > BROKER_IN_LIMIT + 16384u) {
            resp_add_error(RB(c), "ERR Protocol error: request over the broker's input limit");
            c->flags |= CF_QUIT;
            broker_touch(c);
            return;
        }
        char *p = realloc(c->in, cap);
        if (!p) {
            broker_close_async(c, "out of memory for input");
            return;
        }
        c->in = p;
        c->incap = cap;
    }
    ssize_t n = read(c->fd, c->in + c->inlen, c->incap - c->inlen);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR && errno != EWOULDBLOCK)) {
        broker_close_async(c, NULL);
        return;
    }
    if (n < 0) return;
    c->inlen += (size_t)n;
    broker_client_process(c);
}

static void client_event(struct ev_loop *loop, int fd, unsigned mask, void *arg)
{
    struct client *c = arg;
    if (mask & EV_WRITE) client_write(c);
    if ((mask & (EV_READ | EV_ERROR)) && !(c->flags & CF_CLOSE)) client_read(c);
    broker_after_events(c->b);
}

static void accept_event(struct ev_loop *loop, int lfd, unsigned mask, void *arg);

static void accept_resume(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct broker *b = arg;
    (void)id;
    if (ev_watch(loop, b->lfd, EV_READ, accept_event, b) < 0)
        fprintf(stderr, "broker: cannot watch the listening socket again\n");
}

static void accept_event(struct ev_loop *loop, int lfd, unsigned mask, void *arg)
{
    struct broker *b = arg;
    for (int i = 0; i < 64; i++) {
        struct sockaddr_in sa;
        socklen_t sl = sizeof(sa);
        int fd = accept4(lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
            /* Out of descriptors: the level-triggered listener would fire again at
             * once, a busy loop (hostile.sh).  Stop accepting for 100 ms. */
            fprintf(stderr, "broker: accept: %s: pausing 100 ms\n", strerror(errno));
            ev_unwatch(loop, lfd);
            ev_timer_add(loop, 100, accept_resume, b);
        }
        if (fd < 0) break;
        if (b->nclients >= BROKER_MAX_CLIENTS || fd >= EV_MAX_FDS) {
            static const char full[] = "-ERR max number of clients reached\r\n";
            if (write(fd, full, sizeof(full) - 1) < 0) {
                /* nothing more to tell it */
            }
            close(fd);
            continue;
        }
        net_set_nodelay(fd);
        struct client *c = calloc(1, sizeof(*c));
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->b = b;
        c->id = ++b->next_id;
        snprintf(c->addr, sizeof(c->addr), "%s:%u", inet_ntoa(sa.sin_addr), ntohs(sa.sin_port));
        resp_init(&c->rp, NULL);
        resp_out_init(&c->out, BROKER_OUT_LIMIT);
        pubsub_sub_init(&c->sub);
        if (ev_watch(b->loop, fd, EV_READ, client_event, c) < 0) {
            resp_out_free(&c->out);
            free(c);
            close(fd);
            continue;
        }
        b->byfd[fd] = c;
        b->nclients++;
    }
    broker_after_events(b);
}

/* After every event: wake blocked readers, ask the log to flush, then reply to every
 * client whose last logged record is written (durable with --appendfsync always); the
 * others wait in the held list until the WAL writer wakes the loop. */
void broker_after_events(struct broker *b)
{
    block_serve_ready(b);
    uint64_t durable = UINT64_MAX;
    if (b->log) {
        blog_commit(b->log);
        durable = blog_durable_lsn(b->log);
    }
    struct client *c = b->pending, *held = b->held;
    b->pending = NULL;
    b->held = NULL;
    for (int pass = 0; pass < 2; pass++, c = held) {
        while (c) {
            struct client *next = c->wnext;
            c->wnext = NULL;
            if (c->flags & CF_CLOSE) {
                c->flags &= ~CF_PENDING;
            } else if (c->wait_lsn > durable) {
                c->wnext = b->held; /* stays CF_PENDING */
                b->held = c;
            } else {
                c->flags &= ~CF_PENDING;
                client_write(c);
            }
            c = next;
        }
    }
    while (b->closing) {
        c = b->closing;
        b->closing = c->cnext;
        client_free(c);
    }
}

/* Once a second: the soft limit's clock runs even when nothing is published. */
static void cron(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct broker *b = arg;
    uint64_t now = ev_now_ms();
    for (int fd = 0; fd < EV_MAX_FDS && b->nclients; fd++) {
        struct client *c = b->byfd[fd];
        if (c && pubsub_count(&c->sub) > 0 &&
            oblimit_over(&b->pslimit, c->out.len - c->sent, &c->soft_since, now))
            broker_close_async(c, "pubsub output buffer soft limit held too long");
    }
    broker_after_events(b);
    ev_timer_add(loop, 1000, cron, b);
}

/* Woken by a signal or by the WAL writer (records written or durable). */
static void on_wake(struct ev_loop *loop, void *arg)
{
    if (g_stop)
        ev_stop(loop);
    else
        broker_after_events(arg);
}

static void log_progress(void *loop)
{
    ev_wake(loop); /* on the WAL writer thread: only the thread-safe call */
}

static void on_signal(int sig)
{
    g_stop = 1;
    if (g_loop) ev_wake(g_loop); /* async-signal-safe: an eventfd write */
}

/* The log loader: each record is a command run by a client with no socket. */
static int replay_record(void *arg, int argc, const char **argv, const size_t *argl)
{
    struct client *fake = arg;
    cmd_dispatch(fake, argc, argv, argl);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(
        f, "usage: broker [options]\n"
           "  A Redis-protocol (RESP2) pub/sub broker with durable streams and consumer groups.\n"
           "  --host ADDR                      listen address (default 127.0.0.1)\n"
           "  --port N                         port, 0 picks one and prints it (default 6380)\n"
           "  --data-dir DIR                   log streams in a write-ahead log in DIR and replay\n"
           "                                   it at start (default: none, streams in memory)\n"
           "  --appendfsync always|everysec    reply to a write once its log record is\n"
           "                                   fdatasync'd (always) or written (everysec, the\n"
           "                                   default: survives kill -9, as Redis's)\n"
           "  --pubsub-buffer-limit HARD SOFT SECS  cut a subscriber whose pending output\n"
           "                                   reaches HARD, or stays above SOFT for SECS\n"
           "                                   (default 32mb 8mb 60, Redis's pubsub class)\n"
           "  --max-stream-memory SIZE         bytes of stream entries before XADD is refused\n"
           "                                   (default 1gb)\n"
           "  --help                           this text\n");
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *dir = NULL;
    int port = 6380;
    enum blog_fsync policy = BLOG_EVERYSEC;
    struct broker b;
    memset(&b, 0, sizeof(b));
    b.pslimit = (struct oblimit){32u << 20, 8u << 20, 60};
    b.max_stream_bytes = (size_t)1 << 30;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = argc - i - 1;
        if (!strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--host") && more >= 1) {
            if (net_parse_host(host = argv[++i]) < 0) {
                fprintf(stderr, "broker: bad --host '%s' (an IPv4 address or localhost)\n", host);
                return 2;
            }
        } else if (!strcmp(a, "--port") && more >= 1) {
            if ((port = net_parse_port(argv[++i])) < 0) {
                fprintf(stderr, "broker: bad --port '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--data-dir") && more >= 1) {
            dir = argv[++i];
        } else if (!strcmp(a, "--appendfsync") && more >= 1) {
            const char *p = argv[++i];
            if (!strcmp(p, "always"))
                policy = BLOG_ALWAYS;
            else if (!strcmp(p, "everysec"))
                policy = BLOG_EVERYSEC;
            else {
                fprintf(stderr, "broker: --appendfsync wants always or everysec\n");
                return 2;
            }
        } else if (!strcmp(a, "--pubsub-buffer-limit") && more >= 3) {
            if (oblimit_parse(argv[i + 1], argv[i + 2], argv[i + 3], &b.pslimit) < 0) {
                fprintf(stderr, "broker: bad --pubsub-buffer-limit (want e.g. 32mb 8mb 60)\n");
                return 2;
            }
            i += 3;
        } else if (!strcmp(a, "--max-stream-memory") && more >= 1) {
            if (oblimit_parse_size(argv[++i], &b.max_stream_bytes) < 0) {
                fprintf(stderr, "broker: bad --max-stream-memory '%s'\n", argv[i]);
                return 2;
            }
        } else {
            fprintf(stderr, "broker: unknown or incomplete option '%s' (try --help)\n", a);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    dict_init(&b.keys);
    dict_init(&b.waiters);
    pubsub_init(&b.ps);
    b.lfd = -1;
    int rc = 1;
    struct client *fake = calloc(1, sizeof(*fake));
    b.byfd = calloc(EV_MAX_FDS, sizeof(*b.byfd));
    b.loop = ev_create();
    if (!fake || !b.byfd || !b.loop) {
        fprintf(stderr, "broker: out of memory\n");
        goto out;
    }
    fake->fd = -1;
    fake->flags = CF_FAKE;
    fake->b = &b;
    resp_out_init(&fake->out, BROKER_OUT_LIMIT);
    pubsub_sub_init(&fake->sub);
    char err[256];
    b.gate_deliveries = policy == BLOG_ALWAYS;
    if (dir) {
        uint64_t t0 = ev_now_ms();
        b.loading = 1;
        b.log = blog_open(dir, policy, replay_record, fake, log_progress, b.loop, err, sizeof(err));
        b.loading = 0;
        if (!b.log) {
            fprintf(stderr, "broker: cannot open the log in %s: %s\n", dir, err);
            goto out;
        }
        fprintf(stderr, "broker: replayed %llu log records (%zu streams) in %llu ms\n",
                (unsigned long long)blog_records(b.log), b.keys.n,
                (unsigned long long)(ev_now_ms() - t0));
    }
    b.lfd = net_listen(host, port, 511, 1, err, sizeof(err));
    if (b.lfd < 0) {
        fprintf(stderr, "broker: %s\n", err);
        goto out;
    }
    if (ev_watch(b.loop, b.lfd, EV_READ, accept_event, &b) < 0) {
        fprintf(stderr, "broker: cannot watch the listening socket\n");
        goto out;
    }
    ev_on_wake(b.loop, on_wake, &b);
    g_loop = b.loop;
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    ev_timer_add(b.loop, 1000, cron, &b);
    net_announce("listening", b.lfd);
    rc = ev_run(b.loop) < 0 ? 1 : 0;
    fprintf(stderr, "broker: shutting down\n");
out:
    if (b.byfd) {
        for (int fd = 0; fd < EV_MAX_FDS; fd++)
            if (b.byfd[fd]) client_free(b.byfd[fd]);
    }
    if (b.lfd >= 0) close(b.lfd);
    blog_close(b.log);
    if (fake) {
        resp_out_free(&fake->out);
        free(fake);
    }
    dict_free(&b.keys, xcmd_free_stream);
    dict_free(&b.waiters, NULL);
    for (size_t i = 0; i < b.nready; i++)
        free(b.ready[i].p);
    free(b.ready);
    pubsub_free(&b.ps);
    free(b.byfd);
    ev_destroy(b.loop);
    return rc;
}
