/* pg_pair: what the PostgreSQL crash harness needs around pg-pair.sh (pp_ prefix): run
 * the script, read the ports it prints, find and kill one PostgreSQL instance's
 * processes, and the few questions it asks a server over libpq.
 *
 * Contract
 * - pp_run() runs `script arg...` (argv NULL-terminated, argv[0] the script) with every
 *   signal unblocked in the child, captures its stdout into out (at most cap-1 bytes,
 *   NUL-terminated), lets its stderr through, and returns its exit status: 0 success,
 *   > 0 its failure (128+N when a signal N ended it), -1 when it could not be run.
 * - pp_port() returns the port of the line NAME=PORT in text, 0 when there is none.
 * - pp_postmaster_pid() returns the pid on the first line of DATADIR/postmaster.pid,
 *   -1 when the file is absent or unreadable.
 * - pp_instance_pids() fills pids (at most max) with the processes named `postgres`
 *   whose working directory is datadir (an absolute path): the postmaster and all its
 *   children, also after the postmaster died (they are re-parented, and each child is
 *   its own session, so neither the parent nor the process group finds them).  Returns
 *   how many it found (only processes this user may inspect are seen).
 * - pp_wait_gone() waits up to ms for those processes to exit, then SIGKILLs the rest;
 *   returns how many it had to kill.
 * - pp_connect() opens a libpq connection to 127.0.0.1:port as postgres, with every
 *   commit of the session at the given synchronous_commit level, the server's notices
 *   silenced (a dying backend's FATAL arrives as one); NULL (the reason on stderr) when
 *   it cannot.
 * - pp_lag_sample() asks the primary (on m) what pg_stat_replication says of the standby
 *   named 'standby': WAL flushed on the primary and not yet on the standby (lag_bytes),
 *   WAL inserted and not yet flushed on the primary (unflushed), flush_lag in ms.  ok is 0
 *   when there was no answer (m NULL, or no standby).
 * - pp_each_key() calls cb for every key of table kv on 127.0.0.1:port; 0, or -1 with err.
 */
#ifndef WIRELAB_LABS_PG_PAIR_H
#define WIRELAB_LABS_PG_PAIR_H

#include <libpq-fe.h>
#include <stddef.h>
#include <sys/types.h>

struct pp_lag {
    int ok;
    long long lag_bytes, unflushed, lag_ms;
};

int pp_run(char *const argv[], char *out, size_t cap);
int pp_port(const char *text, const char *name);
pid_t pp_postmaster_pid(const char *datadir);
int pp_instance_pids(const char *datadir, pid_t *pids, int max);
int pp_wait_gone(const char *datadir, int ms);
PGconn *pp_connect(int port, const char *level);
void pp_lag_sample(PGconn *m, struct pp_lag *g);
int pp_each_key(int port, void (*cb)(void *arg, const char *key), void *arg, char *err,
                size_t errlen);

#endif
