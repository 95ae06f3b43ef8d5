/* harness_opts: the crash harness's command line.  Contract in the header. */
#include "labs/05-wal-replication/harness_opts.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: crash-harness --server PATH/kv-server --level LEVEL --scenario "
        "restart|promote|replica\n"
        "         [--trials N] [--clients N] [--kill-after MIN:MAX] [--writer-delay MS]\n"
        "         [--power-loss cut|tear] [--max-loss-age-ms MS] [--tmp DIR] [--seed N]\n"
        "         [--repl-throttle BYTES_PER_S] [--allow-async-loss] [--plant-loss N]\n"
        "         [--link PROFILE] [--link-delay D] [--link-rate R] [--link-queue BYTES]\n"
        "         [--linkem PATH]\n"
        "  restart: kill -9 the primary, restart it;  promote: kill -9 the primary, promote\n"
        "  the replica;  replica: kill -9 the replica, restart it, check its WAL is a prefix\n"
        "  of the primary's.\n"
        "  --trials N (5), --clients N (4, at most 16): client threads writing unique keys;\n"
        "  --kill-after MIN:MAX (80:300): the kill comes MIN..MAX ms after they start;\n"
        "  --writer-delay MS (200): the servers' --wal-writer-delay; --seed N (the time).\n"
        "  --power-loss: servers run with --sim-power-loss and restart with it, so each WAL\n"
        "  is cut back to its last fdatasync (tear: half a record more).\n"
        "  --max-loss-age-ms MS: pass when every lost write was acknowledged at most MS\n"
        "  before the kill (off: the writer delay); without it, any loss fails.\n"
        "  promote samples the primary's INFO replication just before the kill and finds\n"
        "  each lost write in the killed primary's WAL.  --allow-async-loss (promote at\n"
        "  off/local): pass when every lost write lies in WAL the replica had not confirmed\n"
        "  at that sample (the lag), or, at off, died in the primary's buffer within\n"
        "  --max-loss-age-ms; any other loss fails.\n"
        "  A replica that lags: --repl-throttle BYTES_PER_S makes the primary send at most\n"
        "  that rate (a slow sender: the backlog waits unsent in the primary's WAL).\n"
        "  --link PROFILE (lan, region, continent, mobile) and/or --link-delay D (one way,\n"
        "  e.g. 20ms), --link-rate R (e.g. 1mbit), --link-queue BYTES put the replica behind\n"
        "  linkem (--linkem PATH; default: linkem beside --server), one per trial; at the\n"
        "  kill the link dies with the primary, so what was in flight and queued on it never\n"
        "  arrives.  A lost write must then also lie past the WAL the replica had received.\n"
        "  --plant-loss N: delete N old acknowledged writes before the read-back (a test:\n"
        "  the run must count them lost outside the bound and fail).\n"
        "  --tmp DIR (default: a new directory under $TMPDIR or /tmp): trials' data; a trial's is\n"
        "  removed unless one of its checks failed.\n"
        "  Exit: 0 every check held, 1 one did not (or a trial could not run), 2 usage.\n");
}

__attribute__((format(printf, 2, 3))) static int usage_error(int *status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "crash-harness: error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\ntry 'crash-harness --help'\n");
    va_end(ap);
    *status = 2;
    return -1;
}

/* A whole non-negative decimal number, at most max; -1 if not. */
static int num_arg(const char *v, int max)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    return errno || end == v || *end || x < 0 || x > max ? -1 : (int)x;
}

int ho_parse(int argc, char **argv, struct ho_opts *o, int *status)
{
    *o = (struct ho_opts){.level = "on",
                          .scenario = "promote",
                          .trials = 5,
                          .clients = 4,
                          .kill_min = 80,
                          .kill_max = 300,
                          .writer_delay = 200,
                          .max_loss_age = -1,
                          .seed = (unsigned)time(NULL)};
    static const char *const levels[] = {"off", "local", "remote_write", "on", "remote_apply"};
    const char *numeric[] = {"--trials", "--clients", "--writer-delay", "--max-loss-age-ms",
                             "--plant-loss"};
    int *numeric_to[] = {&o->trials, &o->clients, &o->writer_delay, &o->max_loss_age, &o->plant};
    struct {
        const char *flag, **to;
    } strs[] = {{"--server", &o->server},         {"--level", &o->level},
                {"--scenario", &o->scenario},     {"--tmp", &o->tmp},
                {"--power-loss", &o->power_loss}, {"--repl-throttle", &o->throttle},
                {"--link", &o->link.profile},     {"--link-delay", &o->link.delay},
                {"--link-rate", &o->link.rate},   {"--link-queue", &o->link.queue},
                {"--linkem", &o->link.linkem}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help")) {
            usage(stdout);
            *status = 0;
            return -1;
        }
        if (!strcmp(a, "--allow-async-loss")) {
            o->async_loss = 1;
            continue;
        }
        if (!v) return usage_error(status, "%s needs a value", a);
        i++;
        int known = 0;
        for (size_t k = 0; k < sizeof(strs) / sizeof(strs[0]); k++)
            if (!strcmp(a, strs[k].flag)) {
                *strs[k].to = v;
                known = 1;
            }
        for (size_t k = 0; k < sizeof(numeric) / sizeof(numeric[0]); k++)
            if (!strcmp(a, numeric[k])) {
                if ((*numeric_to[k] = num_arg(v, 1000000)) < 0)
                    return usage_error(status, "%s wants a whole number, got '%s'", a, v);
                known = 1;
            }
        if (known) continue;
        if (!strcmp(a, "--seed")) {
            o->seed = (unsigned)strtoul(v, NULL, 10);
        } else if (!strcmp(a, "--kill-after")) {
            if (sscanf(v, "%d:%d", &o->kill_min, &o->kill_max) != 2 || o->kill_min < 0 ||
                o->kill_max < o->kill_min)
                return usage_error(status, "--kill-after wants MIN:MAX in ms, got '%s'", v);
        } else {
            return usage_error(status, "unknown option %s", a);
        }
    }
    int level_ok = 0;
    for (size_t k = 0; k < sizeof(levels) / sizeof(levels[0]); k++)
        level_ok |= !strcmp(o->level, levels[k]);
    if (!o->server) return usage_error(status, "--server PATH/kv-server is required");
    if (!level_ok)
        return usage_error(
            status, "--level: off, local, remote_write, on or remote_apply, not '%s'", o->level);
    if (strcmp(o->scenario, "restart") && strcmp(o->scenario, "promote") &&
        strcmp(o->scenario, "replica"))
        return usage_error(status, "--scenario: restart, promote or replica, not '%s'",
                           o->scenario);
    if (o->trials < 1 || o->clients < 1 || o->clients > HO_MAX_CLIENTS || o->writer_delay < 1)
        return usage_error(status, "--trials and --writer-delay at least 1, --clients 1 to %d",
                           HO_MAX_CLIENTS);
    if (o->power_loss && strcmp(o->power_loss, "cut") && strcmp(o->power_loss, "tear"))
        return usage_error(status, "--power-loss: cut or tear, not '%s'", o->power_loss);
    char err[256];
    if (hp_link_check(&o->link, err, sizeof(err)) < 0) return usage_error(status, "%s", err);
    if (o->link.on && !strcmp(o->scenario, "restart") &&
        (!strcmp(o->level, "off") || !strcmp(o->level, "local")))
        return usage_error(status, "a link needs a replica: --scenario restart at %s runs none",
                           o->level);
    if (o->link.on && !o->link.linkem) { /* beside the kv-server the harness was given */
        const char *slash = strrchr(o->server, '/');
        snprintf(o->linkem, sizeof(o->linkem), "%.*slinkem",
                 slash ? (int)(slash - o->server + 1) : 0, o->server);
        o->link.linkem = o->linkem;
    }
    if (o->link.on && access(o->link.linkem, X_OK) < 0) {
        fprintf(stderr, "crash-harness: error: %s: %s (make all builds linkem)\n", o->link.linkem,
                strerror(errno));
        *status = 1;
        return -1;
    }
    return 0;
}
