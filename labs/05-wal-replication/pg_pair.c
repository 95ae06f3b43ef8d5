/* pg_pair: running pg-pair.sh and finding one PostgreSQL instance's processes; see pg_pair.h. */
#include "labs/05-wal-replication/pg_pair.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int pp_run(char *const argv[], char *out, size_t cap)
{
    int fds[2];
    if (pipe(fds) < 0) return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        /* the harness blocks SIGINT/SIGTERM for its signal thread; a blocked mask
         * survives exec, and the script's own Ctrl-C cleanup needs them */
        sigset_t none;
        sigemptyset(&none);
        pthread_sigmask(SIG_SETMASK, &none, NULL);
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(argv[0], argv);
        fprintf(stderr, "pg-crash-harness: error: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    size_t len = 0;
    for (;;) {
        char sink[512];
        char *dst = len + 1 < cap ? out + len : sink;
        size_t room = len + 1 < cap ? cap - 1 - len : sizeof(sink);
        ssize_t r = read(fds[0], dst, room);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        if (dst != sink) len += (size_t)r;
    }
    if (cap) out[len] = 0;
    close(fds[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int pp_port(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, name, n) && p[n] == '=') return atoi(p + n + 1);
    return 0;
}

pid_t pp_postmaster_pid(const char *datadir)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/postmaster.pid", datadir);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long pid = -1;
    if (fscanf(f, "%ld", &pid) != 1) pid = -1;
    fclose(f);
    return pid > 0 ? (pid_t)pid : -1;
}

int pp_instance_pids(const char *datadir, pid_t *pids, int max)
{
    DIR *d = opendir("/proc");
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0) continue;
        char path[64], cwd[1024], comm[32] = "";
        snprintf(path, sizeof(path), "/proc/%ld/cwd", pid);
        ssize_t l = readlink(path, cwd, sizeof(cwd) - 1);
        if (l <= 0) continue;
        cwd[l] = 0;
        if (strcmp(cwd, datadir)) continue;
        snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        if (!fgets(comm, sizeof(comm), f)) comm[0] = 0;
        fclose(f);
        if (!strcmp(comm, "postgres\n")) pids[n++] = (pid_t)pid;
    }
    closedir(d);
    return n;
}

int pp_wait_gone(const char *datadir, int ms)
{
    pid_t pids[256];
    for (int waited = 0;; waited += 20) {
        int n = pp_instance_pids(datadir, pids, 256);
        if (n == 0) return 0;
        if (waited >= ms) {
            for (int i = 0; i < n; i++)
                kill(pids[i], SIGKILL);
            usleep(100000);
            return n;
        }
        usleep(20000);
    }
}

/* Notices are not the harness's output: the answer to each write is what it records. */
static void pp_quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

PGconn *pp_connect(int port, const char *level)
{
    char ci[256];
    snprintf(ci, sizeof(ci),
             "host=127.0.0.1 port=%d user=postgres dbname=postgres connect_timeout=10 "
             "options='-c synchronous_commit=%s'",
             port, level);
    PGconn *c = PQconnectdb(ci);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "pg-crash-harness: connect to 127.0.0.1:%d: %s", port, PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, pp_quiet, NULL);
    return c;
}

void pp_lag_sample(PGconn *m, struct pp_lag *g)
{
    memset(g, 0, sizeof(*g));
    if (!m) return;
    PGresult *r = PQexec(
        m, "SELECT pg_wal_lsn_diff(pg_current_wal_flush_lsn(), flush_lsn)::bigint, "
           "pg_wal_lsn_diff(pg_current_wal_insert_lsn(), pg_current_wal_flush_lsn())::bigint, "
           "COALESCE(EXTRACT(epoch FROM flush_lag) * 1000, 0)::bigint "
           "FROM pg_stat_replication WHERE application_name = 'standby'");
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        g->lag_bytes = atoll(PQgetvalue(r, 0, 0));
        g->unflushed = atoll(PQgetvalue(r, 0, 1));
        g->lag_ms = atoll(PQgetvalue(r, 0, 2));
        g->ok = 1;
    }
    PQclear(r);
}

int pp_each_key(int port, void (*cb)(void *arg, const char *key), void *arg, char *err,
                size_t errlen)
{
    PGconn *c = pp_connect(port, "local");
    if (!c) {
        snprintf(err, errlen, "no connection");
        return -1;
    }
    PGresult *r = PQexec(c, "SELECT k FROM kv");
    int rc = PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : -1;
    if (rc < 0) snprintf(err, errlen, "%s", PQerrorMessage(c));
    for (int i = 0; rc == 0 && i < PQntuples(r); i++)
        cb(arg, PQgetvalue(r, i, 0));
    PQclear(r);
    PQfinish(c);
    return rc;
}
