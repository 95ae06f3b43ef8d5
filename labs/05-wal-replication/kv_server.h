/* kv_server: what the kv-server's two files share (the server state and the
 * replication entry points).  kv_server.c is clients and commands; kv_repl.c is the
 * primary's WAL sender and the replica's WAL receiver. */
#ifndef WIRELAB_LABS_KV_SERVER_H
#define WIRELAB_LABS_KV_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "io/ev.h"
#include "labs/05-wal-replication/kv_store.h"
#include "parsers/resp/resp.h"
#include "replication/wal.h"

/* Record types this store writes in the WAL. */
#define KV_REC_SET 1
#define KV_REC_DEL 2

enum kv_level { KV_OFF, KV_LOCAL, KV_REMOTE_WRITE, KV_ON, KV_REMOTE_APPLY };

#define KV_MAX_REPLICAS 8
#define KV_LAG_SAMPLES  4096
#define KV_SCRATCH      ((size_t)2 << 20)

struct kv_client;

struct kv_replica_conn { /* on the primary: one connected replica */
    int fd;
    int streaming;
    uint64_t sent, write, flush, apply;
    uint64_t connected_ms, last_ack_ms;
    double tokens;   /* --repl-throttle: bytes it may be sent now (a token bucket) */
    uint64_t tok_ns; /* when tokens were last refilled */
    char addr[64];
    char *in;
    size_t inlen;
    struct resp_parser p;
    struct resp_out out;
};

struct kv_server {
    struct ev_loop *loop;
    struct wal *wal;
    struct kvs *kv;
    int is_replica;
    enum kv_level level;
    unsigned sync_timeout_ms;
    const char *data_dir;

    int lfd; /* the client listener */
    /* replies queued across all clients (each client's out.len as of its last flush)
     * and the cap: over it, the largest slow reader is cut at the end of the round */
    size_t out_total, out_total_max;

    /* primary */
    int repl_lfd;
    uint64_t repl_throttle; /* bytes/s each replica is sent at most (a slow link); 0: no limit */
    struct kv_replica_conn *rep[KV_MAX_REPLICAS];
    struct {
        uint64_t lsn, ns;
    } lag[KV_LAG_SAMPLES]; /* flush LSN -> when it was flushed */
    size_t lag_head, lag_n;
    uint64_t last_flush_seen;

    /* replica */
    char primary_host[64];
    int primary_port;
    int up_fd;
    int up_handshake_done;
    char *up_in;
    size_t up_inlen, up_incap;
    struct resp_out up_out;
    unsigned char *apply_q; /* received records not yet applied (they wait for the flush) */
    size_t apply_len, apply_cap;
    uint64_t r_apply;
    uint64_t r_acked_w, r_acked_f, r_acked_a;
    uint64_t up_retry_timer;
    char up_error[256];

    unsigned char *scratch;     /* KV_SCRATCH bytes for reading WAL to stream */
    struct kv_client **clients; /* indexed by fd */

    /* clients whose replies go out at the end of this loop round (Redis's
     * handleClientsWithPendingWrites): every readable client is read first, then all
     * reply, so a client sees its replies in bursts and both sides wake less often */
    int *flushq;
    size_t nflushq;
    uint64_t round_timer;
    uint64_t round_lsn; /* the last commit LSN of this round: one flush request for all */

    /* the clients blocked on a commit level or on WAIT */
    int *waiting;
    size_t nwaiting, maxwaiting;
};

#define KV_OUT_MAX           ((size_t)64 << 20)  /* replies queued for one client */
#define KV_OUT_TOTAL_DEFAULT ((size_t)256 << 20) /* --max-output-memory: all clients */

/* A reply that waits for a commit level or WAIT.  Replies behind it are already in the
 * output buffer but held: only bytes before the first pending reply's `at` are sent. */
#define KV_MAX_PENDING 128
enum { KV_PEND_OK, KV_PEND_INT, KV_PEND_WAIT };
struct kv_pending {
    size_t at; /* where its reply goes in the client's output buffer */
    uint64_t lsn, deadline_ms;
    long long v; /* the DEL count, or WAIT's numreplicas */
    int kind, level;
};

struct kv_client {
    int fd;
    char *in;
    size_t inlen, inpos, incap;
    struct resp_parser p;
    struct resp_out out;
    struct kv_pending pend[KV_MAX_PENDING]; /* a ring, oldest at phead */
    unsigned phead, npend;
    int in_waiting; /* listed in kv_server.waiting */
    int in_flushq;  /* listed in kv_server.flushq */
    uint64_t last_write_lsn;
    int close_after;
    size_t out_acct; /* its share of kv_server.out_total */
};

/* kv_server.c */
void kv_commit(struct kv_server *s, struct kv_client *c, uint64_t lsn, int is_int, long long v);
int kv_defer_reply(struct kv_server *s, struct kv_client *c, int kind, uint64_t lsn, long long v,
                   uint64_t deadline_ms);
int kv_apply_record(struct kv_server *s, uint16_t type, const void *p, size_t n);
void kv_release_waiters(struct kv_server *s);
void kv_logf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kv_accept_pause(struct kv_server *s, int lfd, ev_timer_cb resume, const char *what);

/* kv_cmds.c */
void kv_exec_command(struct kv_server *s, struct kv_client *c);

/* kv_repl.c */
int kv_repl_listen(struct kv_server *s, const char *host, int port, char *err, size_t errlen);
void kv_repl_primary_progress(struct kv_server *s); /* the WAL flushed: stream more */
int kv_repl_count_reached(struct kv_server *s, enum kv_level what, uint64_t lsn);
void kv_repl_replica_start(struct kv_server *s);
void kv_repl_replica_progress(struct kv_server *s); /* the WAL wrote/flushed: apply, ack */
void kv_repl_info(struct kv_server *s, struct resp_out *o);
void kv_repl_close_all(struct kv_server *s);

#endif
