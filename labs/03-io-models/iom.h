/* iom: what the three I/O-model servers share, so they differ only in how bytes
 * move: the routes, the command line, the connection core's settings and the
 * process setup.
 *
 * Routes (identical on every server; the query string is ignored for routing):
 *   GET|HEAD /  and  /plaintext   200 text/plain "Hello, World!"
 *   POST /echo                    200 with the request body (Content-Length or chunked)
 *   GET /delay?ms=N  (0..10000)   200 "delayed N ms\n" after N ms
 *   a known path, wrong method    405 with Allow
 *   anything else                 404
 * iom_route() answers every route but /delay itself and returns -1; for a valid
 * /delay it returns N and leaves the request open: the server waits N ms its
 * own way (a blocked thread, a timer) and then calls iom_delay_done().
 */
#ifndef WIRELAB_LABS_IOM_H
#define WIRELAB_LABS_IOM_H

#include <stddef.h>
#include <stdint.h>

#include "io/http/hconn.h"

struct iom_opts {
    const char *host;
    int port;
    uint32_t idle_ms;       /* --idle-timeout, seconds on the command line (default 10) */
    uint32_t request_ms;    /* --request-timeout (default 10) */
    size_t max_body_memory; /* --max-body-memory BYTES (default 256 MiB) */
    int iterative;          /* server-blocking only */
};

/* Parses argv; prints usage and exits 0 on --help, or prints a message and
 * exits 2 on a bad argument.  with_iterative accepts --iterative. */
void iom_parse_args(int argc, char **argv, const char *prog, const char *what, int with_iterative,
                    struct iom_opts *o);

/* Ignores SIGPIPE, raises RLIMIT_NOFILE to its hard limit (returns the new soft
 * limit), and installs on_stop for SIGINT and SIGTERM (without SA_RESTART, so
 * blocking calls return EINTR). */
long iom_setup_process(void (*on_stop)(int));

/* The shared route table.  Returns -1 when the request is answered, or N >= 0:
 * a delay of N ms the server must complete with iom_delay_done(c, N). */
long iom_route(struct hconn *c, const struct hconn_req *r);
void iom_delay_done(struct hconn *c, long ms);

/* The base hconn configuration: the lab's limits (8 KiB head, 1 MiB body), the
 * options' deadlines and the server's body budget (budget->max is set from
 * --max-body-memory), the clock ev_now_ns(); the handler and app are left for the
 * server to set. */
struct hconn_config iom_hconn_config(const struct iom_opts *o, struct hconn_budget *budget);

#endif
