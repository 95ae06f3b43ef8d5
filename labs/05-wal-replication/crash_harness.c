/* crash-harness: what does each commit level lose when a process dies?
 *
 * Per trial: start a primary (and a replica), let several client threads write unique
 * keys and record every reply (ok, error, no answer, with the time of the answer),
 * SIGKILL a process at a random moment, then restart the primary, promote the replica,
 * or restart the killed replica, read every key back and classify each write:
 *   found / LOST (acknowledged but missing) / error / indeterminate (no answer).
 * Prints a loss table; exits 1 when an acknowledged write was lost (or, with
 * --max-loss-age-ms, when one acknowledged longer than that before the kill was lost),
 * or when a restarted replica's WAL is not a prefix of the primary's.
 * Asynchronous replication (promote at off/local, with the primary's --repl-throttle so
 * the replica lags): INFO replication is sampled just before the kill, and every lost
 * write is looked up in the killed primary's WAL; --allow-async-loss passes when each one
 * lies past the flush LSN the replica had confirmed (the lag), acknowledged within
 * lag_ms of the kill, or (off) died in the primary's buffer. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/cli.h"
#include "io/ev.h"
#include "labs/05-wal-replication/harness_client.h"
#include "labs/05-wal-replication/harness_wal.h"
#include "replication/wal.h"

#define H_MAX_CLIENTS 16
#define H_MAX_WRITES  200000 /* per client and trial */

enum { HW_SENT, HW_OK, HW_ERR };

struct h_opts {
    const char *server, *level, *scenario, *tmp, *power_loss, *throttle;
    int trials, clients, kill_min, kill_max, writer_delay, max_loss_age, async_loss, keep;
    unsigned seed;
};

struct h_client {
    int id, trial, port;
    atomic_int *stop;
    unsigned char *state;
    uint64_t *ack_ms;
    uint32_t *lat_us; /* send to acknowledgement, acknowledged writes */
    uint64_t *lsn;    /* where the write is in the killed primary's WAL (promote) */
    int n;
};

struct h_proc {
    pid_t pid;
    int port, repl_port;
};

static void *client_main(void *arg)
{
    struct h_client *c = arg;
    struct hc h;
    if (hc_connect(&h, c->port, 8000) < 0) return NULL;
    char key[64];
    while (c->n < H_MAX_WRITES && !atomic_load(c->stop)) {
        snprintf(key, sizeof(key), "t%d:c%d:%d", c->trial, c->id, c->n);
        const char *argv[] = {"SET", key, key};
        c->state[c->n] = HW_SENT; /* recorded before it is sent: no answer = indeterminate */
        int i = c->n++;
        struct hc_reply r;
        uint64_t t0 = ev_now_ns();
        if (hc_send(&h, 3, argv) < 0 || hc_read(&h, &r) < 0) break;
        c->state[i] = r.type == '+' ? HW_OK : HW_ERR;
        c->ack_ms[i] = ev_now_ms();
        c->lat_us[i] = (uint32_t)((ev_now_ns() - t0) / 1000);
    }
    hc_close(&h);
    return NULL;
}

/* Starts the server; reads its "listening on" line(s) from stdout. */
/* The servers alive now, so that SIGINT and SIGTERM stop them too: the harness's one
 * piece of process-wide state, here in its main file. */
#define H_MAX_LIVE 8
static volatile sig_atomic_t h_stopping;
static volatile pid_t h_live[H_MAX_LIVE];

static void live_set(pid_t old, pid_t pid)
{
    for (int i = 0; i < H_MAX_LIVE; i++)
        if (h_live[i] == old) {
            h_live[i] = pid;
            return;
        }
}

/* SIGINT/SIGTERM: kill every server now (kill is async-signal-safe); the trial in
 * progress then fails fast, no new server starts, and main removes the scratch data. */
static void on_stop_signal(int sig)
{
    (void)sig;
    h_stopping = 1;
    for (int i = 0; i < H_MAX_LIVE; i++)
        if (h_live[i] > 0) kill(h_live[i], SIGKILL);
}

static int spawn(struct h_proc *p, char *const argv[], const char *log, int want_repl)
{
    int fds[2];
    if (h_stopping) return -1;
    if (pipe(fds) < 0) return -1;
    p->pid = fork();
    if (p->pid < 0) return -1;
    if (p->pid > 0) {
        live_set(0, p->pid);
        if (h_stopping) kill(p->pid, SIGKILL); /* the signal came between fork and here */
    }
    if (p->pid == 0) {
        dup2(fds[1], 1);
        if (!freopen(log, "a", stderr)) _exit(126);
        close(fds[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    char buf[512];
    size_t len = 0;
    p->port = p->repl_port = 0;
    uint64_t deadline = ev_now_ms() + 15000;
    while ((!p->port || (want_repl && !p->repl_port)) && ev_now_ms() < deadline) {
        struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
        if (poll(&pfd, 1, 200) <= 0) continue;
        ssize_t r = read(fds[0], buf + len, sizeof(buf) - 1 - len);
        if (r <= 0) break;
        len += (size_t)r;
        buf[len] = 0;
        char *q;
        if (!p->port && (q = strstr(buf, "\nlistening on 127.0.0.1:"))) p->port = atoi(q + 24);
        if (!p->port && !strncmp(buf, "listening on 127.0.0.1:", 23)) p->port = atoi(buf + 23);
        if ((q = strstr(buf, "replication listening on 127.0.0.1:"))) p->repl_port = atoi(q + 35);
    }
    close(fds[0]);
    if (!p->port || (want_repl && !p->repl_port)) {
        fprintf(stderr, "crash-harness: %s did not start; see %s\n", argv[0], log);
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        live_set(p->pid, 0);
        return -1;
    }
    return 0;
}

static void stop_proc(struct h_proc *p, int sig)
{
    if (p->pid > 0) {
        kill(p->pid, sig);
        waitpid(p->pid, NULL, 0);
        live_set(p->pid, 0);
    }
    p->pid = 0;
}

static int info(int port, const char *field, char *out, size_t cap)
{
    struct hc h;
    struct hc_reply r;
    const char *argv[] = {"INFO", "replication"};
    int rc = -1;
    if (hc_connect(&h, port, 3000) == 0 && hc_send(&h, 2, argv) == 0 && hc_read(&h, &r) == 0)
        rc = hc_info_field(r.str, field, out, cap);
    hc_close(&h);
    return rc;
}

/* The primary's INFO replication just before the kill: what the replica had confirmed. */
struct h_lag {
    int ok;
    uint64_t at_ms, p_flush, r_flush, lag_bytes, lag_ms;
};

static void lag_sample(int port, struct h_lag *g)
{
    struct hc h;
    struct hc_reply r;
    const char *argv[] = {"INFO", "replication"};
    char v[256], pf[32], *f, *b, *m;
    memset(g, 0, sizeof(*g));
    g->at_ms = ev_now_ms();
    if (hc_connect(&h, port, 1000) == 0 && hc_send(&h, 2, argv) == 0 && hc_read(&h, &r) == 0 &&
        r.type == '$' && hc_info_field(r.str, "wal_flush_lsn", pf, sizeof(pf)) == 0 &&
        hc_info_field(r.str, "slave0", v, sizeof(v)) == 0 && (f = strstr(v, "flush_lsn=")) &&
        (b = strstr(v, "lag_bytes=")) && (m = strstr(v, "lag_ms="))) {
        g->r_flush = strtoull(f + 10, NULL, 10);
        g->lag_bytes = strtoull(b + 10, NULL, 10);
        g->lag_ms = strtoull(m + 7, NULL, 10);
        g->p_flush = strtoull(pf, NULL, 10);
        g->ok = 1;
    }
    hc_close(&h);
}

/* Waits until the primary has a streaming replica whose apply LSN equals its flush LSN
 * (catch_up) or just one connected replica. */
static int wait_replica(int port, int catch_up, int ms)
{
    uint64_t end = ev_now_ms() + (uint64_t)ms;
    char v[256], f[64];
    while (ev_now_ms() < end) {
        if (info(port, "connected_slaves", v, sizeof(v)) == 0 && atoi(v) >= 1) {
            if (!catch_up) return 0;
            if (info(port, "slave0", v, sizeof(v)) == 0 &&
                info(port, "wal_flush_lsn", f, sizeof(f)) == 0) {
                char *a = strstr(v, "apply_lsn=");
                if (a && strtoull(a + 10, NULL, 10) == strtoull(f, NULL, 10)) return 0;
            }
        }
        usleep(20000);
    }
    return -1;
}

static void server_argv(const struct h_opts *o, char **av, const char *role, const char *dir,
                        int primary_repl_port, int power_loss_at_start, char *pbuf, char *delay)
{
    int n = 0;
    av[n++] = (char *)o->server;
    av[n++] = "--role";
    av[n++] = (char *)role;
    av[n++] = "--port";
    av[n++] = "0";
    av[n++] = "--data-dir";
    av[n++] = (char *)dir;
    av[n++] = "--wal-writer-delay";
    av[n++] = delay;
    if (!strcmp(role, "primary")) {
        av[n++] = "--repl-port";
        av[n++] = "0";
        av[n++] = "--synchronous-commit";
        av[n++] = (char *)o->level;
        av[n++] = "--sync-timeout";
        av[n++] = "3000";
        if (o->throttle) {
            av[n++] = "--repl-throttle";
            av[n++] = (char *)o->throttle;
        }
    } else {
        snprintf(pbuf, 32, "127.0.0.1:%d", primary_repl_port);
        av[n++] = "--primary";
        av[n++] = pbuf;
    }
    if (o->power_loss)
        av[n++] = power_loss_at_start ? (!strcmp(o->power_loss, "tear") ? "--sim-power-loss=tear"
                                                                        : "--sim-power-loss")
                                      : "--sim-power-loss";
    av[n] = NULL;
}

struct h_totals {
    long writes, acked, found, lost, errors, indet, indet_found;
    long lost_lag, lost_buf, lost_out, late, lost_bytes, lag_bytes, over_bytes; /* promote */
    uint64_t max_lost_age, max_buf_age, max_lag_ms, write_ms; /* write_ms: clients start to kill */
    int prefix_fail, failed_trials;
    uint32_t *lat; /* acknowledgement latencies, us */
    size_t nlat, latcap;
};

static void lat_push(struct h_totals *tot, uint32_t us)
{
    if (tot->nlat == tot->latcap) {
        size_t cap = tot->latcap * 2 + 4096;
        uint32_t *l = realloc(tot->lat, cap * sizeof(*l));
        if (!l)
            return; /* the percentiles then cover fewer writes; the loss count does not change */
        tot->lat = l;
        tot->latcap = cap;
    }
    tot->lat[tot->nlat++] = us;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int run_trial(const struct h_opts *o, int t, struct h_totals *tot)
{
    char pdir[512], rdir[512], plog[600], rlog[600], pbuf[32], delay[16], cmd[2400];
    snprintf(pdir, sizeof(pdir), "%s/t%d/primary", o->tmp, t);
    snprintf(rdir, sizeof(rdir), "%s/t%d/replica", o->tmp, t);
    snprintf(plog, sizeof(plog), "%s/t%d-primary.log", o->tmp, t);
    snprintf(rlog, sizeof(rlog), "%s/t%d-replica.log", o->tmp, t);
    snprintf(delay, sizeof(delay), "%d", o->writer_delay);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s/t%d' && mkdir -p '%s/t%d'", o->tmp, t, o->tmp, t);
    if (system(cmd) != 0) return -1;
    int need_replica = strcmp(o->scenario, "restart") != 0 ||
                       (strcmp(o->level, "off") && strcmp(o->level, "local"));
    struct h_proc P = {0}, R = {0}, N = {0};
    char *av[32];
    server_argv(o, av, "primary", pdir, 0, 0, pbuf, delay);
    if (spawn(&P, av, plog, 1) < 0) return -1;
    if (need_replica) {
        server_argv(o, av, "replica", rdir, P.repl_port, 0, pbuf, delay);
        if (spawn(&R, av, rlog, 0) < 0 || wait_replica(P.port, 0, 10000) < 0) {
            fprintf(stderr, "crash-harness: the replica did not connect; see %s\n", rlog);
            stop_proc(&P, SIGKILL);
            stop_proc(&R, SIGKILL);
            return -1;
        }
    }
    atomic_int stop = 0;
    struct h_client cl[H_MAX_CLIENTS];
    pthread_t th[H_MAX_CLIENTS];
    for (int i = 0; i < o->clients; i++) {
        cl[i] = (struct h_client){.id = i, .trial = t, .port = P.port, .stop = &stop};
        cl[i].state = calloc(H_MAX_WRITES, 1);
        cl[i].ack_ms = calloc(H_MAX_WRITES, sizeof(uint64_t));
        cl[i].lat_us = calloc(H_MAX_WRITES, sizeof(uint32_t));
        cl[i].lsn = malloc(H_MAX_WRITES * sizeof(uint64_t));
        memset(cl[i].lsn, 0xff, H_MAX_WRITES * sizeof(uint64_t)); /* UINT64_MAX: not in the WAL */
        pthread_create(&th[i], NULL, client_main, &cl[i]);
    }
    uint64_t start_ms = ev_now_ms();
    int span = o->kill_max - o->kill_min;
    usleep((useconds_t)(o->kill_min + (span > 0 ? rand() % span : 0)) * 1000u);
    struct h_lag g = {0};
    uint64_t wal_end = 0; /* of the killed primary's WAL */
    int promote = !strcmp(o->scenario, "promote");
    if (promote) lag_sample(P.port, &g);
    uint64_t kill_ms = ev_now_ms();
    tot->write_ms += kill_ms - start_ms;
    char prefix_msg[256] = "";
    int prefix_bad = 0;
    struct h_proc *readback = &N;
    if (!strcmp(o->scenario, "replica")) {
        stop_proc(&R, SIGKILL);
        usleep(100000);
        server_argv(o, av, "replica", rdir, P.repl_port, 1, pbuf, delay);
        if (spawn(&R, av, rlog, 0) < 0) {
            stop = 1;
            prefix_bad = 1;
        }
        usleep(200000);
        atomic_store(&stop, 1);
        for (int i = 0; i < o->clients; i++)
            pthread_join(th[i], NULL);
        if (R.pid && wait_replica(P.port, 1, 15000) < 0) {
            snprintf(prefix_msg, sizeof(prefix_msg), "the replica did not catch up");
            prefix_bad = 1;
        }
        stop_proc(&R, SIGTERM);
        stop_proc(&P, SIGTERM); /* both flushed: compare the files */
        if (!prefix_bad) prefix_bad = hw_prefix(pdir, rdir, prefix_msg, sizeof(prefix_msg)) < 0;
        /* read back from the restarted replica's data: promote it */
        server_argv(o, av, "primary", rdir, 0, 0, pbuf, delay);
    } else {
        stop_proc(&P, SIGKILL);
        for (int i = 0; i < o->clients; i++)
            pthread_join(th[i], NULL);
        if (promote) {
            char err[256];
            int n[H_MAX_CLIENTS];
            uint64_t *lsn[H_MAX_CLIENTS];
            for (int i = 0; i < o->clients; i++) {
                n[i] = cl[i].n;
                lsn[i] = cl[i].lsn;
            }
            if (hw_find_writes(pdir, t, o->clients, n, lsn, &wal_end, err, sizeof(err)) < 0)
                fprintf(stderr, "crash-harness: %s\n", err);
            stop_proc(&R, SIGKILL); /* promotion = restart with --role primary */
            server_argv(o, av, "primary", rdir, 0, 1, pbuf, delay);
        } else {
            stop_proc(&R, SIGTERM);
            server_argv(o, av, "primary", pdir, 0, 1, pbuf, delay);
        }
    }
    int started = spawn(&N, av, strcmp(o->scenario, "restart") ? rlog : plog, 1) == 0;
    /* read back, 256 GETs per round trip */
    struct hc h;
    long w = 0, acked = 0, found = 0, lost = 0, errs = 0, indet = 0, indet_found = 0;
    long lost_lag = 0, lost_buf = 0, lost_bytes = 0;
    uint64_t max_age = 0;
    int rb_fail = !started || hc_connect(&h, readback->port, 10000) < 0;
    for (int i = 0; i < o->clients && !rb_fail; i++) {
        for (int b = 0; b < cl[i].n && !rb_fail; b += 256) {
            int e = b + 256 < cl[i].n ? b + 256 : cl[i].n;
            char key[64];
            for (int k = b; k < e && !rb_fail; k++) {
                snprintf(key, sizeof(key), "t%d:c%d:%d", t, i, k);
                const char *argv[] = {"GET", key};
                rb_fail = hc_send(&h, 2, argv) < 0;
            }
            for (int k = b; k < e && !rb_fail; k++) {
                struct hc_reply r;
                if (hc_read(&h, &r) < 0) {
                    rb_fail = 1;
                    break;
                }
                int present = r.type == '$' && r.len >= 0;
                w++;
                if (cl[i].state[k] == HW_OK) {
                    acked++;
                    lat_push(tot, cl[i].lat_us[k]);
                    if (present) {
                        found++;
                    } else {
                        lost++;
                        uint64_t age = kill_ms > cl[i].ack_ms[k] ? kill_ms - cl[i].ack_ms[k] : 0;
                        if (age > max_age) max_age = age;
                        if (promote &&
                            cl[i].lsn[k] == UINT64_MAX) { /* died in the primary's buffer */
                            lost_buf++;
                            if (age > tot->max_buf_age) tot->max_buf_age = age;
                        } else if (promote && g.ok && cl[i].lsn[k] >= g.r_flush) {
                            /* in WAL the replica had not confirmed: the lag window.  It was
                             * flushed no earlier than lag_ms before the sample (+2 ms: the
                             * primary's samples have 1 ms resolution), and acknowledged
                             * after that flush, or at off up to a writer delay before it. */
                            lost_lag++;
                            int kl = snprintf(key, sizeof(key), "t%d:c%d:%d", t, i, k);
                            lost_bytes += (long)wal_rec_size(4 + 2 * (size_t)kl); /* SET k k */
                            tot->late +=
                                age > g.lag_ms + (kill_ms - g.at_ms) + 2 +
                                          (uint64_t)(!strcmp(o->level, "off") && o->max_loss_age > 0
                                                         ? o->max_loss_age
                                                         : 0);
                        } else if (promote) {
                            tot->lost_out++; /* on the replica's confirmed WAL: a bug */
                        }
                    }
                } else if (cl[i].state[k] == HW_ERR) {
                    errs++;
                } else {
                    indet++;
                    indet_found += present;
                }
            }
        }
    }
    if (started) hc_close(&h);
    stop_proc(&N, SIGTERM);
    for (int i = 0; i < o->clients; i++) {
        free(cl[i].state);
        free(cl[i].ack_ms);
        free(cl[i].lat_us);
        free(cl[i].lsn);
    }
    char lagmsg[200] = "";
    uint64_t after = wal_end > g.p_flush ? wal_end - g.p_flush : 0;
    tot->over_bytes += (uint64_t)lost_bytes > g.lag_bytes + after; /* implied by the LSN check */
    if (g.ok)
        snprintf(lagmsg, sizeof(lagmsg),
                 "lag@kill %" PRIu64 " B %" PRIu64 " ms (+%" PRIu64 " B WAL after); "
                 "lost %ld B in lag + %ld in buffer ",
                 g.lag_bytes, g.lag_ms, after, lost_bytes, lost_buf);
    printf("%5d %7ld %7ld %7ld %5ld %6ld %6ld (%ld/%ld) %8" PRIu64 " %s%s%s\n", t, w, acked, found,
           lost, errs, indet, indet_found, indet - indet_found, lost ? max_age : 0, lagmsg,
           prefix_msg, rb_fail ? " READ-BACK FAILED" : "");
    fflush(stdout);
    tot->writes += w;
    tot->acked += acked;
    tot->found += found;
    tot->lost += lost;
    tot->errors += errs;
    tot->indet += indet;
    tot->indet_found += indet_found;
    tot->lost_lag += lost_lag;
    tot->lost_buf += lost_buf;
    tot->lost_bytes += lost_bytes;
    tot->lag_bytes += (long)g.lag_bytes;
    if (g.lag_ms > tot->max_lag_ms) tot->max_lag_ms = g.lag_ms;
    if (lost && max_age > tot->max_lost_age) tot->max_lost_age = max_age;
    tot->prefix_fail += prefix_bad;
    tot->failed_trials += rb_fail;
    if (!rb_fail && !lost && !prefix_bad) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s/t%d' '%s' '%s'", o->tmp, t, plog, rlog);
        (void)!system(cmd);
    }
    return rb_fail ? -1 : 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: crash-harness --server PATH/kv-server --level LEVEL --scenario "
            "restart|promote|replica\n"
            "         [--trials N] [--clients N] [--kill-after MIN:MAX ms] [--writer-delay MS]\n"
            "         [--power-loss cut|tear] [--max-loss-age-ms MS] [--tmp DIR] [--seed N]\n"
            "         [--repl-throttle BYTES_PER_S] [--allow-async-loss] [--keep]\n"
            "  defaults: --trials 5 --clients 4 --kill-after 80:300 --writer-delay 200\n"
            "  --seed the time; --tmp: a new directory from mktemp(1)'s template under $TMPDIR\n"
            "  (or /tmp), removed at the end unless --keep; trials that lost writes keep their\n"
            "  data and logs there (with --keep or --tmp) for a look\n"
            "  restart: kill -9 the primary, restart it;  promote: kill -9 the primary, promote\n"
            "  the replica;  replica: kill -9 the replica, restart it, check its WAL is a prefix\n"
            "  of the primary's.  --power-loss: servers run with --sim-power-loss and restart\n"
            "  with it, so each WAL is cut back to its last fdatasync (tear: half a record more)\n"
            "  --repl-throttle: the primary sends its replica at most that rate (a slow link), so\n"
            "  an asynchronous replica lags.  promote samples the primary's INFO replication just\n"
            "  before the kill and finds each lost write in the killed primary's WAL.\n"
            "  --allow-async-loss (promote at off/local): pass when every lost write lies in WAL\n"
            "  the replica had not confirmed at that sample (the lag), or, at off, died in the\n"
            "  primary's buffer within --max-loss-age-ms; any other loss fails.\n");
}

int main(int argc, char **argv)
{
    struct h_opts o = {.level = "on",
                       .scenario = "promote",
                       .tmp = NULL,
                       .trials = 5,
                       .clients = 4,
                       .kill_min = 80,
                       .kill_max = 300,
                       .writer_delay = 200,
                       .max_loss_age = -1,
                       .seed = (unsigned)time(NULL)};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--allow-async-loss")) {
            o.async_loss = 1;
            continue;
        }
        if (!strcmp(a, "--keep")) {
            o.keep = 1;
            continue;
        }
        if (!v) {
            cli_usage_error("crash-harness", "%s needs a value", a);
        }
        i++;
        if (!strcmp(a, "--server"))
            o.server = v;
        else if (!strcmp(a, "--level"))
            o.level = v;
        else if (!strcmp(a, "--scenario"))
            o.scenario = v;
        else if (!strcmp(a, "--tmp"))
            o.tmp = v;
        else if (!strcmp(a, "--power-loss"))
            o.power_loss = v;
        else if (!strcmp(a, "--repl-throttle"))
            o.throttle = v;
        else if (!strcmp(a, "--trials"))
            o.trials = atoi(v);
        else if (!strcmp(a, "--clients"))
            o.clients = atoi(v);
        else if (!strcmp(a, "--writer-delay"))
            o.writer_delay = atoi(v);
        else if (!strcmp(a, "--max-loss-age-ms"))
            o.max_loss_age = atoi(v);
        else if (!strcmp(a, "--seed"))
            o.seed = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--kill-after")) {
            if (sscanf(v, "%d:%d", &o.kill_min, &o.kill_max) != 2 || o.kill_min < 0 ||
                o.kill_max < o.kill_min) {
                cli_usage_error("crash-harness", "--kill-after MIN:MAX");
            }
        } else {
            cli_usage_error("crash-harness", "unknown option %s", a);
        }
    }
    if (!o.server || o.trials < 1 || o.clients < 1 || o.clients > H_MAX_CLIENTS ||
        o.writer_delay < 1 ||
        (strcmp(o.scenario, "restart") && strcmp(o.scenario, "promote") &&
         strcmp(o.scenario, "replica")) ||
        (o.power_loss && strcmp(o.power_loss, "cut") && strcmp(o.power_loss, "tear"))) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_stop_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    char tmpl[512];
    int own_tmp = !o.tmp; /* made here: removed at the end unless --keep */
    if (own_tmp) {
        const char *td = getenv("TMPDIR");
        snprintf(tmpl, sizeof(tmpl), "%s/crash-harness.XXXXXX", td && *td ? td : "/tmp");
        if (!mkdtemp(tmpl)) {
            fprintf(stderr, "crash-harness: error: mkdtemp %s: %s\n", tmpl, strerror(errno));
            return 1;
        }
        o.tmp = tmpl;
    }
    srand(o.seed);
    printf(
        "# crash-harness level=%s scenario=%s trials=%d clients=%d power-loss=%s writer-delay=%d "
        "repl-throttle=%s seed=%u\n",
        o.level, o.scenario, o.trials, o.clients, o.power_loss ? o.power_loss : "no",
        o.writer_delay, o.throttle ? o.throttle : "none", o.seed);
    printf("%5s %7s %7s %7s %5s %6s %s %8s\n", "trial", "writes", "acked", "found", "LOST",
           "errors", "no-answer (found/missing)", "lost-age-ms");
    struct h_totals tot = {0};
    for (int t = 1; t <= o.trials && !h_stopping; t++)
        if (run_trial(&o, t, &tot) < 0 && !h_stopping) tot.failed_trials++;
    if (own_tmp && !o.keep) {
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", o.tmp);
        (void)!system(cmd);
    } else if (own_tmp) {
        printf("# kept %s\n", o.tmp);
    }
    if (h_stopping) {
        fprintf(stderr, "crash-harness: stopped by a signal; every server it started is gone\n");
        return 1;
    }
    int age_ok = o.max_loss_age >= 0 ? tot.max_lost_age <= (uint64_t)o.max_loss_age : tot.lost == 0;
    if (o.async_loss) /* the lag bounds what async replication loses; the buffer, the writer delay
                       */
        age_ok =
            !tot.lost_out && !tot.late && !tot.over_bytes &&
            (!tot.lost_buf || (o.max_loss_age >= 0 && tot.max_buf_age <= (uint64_t)o.max_loss_age));
    uint32_t p50 = 0, p99 = 0;
    if (tot.nlat) {
        qsort(tot.lat, tot.nlat, sizeof(*tot.lat), cmp_u32);
        p50 = tot.lat[tot.nlat / 2];
        p99 = tot.lat[tot.nlat * 99 / 100];
    }
    free(tot.lat);
    printf("TOTAL level=%s scenario=%s power-loss=%s trials=%d writes=%ld acked=%ld found=%ld "
           "lost=%ld "
           "errors=%ld indeterminate=%ld (found %ld) max_lost_age_ms=%" PRIu64
           " prefix_failures=%d "
           "failed_trials=%d\n",
           o.level, o.scenario, o.power_loss ? o.power_loss : "no", o.trials, tot.writes, tot.acked,
           tot.found, tot.lost, tot.errors, tot.indet, tot.indet_found, tot.max_lost_age,
           tot.prefix_fail, tot.failed_trials);
    printf("ACK latency_ms p50=%.2f p99=%.2f over %zu acknowledged writes, %.0f acknowledged/s\n",
           p50 / 1000.0, p99 / 1000.0, tot.nlat,
           tot.write_ms ? (double)tot.acked * 1000 / (double)tot.write_ms : 0.0);
    if (!strcmp(o.scenario, "promote"))
        printf("LAG lag_bytes_at_kill=%ld (sum over trials) max_lag_ms_at_kill=%" PRIu64
               " lost_in_lag=%ld "
               "(%ld bytes) lost_in_primary_buffer=%ld (max age %" PRIu64
               " ms) lost_outside_bound=%ld "
               "lost_older_than_lag=%ld trials_lost_bytes_over_lag=%ld\n",
               tot.lag_bytes, tot.max_lag_ms, tot.lost_lag, tot.lost_bytes, tot.lost_buf,
               tot.max_buf_age, tot.lost_out, tot.late, tot.over_bytes);
    return (age_ok && !tot.prefix_fail && !tot.failed_trials) ? 0 : 1;
}
