/* kv-server: a key-value store whose every write goes through the WAL, speaking RESP2
 * so redis-cli and redis-benchmark are its clients.  This file is options and wiring:
 * clients are io/rsrv with the command table of kv_cmds.c; a primary streams its WAL
 * with replication/walsnd, a replica receives it with replication/walrcv; the commit
 * levels (what each write's reply waits for) are kv_commit.c.
 *
 * One event-loop thread serves everything; the WAL's writer thread does write+fdatasync
 * and wakes the loop (ev_wake) when an LSN became written or durable: the loop then
 * streams it to replicas (primary) or applies and acknowledges it (replica), and
 * releases the replies whose level now holds.  Replies leave at the end of each round. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/net.h"
#include "labs/05-wal-replication/kv_server.h"

static volatile sig_atomic_t kv_stop_flag;

static int on_open(struct rsrv_client *c)
{
    struct kv_client *kc = calloc(1, sizeof(*kc));
    rsrv_set_data(c, kc);
    return kc ? 0 : -1;
}

static void on_close(struct rsrv_client *c)
{
    free(rsrv_data(c)); /* its waits are dropped by rsrv_fill, which finds it gone */
}

static int allow(struct rsrv_client *c, const struct rsrv_cmd *cmd)
{
    struct kv_server *s = rsrv_app(c);
    if (!(cmd->flags & RSRV_CMD_WRITE) || !s->is_replica) return 0;
    resp_add_error(rsrv_reply(c), "READONLY You can't write against a read only replica.");
    return -1;
}

static void before_flush(void *arg)
{
    kv_commit_flush(arg);
}

static void on_ack(void *arg)
{
    kv_commit_release(arg); /* a replica moved: remote levels and WAIT may hold now */
}

/* The WAL writer woke the loop (or a signal did). */
static void on_wake(struct ev_loop *l, void *arg)
{
    struct kv_server *s = arg;
    if (kv_stop_flag) {
        ev_stop(l);
        return;
    }
    if (s->rcv) walrcv_progress(s->rcv); /* apply what is flushed, acknowledge */
    if (s->snd) walsnd_progress(s->snd); /* stream what is flushed */
    kv_commit_release(s);
}

static void on_tick(struct ev_loop *l, uint64_t id, void *arg)
{
    struct kv_server *s = arg;
    if (kv_stop_flag) {
        ev_stop(l);
        return;
    }
    kv_commit_release(s); /* deadlines */
    kv_ckpt_tick(s);
    if (s->snd) walsnd_progress(s->snd); /* a throttled link carries its next 20 ms */
    ev_timer_add(l, WALSND_TICK_MS, on_tick, s);
}

static void wal_progress(void *loop)
{
    ev_wake(loop); /* on the WAL writer thread: only wake the loop */
}

static void on_signal(int sig)
{
    kv_stop_flag = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: kv-server --role primary --port P [--repl-port R] --data-dir DIR\n"
            "                 [--synchronous-commit off|local|remote_write|on|remote_apply]\n"
            "       kv-server --role replica --port P --primary HOST:R --data-dir DIR\n"
            "options:\n"
            "  --host H                 listen address (default 127.0.0.1)\n"
            "  --synchronous-commit L   what a write's reply waits for (default on)\n"
            "  --wal-writer-delay MS    background WAL flush period (default 200)\n"
            "  --sync-timeout MS        how long a remote_*/on commit waits for a replica\n"
            "                           before answering an error (default 5000)\n"
            "  --wal-segment-size BYTES segment size of a new WAL (default 16 MiB)\n"
            "  --checkpoint-wal-size BYTES  a checkpoint (a snapshot of the map, then the WAL\n"
            "                           before it removed) after this much WAL (default 64 MiB;\n"
            "                           0: never).  The WAL a streaming replica still needs is\n"
            "                           kept; a replica that was away may find it gone\n"
            "  --max-output-memory BYTES replies queued for all clients together; over it the\n"
            "                           client with the most unread is closed (default 256 MiB;\n"
            "                           one client: at most 64 MiB)\n"
            "  --wal-truncate-damaged   recovery cuts a damaged log at the damage (and says what\n"
            "                           it cut) instead of refusing to start\n"
            "  --repl-throttle BYTES/S  send each replica at most that many WAL bytes per second,\n"
            "                           as a slow link would: asynchronous replicas fall behind\n"
            "                           and the lab shows what a failover then loses (0: none)\n"
            "  --sim-power-loss[=tear]  test mode: remember the last fdatasync'd LSN and, at\n"
            "                           start, cut the WAL back to it (tear: keep half of the\n"
            "                           next record); also env WIRELAB_SIM_POWER_LOSS=cut|tear\n");
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "kv-server: error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\ntry 'kv-server --help'\n");
    va_end(ap);
    return 2;
}

/* A decimal in [lo, hi]; -1 otherwise. */
static int parse_num(const char *v, unsigned long long lo, unsigned long long hi,
                     unsigned long long *out)
{
    char *e;
    errno = 0;
    if (*v < '0' || *v > '9') return -1;
    unsigned long long n = strtoull(v, &e, 10);
    if (errno || *e || n < lo || n > hi) return -1;
    *out = n;
    return 0;
}

struct kv_opts {
    const char *role, *host, *dir, *primary;
    int port, repl_port;
    uint64_t throttle;
    size_t out_total;
    char primary_host[64];
    int primary_port;
};

/* Options into o, s and wo; 0, or the exit status of a usage error. */
static int parse_args(int argc, char **argv, struct kv_opts *o, struct kv_server *s,
                      struct wal_opts *wo)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long long n;
        if (!strcmp(a, "--wal-truncate-damaged")) {
            wo->truncate_corrupt = 1;
            continue;
        } else if (!strcmp(a, "--sim-power-loss") || !strcmp(a, "--sim-power-loss=cut")) {
            wo->sim_power_loss = WAL_SIM_CUT;
            continue;
        } else if (!strcmp(a, "--sim-power-loss=tear")) {
            wo->sim_power_loss = WAL_SIM_TEAR;
            continue;
        } else if (!v) {
            return usage_error("%s needs a value (or is unknown)", a);
        } else if (!strcmp(a, "--role")) {
            if (strcmp(v, "primary") && strcmp(v, "replica"))
                return usage_error("--role must be primary or replica");
            o->role = v;
        } else if (!strcmp(a, "--host")) { /* a usage error before the data dir is touched */
            if (net_parse_host(v) < 0)
                return usage_error("--host: '%s' is not an IPv4 address or localhost", v);
            o->host = v;
        } else if (!strcmp(a, "--port")) {
            if ((o->port = net_parse_port(v)) < 0)
                return usage_error("--port: bad port number '%s'", v);
        } else if (!strcmp(a, "--repl-port")) {
            if ((o->repl_port = net_parse_port(v)) < 0)
                return usage_error("--repl-port: bad port number '%s'", v);
        } else if (!strcmp(a, "--primary")) {
            if (net_parse_hostport(v, o->primary_host, sizeof(o->primary_host), &o->primary_port) <
                    0 ||
                o->primary_port <= 0)
                return usage_error("--primary: '%s' is not HOST:PORT", v);
            o->primary = v;
        } else if (!strcmp(a, "--data-dir")) {
            o->dir = v;
        } else if (!strcmp(a, "--synchronous-commit")) {
            size_t k = 0;
            while (k < 5 && strcmp(v, kv_level_names[k]))
                k++;
            if (k == 5)
                return usage_error("--synchronous-commit: '%s' is not "
                                   "off|local|remote_write|on|remote_apply",
                                   v);
            s->level = (enum kv_level)k;
        } else if (!strcmp(a, "--wal-writer-delay")) {
            if (parse_num(v, 1, 3600000, &n) < 0)
                return usage_error("%s: '%s' is not 1..3600000 ms", a, v);
            wo->writer_delay_ms = (unsigned)n;
        } else if (!strcmp(a, "--sync-timeout")) {
            if (parse_num(v, 1, 3600000, &n) < 0)
                return usage_error("%s: '%s' is not 1..3600000 ms", a, v);
            s->sync_timeout_ms = (unsigned)n;
        } else if (!strcmp(a, "--repl-throttle")) {
            if (parse_num(v, 0, 1ull << 40, &n) < 0)
                return usage_error("--repl-throttle: '%s' is not a byte rate (0..2^40 bytes/s)", v);
            o->throttle = n;
        } else if (!strcmp(a, "--max-output-memory")) {
            if (parse_num(v, 65536, 1ull << 40, &n) < 0)
                return usage_error("--max-output-memory: '%s' is not 65536..2^40 bytes", v);
            o->out_total = (size_t)n;
        } else if (!strcmp(a, "--checkpoint-wal-size")) {
            if (parse_num(v, 0, 1ull << 50, &n) < 0)
                return usage_error("--checkpoint-wal-size: '%s' is not a byte count", v);
            s->ckpt_every = n;
        } else if (!strcmp(a, "--wal-segment-size")) {
            if (parse_num(v, wal_segment_min(), 1ull << 40, &n) < 0 || n % 4096)
                return usage_error("--wal-segment-size: '%s' is not a multiple of 4096 of at "
                                   "least %zu bytes",
                                   v, wal_segment_min());
            wo->segment_size = (size_t)n;
        } else {
            return usage_error("unknown option %s", a);
        }
        i++;
    }
    if (!o->dir) return usage_error("--data-dir is required");
    s->is_replica = !strcmp(o->role, "replica");
    if (s->is_replica && !o->primary) return usage_error("a replica needs --primary HOST:PORT");
    if (!s->is_replica && s->level > KV_LOCAL && o->repl_port < 0)
        return usage_error("--synchronous-commit %s waits for a replica: give --repl-port",
                           kv_level_names[s->level]);
    return 0;
}

int main(int argc, char **argv)
{
    struct kv_opts o = {
        .role = "primary", .host = "127.0.0.1", .repl_port = -1, .out_total = (size_t)256 << 20};
    struct kv_server s = {.level = KV_ON, .sync_timeout_ms = 5000, .ckpt_every = 64u << 20};
    struct wal_opts wo = {0};
    int rc = 1;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        }
    const char *sim = getenv("WIRELAB_SIM_POWER_LOSS");
    if (sim && *sim) wo.sim_power_loss = strcmp(sim, "tear") == 0 ? WAL_SIM_TEAR : WAL_SIM_CUT;
    if ((rc = parse_args(argc, argv, &o, &s, &wo)) != 0) return rc;
    rc = 1;

    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    char err[1024];
    dict_init(&s.map);
    resp_out_init(&s.rscratch, (size_t)64 << 20);
    s.dir = o.dir;
    struct rsrv_config cfg = {
        .name = "kv-server",
        .cmds = kv_commands,
        .ncmds = kv_ncommands,
        .limits = {.max_bulk = WAL_MAX_PAYLOAD - 64},
        .in_limit = (size_t)8 << 20,
        .out_limit = (size_t)64 << 20,
        .out_total_limit = o.out_total,
        .before_flush = before_flush,
        .allow = allow,
        .on_open = on_open,
        .on_close = on_close,
        .app = &s,
    };
    if (!(s.loop = ev_create()) || !(s.srv = rsrv_create(s.loop, &cfg))) {
        fprintf(stderr, "kv-server: out of memory\n");
        goto out;
    }
    wo.on_progress = wal_progress;
    wo.notify_write = s.is_replica; /* its write LSN is what remote_write waits for */
    wo.progress_arg = s.loop;
    uint64_t t0 = ev_now_ms();
    if (kv_snap_load(&s, err, sizeof(err)) < 0) {
        fprintf(stderr, "kv-server: cannot load the checkpoint: %s\n", err);
        goto out;
    }
    s.wal = wal_open(o.dir, &wo, kv_apply_record, &s, err, sizeof(err));
    if (!s.wal) {
        fprintf(stderr, "kv-server: cannot open the WAL: %s\n", err);
        goto out;
    }
    if (wal_insert_lsn(s.wal) < s.snap_lsn) { /* records the snapshot holds left the log */
        fprintf(stderr,
                "kv-server: cannot open the WAL: it ends at LSN %" PRIu64 ", before the "
                "checkpoint's LSN %" PRIu64 ": the log lost records it had flushed\n",
                wal_insert_lsn(s.wal), s.snap_lsn);
        goto out;
    }
    s.visible_lsn = wal_insert_lsn(s.wal);
    fprintf(stderr,
            "kv-server: recovered %zu keys from the WAL in %s up to LSN %" PRIu64 " in %" PRIu64
            " ms\n",
            s.map.n, o.dir, wal_insert_lsn(s.wal), ev_now_ms() - t0);
    ev_on_wake(s.loop, on_wake, &s);
    int lfd = rsrv_listen(s.srv, o.host, o.port, err, sizeof(err));
    if (lfd < 0) {
        fprintf(stderr, "kv-server: %s\n", err);
        goto out;
    }
    net_announce("listening", lfd);
    if (s.is_replica) {
        struct walrcv_config rc_cfg = {.name = "kv-server",
                                       .host = o.primary_host,
                                       .port = o.primary_port,
                                       .apply = kv_apply_record,
                                       .arg = &s};
        if (!(s.rcv = walrcv_create(s.loop, s.wal, &rc_cfg))) {
            fprintf(stderr, "kv-server: out of memory\n");
            goto out;
        }
        walrcv_start(s.rcv);
    } else if (o.repl_port >= 0) {
        struct walsnd_config sc = {
            .name = "kv-server", .throttle = o.throttle, .on_ack = on_ack, .arg = &s};
        int rfd;
        if (!(s.snd = walsnd_create(s.loop, s.wal, &sc)) ||
            (rfd = walsnd_listen(s.snd, o.host, o.repl_port, err, sizeof(err))) < 0) {
            fprintf(stderr, "kv-server: %s\n", s.snd ? err : "out of memory");
            goto out;
        }
        net_announce("replication listening", rfd);
    }
    ev_timer_add(s.loop, WALSND_TICK_MS, on_tick, &s);
    ev_run(s.loop);
    rc = 0;
out:
    rsrv_destroy(s.srv);
    kv_ckpt_stop(&s);
    walsnd_destroy(s.snd);
    walrcv_destroy(s.rcv);
    wal_close(s.wal); /* writes and flushes what is buffered */
    kv_commit_free(&s);
    dict_free(&s.map, free);
    ev_destroy(s.loop);
    return rc;
}
