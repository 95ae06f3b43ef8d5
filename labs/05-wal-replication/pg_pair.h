/* pg_pair: what the PostgreSQL crash harness needs around pg-pair.sh (pp_ prefix): run
 * the script, read the ports it prints, find and kill one PostgreSQL instance's processes.
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
 */
#ifndef WIRELAB_LABS_PG_PAIR_H
#define WIRELAB_LABS_PG_PAIR_H

#include <stddef.h>
#include <sys/types.h>

int pp_run(char *const argv[], char *out, size_t cap);
int pp_port(const char *text, const char *name);
pid_t pp_postmaster_pid(const char *datadir);
int pp_instance_pids(const char *datadir, pid_t *pids, int max);
int pp_wait_gone(const char *datadir, int ms);

#endif
