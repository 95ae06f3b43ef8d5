/* harness_proc: the crash harness's processes (hp_ prefix): the kv-servers it starts and
 * kills, and the linkem (labs/12-links) that puts a replica behind an emulated link.
 *
 * Contract
 * - hp_spawn() forks and execs argv (argv[0] a path) with stdout into a pipe read here
 *   and stderr appended to log, and waits up to 15 s for "listening on 127.0.0.1:PORT"
 *   (and, with want_repl, "replication listening on 127.0.0.1:PORT").  0 with port
 *   (repl_port) set; -1 when the program did not start: it is killed and reaped, and one
 *   line on stderr names the log.
 * - hp_stop() sends sig to a process hp_spawn() started and reaps it; a process never
 *   started or stopped already (pid 0) is left alone.
 * - A struct hp_link is a link as linkem's flags: a profile, and a one-way delay, a rate
 *   and a queue that override the profile's numbers (NULL: the profile's, or none).
 *   hp_link_check() parses them with io/link/link_spec, so a bad one is a usage error
 *   before any process starts, and fills delay_ns and down_bps (primary to replica: the
 *   direction WAL flows; 0 = no limit); -1 with the reason in err.  Nothing set at all
 *   (no link) is 0 with on = 0.
 * - hp_link_start() starts linkem from to_port (the primary's replication port) to a
 *   free port, p->port, where the replica connects: the replica is the client side of
 *   the link, so the WAL crosses it in linkem's "down" direction and the replica's ACKs
 *   in "up".  -1 as hp_spawn().
 * - What the servers say (INFO replication, over harness_client): hp_lag_sample() fills
 *   a struct hp_lag from a primary's first replica (ok = 0 when it has none or does not
 *   answer within 1 s).  hp_wait_replica() waits up to ms for a primary to have a
 *   streaming replica (catch_up: one whose apply LSN is the primary's flush LSN);
 *   hp_wait_drained() for a replica whose link is down and whose flush LSN is its insert
 *   LSN.  0 when it came, -1 when ms passed.
 */
#ifndef WIRELAB_LABS_HARNESS_PROC_H
#define WIRELAB_LABS_HARNESS_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct hp_proc {
    pid_t pid;
    int port, repl_port;
};

struct hp_link {
    const char *linkem;                         /* the program */
    const char *profile, *delay, *rate, *queue; /* as given; NULL: unset */
    int on;
    uint64_t delay_ns, down_bps;
    char name[128]; /* "continent", "continent,rate=1mbit", "delay=20ms": for the reports */
};

/* A primary's INFO replication: what its replica had confirmed, and what the primary had
 * sent it (over a link, the WAL between the two was in flight, queued in the link, or
 * received and not yet acknowledged).  at_ms: when it was asked. */
struct hp_lag {
    int ok;
    uint64_t at_ms, p_flush, sent, r_flush, lag_bytes, lag_ms;
};

int hp_spawn(struct hp_proc *p, char *const argv[], const char *log, int want_repl);
void hp_stop(struct hp_proc *p, int sig);
int hp_link_check(struct hp_link *l, char *err, size_t errlen);
int hp_link_start(const struct hp_link *l, int to_port, const char *log, struct hp_proc *p);
void hp_lag_sample(int port, struct hp_lag *g);
int hp_wait_replica(int port, int catch_up, int ms);
int hp_wait_drained(int port, int ms);

#endif
