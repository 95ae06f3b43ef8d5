/* kv_server: what kv-server's three files share.  Calls go one way: kv_server.c (options,
 * wiring) -> kv_cmds.c (the command table, the map) -> kv_commit.c (the commit levels:
 * which level waits for which LSN).  The connection layer is io/rsrv, the replication
 * stream replication/walsnd (primary) and replication/walrcv (replica). */
#ifndef WIRELAB_LABS_KV_SERVER_H
#define WIRELAB_LABS_KV_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "io/rsrv/dict.h"
#include "io/rsrv/rsrv.h"
#include "replication/walrcv.h"
#include "replication/walsnd.h"

/* Record types this store writes in the WAL (kv_apply_record says what they hold). */
#define KV_REC_SET 1
#define KV_REC_DEL 2

#define KV_MAX_KEYS (16u << 20)

enum kv_level { KV_OFF, KV_LOCAL, KV_REMOTE_WRITE, KV_ON, KV_REMOTE_APPLY };

struct kv_wait; /* kv_commit.c */
struct ckpt;    /* replication/ckpt.h */

struct kv_server {
    struct ev_loop *loop;
    struct wal *wal;
    struct rsrv *srv;
    struct dict map;    /* key -> struct kv_value */
    struct walsnd *snd; /* primary with --repl-port */
    struct walrcv *rcv; /* replica */
    int is_replica;
    enum kv_level level;
    unsigned sync_timeout_ms;
    /* kv_commit.c: replies waiting for their level, oldest first (LSNs and deadlines
     * only grow in that order), the WAITs, and the round's last commit LSN */
    struct kv_wait *q;
    size_t qhead, qlen, qcap;
    struct kv_wait *waits;
    size_t nwaits, capwaits;
    uint64_t round_lsn;
    /* reads (kv_commit.c): writes up to visible_lsn have been answered; a read that
     * rests on a later one is answered after it, from a copy made in rscratch */
    uint64_t visible_lsn;
    struct resp_out rscratch;
    int rdefer;
    /* checkpoints (kv_snap.c) */
    uint64_t snap_lsn;    /* the loaded or last written checkpoint's LSN */
    uint64_t applied_end; /* just past the last record applied to the map */
    uint64_t ckpt_every;  /* WAL bytes between checkpoints; 0: none */
    const char *dir;
    struct ckpt *ckpt;      /* one in progress, or NULL */
    uint64_t ckpt_lsn;      /* its LSN */
    uint64_t ckpt_keys;     /* the keys it holds */
    uint64_t ckpt_retry_ms; /* after a failed one: not before this */
};

struct kv_value {
    uint64_t lsn; /* commit LSN of the record that wrote it */
    size_t len;
    char v[];
};

struct kv_client {
    uint64_t last_write_lsn; /* what WAIT waits for */
};

/* kv_commit.c */
extern const char *const kv_level_names[5];
void kv_commit(struct rsrv_client *c, uint64_t lsn, const char *reply, size_t n);
void kv_wait(struct rsrv_client *c, long long numreplicas, long long timeout_ms);
void kv_commit_release(struct kv_server *s); /* the WAL or a replica moved, or time passed */
void kv_commit_flush(struct kv_server *s);   /* end of round: one flush request for all */
void kv_commit_free(struct kv_server *s);
/* A read's reply: kv_read_out(c, dep) gives where to write it, rsrv_reply(c) when the
 * writes it rests on (commit LSN dep; UINT64_MAX: any write) have been answered, else a
 * scratch buffer that kv_read_done(c) hands to a deferred reply behind them; NULL when
 * it replied an error itself (the WAL failed and what it would read is not durable). */
struct resp_out *kv_read_out(struct rsrv_client *c, uint64_t dep);
void kv_read_done(struct rsrv_client *c);

/* kv_cmds.c */
extern const struct rsrv_cmd kv_commands[];
extern const size_t kv_ncommands;
int kv_apply_record(void *s, uint64_t lsn, uint16_t type, const void *p, size_t n);
int kv_put(struct kv_server *s, const char *k, size_t kl, const char *v, size_t vl, uint64_t lsn);

/* kv_snap.c: checkpoints (replication/ckpt).  kv_snap_load() reads DIR/snapshot (if
 * any) into the map and sets snap_lsn (0 or -1 with err); kv_ckpt_tick() starts one when
 * ckpt_every WAL bytes were applied since the last, and moves one in progress along (on
 * the loop, every tick); kv_ckpt_stop() ends one in progress. */
int kv_snap_load(struct kv_server *s, char *err, size_t errlen);
void kv_ckpt_tick(struct kv_server *s);
void kv_ckpt_stop(struct kv_server *s);

#endif
