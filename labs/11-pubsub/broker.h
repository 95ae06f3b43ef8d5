/* broker.h: what the broker's files share: the client and server state, the reply
 * helpers and the hooks the stream commands (xcmd.c, xgroup.c, xclaim.c) and the log (blog.c) call.
 *
 * The broker is single-threaded on io/ev: every command runs to completion on the loop,
 * replies are appended to the client's output buffer, and after each event
 * broker_after_events() wakes blocked readers, writes the log (before any reply leaves,
 * so a client never sees an acknowledgement the log does not hold: its output is held
 * until the WAL says its last record is written or durable), flushes outputs and frees
 * clients marked for closing.
 */
#ifndef WIRELAB_LABS_PUBSUB_BROKER_H
#define WIRELAB_LABS_PUBSUB_BROKER_H

#include <stddef.h>
#include <stdint.h>

#include "io/ev.h"
#include "io/rsrv/dict.h"
#include "io/rsrv/oblimit.h"
#include "labs/11-pubsub/pubsub.h"
#include "parsers/resp/resp.h"

#define BROKER_MAX_CLIENTS 10000
#define BROKER_MAX_KEYS    1000000       /* streams; XADD/XGROUP MKSTREAM refuse more */
#define BROKER_IN_LIMIT    (32u << 20)   /* bytes of unparsed input per client */
#define BROKER_OUT_LIMIT   (1024u << 20) /* output of a normal (non-pubsub) client */

enum {
    CF_PENDING = 1, /* in the pending-write list */
    CF_CLOSE = 2,   /* close after the current event */
    CF_BLOCKED = 4, /* waiting in XREADGROUP BLOCK */
    CF_WATCHW = 8,  /* EV_WRITE is watched */
    CF_FAKE = 16,   /* the log loader: no socket, replies dropped */
    CF_REEXEC = 32, /* a blocked command being retried: do not block again */
    CF_QUIT = 64,   /* close once the output is written */
};

struct broker;

struct client {
    int fd;
    unsigned flags;
    uint64_t id;
    struct broker *b;
    char addr[32];
    char *in;
    size_t inlen, incap;
    struct resp_out out;
    size_t sent;         /* bytes of out already written */
    uint64_t wait_lsn;   /* out may leave once the log is durable up to here */
    uint64_t soft_since; /* oblimit state */
    struct pubsub_sub sub;
    struct client *wnext; /* pending-write list */
    struct client *cnext; /* closing list */
    /* a blocked XREADGROUP: its arguments (copied), timer and keys waited on */
    int bargc;
    char **bargv;
    size_t *bargl;
    int nbkeys;
    int bkey0; /* index in bargv of the first key */
    uint64_t btimer;
    struct resp_parser rp; /* last: large */
};

/* Blocked clients waiting on one stream key, in arrival order. */
struct waitq {
    struct client **v;
    size_t n, cap;
    int ready; /* in the ready list */
};

struct broker {
    struct ev_loop *loop;
    int lfd;
    struct dict keys; /* stream name -> struct stream */
    struct pubsub ps;
    struct dict waiters;      /* stream name -> struct waitq */
    struct pubsub_str *ready; /* keys whose waiters to retry after this command */
    size_t nready, capready;
    struct oblimit pslimit;
    struct client *pending; /* clients with output to write */
    struct client *held;    /* ... whose output waits for the log (wait_lsn) */
    struct client *cur;     /* the client whose command is running */
    struct client *closing; /* clients to free after this event */
    struct client **byfd;   /* fd -> client, for the cron */
    size_t nclients;
    uint64_t next_id;
    size_t stream_bytes, max_stream_bytes;
    struct blog *log; /* NULL without --data-dir */
    int loading;
    int gate_deliveries; /* --appendfsync always: deliveries and acks hold replies too */
    uint64_t last_gate;  /* LSN of the last record that holds replies (e.g. an XADD) */
    int verbose;
};

/* Reply helpers (the client's output; a fake client's output is dropped later). */
#define RB(c) (&(c)->out)
void broker_touch(struct client *c); /* output was added: schedule the write */
void broker_close_async(struct client *c, const char *why);
/* Records a state change in the log (no-op without --data-dir or while loading); the
 * running command's reply waits until the record is written (durable with always). */
void broker_propagate(struct broker *b, int argc, const char *const *argv, const size_t *argl);
/* The same for deliveries and acks (XREADGROUP, XCLAIM, XAUTOCLAIM, XACK) which, with
 * everysec, do not hold the reply: losing such a record in a crash makes an entry
 * pending again or not yet delivered, so it is delivered again (at-least-once allows
 * duplicates); it never loses an entry.  With always they hold the reply too. */
void broker_propagate_delivery(struct broker *b, int argc, const char *const *argv,
                               const size_t *argl);
/* Blocks c on the stream keys (XREADGROUP BLOCK): copies argv, arms the timer
 * (timeout_ms 0 = forever).  Returns -1 when out of memory. */
int broker_block(struct client *c, int argc, const char **argv, const size_t *argl,
                 const char **keys, const size_t *keyl, int nkeys, uint64_t timeout_ms);
/* An entry was added to key: blocked readers are retried after the command. */
void broker_signal_key(struct broker *b, const char *key, size_t n);
void block_release(struct client *c);         /* leave every wait list, cancel the timer */
void block_serve_ready(struct broker *b);     /* retry readers blocked on ready keys */
void broker_client_process(struct client *c); /* run the complete commands buffered */
void broker_after_events(struct broker *b);
uint64_t broker_wall_ms(void);

/* Command handlers (xcmd.c, xgroup.c, xclaim.c); each replies exactly once, or blocks the client.
 */
typedef void (*cmd_fn)(struct client *c, int argc, const char **argv, const size_t *argl);
void xcmd_xadd(struct client *c, int argc, const char **argv, const size_t *argl);
void xcmd_xlen(struct client *c, int argc, const char **argv, const size_t *argl);
void xcmd_xrange(struct client *c, int argc, const char **argv, const size_t *argl);
void xcmd_xrevrange(struct client *c, int argc, const char **argv, const size_t *argl);
void xcmd_xgroup(struct client *c, int argc, const char **argv, const size_t *argl);
void xcmd_xreadgroup(struct client *c, int argc, const char **argv, const size_t *argl);
void xcmd_xack(struct client *c, int argc, const char **argv, const size_t *argl);
void xcmd_xpending(struct client *c, int argc, const char **argv, const size_t *argl);
void xcmd_xclaim(struct client *c, int argc, const char **argv, const size_t *argl);
void xcmd_xautoclaim(struct client *c, int argc, const char **argv, const size_t *argl);
void xcmd_free_stream(void *s);

/* cmds.c: the command table and the pub/sub and generic commands. */
void cmd_dispatch(struct client *c, int argc, const char **argv, const size_t *argl);

#endif
