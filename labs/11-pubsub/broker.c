/* broker: a Redis-protocol publish/subscribe broker with durable streams and consumer
 * groups, single-threaded on io/ev.  This file is options and wiring; the connection
 * layer is io/rsrv, the commands are the table in cmds.c.
 *
 * The story of one round: rsrv reads each client's bytes, parses RESP frames and runs
 * each command to completion (cmds.c, xcmd.c, ...), which appends replies.  At the end
 * of the round (rsrv's before-sleep hook) before_flush() retries readers blocked on keys
 * that got entries and asks the WAL (blog.c) for one group commit; then rsrv writes
 * every output whose log records are written (a reply waits for its record: rsrv_gate),
 * the others once the WAL writer wakes the loop.  A subscriber that cannot keep up is cut
 * by the hard/soft/seconds rule, never waited for; a client that pipelines faster than
 * it reads is slowed down to its reading speed.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/cli.h"
#include "io/net.h"
#include "labs/11-pubsub/blog.h"
#include "labs/11-pubsub/broker.h"
#include "replication/ckpt.h"

#define CKPT_TICK_MS  100
#define CKPT_RETRY_MS 1000

static volatile sig_atomic_t g_stop; /* set by SIGINT/SIGTERM, read on the loop */
static struct ev_loop *g_loop;       /* for the handler: the signal may land on the WAL
                                      * writer thread, so it wakes the loop explicitly */

static int on_open(struct rsrv_client *c)
{
    struct bclient *bc = calloc(1, sizeof(*bc));
    if (!bc) return -1;
    bc->c = c;
    pubsub_sub_init(&bc->sub);
    rsrv_set_data(c, bc);
    return 0;
}

static void on_close(struct rsrv_client *c)
{
    struct broker *b = rsrv_app(c);
    struct bclient *bc = rsrv_data(c);
    block_release(bc);
    pubsub_sub_release(&b->ps, &bc->sub);
    free(bc->name);
    free(bc);
}

/* Redis refuses writes it cannot persist (MISCONF); the broker does once its log failed. */
static int allow(struct rsrv_client *c, const struct rsrv_cmd *cmd)
{
    struct broker *b = rsrv_app(c);
    if (!(cmd->flags & RSRV_CMD_WRITE) || !b->log || !blog_failed(b->log)) return 0;
    resp_add_error(rsrv_reply(c), "MISCONF the broker's log failed: writes are refused");
    return -1;
}

static void before_flush(void *arg)
{
    struct broker *b = arg;
    block_serve_ready(b);
    if (b->log) blog_commit(b->log); /* one flush request for the whole round */
}

static uint64_t durable_lsn(void *arg)
{
    struct broker *b = arg;
    return blog_durable_lsn(b->log);
}

/* Woken by a signal or by the WAL writer (records written or durable): the end of the
 * round lets out what the log now holds. */
static void on_wake(struct ev_loop *loop, void *arg)
{
    if (g_stop) ev_stop(loop);
}

/* Checkpoints: one starts when --checkpoint-wal-size bytes of log were written since the
 * last; the one in progress is moved along (replication/ckpt.h). */
static void ckpt_tick(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct broker *b = arg;
    char msg[700];
    uint64_t end = wal_insert_lsn(blog_wal(b->log));
    if (!b->ckpt && b->ckpt_every && end - b->snap_lsn >= b->ckpt_every &&
        ev_now_ms() >= b->ckpt_retry_ms && !blog_failed(b->log)) {
        b->ckpt_lsn = end;
        if (!(b->ckpt = bsnap_start(b, b->dir))) {
            fprintf(stderr, "broker: checkpoint: %s\n", strerror(errno));
            b->ckpt_retry_ms = ev_now_ms() + CKPT_RETRY_MS;
        }
    } else if (b->ckpt) {
        int r = ckpt_poll(b->ckpt, UINT64_MAX, msg, sizeof(msg)); /* no replicas to keep for */
        if (r != 0) {
            b->ckpt = NULL;
            fprintf(stderr, "broker: %s\n", msg);
            if (r > 0 || strstr(msg, " written, ")) b->snap_lsn = b->ckpt_lsn;
            if (r < 0) b->ckpt_retry_ms = ev_now_ms() + CKPT_RETRY_MS;
        }
    }
    ev_timer_add(loop, CKPT_TICK_MS, ckpt_tick, b);
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

/* The log loader: each record is a command, run through the table by a client with no
 * socket whose replies go nowhere. */
static int replay_record(void *arg, int argc, const char **argv, const size_t *argl)
{
    rsrv_replay(arg, argc, argv, argl);
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
           "  --appendfsync always|everysec    when a reply leaves (default everysec):\n"
           "                                   always: once its log records are fdatasync'd:\n"
           "                                   nothing acknowledged is lost, even on power loss;\n"
           "                                   everysec: the reply to XADD, XACK, XGROUP, DEL,\n"
           "                                   FLUSHALL once its record is written (survives\n"
           "                                   kill -9; the fdatasync follows at once, so power\n"
           "                                   loss can take one group commit); deliveries\n"
           "                                   (XREADGROUP, XCLAIM, XAUTOCLAIM) do not wait: a\n"
           "                                   kill -9 can undo one, and the entry is delivered\n"
           "                                   again, never lost\n"
           "  --pubsub-buffer-limit HARD SOFT SECS  cut a subscriber whose pending output\n"
           "                                   reaches HARD, or stays above SOFT for SECS\n"
           "                                   (default 32mb 8mb 60, Redis's pubsub class)\n"
           "  --max-stream-memory SIZE         bytes of stream entries past which XADD is refused\n"
           "                                   (default 1gb); it bounds new writes only: a\n"
           "                                   restart replays every entry the log holds\n"
           "  --wal-segment-size SIZE          segment size of a new log (default 16mb)\n"
           "  --checkpoint-wal-size SIZE       a checkpoint (the streams and groups written\n"
           "                                   as commands, then the log before it removed)\n"
           "                                   after this much log (default 64mb; 0: never)\n"
           "  --wal-truncate-damaged           recovery cuts a damaged log at the damage (and\n"
           "                                   says what it cut) instead of refusing to start\n"
           "  --max-output-memory SIZE         replies queued for all clients together; over it\n"
           "                                   the client with the most unread is closed\n"
           "                                   (default 1gb; one client: at most 1gb)\n"
           "  --list-commands                  print the command table, one name a line\n"
           "  --help                           this text\n");
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *dir = NULL;
    int port = 6380;
    enum blog_fsync policy = BLOG_EVERYSEC;
    int truncate_damaged = 0;
    size_t segsize = 0;
    struct broker b;
    memset(&b, 0, sizeof(b));
    struct rsrv_config cfg = {
        .name = "broker",
        .cmds = broker_commands,
        .ncmds = broker_ncommands,
        .in_limit = BROKER_IN_LIMIT,
        .out_limit = BROKER_OUT_LIMIT,
        .out_total_limit = (size_t)1 << 30,
        .pubsub_limit = {32u << 20, 8u << 20, 60},
        .max_clients = BROKER_MAX_CLIENTS,
        .before_flush = before_flush,
        .allow = allow,
        .on_open = on_open,
        .on_close = on_close,
        .app = &b,
    };
    b.max_stream_bytes = (size_t)1 << 30;
    b.ckpt_every = (uint64_t)64 << 20;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = argc - i - 1;
        if (!strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--list-commands")) {
            for (size_t k = 0; k < broker_ncommands; k++)
                printf("%s\n", broker_commands[k].name);
            return 0;
        } else if (!strcmp(a, "--host") && more >= 1) {
            if (net_parse_host(host = argv[++i]) < 0) {
                cli_usage_error("broker", "bad --host '%s' (an IPv4 address or localhost)", host);
            }
        } else if (!strcmp(a, "--port") && more >= 1) {
            if ((port = net_parse_port(argv[++i])) < 0) {
                cli_usage_error("broker", "bad --port '%s'", argv[i]);
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
                cli_usage_error("broker", "--appendfsync wants always or everysec");
            }
        } else if (!strcmp(a, "--pubsub-buffer-limit") && more >= 3) {
            if (oblimit_parse(argv[i + 1], argv[i + 2], argv[i + 3], &cfg.pubsub_limit) < 0) {
                cli_usage_error("broker", "bad --pubsub-buffer-limit (want e.g. 32mb 8mb 60)");
            }
            i += 3;
        } else if (!strcmp(a, "--wal-segment-size") && more >= 1) {
            if (oblimit_parse_size(argv[++i], &segsize) < 0 || segsize < wal_segment_min() ||
                segsize % 4096) {
                fprintf(stderr,
                        "broker: bad --wal-segment-size '%s' (a multiple of 4096, at "
                        "least %zu)\n",
                        argv[i], wal_segment_min());
                return 2;
            }
        } else if (!strcmp(a, "--checkpoint-wal-size") && more >= 1) {
            size_t n;
            if (oblimit_parse_size(argv[++i], &n) < 0) {
                fprintf(stderr, "broker: bad --checkpoint-wal-size '%s'\n", argv[i]);
                return 2;
            }
            b.ckpt_every = n;
        } else if (!strcmp(a, "--wal-truncate-damaged")) {
            truncate_damaged = 1;
        } else if (!strcmp(a, "--max-stream-memory") && more >= 1) {
            if (oblimit_parse_size(argv[++i], &b.max_stream_bytes) < 0) {
                cli_usage_error("broker", "bad --max-stream-memory '%s'", argv[i]);
            }
        } else if (!strcmp(a, "--max-output-memory") && more >= 1) {
            if (oblimit_parse_size(argv[++i], &cfg.out_total_limit) < 0 ||
                cfg.out_total_limit < 65536) {
                cli_usage_error("broker", "bad --max-output-memory '%s' (at least 64kb)", argv[i]);
            }
        } else {
            cli_usage_error("broker", "unknown or incomplete option '%s'", a);
        }
    }
    signal(SIGPIPE, SIG_IGN);
    dict_init(&b.keys);
    dict_init(&b.waiters);
    pubsub_init(&b.ps);
    int rc = 1;
    char err[256];
    struct ev_loop *loop = ev_create();
    b.gate_deliveries = policy == BLOG_ALWAYS;
    if (dir) cfg.durable_lsn = durable_lsn;
    if (!loop || !(b.srv = rsrv_create(loop, &cfg))) {
        fprintf(stderr, "broker: out of memory\n");
        goto out;
    }
    if (dir) {
        uint64_t t0 = ev_now_ms(), ncmd;
        b.dir = dir;
        int r = bsnap_load(dir, replay_record, b.srv, &b.snap_lsn, &ncmd, err, sizeof(err));
        if (r < 0) {
            fprintf(stderr, "broker: cannot load the checkpoint: %s\n", err);
            goto out;
        }
        if (r > 0)
            fprintf(stderr,
                    "broker: loaded the checkpoint in %s: %llu commands (%zu streams) at LSN "
                    "%llu\n",
                    dir, (unsigned long long)ncmd, b.keys.n, (unsigned long long)b.snap_lsn);
        struct blog_config lc = {.dir = dir,
                                 .policy = policy,
                                 .segsize = segsize,
                                 .truncate_damaged = truncate_damaged,
                                 .skip_below = b.snap_lsn,
                                 .replay = replay_record,
                                 .arg = b.srv,
                                 .wake = log_progress,
                                 .wake_arg = loop};
        b.log = blog_open(&lc, err, sizeof(err));
        if (!b.log) {
            fprintf(stderr, "broker: cannot open the log in %s: %s\n", dir, err);
            goto out;
        }
        fprintf(stderr, "broker: replayed %llu log records (%zu streams) in %llu ms\n",
                (unsigned long long)blog_records(b.log), b.keys.n,
                (unsigned long long)(ev_now_ms() - t0));
        if (b.stream_bytes > b.max_stream_bytes)
            fprintf(stderr,
                    "broker: the log holds %zu bytes of stream entries, over "
                    "--max-stream-memory %zu: all kept; XADD is refused until DEL brings "
                    "them under it\n",
                    b.stream_bytes, b.max_stream_bytes);
    }
    int lfd = rsrv_listen(b.srv, host, port, err, sizeof(err));
    if (lfd < 0) {
        fprintf(stderr, "broker: %s\n", err);
        goto out;
    }
    ev_on_wake(loop, on_wake, &b);
    g_loop = loop;
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (b.log && wal_insert_lsn(blog_wal(b.log)) < b.snap_lsn) {
        fprintf(stderr,
                "broker: cannot open the log: it ends at LSN %llu, before the checkpoint's LSN "
                "%llu: the log lost records it had flushed\n",
                (unsigned long long)wal_insert_lsn(blog_wal(b.log)),
                (unsigned long long)b.snap_lsn);
        goto out;
    }
    if (b.log) ev_timer_add(loop, CKPT_TICK_MS, ckpt_tick, &b);
    net_announce("listening", lfd);
    rc = ev_run(loop) < 0 ? 1 : 0;
    fprintf(stderr, "broker: shutting down\n");
out:
    rsrv_destroy(b.srv); /* every client closed: their subscriptions and waits released */
    ckpt_abort(b.ckpt);
    blog_close(b.log);
    dict_free(&b.keys, xcmd_free_stream);
    dict_free(&b.waiters, NULL);
    for (size_t i = 0; i < b.nready; i++)
        free(b.ready[i].p);
    free(b.ready);
    pubsub_free(&b.ps);
    ev_destroy(loop);
    return rc;
}
