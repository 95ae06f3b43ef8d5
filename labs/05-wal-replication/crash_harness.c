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
 * Asynchronous replication (promote at off/local, with a replica that lags): INFO
 * replication is sampled just before the kill, and every lost write is looked up in the
 * killed primary's WAL; --allow-async-loss passes when each one lies past the flush LSN
 * the replica had confirmed (the lag), acknowledged within lag_ms of the kill, or (off)
 * died in the primary's buffer.  The replica lags behind a slow sender (the primary's
 * --repl-throttle) or behind an emulated link (--link: linkem between the replica and
 * the primary, started per trial).  Over a link the link dies with the primary: what was
 * in flight and queued on it never arrives, and each lost write must also lie past the
 * end of the WAL the replica had received when it died. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io/ev.h"
#include "labs/05-wal-replication/harness_client.h"
#include "labs/05-wal-replication/harness_opts.h"
#include "labs/05-wal-replication/harness_proc.h"
#include "labs/05-wal-replication/harness_wal.h"
#include "replication/wal.h"

#define H_MAX_WRITES 200000 /* per client and trial */

enum { HW_SENT, HW_OK, HW_ERR };

struct h_client {
    int id, trial, port;
    atomic_int *stop;
    unsigned char *state;
    uint64_t *ack_ms;
    uint32_t *lat_us; /* send to acknowledgement, acknowledged writes */
    uint64_t *lsn;    /* where the write is in the killed primary's WAL (promote) */
    int n;
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

/* A primary runs at level; a primary started only to read keys back has no replica, and
 * runs at local so that nothing asked of it waits for one. */
static void server_argv(const struct ho_opts *o, char **av, const char *role, const char *level,
                        const char *dir, int primary_repl_port, int power_loss_at_start, char *pbuf,
                        char *delay)
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
        av[n++] = (char *)level;
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
    /* over a link: WAL the replica had not received when the link died (undelivered),
     * split at the primary's sent LSN at the sample; lost writes on either side */
    long undelivered, on_link, unsent, lost_on_link, lost_unsent;
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

/* What a promote trial knows about where a lost write may be: the primary's INFO at
 * the sample, and over a link the end of the WAL the replica had received. */
struct h_bound {
    struct hp_lag g;
    uint64_t kill_ms, r_end;
};

struct h_loss {
    long lag, buf, bytes, on_link, unsent; /* lost writes by where they were; bytes in lag */
};

/* An acknowledged write missing after a promote: lsn is its place in the killed
 * primary's WAL (UINT64_MAX: not there), age the ms from its OK to the kill, rec its
 * record's size.  Within the bound it counts by where it was; outside, in lost_out. */
static void lost_where(const struct ho_opts *o, const struct h_bound *b, uint64_t lsn, uint64_t age,
                       size_t rec, struct h_loss *ls, struct h_totals *tot)
{
    if (lsn == UINT64_MAX) { /* never written: it died in the primary's buffer */
        ls->buf++;
        if (age > tot->max_buf_age) tot->max_buf_age = age;
        return;
    }
    /* The lag: WAL the replica had not confirmed at the sample and, over a link, had not
     * received when the link died.  A write there was flushed no earlier than lag_ms
     * before the sample (+2 ms: the primary's samples have 1 ms resolution), and
     * acknowledged after that flush, or at off up to a writer delay before it. */
    uint64_t bound = b->g.ok ? b->g.r_flush : UINT64_MAX;
    if (o->link.on && (bound == UINT64_MAX || b->r_end > bound)) bound = b->r_end;
    if (lsn < bound) {
        tot->lost_out++; /* the replica had it: a bug */
        return;
    }
    ls->lag++;
    ls->bytes += (long)rec;
    if (o->link.on) {
        if (lsn < b->g.sent)
            ls->on_link++;
        else
            ls->unsent++;
    }
    if (b->g.ok)
        tot->late +=
            age >
            b->g.lag_ms + (b->kill_ms - b->g.at_ms) + 2 +
                (uint64_t)(!strcmp(o->level, "off") && o->max_loss_age > 0 ? o->max_loss_age : 0);
}

/* --plant-loss N: delete the N oldest acknowledged writes of client 0 on the server the
 * harness reads back from, so a run shows that a write lost outside the bound is counted
 * and fails it. */
static void plant_loss(int port, const struct h_client *c0, int n)
{
    struct hc h;
    struct hc_reply r;
    char key[64];
    if (hc_connect(&h, port, 5000) < 0) return;
    for (int k = 0; k < c0->n && n > 0; k++) {
        if (c0->state[k] != HW_OK) continue;
        snprintf(key, sizeof(key), "t%d:c0:%d", c0->trial, k);
        const char *argv[] = {"DEL", key};
        if (hc_send(&h, 2, argv) < 0 || hc_read(&h, &r) < 0) break;
        n--;
    }
    hc_close(&h);
}

/* The processes alive now, so that SIGINT and SIGTERM stop them too: the harness's one
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

/* SIGINT/SIGTERM: kill every server and link now (kill is async-signal-safe); the trial
 * in progress then fails fast, nothing new starts, and main removes the scratch data. */
static void on_stop_signal(int sig)
{
    (void)sig;
    h_stopping = 1;
    for (int i = 0; i < H_MAX_LIVE; i++)
        if (h_live[i] > 0) kill(h_live[i], SIGKILL);
}

/* hp_spawn, hp_link_start and hp_stop, keeping h_live up to date.  A signal during the
 * start finds the process not yet recorded: it is killed here once the start returns. */
static void live_started(const struct hp_proc *p)
{
    live_set(0, p->pid);
    if (h_stopping) kill(p->pid, SIGKILL);
}

static int live_spawn(struct hp_proc *p, char *const argv[], const char *log, int want_repl)
{
    if (h_stopping || hp_spawn(p, argv, log, want_repl) < 0) return -1;
    live_started(p);
    return 0;
}

static int live_link_start(const struct hp_link *l, int to_port, const char *log, struct hp_proc *p)
{
    if (h_stopping || hp_link_start(l, to_port, log, p) < 0) return -1;
    live_started(p);
    return 0;
}

static void live_stop(struct hp_proc *p, int sig)
{
    pid_t pid = p->pid;
    hp_stop(p, sig);
    if (pid > 0) live_set(pid, 0);
}

static int run_trial(const struct ho_opts *o, int t, struct h_totals *tot)
{
    char pdir[512], rdir[512], plog[600], rlog[600], llog[600], pbuf[32], delay[16], cmd[2400];
    snprintf(pdir, sizeof(pdir), "%s/t%d/primary", o->tmp, t);
    snprintf(rdir, sizeof(rdir), "%s/t%d/replica", o->tmp, t);
    snprintf(plog, sizeof(plog), "%s/t%d-primary.log", o->tmp, t);
    snprintf(rlog, sizeof(rlog), "%s/t%d-replica.log", o->tmp, t);
    snprintf(llog, sizeof(llog), "%s/t%d-linkem.log", o->tmp, t);
    snprintf(delay, sizeof(delay), "%d", o->writer_delay);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s/t%d' && mkdir -p '%s/t%d'", o->tmp, t, o->tmp, t);
    if (system(cmd) != 0) return -1;
    int need_replica = strcmp(o->scenario, "restart") != 0 ||
                       (strcmp(o->level, "off") && strcmp(o->level, "local"));
    struct hp_proc P = {0}, R = {0}, N = {0}, L = {0}; /* L: linkem, over a link */
    char *av[32];
    server_argv(o, av, "primary", o->level, pdir, 0, 0, pbuf, delay);
    if (live_spawn(&P, av, plog, 1) < 0) return -1;
    int rport = P.repl_port; /* where the replica dials: the primary, or the link to it */
    if (need_replica && o->link.on) {
        if (live_link_start(&o->link, P.repl_port, llog, &L) < 0) {
            live_stop(&P, SIGKILL);
            return -1;
        }
        rport = L.port;
    }
    if (need_replica) {
        server_argv(o, av, "replica", NULL, rdir, rport, 0, pbuf, delay);
        if (live_spawn(&R, av, rlog, 0) < 0 || hp_wait_replica(P.port, 0, 10000) < 0) {
            fprintf(stderr, "crash-harness: the replica did not connect; see %s\n", rlog);
            live_stop(&P, SIGKILL);
            live_stop(&R, SIGKILL);
            live_stop(&L, SIGKILL);
            return -1;
        }
    }
    atomic_int stop = 0;
    struct h_client cl[HO_MAX_CLIENTS];
    pthread_t th[HO_MAX_CLIENTS];
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
    struct hp_lag g = {0};
    uint64_t wal_end = 0, r_end = 0; /* of the killed primary's WAL; of the replica's */
    int promote = !strcmp(o->scenario, "promote");
    if (promote) hp_lag_sample(P.port, &g);
    uint64_t kill_ms = ev_now_ms();
    tot->write_ms += kill_ms - start_ms;
    char prefix_msg[256] = "";
    int prefix_bad = 0, link_bad = 0;
    struct hp_proc *readback = &N;
    if (!strcmp(o->scenario, "replica")) {
        live_stop(&R, SIGKILL);
        usleep(100000);
        server_argv(o, av, "replica", NULL, rdir, rport, 1, pbuf, delay);
        if (live_spawn(&R, av, rlog, 0) < 0) {
            stop = 1;
            prefix_bad = 1;
        }
        usleep(200000);
        atomic_store(&stop, 1);
        for (int i = 0; i < o->clients; i++)
            pthread_join(th[i], NULL);
        if (R.pid && hp_wait_replica(P.port, 1, 15000) < 0) {
            snprintf(prefix_msg, sizeof(prefix_msg), "the replica did not catch up");
            prefix_bad = 1;
        }
        live_stop(&R, SIGTERM);
        live_stop(&P, SIGTERM); /* both flushed: compare the files */
        live_stop(&L, SIGTERM);
        if (!prefix_bad) prefix_bad = hw_prefix(pdir, rdir, prefix_msg, sizeof(prefix_msg)) < 0;
        /* read back from the restarted replica's data: promote it */
        server_argv(o, av, "primary", "local", rdir, 0, 0, pbuf, delay);
    } else {
        /* Over a link the link dies with the primary (its site is gone): first, so that
         * nothing reaches the replica after the kill.  In flight and queued is lost. */
        live_stop(&L, SIGKILL);
        live_stop(&P, SIGKILL);
        for (int i = 0; i < o->clients; i++)
            pthread_join(th[i], NULL);
        if (promote) {
            char err[256];
            int n[HO_MAX_CLIENTS];
            uint64_t *lsn[HO_MAX_CLIENTS];
            for (int i = 0; i < o->clients; i++) {
                n[i] = cl[i].n;
                lsn[i] = cl[i].lsn;
            }
            if (hw_find_writes(pdir, t, o->clients, n, lsn, &wal_end, err, sizeof(err)) < 0)
                fprintf(stderr, "crash-harness: %s\n", err);
            if (o->link.on && hp_wait_drained(R.port, 5000) < 0) {
                fprintf(stderr,
                        "crash-harness: trial %d: the replica did not see its link end and "
                        "flush what it had received within 5 s; see %s\n",
                        t, rlog);
                link_bad = 1;
            }
            live_stop(&R, SIGKILL); /* promotion = restart with --role primary */
            if (o->link.on &&
                hw_find_writes(rdir, t, 0, NULL, NULL, &r_end, err, sizeof(err)) < 0) {
                fprintf(stderr, "crash-harness: trial %d: the replica's WAL: %s\n", t, err);
                link_bad = 1; /* without its end there is no bound to check against */
            }
            server_argv(o, av, "primary", "local", rdir, 0, 1, pbuf, delay);
        } else {
            live_stop(&R, SIGTERM);
            server_argv(o, av, "primary", "local", pdir, 0, 1, pbuf, delay);
        }
    }
    long checks_before = tot->lost_out + tot->late + tot->over_bytes;
    int started = live_spawn(&N, av, strcmp(o->scenario, "restart") ? rlog : plog, 1) == 0;
    if (started && o->plant > 0) plant_loss(N.port, &cl[0], o->plant);
    /* read back, 256 GETs per round trip */
    struct hc h;
    long w = 0, acked = 0, found = 0, lost = 0, errs = 0, indet = 0, indet_found = 0;
    struct h_loss ls = {0};
    struct h_bound bd = {.g = g, .kill_ms = kill_ms, .r_end = r_end};
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
                        if (promote) {
                            int kl = snprintf(key, sizeof(key), "t%d:c%d:%d", t, i, k);
                            lost_where(o, &bd, cl[i].lsn[k], age, wal_rec_size(4 + 2 * (size_t)kl),
                                       &ls, tot); /* SET key key */
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
    live_stop(&N, SIGTERM);
    for (int i = 0; i < o->clients; i++) {
        free(cl[i].state);
        free(cl[i].ack_ms);
        free(cl[i].lat_us);
        free(cl[i].lsn);
    }
    char lagmsg[200] = "", linkmsg[240] = "";
    uint64_t after = wal_end > g.p_flush ? wal_end - g.p_flush : 0;
    /* implied by the LSN checks: the lost bytes fit in the lag (and in what the link had
     * not delivered) */
    tot->over_bytes += (uint64_t)ls.bytes > g.lag_bytes + after ||
                       (o->link.on && (uint64_t)ls.bytes > (wal_end > r_end ? wal_end - r_end : 0));
    if (g.ok)
        snprintf(lagmsg, sizeof(lagmsg),
                 "lag@kill %" PRIu64 " B %" PRIu64 " ms (+%" PRIu64 " B WAL after); "
                 "lost %ld B in lag + %ld in buffer",
                 g.lag_bytes, g.lag_ms, after, ls.bytes, ls.buf);
    if (promote && o->link.on) {
        /* the WAL the replica had not received when the link died: sent by the sample (on
         * the link: in flight, queued, or arrived and not yet acknowledged), or later */
        uint64_t sent = g.sent < r_end ? r_end : g.sent > wal_end ? wal_end : g.sent;
        uint64_t undelivered = wal_end > r_end ? wal_end - r_end : 0;
        uint64_t on_link = sent > r_end ? sent - r_end : 0;
        tot->undelivered += (long)undelivered;
        tot->on_link += (long)on_link;
        tot->unsent += (long)(undelivered - on_link);
        snprintf(linkmsg, sizeof(linkmsg),
                 "; link: replica had LSN %" PRIu64 " of %" PRIu64 ", undelivered %" PRIu64
                 " B (%" PRIu64 " sent, %" PRIu64 " not); lost %ld on the link + %ld not sent%s",
                 r_end, wal_end, undelivered, on_link, undelivered - on_link, ls.on_link, ls.unsent,
                 link_bad ? "; LINK CHECK FAILED" : "");
    }
    printf("%5d %7ld %7ld %7ld %5ld %6ld %6ld (%ld/%ld) %8" PRIu64 " %s%s%s%s%s\n", t, w, acked,
           found, lost, errs, indet, indet_found, indet - indet_found, lost ? max_age : 0, lagmsg,
           linkmsg, (lagmsg[0] || linkmsg[0]) && prefix_msg[0] ? " " : "", prefix_msg,
           rb_fail ? " READ-BACK FAILED" : "");
    fflush(stdout);
    tot->writes += w;
    tot->acked += acked;
    tot->found += found;
    tot->lost += lost;
    tot->errors += errs;
    tot->indet += indet;
    tot->indet_found += indet_found;
    tot->lost_lag += ls.lag;
    tot->lost_buf += ls.buf;
    tot->lost_bytes += ls.bytes;
    tot->lost_on_link += ls.on_link;
    tot->lost_unsent += ls.unsent;
    tot->lag_bytes += (long)g.lag_bytes;
    if (g.lag_ms > tot->max_lag_ms) tot->max_lag_ms = g.lag_ms;
    if (lost && max_age > tot->max_lost_age) tot->max_lost_age = max_age;
    tot->prefix_fail += prefix_bad;
    rb_fail |= link_bad;
    /* the trial's files stay for a look when one of its checks failed */
    uint64_t allow = o->max_loss_age >= 0 ? (uint64_t)o->max_loss_age : 0;
    int bad = rb_fail || prefix_bad ||
              tot->lost_out + tot->late + tot->over_bytes > checks_before ||
              (o->async_loss ? ls.buf && (o->max_loss_age < 0 || max_age > allow)
                             : lost && (o->max_loss_age < 0 || max_age > allow));
    if (!bad) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s/t%d' '%s' '%s' '%s'", o->tmp, t, plog, rlog, llog);
        (void)!system(cmd);
    }
    return rb_fail ? -1 : 0;
}

int main(int argc, char **argv)
{
    struct ho_opts o;
    int status;
    if (ho_parse(argc, argv, &o, &status) < 0) return status;
    char tmpbuf[512];
    const char *tmpdir = getenv("TMPDIR"); /* mktemp(1)'s rule */
    snprintf(tmpbuf, sizeof(tmpbuf), "%s/crash-harness.XXXXXX",
             tmpdir && *tmpdir ? tmpdir : "/tmp");
    int own_tmp = !o.tmp;
    if (own_tmp && !(o.tmp = mkdtemp(tmpbuf))) {
        fprintf(stderr, "crash-harness: error: mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_stop_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    srand(o.seed);
    printf("# crash-harness level=%s scenario=%s trials=%d clients=%d power-loss=%s "
           "writer-delay=%d repl-throttle=%s link=%s seed=%u\n",
           o.level, o.scenario, o.trials, o.clients, o.power_loss ? o.power_loss : "no",
           o.writer_delay, o.throttle ? o.throttle : "none", o.link.on ? o.link.name : "loopback",
           o.seed);
    printf("%5s %7s %7s %7s %5s %6s %s %8s\n", "trial", "writes", "acked", "found", "LOST",
           "errors", "no-answer (found/missing)", "lost-age-ms");
    struct h_totals tot = {0};
    for (int t = 1; t <= o.trials && !h_stopping; t++)
        if (run_trial(&o, t, &tot) < 0 && !h_stopping) tot.failed_trials++;
    if (h_stopping) {
        if (own_tmp) {
            char cmd[600];
            snprintf(cmd, sizeof(cmd), "rm -rf '%s'", o.tmp);
            (void)!system(cmd);
        }
        fprintf(stderr, "crash-harness: stopped by a signal; every server it started is gone\n");
        return 1;
    }
    int age_ok = o.max_loss_age >= 0 ? tot.max_lost_age <= (uint64_t)o.max_loss_age : tot.lost == 0;
    if (o.async_loss) /* the lag bounds what async replication loses; the buffer, the writer delay
                       */
        age_ok =
            !tot.lost_out && !tot.late && !tot.over_bytes &&
            (!tot.lost_buf || (o.max_loss_age >= 0 && tot.max_buf_age <= (uint64_t)o.max_loss_age));
    uint32_t p50 = 0, p99 = 0, lmin = 0;
    if (tot.nlat) {
        qsort(tot.lat, tot.nlat, sizeof(*tot.lat), cmp_u32);
        lmin = tot.lat[0];
        p50 = tot.lat[tot.nlat / 2];
        p99 = tot.lat[tot.nlat * 99 / 100];
    }
    free(tot.lat);
    printf("TOTAL level=%s scenario=%s power-loss=%s link=%s trials=%d writes=%ld acked=%ld "
           "found=%ld lost=%ld errors=%ld indeterminate=%ld (found %ld) max_lost_age_ms=%" PRIu64
           " prefix_failures=%d failed_trials=%d\n",
           o.level, o.scenario, o.power_loss ? o.power_loss : "no",
           o.link.on ? o.link.name : "loopback", o.trials, tot.writes, tot.acked, tot.found,
           tot.lost, tot.errors, tot.indet, tot.indet_found, tot.max_lost_age, tot.prefix_fail,
           tot.failed_trials);
    printf("ACK latency_ms min=%.2f p50=%.2f p99=%.2f over %zu acknowledged writes, %.0f "
           "acknowledged/s\n",
           lmin / 1000.0, p50 / 1000.0, p99 / 1000.0, tot.nlat,
           tot.write_ms ? (double)tot.acked * 1000 / (double)tot.write_ms : 0.0);
    if (!strcmp(o.scenario, "promote"))
        printf("LAG lag_bytes_at_kill=%ld (sum over trials) max_lag_ms_at_kill=%" PRIu64
               " lost_in_lag=%ld (%ld bytes) lost_in_primary_buffer=%ld (max age %" PRIu64
               " ms) lost_outside_bound=%ld lost_older_than_lag=%ld "
               "trials_lost_bytes_over_lag=%ld\n",
               tot.lag_bytes, tot.max_lag_ms, tot.lost_lag, tot.lost_bytes, tot.lost_buf,
               tot.max_buf_age, tot.lost_out, tot.late, tot.over_bytes);
    if (!strcmp(o.scenario, "promote") && o.link.on)
        printf("LINK link=%s delay_ms=%.3f rate_bps=%" PRIu64 " undelivered_bytes=%ld "
               "sent_not_received_bytes=%ld not_sent_bytes=%ld lost_bytes=%ld lost_on_link=%ld "
               "lost_not_sent=%ld lost_outside_bound=%ld\n",
               o.link.name, (double)o.link.delay_ns / 1e6, o.link.down_bps, tot.undelivered,
               tot.on_link, tot.unsent, tot.lost_bytes, tot.lost_on_link, tot.lost_unsent,
               tot.lost_out);
    if (own_tmp && rmdir(o.tmp) < 0)
        fprintf(stderr, "crash-harness: the data of the trials that failed a check is in %s\n",
                o.tmp);
    return (age_ok && !tot.prefix_fail && !tot.failed_trials) ? 0 : 1;
}
