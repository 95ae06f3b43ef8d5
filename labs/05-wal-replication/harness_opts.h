/* harness_opts: the crash harness's command line (ho_ prefix): what a run does, checked
 * before anything starts.
 *
 * Contract
 * - ho_parse() fills o from argv, with the defaults --help states.  0: run.  -1: exit
 *   with *status: 0 after --help (printed on stdout), 2 after a usage error (one line
 *   `crash-harness: error: ...` and a `try` line on stderr), 1 when a program the run
 *   needs is missing.  Every level, scenario, number and link is checked here; a link
 *   (o->link.on) is parsed by hp_link_check(), and its linkem defaults to the one beside
 *   --server.  o->tmp stays NULL when --tmp is not given.
 * - o keeps pointers into argv: argv outlives it.
 */
#ifndef WIRELAB_LABS_HARNESS_OPTS_H
#define WIRELAB_LABS_HARNESS_OPTS_H

#include "labs/05-wal-replication/harness_proc.h"

#define HO_MAX_CLIENTS 16

struct ho_opts {
    const char *server, *level, *scenario, *tmp, *power_loss, *throttle;
    int trials, clients, kill_min, kill_max, writer_delay, max_loss_age, async_loss, plant;
    unsigned seed;
    struct hp_link link; /* link.on: the replica reaches the primary through linkem */
    char linkem[1024];   /* the default linkem's path */
};

int ho_parse(int argc, char **argv, struct ho_opts *o, int *status);

#endif
