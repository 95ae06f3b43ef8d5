/* harness_proc: starting and stopping the crash harness's processes, linkem among them.
 * Contract in the header. */
#include "labs/05-wal-replication/harness_proc.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/ev.h"
#include "io/link/link_spec.h"
#include "labs/05-wal-replication/harness_client.h"

int hp_spawn(struct hp_proc *p, char *const argv[], const char *log, int want_repl)
{
    int fds[2];
    if (pipe(fds) < 0) return -1;
    p->pid = fork();
    if (p->pid < 0) {
        p->pid = 0;
        close(fds[0]);
        close(fds[1]);
        return -1;
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
        hp_stop(p, SIGKILL);
        return -1;
    }
    return 0;
}

void hp_stop(struct hp_proc *p, int sig)
{
    if (p->pid > 0) {
        kill(p->pid, sig);
        waitpid(p->pid, NULL, 0);
    }
    p->pid = 0;
}

int hp_link_check(struct hp_link *l, char *err, size_t errlen)
{
    l->on = l->profile || l->delay || l->rate || l->queue;
    l->delay_ns = l->down_bps = 0;
    l->name[0] = 0;
    if (!l->on) return 0;
    const struct link_profile *pr = NULL;
    if (l->profile && !(pr = link_spec_profile(l->profile))) {
        snprintf(err, errlen, "--link: no profile '%s' (lan, region, continent, mobile)",
                 l->profile);
        return -1;
    }
    if (pr) {
        l->delay_ns = pr->delay_ns;
        l->down_bps = pr->down_bps;
    }
    char e[160];
    size_t q;
    const char *bad =
        l->delay && link_spec_duration(l->delay, &l->delay_ns, e, sizeof(e)) < 0 ? "--link-delay"
        : l->rate && link_spec_rate(l->rate, &l->down_bps, e, sizeof(e)) < 0     ? "--link-rate"
        : l->queue && link_spec_size(l->queue, &q, e, sizeof(e)) < 0             ? "--link-queue"
                                                                                 : NULL;
    if (bad) {
        snprintf(err, errlen, "%s: %s", bad, e);
        return -1;
    }
    /* one word, so that the harness's KEY=VALUE report lines stay split on spaces */
    const char *part[] = {l->profile, l->delay, l->rate, l->queue};
    const char *key[] = {"", "delay=", "rate=", "queue="};
    size_t n = 0;
    for (int i = 0; i < 4; i++)
        if (part[i] && n < sizeof(l->name))
            n += (size_t)snprintf(l->name + n, sizeof(l->name) - n, "%s%s%s", n ? "," : "", key[i],
                                  part[i]);
    return 0;
}

int hp_link_start(const struct hp_link *l, int to_port, const char *log, struct hp_proc *p)
{
    char to[32];
    snprintf(to, sizeof(to), "127.0.0.1:%d", to_port);
    char *av[16];
    int n = 0;
    av[n++] = (char *)l->linkem;
    av[n++] = "--listen";
    av[n++] = "127.0.0.1:0";
    av[n++] = "--to";
    av[n++] = to;
    const char *flag[] = {"--profile", "--delay", "--rate", "--queue"};
    const char *val[] = {l->profile, l->delay, l->rate, l->queue};
    for (int i = 0; i < 4; i++)
        if (val[i]) {
            av[n++] = (char *)flag[i];
            av[n++] = (char *)val[i];
        }
    av[n] = NULL;
    return hp_spawn(p, av, log, 0);
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

void hp_lag_sample(int port, struct hp_lag *g)
{
    struct hc h;
    struct hc_reply r;
    const char *argv[] = {"INFO", "replication"};
    char v[256], pf[32], *f, *b, *m, *sn;
    memset(g, 0, sizeof(*g));
    g->at_ms = ev_now_ms();
    if (hc_connect(&h, port, 1000) == 0 && hc_send(&h, 2, argv) == 0 && hc_read(&h, &r) == 0 &&
        r.type == '$' && hc_info_field(r.str, "wal_flush_lsn", pf, sizeof(pf)) == 0 &&
        hc_info_field(r.str, "slave0", v, sizeof(v)) == 0 && (f = strstr(v, "flush_lsn=")) &&
        (b = strstr(v, "lag_bytes=")) && (m = strstr(v, "lag_ms=")) &&
        (sn = strstr(v, "sent_lsn="))) {
        g->sent = strtoull(sn + 9, NULL, 10);
        g->r_flush = strtoull(f + 10, NULL, 10);
        g->lag_bytes = strtoull(b + 10, NULL, 10);
        g->lag_ms = strtoull(m + 7, NULL, 10);
        g->p_flush = strtoull(pf, NULL, 10);
        g->ok = 1;
    }
    hc_close(&h);
}

int hp_wait_replica(int port, int catch_up, int ms)
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

/* After its link died, the replica has taken everything that reached it (link down) and
 * flushed it (flush LSN = insert LSN): stopping it then loses nothing it received. */
int hp_wait_drained(int port, int ms)
{
    uint64_t end = ev_now_ms() + (uint64_t)ms;
    const char *argv[] = {"INFO", "replication"};
    while (ev_now_ms() < end) {
        struct hc h;
        struct hc_reply r;
        char st[16], fl[32], in[32];
        int done = hc_connect(&h, port, 1000) == 0 && hc_send(&h, 2, argv) == 0 &&
                   hc_read(&h, &r) == 0 && r.type == '$' &&
                   hc_info_field(r.str, "master_link_status", st, sizeof(st)) == 0 &&
                   hc_info_field(r.str, "wal_flush_lsn", fl, sizeof(fl)) == 0 &&
                   hc_info_field(r.str, "wal_insert_lsn", in, sizeof(in)) == 0 &&
                   !strcmp(st, "down") && !strcmp(fl, in);
        hc_close(&h);
        if (done) return 0;
        usleep(10000);
    }
    return -1;
}
