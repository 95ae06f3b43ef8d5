/* rsrv_int: what rsrv.c (clients, input, commands) and rsrv_out.c (output, holds, limits,
 * the end of the round) share.  Not for programs: rsrv.h is the interface. */
#ifndef WIRELAB_IO_RSRV_INT_H
#define WIRELAB_IO_RSRV_INT_H

#include "io/acceptor.h"
#include "io/rsrv/rsrv.h"

enum {
    RC_PENDING = 1 << 0,     /* in s->pending: write at the end of the round */
    RC_RESUME = 1 << 1,      /* in s->resume: run its input at the end of the round */
    RC_GATED = 1 << 2,       /* in s->gated: a gate holds its output */
    RC_CLOSING = 1 << 3,     /* in s->closing: freed at the end of the round */
    RC_CLOSE_AFTER = 1 << 4, /* run nothing more; close once the output is written */
    RC_EOF = 1 << 5,         /* the peer shut down its side */
    RC_PAUSED = 1 << 6,      /* rsrv_pause */
    RC_PUBSUB = 1 << 7,      /* rsrv_set_pubsub */
    RC_REPLAY = 1 << 8,      /* no socket, replies dropped */
    RC_IN_CMD = 1 << 9,      /* a command is running: reply_start is its reply's start */
    RC_WANT_WRITE = 1 << 10, /* the socket was full: EV_WRITE */
    RC_STALLED = 1 << 11,    /* input waits for output to drain or replies to be filled */
};

/* A point in a client's output where writing stops until it clears: a deferred reply
 * (filled by rsrv_fill, its bytes written there) or a gate (open once durable >= lsn). */
struct rsrv_hold {
    uint64_t at;  /* absolute output position: bytes appended since the client came */
    uint64_t seq; /* consecutive from the oldest hold */
    uint64_t lsn; /* a gate's */
    int gate, filled;
    size_t len, done; /* a filled slot's reply and how much of it was written */
    char *big;        /* the reply when longer than small (holds move: no self-pointer) */
    char small[24];
};

struct rsrv_client {
    struct resp_out out; /* first: rsrv_reply() in rsrv.h relies on it */
    struct rsrv *s;
    int fd;
    unsigned flags;
    unsigned mask; /* what ev watches */
    uint64_t id;
    char *in;
    size_t inlen, incap, inpos;
    struct resp_parser p;
    size_t sent;             /* bytes of out already written */
    uint64_t base;           /* absolute position of out.data[0] */
    uint64_t reply_start;    /* absolute position where the running command's reply starts */
    struct rsrv_hold *holds; /* a ring: oldest at hhead */
    unsigned hhead, nholds, hcap;
    uint64_t hseq;       /* seq of the next hold */
    unsigned ndeferred;  /* unfilled slots */
    uint64_t soft_since; /* oblimit state */
    size_t acct;         /* its share of s->out_total */
    void *data;
    struct rsrv_client *prev, *next; /* every client */
    struct rsrv_client *wnext, *rnext, *gnext, *cnext;
};

struct rsrv {
    struct ev_loop *loop;
    struct rsrv_config cfg;
    struct { /* the command table by name: open addressing on a case-folded hash */
        const struct rsrv_cmd *cmd;
        uint32_t hash, len;
    } * cmdtab;
    size_t cmdmask;
    struct acceptor *acc;
    int lfd;
    struct rsrv_client **byfd; /* for rsrv_fill: fd -> client */
    size_t nbyfd;
    struct rsrv_client *all;
    size_t nclients;
    struct rsrv_client *pending, *resume, *gated, *closing;
    struct rsrv_client *replay;
    uint64_t next_id;
    size_t out_total, deferred;
    int deferred_full; /* deferred reached RSRV_MAX_DEFERRED_ALL: clients wait for it */
    unsigned npubsub;
    size_t pubsub_mark; /* the lower of the pub/sub hard and soft limits (0: none) */
    uint64_t cron;
    struct rsrv_stats st;
};

/* rsrv.c */
void rsrv_run_input(struct rsrv_client *c);
int rsrv_runnable(const struct rsrv_client *c);
void rsrv_set_watch(struct rsrv_client *c);
void rsrv_free_client(struct rsrv_client *c);

/* rsrv_out.c */
void rsrv_mark_pending(struct rsrv_client *c);
void rsrv_mark_resume(struct rsrv_client *c);
void rsrv_after_command(struct rsrv_client *c);
int rsrv_out_write(struct rsrv_client *c); /* on EV_WRITE; -1 when closed */
void rsrv_before_sleep(struct ev_loop *loop, void *arg);
void rsrv_cron(struct ev_loop *loop, uint64_t id, void *arg);
void rsrv_drop_holds(struct rsrv_client *c);
void rsrv_close_limit(struct rsrv_client *c, const char *why, uint64_t *counter);

#endif
