/* broker.h: what the broker's files share.  The connection layer is io/rsrv: a command
 * is a handler in the table (cmds.c) that replies with resp_add_* on rsrv_reply(c);
 * the server's state is struct broker (rsrv_app(c)), a client's is struct bclient
 * (rsrv_data(c)).  Calls go one way: broker.c (options, wiring) -> cmds.c (the table,
 * pub/sub and generic commands) -> xcmd.c, xgroup.c, xclaim.c (streams) -> block.c
 * (XREADGROUP BLOCK), blog.c (the log), stream.c, pubsub.c.
 */
#ifndef WIRELAB_LABS_PUBSUB_BROKER_H
#define WIRELAB_LABS_PUBSUB_BROKER_H

#include <stddef.h>
#include <stdint.h>

#include "io/rsrv/dict.h"
#include "io/rsrv/rsrv.h"
#include "labs/11-pubsub/pubsub.h"

#define BROKER_MAX_CLIENTS 10000
#define BROKER_MAX_KEYS    1000000       /* streams; XADD/XGROUP MKSTREAM refuse more */
#define BROKER_IN_LIMIT    (32u << 20)   /* bytes of unparsed input per client */
#define BROKER_OUT_LIMIT   (1024u << 20) /* unsent output of one client */

struct broker {
    struct rsrv *srv;
    struct dict keys; /* stream name -> struct stream */
    struct pubsub ps;
    struct dict waiters;      /* stream name -> struct block_queue (block.c) */
    struct pubsub_str *ready; /* keys whose waiters to retry at the end of the round */
    size_t nready, capready;
    size_t stream_bytes, max_stream_bytes;
    struct blog *log;    /* NULL without --data-dir */
    int gate_deliveries; /* --appendfsync always: deliveries and acks hold replies too */
    uint64_t last_gate;  /* LSN of the last record that holds replies (e.g. an XADD) */
    /* checkpoints (bsnap.c) */
    const char *dir;
    uint64_t ckpt_every;    /* WAL bytes between checkpoints; 0: none */
    uint64_t snap_lsn;      /* the loaded or last written checkpoint's LSN */
    struct ckpt *ckpt;      /* one in progress, or NULL */
    uint64_t ckpt_lsn;      /* its LSN */
    uint64_t ckpt_retry_ms; /* after a failed one: not before this */
};

struct ckpt; /* replication/ckpt.h */

struct bclient {
    struct rsrv_client *c;
    struct pubsub_sub sub;
    char *name; /* CLIENT SETNAME */
    size_t namelen;
    /* a blocked XREADGROUP (block.c): its arguments (copied), keys and timer */
    int bargc;
    char **bargv;
    size_t *bargl;
    int key0, nkeys;
    uint64_t timer;
    int reexec; /* the blocked command is being retried: do not block again */
};

/* cmds.c: the command table (--list-commands prints it) */
extern const struct rsrv_cmd broker_commands[];
extern const size_t broker_ncommands;

/* bsnap.c: checkpoints, the streams and groups as the commands that rebuild them, on
 * replication/ckpt.  bsnap_load() replays DIR/snapshot through replay (1 loaded, 0 none,
 * -1 with err: the start must stop); bsnap_start() forks one at b->ckpt_lsn (which must
 * be the log's insert LSN: every command run so far is logged). */
int bsnap_load(const char *dir, int (*replay)(void *, int, const char **, const size_t *),
               void *arg, uint64_t *lsn, uint64_t *commands, char *err, size_t errlen);
struct ckpt *bsnap_start(struct broker *b, const char *dir);

/* block.c: XREADGROUP ... BLOCK held on the event loop (long polling). */
int block_wait(struct rsrv_client *c, int argc, const char **argv, const size_t *argl, int key0,
               int nkeys, uint64_t timeout_ms);
void block_signal_key(struct rsrv_client *c, const char *key, size_t n); /* an entry was added */
void block_serve_ready(struct broker *b); /* retry the readers of keys that got entries */
void block_release(struct bclient *bc);   /* leave every wait list, cancel the timer */

/* Stream command handlers (xcmd.c, xgroup.c, xclaim.c); each replies exactly once, or
 * blocks the client. */
void xcmd_xadd(struct rsrv_client *c, int argc, const char **argv, const size_t *argl);
void xcmd_xlen(struct rsrv_client *c, int argc, const char **argv, const size_t *argl);
void xcmd_xrange(struct rsrv_client *c, int argc, const char **argv, const size_t *argl);
void xcmd_xrevrange(struct rsrv_client *c, int argc, const char **argv, const size_t *argl);
void xcmd_xgroup(struct rsrv_client *c, int argc, const char **argv, const size_t *argl);
void xcmd_xreadgroup(struct rsrv_client *c, int argc, const char **argv, const size_t *argl);
void xcmd_xack(struct rsrv_client *c, int argc, const char **argv, const size_t *argl);
void xcmd_xpending(struct rsrv_client *c, int argc, const char **argv, const size_t *argl);
void xcmd_xclaim(struct rsrv_client *c, int argc, const char **argv, const size_t *argl);
void xcmd_xautoclaim(struct rsrv_client *c, int argc, const char **argv, const size_t *argl);
void xcmd_free_stream(void *s);
/* Records a state change in the log (nothing without --data-dir or while replaying):
 * with `gate` the running command's reply waits until the record is written (durable
 * with --appendfsync always); without, only until the last gating record is (deliveries
 * at everysec: losing one redelivers an entry, never loses one).  A command asks
 * xcmd_log_room() before it changes anything, so a full disk refuses it with an error;
 * a record that still cannot be logged (the writer failed) closes the client: never
 * acknowledged. */
void xcmd_log(struct rsrv_client *c, int gate, int argc, const char *const *argv,
              const size_t *argl);

#endif
