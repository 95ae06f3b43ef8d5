/* kv-server: a key-value store whose every write goes through the WAL, speaking RESP2
 * so redis-cli and redis-benchmark are its clients.  One event-loop thread serves
 * clients; the WAL's writer thread does write+fdatasync and wakes the loop (ev_wake)
 * when an LSN became durable, which releases the clients waiting at their commit level.
 * Replies are sent at the end of each loop round, for every client served in it.
 * This file: options, clients, commands, commit waits.  kv_repl.c: the replication. */
#include "labs/05-wal-replication/kv_server.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/net.h"

#define KV_IN_MAX ((size_t)4 << 20) /* one request frame, at most */

#define KV_MAX_WAITING 65536

static volatile sig_atomic_t kv_stop_flag;

static const char *const kv_level_names[] = {"off", "local", "remote_write", "on", "remote_apply"};

void kv_logf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "kv-server: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

int kv_apply_record(struct kv_server *s, uint16_t type, const void *p, size_t n)
{
    uint32_t kl;
    if (n < 4) return -1;
    memcpy(&kl, p, 4);
    if (kl > n - 4) return -1;
    const char *k = (const char *)p + 4;
    if (type == KV_REC_SET) return kvs_set(s->kv, k, kl, k + kl, n - 4 - kl);
    if (type == KV_REC_DEL) {
        kvs_del(s->kv, k, kl);
        return 0;
    }
    return -1; /* a record type this store never writes */
}

static int kv_replay(void *arg, uint64_t lsn, uint16_t type, const void *p, size_t n)
{
    (void)lsn;
    return kv_apply_record(arg, type, p, n);
}

/* ---- client I/O ------------------------------------------------------------ */

static void client_event(struct ev_loop *l, int fd, unsigned mask, void *arg);
static void process_input(struct kv_server *s, struct kv_client *c);
static int round_arm(struct kv_server *s);

static void client_close(struct kv_server *s, struct kv_client *c)
{
    for (size_t i = 0; c->in_flushq && i < s->nflushq; i++)
        if (s->flushq[i] == c->fd) {
            s->flushq[i] = s->flushq[--s->nflushq];
            break;
        }
    for (size_t i = 0; c->in_waiting && i < s->nwaiting; i++)
        if (s->waiting[i] == c->fd) {
            s->waiting[i] = s->waiting[--s->nwaiting];
            break;
        }
    s->out_total -= c->out_acct;
    ev_unwatch(s->loop, c->fd);
    close(c->fd);
    s->clients[c->fd] = NULL;
    resp_out_free(&c->out);
    resp_free(&c->p);
    free(c->in);
    free(c);
}

/* Writes what can be sent (up to the first pending reply); -1 when the client was closed. */
static int client_flush(struct kv_server *s, struct kv_client *c)
{
    size_t sendable = c->npend ? c->pend[c->phead].at : c->out.len;
    size_t sent = 0;
    while (sent < sendable) {
        ssize_t n = write(c->fd, c->out.data + sent, sendable - sent);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n <= 0) {
            client_close(s, c);
            return -1;
        }
        sent += (size_t)n;
    }
    resp_out_consume(&c->out, sent);
    s->out_total = s->out_total - c->out_acct + c->out.len;
    c->out_acct = c->out.len;
    for (unsigned k = 0; k < c->npend; k++)
        c->pend[(c->phead + k) % KV_MAX_PENDING].at -= sent;
    if (c->out.overflow || (c->close_after && c->out.len == 0)) {
        client_close(s, c);
        return -1;
    }
    /* always EV_READ: a hang-up is noticed while replies are held; input is bounded */
    ev_watch(s->loop, c->fd, EV_READ | (sendable > sent ? EV_WRITE : 0), client_event, s);
    return 0;
}

static void client_event(struct ev_loop *l, int fd, unsigned mask, void *arg)
{
    struct kv_server *s = arg;
    struct kv_client *c = s->clients[fd];
    (void)l;
    if (!c) return;
    if (mask & (EV_READ | EV_ERROR)) {
        if (c->inlen == c->incap) {
            if (c->incap >= KV_IN_MAX) {
                resp_add_errorf(&c->out, "ERR Protocol error: request over %zu bytes", KV_IN_MAX);
                c->close_after = 1;
                c->inlen = c->inpos = 0;
                client_flush(s, c);
                return;
            }
            size_t cap = c->incap ? c->incap * 2 : 16384;
            char *b = realloc(c->in, cap);
            if (!b) {
                client_close(s, c);
                return;
            }
            c->in = b;
            c->incap = cap;
        }
        ssize_t n = read(fd, c->in + c->inlen, c->incap - c->inlen);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            client_close(s, c);
            return;
        }
        if (n > 0) {
            c->inlen += (size_t)n;
            if (c->npend < KV_MAX_PENDING) process_input(s, c);
            return;
        }
    }
    if (mask & EV_WRITE) client_flush(s, c);
}

static void on_accept(struct ev_loop *l, int lfd, unsigned mask, void *arg);

static void accept_resume(struct ev_loop *l, uint64_t id, void *arg)
{
    struct kv_server *s = arg;
    (void)id;
    if (ev_watch(l, s->lfd, EV_READ, on_accept, s) < 0)
        kv_logf("cannot watch the listening socket again");
}

/* accept() failed with EMFILE/ENFILE: the level-triggered listener stays readable and
 * would fire again at once, a busy loop on a core.  Stop accepting for 100 ms (the
 * clients wait in the backlog), then watch it again.  Also used for the replication
 * listener (kv_repl.c).  Logs once per pause, at most 10 lines a second. */
void kv_accept_pause(struct kv_server *s, int lfd, ev_timer_cb resume, const char *what)
{
    kv_logf("%s accept: %s: pausing 100 ms", what, strerror(errno));
    ev_unwatch(s->loop, lfd);
    if (!ev_timer_add(s->loop, 100, resume, s)) kv_logf("no timer slot to resume accepting");
}

static void on_accept(struct ev_loop *l, int lfd, unsigned mask, void *arg)
{
    struct kv_server *s = arg;
    (void)mask;
    for (int i = 0; i < 64; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                kv_accept_pause(s, lfd, accept_resume, "client");
            return;
        }
        if (fd >= EV_MAX_FDS) {
            close(fd);
            continue;
        }
        net_set_nodelay(fd);
        struct kv_client *c = calloc(1, sizeof(*c));
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        struct resp_limits lim = {.max_bulk = WAL_MAX_PAYLOAD - 64};
        resp_init(&c->p, &lim);
        resp_out_init(&c->out, KV_OUT_MAX);
        s->clients[fd] = c;
        if (ev_watch(l, fd, EV_READ, client_event, s) < 0) client_close(s, c);
    }
}

/* ---- commit waits --------------------------------------------------------- */

/* Holds a reply (and every reply after it) until its condition holds. */
int kv_defer_reply(struct kv_server *s, struct kv_client *c, int kind, uint64_t lsn, long long v,
                   uint64_t deadline_ms)
{
    assert(c->npend < KV_MAX_PENDING);
    if (!c->in_waiting) {
        if (s->nwaiting == s->maxwaiting) {
            resp_add_error(&c->out, "ERR too many blocked clients");
            return -1;
        }
        s->waiting[s->nwaiting++] = c->fd;
        c->in_waiting = 1;
    }
    struct kv_pending *e = &c->pend[(c->phead + c->npend++) % KV_MAX_PENDING];
    *e = (struct kv_pending){.at = c->out.len,
                             .lsn = lsn,
                             .deadline_ms = deadline_ms,
                             .v = v,
                             .kind = kind,
                             .level = s->level};
    return 0;
}

/* Replies now (off) or holds the reply until the commit level is reached. */
void kv_commit(struct kv_server *s, struct kv_client *c, uint64_t lsn, int is_int, long long v)
{
    c->last_write_lsn = lsn;
    if (s->level == KV_OFF) {
        if (is_int)
            resp_add_int(&c->out, v);
        else
            resp_add_simple(&c->out, "OK");
        return;
    }
    /* One flush request per loop round, at its end: a request per commit wakes the
     * writer (same core) on the first one, and it would take a batch of one. */
    if (round_arm(s))
        s->round_lsn = lsn;
    else
        wal_flush_request(s->wal, lsn);
    kv_defer_reply(s, c, is_int ? KV_PEND_INT : KV_PEND_OK, lsn, v,
                   s->level > KV_LOCAL ? ev_now_ms() + s->sync_timeout_ms : 0);
}

/* The reply of a pending entry if it is due (condition met or deadline passed), into r;
 * 0 when it must still wait. */
static int pending_reply(struct kv_server *s, const struct kv_pending *e, uint64_t now,
                         struct resp_out *r)
{
    char err[256];
    int late = e->deadline_ms && now >= e->deadline_ms;
    if (e->kind == KV_PEND_WAIT) {
        int n = kv_repl_count_reached(s, KV_ON, e->lsn);
        if (n < e->v && !late) return 0;
        resp_add_int(r, n);
        return 1;
    }
    if (wal_failed(s->wal, err, sizeof(err))) {
        resp_add_errorf(r, "ERR WAL failed, write not durable: %s", err);
        return 1;
    }
    int local = wal_flush_lsn(s->wal) >= e->lsn;
    int remote =
        e->level <= KV_LOCAL || kv_repl_count_reached(s, (enum kv_level)e->level, e->lsn) > 0;
    if (local && remote) {
        if (e->kind == KV_PEND_INT)
            resp_add_int(r, e->v);
        else
            resp_add_simple(r, "OK");
        return 1;
    }
    if (!late) return 0;
    resp_add_errorf(r,
                    "ERR synchronous_commit=%s: no replica confirmed LSN %" PRIu64 " within %u "
                    "ms; the write is %s on the primary but may be lost on failover",
                    kv_level_names[e->level], e->lsn, s->sync_timeout_ms,
                    local ? "flushed" : "not yet flushed");
    return 1;
}

/* Puts the due replies in place, oldest first; returns how many. */
static unsigned client_resolve(struct kv_server *s, struct kv_client *c, uint64_t now)
{
    unsigned done = 0;
    while (c->npend) {
        struct kv_pending *e = &c->pend[c->phead];
        struct resp_out r;
        resp_out_init(&r, 1024);
        if (!pending_reply(s, e, now, &r)) {
            resp_out_free(&r);
            break;
        }
        /* insert the reply at e->at: grow by r.len, shift the held tail, copy it in */
        size_t tail = c->out.len - e->at;
        if (resp_add_raw(&c->out, r.data, r.len) == 0) {
            memmove(c->out.data + e->at + r.len, c->out.data + e->at, tail);
            memcpy(c->out.data + e->at, r.data, r.len);
        }
        c->phead = (c->phead + 1) % KV_MAX_PENDING;
        c->npend--;
        for (unsigned k = 0; k < c->npend; k++)
            c->pend[(c->phead + k) % KV_MAX_PENDING].at += r.len;
        resp_out_free(&r);
        done++;
    }
    return done;
}

void kv_release_waiters(struct kv_server *s)
{
    uint64_t now = ev_now_ms();
    for (size_t i = 0; i < s->nwaiting;) {
        struct kv_client *c = s->clients[s->waiting[i]];
        unsigned done = c ? client_resolve(s, c, now) : 0;
        if (c && c->npend) {
            i++;
        } else {
            s->waiting[i] = s->waiting[--s->nwaiting];
            if (c) c->in_waiting = 0;
        }
        if (c && done) process_input(s, c); /* sends what is due, reads on where there is room */
    }
}

static void on_tick(struct ev_loop *l, uint64_t id, void *arg)
{
    struct kv_server *s = arg;
    (void)id;
    if (kv_stop_flag) {
        ev_stop(l);
        return;
    }
    kv_release_waiters(s); /* deadlines */
    if (!s->is_replica && s->repl_throttle)
        kv_repl_primary_progress(s); /* the throttled link carries its next 20 ms */
    ev_timer_add(l, 20, on_tick, s);
}

static void on_wake(struct ev_loop *l, void *arg)
{
    struct kv_server *s = arg;
    if (kv_stop_flag) {
        ev_stop(l);
        return;
    }
    if (s->is_replica)
        kv_repl_replica_progress(s);
    else
        kv_repl_primary_progress(s);
    kv_release_waiters(s);
}

static void wal_progress(void *arg)
{
    ev_wake(arg); /* on the WAL writer thread: only wake the loop */
}

/* Replies queued across all clients are over --max-output-memory: cut the client
 * holding the most (a slow or stalled reader: the ones that read keep their queue near
 * zero), log it, and repeat until under the cap.  Each client's own cap (KV_OUT_MAX)
 * bounds one reader; this bounds many.  The scan runs only when over the cap. */
static void out_cap_enforce(struct kv_server *s)
{
    while (s->out_total > s->out_total_max) {
        struct kv_client *big = NULL;
        for (int fd = 0; fd < EV_MAX_FDS; fd++)
            if (s->clients[fd] && (!big || s->clients[fd]->out_acct > big->out_acct))
                big = s->clients[fd];
        if (!big || !big->out_acct) break;
        kv_logf("output memory %zu bytes over --max-output-memory %zu: closing the client on "
                "fd %d with %zu bytes of replies unread",
                s->out_total, s->out_total_max, big->fd, big->out_acct);
        client_close(s, big);
    }
}

/* The end of a loop round (a 0 ms timer runs after the round's file events): send
 * the replies of every client served in it. */
static void on_round_end(struct ev_loop *l, uint64_t id, void *arg)
{
    struct kv_server *s = arg;
    (void)l;
    (void)id;
    s->round_timer = 0;
    if (s->round_lsn) {
        wal_flush_request(s->wal, s->round_lsn);
        s->round_lsn = 0;
    }
    while (s->nflushq) {
        struct kv_client *c = s->clients[s->flushq[--s->nflushq]];
        if (c) {
            c->in_flushq = 0;
            client_flush(s, c);
        }
    }
    out_cap_enforce(s);
}

/* Makes sure on_round_end runs at the end of this round; 0 when no timer slot is left. */
static int round_arm(struct kv_server *s)
{
    if (!s->round_timer) s->round_timer = ev_timer_add(s->loop, 0, on_round_end, s);
    return s->round_timer != 0;
}

/* Sends c's replies at the end of this loop round, or now when that cannot be arranged. */
static void client_flush_later(struct kv_server *s, struct kv_client *c)
{
    if (c->in_flushq) return;
    if (!round_arm(s) || s->nflushq == EV_MAX_FDS) {
        client_flush(s, c);
        return;
    }
    s->flushq[s->nflushq++] = c->fd;
    c->in_flushq = 1;
}

static void process_input(struct kv_server *s, struct kv_client *c)
{
    int fd = c->fd;
    while (c->npend < KV_MAX_PENDING && !c->close_after && c->inpos < c->inlen) {
        ssize_t r = resp_parse(&c->p, c->in + c->inpos, c->inlen - c->inpos);
        if (r == -2) break;
        if (r < 0) {
            resp_add_error(&c->out, c->p.err);
            c->close_after = 1;
            c->inpos = c->inlen;
            break;
        }
        if (c->p.err[0])
            resp_add_error(&c->out, c->p.err);
        else if (c->p.argc > 0)
            kv_exec_command(s, c);
        c->inpos += (size_t)r;
    }
    if (c->inpos == c->inlen) {
        c->inpos = c->inlen = 0;
    } else if (c->inpos > 0) {
        memmove(c->in, c->in + c->inpos, c->inlen - c->inpos);
        c->inlen -= c->inpos;
        c->inpos = 0;
    }
    if (c->npend) client_resolve(s, c, ev_now_ms()); /* e.g. WAIT with enough replicas already */
    if (s->clients[fd] == c) client_flush_later(s, c);
}

/* ---- main -------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: kv-server --role primary --port P [--repl-port R] --data-dir DIR\n"
            "                 [--synchronous-commit off|local|remote_write|on|remote_apply]\n"
            "       kv-server --role replica --port P --primary HOST:R --data-dir DIR\n"
            "options:\n"
            "  --host H                 listen address (default 127.0.0.1)\n"
            "  --wal-writer-delay MS    background WAL flush period (default 200)\n"
            "  --sync-timeout MS        how long a remote_*/on commit waits for a replica\n"
            "                           before answering an error (default 5000)\n"
            "  --wal-segment-size BYTES segment size of a new WAL (default 16 MiB)\n"
            "  --max-output-memory BYTES replies queued for all clients together; over it the\n"
            "                           client with the most unread is closed (default 256 MiB;\n"
            "                           one client: at most 64 MiB)\n"
            "  --wal-truncate-corrupt   recovery cuts the log at corruption instead of refusing\n"
            "  --repl-throttle BYTES/S  send each replica at most that many WAL bytes per second,\n"
            "                           as a slow link would: asynchronous replicas fall behind\n"
            "                           and the lab shows what a failover then loses (0: none)\n"
            "  --sim-power-loss[=tear]  test mode: remember the last fdatasync'd LSN and, at\n"
            "                           start, cut the WAL back to it (tear: keep half of the\n"
            "                           next record); also env WIRELAB_SIM_POWER_LOSS=cut|tear\n");
}

static void on_signal(int sig)
{
    (void)sig;
    kv_stop_flag = 1;
}

int main(int argc, char **argv)
{
    const char *role = "primary", *host = "127.0.0.1", *dir = NULL, *primary = NULL;
    int port = 0, repl_port = -1, rc = 1;
    struct kv_server s = {.level = KV_ON,
                          .sync_timeout_ms = 5000,
                          .lfd = -1,
                          .repl_lfd = -1,
                          .up_fd = -1,
                          .out_total_max = KV_OUT_TOTAL_DEFAULT};
    struct wal_opts wo = {0};
    const char *sim = getenv("WIRELAB_SIM_POWER_LOSS");
    if (sim && *sim) wo.sim_power_loss = strcmp(sim, "tear") == 0 ? WAL_SIM_TEAR : WAL_SIM_CUT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1;
        if (!strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--wal-truncate-corrupt")) {
            wo.truncate_corrupt = 1;
            takes = 0;
        } else if (!strcmp(a, "--sim-power-loss") || !strcmp(a, "--sim-power-loss=cut")) {
            wo.sim_power_loss = WAL_SIM_CUT;
            takes = 0;
        } else if (!strcmp(a, "--sim-power-loss=tear")) {
            wo.sim_power_loss = WAL_SIM_TEAR;
            takes = 0;
        } else if (!v) {
            fprintf(stderr, "kv-server: %s needs a value (or unknown option)\n", a);
            return 2;
        } else if (!strcmp(a, "--role")) {
            role = v;
        } else if (!strcmp(a, "--host")) {
            host = v;
            if (net_parse_host(v) < 0) { /* a usage error, before the data dir is touched */
                fprintf(stderr, "kv-server: --host: '%s' is not an IPv4 address or localhost\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--port")) {
            port = net_parse_port(v);
        } else if (!strcmp(a, "--repl-port")) {
            repl_port = net_parse_port(v);
            if (repl_port < 0) port = -1;
        } else if (!strcmp(a, "--primary")) {
            primary = v;
        } else if (!strcmp(a, "--data-dir")) {
            dir = v;
        } else if (!strcmp(a, "--synchronous-commit")) {
            size_t k = 0;
            while (k < 5 && strcmp(v, kv_level_names[k]))
                k++;
            if (k == 5) {
                fprintf(stderr,
                        "kv-server: --synchronous-commit: '%s' is not off|local|"
                        "remote_write|on|remote_apply\n",
                        v);
                return 2;
            }
            s.level = (enum kv_level)k;
        } else if (!strcmp(a, "--wal-writer-delay") || !strcmp(a, "--sync-timeout")) {
            char *e;
            unsigned long ms = strtoul(v, &e, 10);
            if (*e || ms == 0 || ms > 3600000) {
                fprintf(stderr, "kv-server: %s: '%s' is not 1..3600000 ms\n", a, v);
                return 2;
            }
            if (a[2] == 'w')
                wo.writer_delay_ms = (unsigned)ms;
            else
                s.sync_timeout_ms = (unsigned)ms;
        } else if (!strcmp(a, "--repl-throttle")) {
            char *e;
            unsigned long long bps = strtoull(v, &e, 10);
            if (*e || v[0] == '-' || bps > ((unsigned long long)1 << 40)) {
                fprintf(stderr,
                        "kv-server: --repl-throttle: '%s' is not a byte rate (0..2^40 bytes/s)\n",
                        v);
                return 2;
            }
            s.repl_throttle = bps;
        } else if (!strcmp(a, "--max-output-memory")) {
            char *e;
            unsigned long long b = strtoull(v, &e, 10);
            if (*e || v[0] == '-' || b < 65536 || b > ((unsigned long long)1 << 40)) {
                fprintf(stderr, "kv-server: --max-output-memory: '%s' is not 65536..2^40 bytes\n",
                        v);
                return 2;
            }
            s.out_total_max = (size_t)b;
        } else if (!strcmp(a, "--wal-segment-size")) {
            wo.segment_size = strtoull(v, NULL, 10);
        } else {
            fprintf(stderr, "kv-server: unknown option %s (see --help)\n", a);
            return 2;
        }
        i += takes;
    }
    if (port < 0) {
        fprintf(stderr, "kv-server: bad port number\n");
        return 2;
    }
    if (!dir) {
        fprintf(stderr, "kv-server: --data-dir is required (see --help)\n");
        return 2;
    }
    if (strcmp(role, "primary") && strcmp(role, "replica")) {
        fprintf(stderr, "kv-server: --role must be primary or replica\n");
        return 2;
    }
    s.is_replica = role[0] == 'r';
    if (s.is_replica) {
        if (!primary ||
            net_parse_hostport(primary, s.primary_host, sizeof(s.primary_host), &s.primary_port) <
                0 ||
            s.primary_port <= 0) {
            fprintf(stderr, "kv-server: a replica needs --primary HOST:PORT\n");
            return 2;
        }
    } else if (s.level > KV_LOCAL && repl_port < 0) {
        fprintf(stderr,
                "kv-server: --synchronous-commit %s waits for a replica: give --repl-port\n",
                kv_level_names[s.level]);
        return 2;
    }

    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    char err[1024];
    s.loop = ev_create();
    s.kv = kvs_create();
    s.clients = calloc(EV_MAX_FDS, sizeof(*s.clients));
    s.maxwaiting = KV_MAX_WAITING;
    s.waiting = calloc(s.maxwaiting, sizeof(*s.waiting));
    s.flushq = calloc(EV_MAX_FDS, sizeof(*s.flushq));
    s.scratch = malloc(KV_SCRATCH);
    s.data_dir = dir;
    if (!s.loop || !s.kv || !s.clients || !s.waiting || !s.flushq || !s.scratch) {
        kv_logf("out of memory");
        goto out;
    }
    wo.on_progress = wal_progress;
    wo.notify_write = s.is_replica; /* its write LSN is what remote_write waits for */
    wo.progress_arg = s.loop;
    uint64_t t0 = ev_now_ms();
    s.wal = wal_open(dir, &wo, kv_replay, &s, err, sizeof(err));
    if (!s.wal) {
        kv_logf("cannot open the WAL: %s", err);
        goto out;
    }
    kv_logf("recovered %zu keys from the WAL in %s up to LSN %" PRIu64 " in %" PRIu64 " ms",
            kvs_count(s.kv), dir, wal_insert_lsn(s.wal), ev_now_ms() - t0);
    s.r_apply = wal_insert_lsn(s.wal);
    ev_on_wake(s.loop, on_wake, &s);
    int lfd = net_listen(host, port, 511, 1, err, sizeof(err));
    if (lfd < 0) {
        kv_logf("%s", err);
        goto out;
    }
    s.lfd = lfd;
    ev_watch(s.loop, lfd, EV_READ, on_accept, &s);
    net_announce("listening", lfd);
    if (!s.is_replica && repl_port >= 0) {
        if (kv_repl_listen(&s, host, repl_port, err, sizeof(err)) < 0) {
            kv_logf("%s", err);
            goto out;
        }
        net_announce("replication listening", s.repl_lfd);
    }
    if (s.is_replica) kv_repl_replica_start(&s);
    ev_timer_add(s.loop, 20, on_tick, &s);
    ev_run(s.loop);
    rc = 0;
out:
    for (int fd = 0; s.clients && fd < EV_MAX_FDS; fd++)
        if (s.clients[fd]) client_close(&s, s.clients[fd]);
    kv_repl_close_all(&s);
    wal_close(s.wal); /* writes and flushes what is buffered */
    kvs_destroy(s.kv);
    free(s.clients);
    free(s.waiting);
    free(s.flushq);
    free(s.scratch);
    ev_destroy(s.loop);
    return rc;
}
