/* rsrv: the RESP server core the Redis-protocol programs run on (kv-server, the broker,
 * the WAL sender): clients, their input and output buffers, a command table, and the
 * ways a reply can wait.  Redis's networking.c as a library, on io/ev.
 *
 * Contract
 * - rsrv_create(loop, cfg) makes a server on an io/ev loop (one thread; nothing here is
 *   thread-safe).  rsrv_listen() opens a listener and accepts through io/acceptor (with
 *   its out-of-descriptors pause); rsrv_adopt() takes a socket that is already connected
 *   (a socketpair in tests).  Past cfg.max_clients a new connection gets cfg.full_error
 *   and is closed.  rsrv_destroy() closes every client (on_close runs for each).
 * - Input: a client's bytes go into a buffer of at most cfg.in_limit bytes, parsed by
 *   parsers/resp with cfg.limits.  A protocol error is answered with the parser's text
 *   and the connection closes once that is written, as Redis does; so does a single
 *   frame larger than in_limit ("ERR Protocol error: request over N bytes").
 * - Commands: cfg.cmds is a table {name (lower case), arity, flags, fn}; the name is
 *   matched case-insensitively; arity is Redis's (n: exactly n words with the name, -n:
 *   at least n).  An unknown command goes to cfg.unknown(c, ...) when that is set,
 *   else it gets Redis 7's error, as a wrong arity does; then cfg.allow(c, cmd), when
 *   set, may refuse (it replies itself and returns non-zero); then a client in pub/sub
 *   mode (rsrv_set_pubsub) may run only RSRV_CMD_SUBOK commands (Redis's words).  fn
 *   runs to completion on the loop thread and replies by appending to rsrv_reply(c)
 *   with parsers/resp's resp_add_*; rsrv_wrote(c) after appending to another client
 *   (a pub/sub delivery) schedules its write and applies the limits.
 * - Order: replies leave in the order of their commands, always.  What can hold them:
 *   - rsrv_defer(c) reserves the place of a reply decided later (commit levels, WAIT);
 *     replies appended after it wait behind it until rsrv_fill(slot) puts the reply in
 *     its place.  A command defers at most one reply.  rsrv_fill() for a client that is
 *     gone or closing does nothing and returns -1.
 *   - rsrv_gate(c, lsn): the running command's reply and everything after it leave only
 *     once cfg.durable_lsn(app) >= lsn (the broker: nothing is acknowledged before its
 *     log record is written).  Gates are looked at at the end of every loop round, so the
 *     app only has to wake the loop when its durable LSN moves.
 *   - rsrv_pause(c): the client's next commands are not run (a blocked XREADGROUP, which
 *     returned without a reply); rsrv_resume(c) runs them again, after the late reply
 *     was appended.  rsrv_exec(c, argc, argv, argl) runs one command for c as if it had
 *     sent it (the blocked command retried).
 * - Output: replies are written once per loop round, from an ev_before_sleep hook
 *   (Redis's beforeSleep), for every client that got output; first the hook runs the
 *   commands of resumed clients and cfg.before_flush(app) (the app's group-commit
 *   request), repeating while that resumed more clients.  What the socket does not take
 *   is written on EV_WRITE.
 * - Slowed down, never cut: while a client's unsent output is above cfg.out_soft, or
 *   it has RSRV_MAX_DEFERRED unfilled replies (all clients: RSRV_MAX_DEFERRED_ALL), its
 *   commands wait; its input is still read up to in_limit (a hang-up is noticed), then
 *   TCP pushes back on it.  A client that pipelines faster than it reads goes at the
 *   speed it reads.
 * - Limits that close a client (one stderr line: "NAME: closing client id=N addr=A: WHY
 *   (output N bytes pending)", and a count in rsrv_stats): a reply that would take its
 *   unsent output past cfg.out_limit; a client in pub/sub mode over cfg.pubsub_limit
 *   (Redis's hard/soft/seconds, io/rsrv/oblimit.h; checked on every rsrv_wrote() and
 *   once a second); all clients' unsent output over cfg.out_total_limit (the client
 *   holding the most is closed, until under it).  Nothing more is written to a client
 *   closed for a limit: it may see the replies written before, then the end of the
 *   stream, never a cut reply followed by others.
 * - rsrv_close_after_reply(c): nothing more is run; the connection closes once its
 *   output is written (QUIT).  A client whose peer shut down its side (EOF) is the same:
 *   its commands already received are run and answered, then it closes; a paused client
 *   is closed at once (Redis drops a blocked client that leaves).  rsrv_close(c, why)
 *   closes it at the end of the round, nothing more written (why NULL: no log line).
 * - Per-client state: cfg.on_open(c) (non-zero refuses the client) and cfg.on_close(c)
 *   run when a client comes and goes; rsrv_set_data()/rsrv_data() keep the app's
 *   pointer; rsrv_app(c) is cfg.app.
 * - rsrv_replay(s, argc, argv, argl) runs a command for a client without a socket whose
 *   replies are dropped (replaying a log through the command table); rsrv_is_replay(c).
 * - Errors: rsrv_create returns NULL with errno; rsrv_listen -1 with err; rsrv_adopt -1
 *   (the fd is closed).  Out of memory for a client closes that client.
 */
#ifndef WIRELAB_IO_RSRV_H
#define WIRELAB_IO_RSRV_H

#include <stddef.h>
#include <stdint.h>

#include "io/ev.h"
#include "io/rsrv/oblimit.h"
#include "parsers/resp/resp.h"

#define RSRV_MAX_DEFERRED     4096      /* unfilled replies of one client */
#define RSRV_MAX_DEFERRED_ALL (1 << 18) /* ... of all clients */

enum {
    RSRV_CMD_SUBOK = 1, /* may run while the client is in pub/sub mode */
    RSRV_CMD_WRITE = 2, /* changes state: for cfg.allow (read-only replica, failed log) */
};

struct rsrv;
struct rsrv_client;
typedef void (*rsrv_cmd_fn)(struct rsrv_client *c, int argc, const char **argv, const size_t *argl);

struct rsrv_cmd {
    const char *name; /* lower case: Redis's error texts show it so */
    int arity;
    unsigned flags;
    rsrv_cmd_fn fn;
};

struct rsrv_config {
    const char *name; /* prefix of log lines ("kv-server") */
    const struct rsrv_cmd *cmds;
    size_t ncmds;
    struct resp_limits limits;   /* the request parser's (0: its defaults) */
    size_t in_limit;             /* unparsed input per client (default 32 MiB) */
    size_t out_soft;             /* unsent output above which commands wait (default 1 MiB) */
    size_t out_limit;            /* unsent output that closes a client (default 1 GiB) */
    size_t out_total_limit;      /* all clients' unsent output (0: none) */
    struct oblimit pubsub_limit; /* clients in pub/sub mode (0 0 0: none) */
    size_t max_clients;          /* 0: no limit */
    const char *full_error;      /* default "ERR max number of clients reached" */
    uint64_t (*durable_lsn)(void *app); /* for rsrv_gate; NULL: every gate is open */
    void (*before_flush)(void *app);    /* once (or more) per round, before writing */
    int (*allow)(struct rsrv_client *c, const struct rsrv_cmd *cmd);
    rsrv_cmd_fn unknown; /* commands not in the table, instead of Redis's error */
    int (*on_open)(struct rsrv_client *c);
    void (*on_close)(struct rsrv_client *c);
    void *app;
};

/* A deferred reply's place: valid (as a value) after its client is gone. */
struct rsrv_slot {
    struct rsrv *s;
    int fd;
    uint64_t client, seq;
};

struct rsrv_stats {
    uint64_t accepted, refused_full, protocol_errors, closed_input_limit;
    uint64_t closed_out_limit, closed_pubsub_limit, closed_total_limit;
    size_t clients, out_total, deferred;
    unsigned long emfile_pauses;
};

struct rsrv *rsrv_create(struct ev_loop *loop, const struct rsrv_config *cfg);
int rsrv_listen(struct rsrv *s, const char *host, int port, char *err, size_t errlen);
int rsrv_adopt(struct rsrv *s, int fd);
void rsrv_destroy(struct rsrv *s);
void rsrv_stats(const struct rsrv *s, struct rsrv_stats *st);

/* The client's output buffer (its first member: a call per reply element would show
 * in the fan-out of a PUBLISH). */
static inline struct resp_out *rsrv_reply(struct rsrv_client *c)
{
    return (struct resp_out *)(void *)c;
}
void rsrv_wrote(struct rsrv_client *c); /* output appended outside c's own command */
struct rsrv_slot rsrv_defer(struct rsrv_client *c);
int rsrv_fill(struct rsrv_slot slot, const void *reply, size_t n);
void rsrv_gate(struct rsrv_client *c, uint64_t lsn);
void rsrv_pause(struct rsrv_client *c);
void rsrv_resume(struct rsrv_client *c);
int rsrv_is_paused(const struct rsrv_client *c);
void rsrv_exec(struct rsrv_client *c, int argc, const char **argv, const size_t *argl);
void rsrv_replay(struct rsrv *s, int argc, const char **argv, const size_t *argl);
void rsrv_set_pubsub(struct rsrv_client *c, int on);
void rsrv_close_after_reply(struct rsrv_client *c);
void rsrv_close(struct rsrv_client *c, const char *why);

void *rsrv_data(const struct rsrv_client *c);
void rsrv_set_data(struct rsrv_client *c, void *data);
void *rsrv_app(const struct rsrv_client *c);
struct ev_loop *rsrv_loop(const struct rsrv_client *c);
uint64_t rsrv_id(const struct rsrv_client *c);
int rsrv_is_replay(const struct rsrv_client *c);
int rsrv_is_closing(const struct rsrv_client *c);
size_t rsrv_unsent(const struct rsrv_client *c); /* output bytes not yet written */
const char *rsrv_addr(const struct rsrv_client *c, char *buf, size_t n); /* "ip:port" */

/* Argument helpers for command handlers. */
int rsrv_arg_is(const char *a, size_t n, const char *word); /* case-insensitive equality */
int rsrv_arg_ll(const char *a, size_t n, long long *v);     /* strict decimal, Redis's */

#endif
