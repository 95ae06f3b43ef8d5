/* crash-harness: what does each commit level lose when a process dies?
 *
 * Per trial: start a primary (and a replica), let several client threads write unique
 * keys and record every reply (ok, error, no answer, with the time of the answer),
 * SIGKILL a process at a random moment, then restart the primary, promote the replica,
 * or restart the killed replica, read every key back and classify each write:
 *   found / LOST (acknowledged but missing) / error / indeterminate (no answer).
 * Prints a loss table; exits 1 when an acknowledged write was lost (or, with
 * --max-loss-age-ms, when one acknowledged longer than that before the kill was lost),
 * or when a restarted replica's WAL is not a prefix of the primary's. */
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

#include "io/ev.h"
#include "labs/05-wal-replication/harness_client.h"
#include "replication/wal.h"

#define H_MAX_CLIENTS 16
#define H_MAX_WRITES 200000 /* per client and trial */

enum { HW_SENT, HW_OK, HW_ERR };

struct h_opts {
    const char *server, *level, *scenario, *tmp, *power_loss;
    int trials, clients, kill_min, kill_max, writer_delay, max_loss_age;
    unsigned seed;
};

struct h_client {
    int id, trial, port;
    atomic_int *stop;
    unsigned char *state;
    uint64_t *ack_ms;
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
    if (hc_connect(&h, c->port, 8000) < 0)
        return NULL;
    char key[64];
    while (c->n < H_MAX_WRITES && !atomic_load(c->stop)) {
        snprintf(key, sizeof(key), "t%d:c%d:%d", c->trial, c->id, c->n);
        const char *argv[] = {"SET", key, key};
        c->state[c->n] = HW_SENT; /* recorded before it is sent: no answer = indeterminate */
        int i = c->n++;
        struct hc_reply r;
        if (hc_send(&h, 3, argv) < 0 || hc_read(&h, &r) < 0)
            break;
        c->state[i] = r.type == '+' ? HW_OK : HW_ERR;
        c->ack_ms[i] = ev_now_ms();
    }
    hc_close(&h);
    return NULL;
}

/* Starts the server; reads its "listening on" line(s) from stdout. */
static int spawn(struct h_proc *p, char *const argv[], const char *log, int want_repl)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    p->pid = fork();
    if (p->pid < 0)
        return -1;
    if (p->pid == 0) {
        dup2(fds[1], 1);
        if (!freopen(log, "a", stderr))
            _exit(126);
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
        if (poll(&pfd, 1, 200) <= 0)
            continue;
        ssize_t r = read(fds[0], buf + len, sizeof(buf) - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
        buf[len] = 0;
        char *q;
        if (!p->port && (q = strstr(buf, "\nlistening on 127.0.0.1:")))
            p->port = atoi(q + 24);
        if (!p->port && !strncmp(buf, "listening on 127.0.0.1:", 23))
            p->port = atoi(buf + 23);
        if ((q = strstr(buf, "replication listening on 127.0.0.1:")))
            p->repl_port = atoi(q + 35);
    }
    close(fds[0]);
    if (!p->port || (want_repl && !p->repl_port)) {
        fprintf(stderr, "crash-harness: %s did not start; see %s\n", argv[0], log);
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        return -1;
    }
    return 0;
}

static void stop_proc(struct h_proc *p, int sig)
{
    if (p->pid > 0) {
        kill(p->pid, sig);
        waitpid(p->pid, NULL, 0);
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

/* Waits until the primary has a streaming replica whose apply LSN equals its flush LSN
 * (catch_up) or just one connected replica. */
static int wait_replica(int port, int catch_up, int ms)
{
    uint64_t end = ev_now_ms() + (uint64_t)ms;
    char v[256], f[64];
    while (ev_now_ms() < end) {
        if (info(port, "connected_slaves", v, sizeof(v)) == 0 && atoi(v) >= 1) {
            if (!catch_up)
                return 0;
            if (info(port, "slave0", v, sizeof(v)) == 0 && info(port, "wal_flush_lsn", f, sizeof(f)) == 0) {
                char *a = strstr(v, "apply_lsn=");
                if (a && strtoull(a + 10, NULL, 10) == strtoull(f, NULL, 10))
                    return 0;
            }
        }
        usleep(20000);
    }
    return -1;
}

struct h_log {
    uint64_t *lsn;
    uint32_t *crc;
    size_t n, cap;
    int bad;
};

static void collect(void *arg, const char *seg, size_t off, int st, const struct wal_rec *r)
{
    struct h_log *l = arg;
    (void)seg;
    (void)off;
    if (st != WAL_REC_OK) {
        l->bad += st != WAL_REC_ZERO;
        return;
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4096;
        l->lsn = realloc(l->lsn, l->cap * sizeof(*l->lsn));
        l->crc = realloc(l->crc, l->cap * sizeof(*l->crc));
    }
    l->lsn[l->n] = r->lsn;
    l->crc[l->n++] = r->crc_stored;
}

/* Is the replica's WAL a prefix of the primary's (same LSNs and CRCs)? */
static int wal_prefix(const char *pdir, const char *rdir, char *msg, size_t cap)
{
    struct h_log p = {0}, r = {0};
    char err[256];
    int ok = wal_walk(pdir, collect, &p, err, sizeof(err)) == 0 &&
             wal_walk(rdir, collect, &r, err, sizeof(err)) == 0;
    size_t same = 0;
    while (ok && same < r.n && same < p.n && p.lsn[same] == r.lsn[same] && p.crc[same] == r.crc[same])
        same++;
    int prefix = ok && same == r.n && r.n <= p.n;
    snprintf(msg, cap, "replica WAL %zu records, primary %zu, common prefix %zu, %s",
             r.n, p.n, same, prefix ? "prefix with CRCs intact" : "NOT a prefix");
    free(p.lsn);
    free(p.crc);
    free(r.lsn);
    free(r.crc);
    return prefix ? 0 : -1;
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
    uint64_t max_lost_age;
    int prefix_fail, failed_trials;
};

static int run_trial(const struct h_opts *o, int t, struct h_totals *tot)
{
    char pdir[512], rdir[512], plog[600], rlog[600], pbuf[32], delay[16], cmd[2400];
    snprintf(pdir, sizeof(pdir), "%s/t%d/primary", o->tmp, t);
    snprintf(rdir, sizeof(rdir), "%s/t%d/replica", o->tmp, t);
    snprintf(plog, sizeof(plog), "%s/t%d-primary.log", o->tmp, t);
    snprintf(rlog, sizeof(rlog), "%s/t%d-replica.log", o->tmp, t);
    snprintf(delay, sizeof(delay), "%d", o->writer_delay);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s/t%d' && mkdir -p '%s/t%d'", o->tmp, t, o->tmp, t);
    if (system(cmd) != 0)
        return -1;
    int need_replica = strcmp(o->scenario, "restart") != 0 || (strcmp(o->level, "off") && strcmp(o->level, "local"));
    struct h_proc P = {0}, R = {0}, N = {0};
    char *av[32];
    server_argv(o, av, "primary", pdir, 0, 0, pbuf, delay);
    if (spawn(&P, av, plog, 1) < 0)
        return -1;
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
        pthread_create(&th[i], NULL, client_main, &cl[i]);
    }
    int span = o->kill_max - o->kill_min;
    usleep((useconds_t)(o->kill_min + (span > 0 ? rand() % span : 0)) * 1000u);
    uint64_t kill_ms = ev_now_ms();
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
        if (!prefix_bad)
            prefix_bad = wal_prefix(pdir, rdir, prefix_msg, sizeof(prefix_msg)) < 0;
        /* read back from the restarted replica's data: promote it */
        server_argv(o, av, "primary", rdir, 0, 0, pbuf, delay);
    } else {
        stop_proc(&P, SIGKILL);
        for (int i = 0; i < o->clients; i++)
            pthread_join(th[i], NULL);
        if (!strcmp(o->scenario, "promote")) {
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
                    if (present) {
                        found++;
                    } else {
                        lost++;
                        uint64_t age = kill_ms > cl[i].ack_ms[k] ? kill_ms - cl[i].ack_ms[k] : 0;
                        if (age > max_age)
                            max_age = age;
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
    if (started)
        hc_close(&h);
    stop_proc(&N, SIGTERM);
    for (int i = 0; i < o->clients; i++) {
        free(cl[i].state);
        free(cl[i].ack_ms);
    }
    printf("%5d %7ld %7ld %7ld %5ld %6ld %6ld (%ld/%ld) %8" PRIu64 " %s%s\n", t, w, acked, found, lost,
           errs, indet, indet_found, indet - indet_found, lost ? max_age : 0, prefix_msg,
           rb_fail ? " READ-BACK FAILED" : "");
    fflush(stdout);
    tot->writes += w;
    tot->acked += acked;
    tot->found += found;
    tot->lost += lost;
    tot->errors += errs;
    tot->indet += indet;
    tot->indet_found += indet_found;
    if (lost && max_age > tot->max_lost_age)
        tot->max_lost_age = max_age;
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
    fprintf(f, "usage: crash-harness --server PATH/kv-server --level LEVEL --scenario restart|promote|replica\n"
               "         [--trials N] [--clients N] [--kill-after MIN:MAX ms] [--writer-delay MS]\n"
               "         [--power-loss cut|tear] [--max-loss-age-ms MS] [--tmp DIR] [--seed N]\n"
               "  restart: kill -9 the primary, restart it;  promote: kill -9 the primary, promote\n"
               "  the replica;  replica: kill -9 the replica, restart it, check its WAL is a prefix\n"
               "  of the primary's.  --power-loss: servers run with --sim-power-loss and restart\n"
               "  with it, so each WAL is cut back to its last fdatasync (tear: half a record more)\n");
}

int main(int argc, char **argv)
{
    struct h_opts o = {.level = "on", .scenario = "promote", .tmp = "/tmp/crash-harness",
                       .trials = 5, .clients = 4, .kill_min = 80, .kill_max = 300,
                       .writer_delay = 200, .max_loss_age = -1, .seed = (unsigned)time(NULL)};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!v) {
            fprintf(stderr, "crash-harness: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--server")) o.server = v;
        else if (!strcmp(a, "--level")) o.level = v;
        else if (!strcmp(a, "--scenario")) o.scenario = v;
        else if (!strcmp(a, "--tmp")) o.tmp = v;
        else if (!strcmp(a, "--power-loss")) o.power_loss = v;
        else if (!strcmp(a, "--trials")) o.trials = atoi(v);
        else if (!strcmp(a, "--clients")) o.clients = atoi(v);
        else if (!strcmp(a, "--writer-delay")) o.writer_delay = atoi(v);
        else if (!strcmp(a, "--max-loss-age-ms")) o.max_loss_age = atoi(v);
        else if (!strcmp(a, "--seed")) o.seed = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--kill-after")) {
            if (sscanf(v, "%d:%d", &o.kill_min, &o.kill_max) != 2 || o.kill_min < 0 || o.kill_max < o.kill_min) {
                fprintf(stderr, "crash-harness: --kill-after MIN:MAX\n");
                return 2;
            }
        } else {
            fprintf(stderr, "crash-harness: unknown option %s\n", a);
            return 2;
        }
    }
    if (!o.server || o.trials < 1 || o.clients < 1 || o.clients > H_MAX_CLIENTS || o.writer_delay < 1 ||
        (strcmp(o.scenario, "restart") && strcmp(o.scenario, "promote") && strcmp(o.scenario, "replica")) ||
        (o.power_loss && strcmp(o.power_loss, "cut") && strcmp(o.power_loss, "tear"))) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    srand(o.seed);
    printf("# crash-harness level=%s scenario=%s trials=%d clients=%d power-loss=%s writer-delay=%d seed=%u\n",
           o.level, o.scenario, o.trials, o.clients, o.power_loss ? o.power_loss : "no", o.writer_delay, o.seed);
    printf("%5s %7s %7s %7s %5s %6s %s %8s\n", "trial", "writes", "acked", "found", "LOST", "errors",
           "no-answer (found/missing)", "lost-age-ms");
    struct h_totals tot = {0};
    for (int t = 1; t <= o.trials; t++)
        if (run_trial(&o, t, &tot) < 0)
            tot.failed_trials++;
    int age_ok = o.max_loss_age >= 0 ? tot.max_lost_age <= (uint64_t)o.max_loss_age : tot.lost == 0;
    printf("TOTAL level=%s scenario=%s power-loss=%s trials=%d writes=%ld acked=%ld found=%ld lost=%ld "
           "errors=%ld indeterminate=%ld (found %ld) max_lost_age_ms=%" PRIu64 " prefix_failures=%d "
           "failed_trials=%d\n",
           o.level, o.scenario, o.power_loss ? o.power_loss : "no", o.trials, tot.writes, tot.acked,
           tot.found, tot.lost, tot.errors, tot.indet, tot.indet_found, tot.max_lost_age, tot.prefix_fail,
           tot.failed_trials);
    return (age_ok && !tot.prefix_fail && !tot.failed_trials) ? 0 : 1;
}
