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

/* Record types this store writes in the WAL: a key (4-byte length, bytes) and a value. */
#define KV_REC_SET 1
#define KV_REC_DEL 2

#define KV_MAX_KEYS (16u << 20)

enum kv_level { KV_OFF, KV_LOCAL, KV_REMOTE_WRITE, KV_ON, KV_REMOTE_APPLY };

struct kv_wait; /* kv_commit.c */

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
};

struct kv_value {
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

/* kv_cmds.c */
extern const struct rsrv_cmd kv_commands[];
extern const size_t kv_ncommands;
int kv_apply_record(void *s, uint64_t lsn, uint16_t type, const void *p, size_t n);

#endif
