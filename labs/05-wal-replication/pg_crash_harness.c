/* pg-crash-harness: what does each synchronous_commit level lose when PostgreSQL's
 * primary dies?  The twin of crash-harness (kv-server's), speaking the PostgreSQL protocol.
 *
 * Per trial: a fresh primary and synchronous standby (pg-pair.sh start, copied from a
 * template made once per run); client threads upsert unique keys through libpq at the
 * chosen synchronous_commit level and record every answer (acknowledged, error, none)
 * with the times it was sent and answered.  At a random moment the primary's postmaster
 * gets SIGKILL; then the primary is restarted in place (restart) or the standby promoted
 * (promote: pg_ctl promote), and every key is looked for:
 *   found / LOST (acknowledged but missing) / error / no answer (found or not).
 * Two checks hold whatever the level: the acknowledged writes that survive are a prefix
 * of the commit order (no write acknowledged before a surviving write was even sent is
 * lost), and on promote every lost write is looked for on the old primary, restarted:
 * there, it had reached the primary's WAL files and never the standby (the replication
 * lag); absent, it died in the primary's WAL buffers (only `off` may).  Exits 1 when an
 * acknowledged write was lost outside what the options allow, or a trial failed; 2 on a
 * usage error. */
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io/ev.h"
#include "labs/05-wal-replication/pg_pair.h"

#define PC_MAX_CLIENTS 16
#define PC_MAX_WRITES  200000 /* per client and trial */

enum { PW_SENT, PW_OK, PW_ERR };

struct pc_opts {
    const char *level, *scenario, *tmp, *pair, *link_rate, *link_delay, *tmpl;
    int trials, clients, kill_min, kill_max, writer_delay, max_loss_age, async_loss, plant, pace_ms;
    unsigned seed;
};

struct pc_client {
    int id, trial, port, pace_ms;
    const char *level;
    atomic_int *stop, *ready, *done;
    unsigned char *state, *found, *on_old;
    uint64_t *send_ns, *ack_ns;
    int n;
};

/* The run's scratch directory and the pair alive now, for the signal thread. */
static char g_run_dir[PATH_MAX], g_live[PATH_MAX + 16];
static const char *g_pair;
static pthread_mutex_t g_live_mu = PTHREAD_MUTEX_INITIALIZER;

static const char *const LEVELS[] = {"off", "local", "remote_write", "on", "remote_apply"};

static int pair(const char *cmd, const char *dir, const char *const *extra, char *out, size_t cap)
{
    char *av[24];
    int n = 0;
    av[n++] = (char *)g_pair;
    av[n++] = (char *)cmd;
    av[n++] = (char *)dir;
    for (; extra && *extra && n < 23; extra++)
        av[n++] = (char *)*extra;
    av[n] = NULL;
    char sink[256];
    return pp_run(av, out ? out : sink, out ? cap : sizeof(sink));
}

static void set_live(const char *dir)
{
    pthread_mutex_lock(&g_live_mu);
    snprintf(g_live, sizeof(g_live), "%s", dir ? dir : "");
    pthread_mutex_unlock(&g_live_mu);
}

static void remove_tree(const char *dir)
{
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    (void)!system(cmd);
}

/* Ctrl-C or SIGTERM: stop the pair that runs now, remove the scratch directory, exit. */
static void *signal_main(void *arg)
{
    sigset_t *set = arg;
    int sig;
    sigwait(set, &sig);
    fprintf(stderr, "pg-crash-harness: signal %d: stopping the pair\n", sig);
    pthread_mutex_lock(&g_live_mu);
    if (g_live[0]) {
        char d[PATH_MAX + 32];
        pair("stop", g_live, NULL, NULL, 0);
        /* a start that was under way may have brought a server up after the stop */
        snprintf(d, sizeof(d), "%s/primary", g_live);
        pp_wait_gone(d, 0);
        snprintf(d, sizeof(d), "%s/standby", g_live);
        pp_wait_gone(d, 0);
    }
    if (g_run_dir[0]) remove_tree(g_run_dir);
    fflush(stdout); /* the trials printed so far */
    _exit(128 + sig);
}

static void *client_main(void *arg)
{
    struct pc_client *c = arg;
    PGconn *conn = pp_connect(c->port, c->level);
    PGresult *r = NULL;
    if (conn) {
        r = PQprepare(conn, "up",
                      "INSERT INTO kv (k, v) VALUES ($1, $1) ON CONFLICT (k) DO UPDATE SET v = "
                      "EXCLUDED.v",
                      1, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            fprintf(stderr, "pg-crash-harness: prepare: %s", PQerrorMessage(conn));
    }
    int prepared = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    atomic_fetch_add(c->ready, 1);
    char key[64];
    while (prepared && c->n < PC_MAX_WRITES && !atomic_load(c->stop)) {
        snprintf(key, sizeof(key), "t%d:c%d:%d", c->trial, c->id, c->n);
        const char *params[] = {key};
        int i = c->n++;
        c->state[i] = PW_SENT; /* recorded before it is sent: no answer = indeterminate */
        c->send_ns[i] = ev_now_ns();
        r = PQexecPrepared(conn, "up", 1, params, NULL, NULL, 0);
        int st = PQresultStatus(r);
        PQclear(r);
        if (st == PGRES_COMMAND_OK) {
            c->state[i] = PW_OK;
            c->ack_ns[i] = ev_now_ns();
        } else if (PQstatus(conn) == CONNECTION_BAD) {
            break; /* the server went away without answering: no answer */
        } else {
            c->state[i] = PW_ERR;
        }
        if (c->pace_ms) usleep((useconds_t)c->pace_ms * 1000u);
    }
    if (conn) PQfinish(conn);
    atomic_fetch_add(c->done, 1);
    return NULL;
}

struct pc_mark {
    struct pc_client *cl;
    int trial, nc, on_old;
};

/* pp_each_key callback: marks found (or on_old) for each key of this trial. */
static void mark_key(void *arg, const char *key)
{
    struct pc_mark *m = arg;
    int t, ci, k;
    if (sscanf(key, "t%d:c%d:%d", &t, &ci, &k) == 3 && t == m->trial && ci >= 0 && ci < m->nc &&
        k >= 0 && k < m->cl[ci].n)
        (m->on_old ? m->cl[ci].on_old : m->cl[ci].found)[k] = 1;
}

static int read_keys(int port, int trial, struct pc_client *cl, int nc, int on_old)
{
    struct pc_mark m = {.cl = cl, .trial = trial, .nc = nc, .on_old = on_old};
    char err[256];
    if (pp_each_key(port, mark_key, &m, err, sizeof(err)) == 0) return 0;
    fprintf(stderr, "pg-crash-harness: read back from 127.0.0.1:%d: %s\n", port, err);
    return -1;
}

/* --plant-loss N: delete the N oldest acknowledged writes of client 0 before the read-back,
 * so a run shows that the harness counts a missing write as lost (and fails). */
static void plant_loss(int port, struct pc_client *c0, int n)
{
    PGconn *c = pp_connect(port, "local");
    char key[64];
    for (int k = 0; c && k < c0->n && n > 0; k++) {
        if (c0->state[k] != PW_OK) continue;
        snprintf(key, sizeof(key), "t%d:c0:%d", c0->trial, k);
        const char *params[] = {key};
        PQclear(PQexecParams(c, "DELETE FROM kv WHERE k = $1", 1, NULL, params, NULL, NULL, 0));
        n--;
    }
    if (c) PQfinish(c);
}

struct pc_totals {
    long writes, acked, found, lost, errors, indet, indet_found, after_kill;
    long lost_lag, lost_buf, not_prefix, lag_bytes, unflushed;
    uint64_t max_lost_age, max_buf_age, max_lag_ms, write_ms;
    int failed_trials;
    uint32_t *lat; /* acknowledgement latencies, us */
    size_t nlat, latcap;
};

static void lat_push(struct pc_totals *tot, uint32_t us)
{
    if (tot->nlat == tot->latcap) {
        size_t cap = tot->latcap * 2 + 4096;
        uint32_t *l = realloc(tot->lat, cap * sizeof(*l));
        if (!l) return; /* the percentiles then cover fewer writes; the loss count does not */
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

static int run_trial(const struct pc_opts *o, const char *tmpl, int t, struct pc_totals *tot)
{
    char dir[PATH_MAX + 16], pdir[PATH_MAX + 32], out[1024], wd[32], rate[64], delay[64];
    snprintf(dir, sizeof(dir), "%s/t%d", g_run_dir, t);
    snprintf(pdir, sizeof(pdir), "%s/primary", dir);
    const char *extra[12] = {"--from", tmpl};
    int ne = 2;
    if (o->writer_delay > 0) {
        snprintf(wd, sizeof(wd), "wal_writer_delay=%dms", o->writer_delay);
        extra[ne++] = "-c";
        extra[ne++] = wd;
    }
    if (o->link_rate) {
        snprintf(rate, sizeof(rate), "%s", o->link_rate);
        extra[ne++] = "--link-rate";
        extra[ne++] = rate;
    }
    if (o->link_delay) {
        snprintf(delay, sizeof(delay), "%s", o->link_delay);
        extra[ne++] = "--link-delay";
        extra[ne++] = delay;
    }
    set_live(dir);
    if (pair("start", dir, extra, out, sizeof(out)) != 0) {
        fprintf(stderr, "pg-crash-harness: trial %d: the pair did not start\n", t);
        pair("stop", dir, NULL, NULL, 0);
        set_live(NULL);
        return -1;
    }
    int pport = pp_port(out, "PG_PRIMARY_PORT"), sport = pp_port(out, "PG_STANDBY_PORT");
    int promote = !strcmp(o->scenario, "promote");
    PGconn *mon = promote ? pp_connect(pport, "local") : NULL;
    atomic_int stop = 0, ready = 0, done = 0;
    struct pc_client cl[PC_MAX_CLIENTS];
    pthread_t th[PC_MAX_CLIENTS];
    int nth = 0;
    for (int i = 0; i < o->clients; i++) {
        cl[i] = (struct pc_client){.id = i,
                                   .trial = t,
                                   .port = pport,
                                   .pace_ms = o->pace_ms,
                                   .level = o->level,
                                   .stop = &stop,
                                   .ready = &ready,
                                   .done = &done};
        cl[i].state = calloc(PC_MAX_WRITES, 1);
        cl[i].found = calloc(PC_MAX_WRITES, 1);
        cl[i].on_old = calloc(PC_MAX_WRITES, 1);
        cl[i].send_ns = calloc(PC_MAX_WRITES, sizeof(uint64_t));
        cl[i].ack_ns = calloc(PC_MAX_WRITES, sizeof(uint64_t));
        if (!cl[i].state || !cl[i].found || !cl[i].on_old || !cl[i].send_ns || !cl[i].ack_ns) {
            fprintf(stderr, "pg-crash-harness: out of memory\n");
            exit(1);
        }
        if (pthread_create(&th[i], NULL, client_main, &cl[i]) == 0) nth++;
    }
    /* the kill clock starts once every client is connected and prepared */
    for (int i = 0; i < 1000 && atomic_load(&ready) < nth; i++)
        usleep(10000);
    uint64_t start_ms = ev_now_ms();
    int span = o->kill_max - o->kill_min;
    usleep((useconds_t)(o->kill_min + (span > 0 ? rand() % span : 0)) * 1000u);
    struct pp_lag g;
    pp_lag_sample(mon, &g);
    pid_t pm = pp_postmaster_pid(pdir);
    if (pm > 0) kill(pm, SIGKILL);
    uint64_t kill_ns = ev_now_ns();
    tot->write_ms += ev_now_ms() - start_ms;
    if (mon) PQfinish(mon);
    /* the backends notice their postmaster's death and exit, which ends the clients' waits;
     * a straggler past 10 s is killed (pp_wait_gone) */
    for (int i = 0; i < 500 && atomic_load(&done) < nth; i++)
        usleep(20000);
    if (atomic_load(&done) < nth) pp_wait_gone(pdir, 0);
    atomic_store(&stop, 1);
    for (int i = 0; i < nth; i++)
        pthread_join(th[i], NULL);
    int rport = promote ? sport : pport;
    int rb_fail = pair(promote ? "promote" : "restart", dir, NULL, out, sizeof(out)) != 0;
    if (!rb_fail && o->plant > 0) plant_loss(rport, &cl[0], o->plant);
    rb_fail = rb_fail || read_keys(rport, t, cl, o->clients, 0) < 0;
    /* tally; then, on promote with losses, ask the old primary which of them it had */
    long w = 0, acked = 0, found = 0, lost = 0, errs = 0, indet = 0, indet_found = 0, after = 0;
    uint64_t max_age = 0, max_found_send = 0;
    for (int i = 0; i < o->clients && !rb_fail; i++)
        for (int k = 0; k < cl[i].n; k++)
            if (cl[i].found[k] && cl[i].send_ns[k] > max_found_send)
                max_found_send = cl[i].send_ns[k];
    for (int i = 0; i < o->clients && !rb_fail; i++)
        for (int k = 0; k < cl[i].n; k++) {
            w++;
            if (cl[i].state[k] == PW_OK) {
                acked++;
                after += cl[i].ack_ns[k] > kill_ns;
                lat_push(tot, (uint32_t)((cl[i].ack_ns[k] - cl[i].send_ns[k]) / 1000));
                if (cl[i].found[k]) {
                    found++;
                    continue;
                }
                lost++;
                uint64_t age =
                    kill_ns > cl[i].ack_ns[k] ? (kill_ns - cl[i].ack_ns[k]) / 1000000 : 0;
                if (age > max_age) max_age = age;
                /* answered before a surviving write was sent: it committed earlier, so a
                 * WAL prefix that holds the later one holds it too */
                tot->not_prefix += cl[i].ack_ns[k] < max_found_send;
            } else if (cl[i].state[k] == PW_ERR) {
                errs++;
            } else {
                indet++;
                indet_found += cl[i].found[k];
            }
        }
    long lost_lag = 0, lost_buf = 0;
    if (!rb_fail && promote && lost) {
        if (pair("restart", dir, NULL, out, sizeof(out)) != 0 ||
            read_keys(pport, t, cl, o->clients, 1) < 0) {
            fprintf(stderr, "pg-crash-harness: trial %d: the old primary did not come back\n", t);
            rb_fail = 1;
        }
        for (int i = 0; i < o->clients && !rb_fail; i++)
            for (int k = 0; k < cl[i].n; k++) {
                if (cl[i].state[k] != PW_OK || cl[i].found[k]) continue;
                if (cl[i].on_old[k]) {
                    lost_lag++;
                } else {
                    lost_buf++;
                    uint64_t age =
                        kill_ns > cl[i].ack_ns[k] ? (kill_ns - cl[i].ack_ns[k]) / 1000000 : 0;
                    if (age > tot->max_buf_age) tot->max_buf_age = age;
                }
            }
    } else if (!promote) {
        lost_buf = lost; /* not on the primary itself: it died in its WAL buffers */
        if (lost && max_age > tot->max_buf_age) tot->max_buf_age = max_age;
    }
    pair("stop", dir, NULL, NULL, 0);
    set_live(NULL);
    for (int i = 0; i < o->clients; i++) {
        free(cl[i].state);
        free(cl[i].found);
        free(cl[i].on_old);
        free(cl[i].send_ns);
        free(cl[i].ack_ns);
    }
    char lagmsg[200] = "";
    if (g.ok)
        snprintf(lagmsg, sizeof(lagmsg),
                 "lag@kill %lld B %lld ms, unflushed %lld B; lost %ld on the old primary + %ld "
                 "not",
                 g.lag_bytes, g.lag_ms, g.unflushed, lost_lag, lost_buf);
    printf("%5d %7ld %7ld %7ld %5ld %6ld %6ld (%ld/%ld) %8" PRIu64 " %s%s\n", t, w, acked, found,
           lost, errs, indet, indet_found, indet - indet_found, lost ? max_age : 0, lagmsg,
           rb_fail ? " READ-BACK FAILED" : "");
    fflush(stdout);
    tot->writes += w;
    tot->acked += acked;
    tot->found += found;
    tot->lost += lost;
    tot->errors += errs;
    tot->indet += indet;
    tot->indet_found += indet_found;
    tot->after_kill += after;
    tot->lost_lag += lost_lag;
    tot->lost_buf += lost_buf;
    tot->lag_bytes += g.lag_bytes;
    tot->unflushed += g.unflushed;
    if ((uint64_t)g.lag_ms > tot->max_lag_ms) tot->max_lag_ms = (uint64_t)g.lag_ms;
    if (lost && max_age > tot->max_lost_age) tot->max_lost_age = max_age;
    return rb_fail ? -1 : 0;
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: pg-crash-harness --level LEVEL --scenario restart|promote [--trials N]\n"
        "         [--clients N] [--kill-after MIN:MAX] [--wal-writer-delay MS]\n"
        "         [--max-loss-age-ms MS] [--allow-async-loss] [--link-rate RATE]\n"
        "         [--link-delay DELAY] [--pace-ms MS] [--tmp DIR] [--pair PATH] [--template DIR]\n"
        "         [--seed N] [--plant-loss N]\n"
        "  LEVEL: off, local, remote_write, on, remote_apply (synchronous_commit, per session)\n"
        "  restart: SIGKILL the primary's postmaster, start it again over its data directory\n"
        "  promote: SIGKILL the primary's postmaster, promote the standby (pg_ctl promote)\n"
        "  --trials N         trials, each on a fresh pair (default 5)\n"
        "  --clients N        writer threads, 1..%d (default 4)\n"
        "  --kill-after MIN:MAX  kill at a random moment MIN..MAX ms after every client is\n"
        "                     connected (default 80:300)\n"
        "  --wal-writer-delay MS  the primary's wal_writer_delay (default: PostgreSQL's, 200)\n"
        "  --pace-ms MS       each client waits MS between writes (a trickle, not a flood)\n"
        "  --max-loss-age-ms MS   at off: pass when every lost write died in the primary's WAL\n"
        "                     buffers and was acknowledged at most MS before the kill\n"
        "  --allow-async-loss (promote at off/local) pass when every lost write is on the old\n"
        "                     primary's disk and never reached the standby (the lag), or, at off,\n"
        "                     died in its buffers within --max-loss-age-ms; any other loss fails\n"
        "  --link-rate RATE, --link-delay DELAY  the standby reaches the primary through\n"
        "                     build/bin/linkem with these (a slow link: the standby lags)\n"
        "  --tmp DIR          where the run's directory goes; the postgres user must reach it\n"
        "                     (default build)\n"
        "  --pair PATH        the pair script (default labs/05-wal-replication/pg-pair.sh)\n"
        "  --template DIR     copy each trial's pair from DIR (made by pg-pair.sh init DIR)\n"
        "                     instead of making a template for this run\n"
        "  --seed N           random seed for the kill moments (default: the time)\n"
        "  --plant-loss N     test mode: delete N acknowledged writes before the read-back\n"
        "Exit status: 0 nothing acknowledged lost beyond what the options allow; 1 a loss\n"
        "outside them or a failed trial; 2 a usage error.\n",
        PC_MAX_CLIENTS);
}

static int bad_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "pg-crash-harness: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\ntry 'pg-crash-harness --help'\n");
    return 2;
}

static int parse_int(const char *v, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi) return -1;
    *out = (int)x;
    return 0;
}

int main(int argc, char **argv)
{
    struct pc_opts o = {.level = "on",
                        .scenario = "promote",
                        .tmp = "build",
                        .pair = "labs/05-wal-replication/pg-pair.sh",
                        .trials = 5,
                        .clients = 4,
                        .kill_min = 80,
                        .kill_max = 300,
                        .max_loss_age = -1,
                        .seed = (unsigned)time(NULL)};
    /* the options that take a string, and those that take an integer in a range */
    const struct {
        const char *name, **dst;
    } strs[] = {{"--level", &o.level},
                {"--scenario", &o.scenario},
                {"--tmp", &o.tmp},
                {"--pair", &o.pair},
                {"--template", &o.tmpl},
                {"--link-rate", &o.link_rate},
                {"--link-delay", &o.link_delay}};
    const struct {
        const char *name;
        int *dst, lo, hi;
    } ints[] = {{"--trials", &o.trials, 1, 100000},
                {"--clients", &o.clients, 1, PC_MAX_CLIENTS},
                {"--wal-writer-delay", &o.writer_delay, 1, 10000}, /* PostgreSQL's range, ms */
                {"--max-loss-age-ms", &o.max_loss_age, 0, INT_MAX},
                {"--pace-ms", &o.pace_ms, 0, 10000},
                {"--plant-loss", &o.plant, 0, PC_MAX_WRITES}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0, known = 0;
        if (!strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--allow-async-loss")) {
            o.async_loss = 1;
            continue;
        }
        if (!v) return bad_usage("%s needs a value", a);
        i++;
        for (size_t k = 0; k < sizeof(strs) / sizeof(strs[0]) && !known; k++)
            if ((known = !strcmp(a, strs[k].name))) *strs[k].dst = v;
        for (size_t k = 0; k < sizeof(ints) / sizeof(ints[0]) && !known; k++)
            if ((known = !strcmp(a, ints[k].name)))
                bad = parse_int(v, ints[k].lo, ints[k].hi, ints[k].dst);
        if (!known && !strcmp(a, "--seed")) {
            int s;
            bad = parse_int(v, 0, INT_MAX, &s);
            o.seed = (unsigned)s;
        } else if (!known && !strcmp(a, "--kill-after")) {
            bad = sscanf(v, "%d:%d", &o.kill_min, &o.kill_max) != 2 || o.kill_min < 0 ||
                  o.kill_max < o.kill_min || o.kill_max > 600000;
        } else if (!known) {
            return bad_usage("unknown option %s", a);
        }
        if (bad) return bad_usage("bad value for %s", a);
    }
    int level_ok = 0;
    for (size_t i = 0; i < sizeof(LEVELS) / sizeof(LEVELS[0]); i++)
        level_ok |= !strcmp(o.level, LEVELS[i]);
    if (!level_ok)
        return bad_usage("--level must be off, local, remote_write, on or remote_apply, not '%s'",
                         o.level);
    if (strcmp(o.scenario, "restart") && strcmp(o.scenario, "promote"))
        return bad_usage("--scenario must be restart or promote, not '%s'", o.scenario);
    if (access(o.pair, X_OK) != 0) {
        fprintf(stderr,
                "pg-crash-harness: error: %s: %s (run from the top of the tree, or --pair "
                "PATH)\n",
                o.pair, strerror(errno));
        return 1;
    }
    g_pair = o.pair;
    setenv("PG_PAIR_QUIET", "1", 1); /* one line per trial here, not the script's progress */
    /* signals go to one thread, which stops the live pair; children unblock them again */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    pthread_t sth;
    pthread_create(&sth, NULL, signal_main, &set);
    char base[PATH_MAX + 32];
    snprintf(base, sizeof(base), "%s/pg-crash-harness.XXXXXX", o.tmp);
    if (!mkdtemp(base) || !realpath(base, g_run_dir) || chmod(g_run_dir, 0755) < 0) {
        fprintf(stderr, "pg-crash-harness: error: cannot make a directory under %s: %s\n", o.tmp,
                strerror(errno));
        return 1;
    }
    srand(o.seed);
    char wdn[16] = "200";
    if (o.writer_delay) snprintf(wdn, sizeof(wdn), "%d", o.writer_delay);
    printf("# pg-crash-harness level=%s scenario=%s trials=%d clients=%d pace=%dms "
           "wal-writer-delay=%sms link=%s delay=%s seed=%u\n",
           o.level, o.scenario, o.trials, o.clients, o.pace_ms, wdn,
           o.link_rate ? o.link_rate : "loopback", o.link_delay ? o.link_delay : "0", o.seed);
    char tmpl[PATH_MAX + 16];
    snprintf(tmpl, sizeof(tmpl), "%s/template", g_run_dir);
    if (o.tmpl && !realpath(o.tmpl, tmpl)) {
        fprintf(stderr, "pg-crash-harness: error: --template %s: %s\n", o.tmpl, strerror(errno));
        remove_tree(g_run_dir);
        return 1;
    }
    set_live(o.tmpl ? NULL : tmpl);
    if (!o.tmpl && pair("init", tmpl, NULL, NULL, 0) != 0) {
        fprintf(stderr, "pg-crash-harness: error: could not make the pair template\n");
        set_live(NULL);
        remove_tree(g_run_dir);
        return 1;
    }
    set_live(NULL);
    printf("%5s %7s %7s %7s %5s %6s %s %8s\n", "trial", "writes", "acked", "found", "LOST",
           "errors", "no-answer (found/missing)", "lost-age-ms");
    struct pc_totals tot = {0};
    for (int t = 1; t <= o.trials; t++)
        if (run_trial(&o, tmpl, t, &tot) < 0) tot.failed_trials++;
    pthread_mutex_lock(&g_live_mu); /* from here a signal waits for the clean-up to finish */
    remove_tree(g_run_dir);
    int is_off = !strcmp(o.level, "off");
    int buf_ok = !tot.lost_buf ||
                 (is_off && o.max_loss_age >= 0 && tot.max_buf_age <= (uint64_t)o.max_loss_age);
    int loss_ok = !tot.lost;
    if (!strcmp(o.scenario, "restart") && is_off) loss_ok = buf_ok;
    if (!strcmp(o.scenario, "promote") && o.async_loss && (is_off || !strcmp(o.level, "local")))
        loss_ok = buf_ok; /* the lag is allowed; the buffer only at off, within the bound */
    uint32_t p50 = 0, p99 = 0;
    if (tot.nlat) {
        qsort(tot.lat, tot.nlat, sizeof(*tot.lat), cmp_u32);
        p50 = tot.lat[tot.nlat / 2];
        p99 = tot.lat[tot.nlat * 99 / 100];
    }
    free(tot.lat);
    printf("TOTAL level=%s scenario=%s link=%s trials=%d writes=%ld acked=%ld found=%ld lost=%ld "
           "errors=%ld indeterminate=%ld (found %ld) max_lost_age_ms=%" PRIu64
           " not_prefix=%ld acked_after_kill=%ld failed_trials=%d\n",
           o.level, o.scenario, o.link_rate ? o.link_rate : "loopback", o.trials, tot.writes,
           tot.acked, tot.found, tot.lost, tot.errors, tot.indet, tot.indet_found, tot.max_lost_age,
           tot.not_prefix, tot.after_kill, tot.failed_trials);
    printf("ACK latency_ms p50=%.2f p99=%.2f over %zu acknowledged writes, %.0f acknowledged/s\n",
           p50 / 1000.0, p99 / 1000.0, tot.nlat,
           tot.write_ms ? (double)tot.acked * 1000 / (double)tot.write_ms : 0.0);
    if (!strcmp(o.scenario, "promote"))
        printf("LAG lag_bytes_at_kill=%ld (sum over trials) unflushed_bytes_at_kill=%ld "
               "max_flush_lag_ms=%" PRIu64 " lost_on_old_primary=%ld lost_in_primary_buffers=%ld "
               "(max age %" PRIu64 " ms)\n",
               tot.lag_bytes, tot.unflushed, tot.max_lag_ms, tot.lost_lag, tot.lost_buf,
               tot.max_buf_age);
    if (tot.not_prefix)
        printf("NOT A PREFIX: %ld lost writes were acknowledged before a surviving write was "
               "sent\n",
               tot.not_prefix);
    fflush(stdout);
    return loss_ok && !tot.not_prefix && !tot.failed_trials ? 0 : 1;
}
