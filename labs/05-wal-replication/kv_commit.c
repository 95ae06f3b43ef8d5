/* kv_commit: the lesson of this lab, PostgreSQL's synchronous_commit levels: which level
 * waits for which LSN before a write's reply may leave.
 *
 *   off           nothing: the reply goes at once; the WAL writer writes and fdatasyncs
 *                 every --wal-writer-delay (a kill -9 loses what it had not taken yet)
 *   local         wal_flush_lsn() >= lsn: this machine's fdatasync covered the record
 *   remote_write  local, and a replica has written it (in its OS page cache)
 *   on            local, and a replica has fdatasync'd it
 *   remote_apply  local, and a replica has applied it: a read there sees it
 *
 * A write is appended and applied to the map at once (kv_cmds.c); its reply is a
 * deferred one (io/rsrv: rsrv_defer), and the replies of the client's later pipelined
 * commands wait behind it, so replies stay in order and one connection's pipelined
 * commits share a flush.  The waits form one queue in LSN order: appends are serial,
 * so LSNs (and the deadlines, now + --sync-timeout) only grow along it, and releasing
 * stops at the first one still waiting.  A remote level waits at most --sync-timeout,
 * then answers an error saying where the write is (never a false OK).  WAIT n timeout
 * counts replicas that flushed the client's last write.
 *
 * Reads see only what was answered.  A write is applied to the map at once, but at
 * local and above a read that rests on a write whose reply still waits (a GET of a key
 * it set, a DEL's absence, DBSIZE or KEYS while any write waits) is answered after that
 * write, from a copy of what it read then: its reply joins the queue behind the write.
 * So no client is shown a value a crash or a failover can still take away, and a
 * pipelined SET then GET on one connection still reads its own write.  PostgreSQL's
 * readers see the old row until the commit returns instead; a single-version map makes
 * the reader wait for the commit rather than read around it.  At off, as there, a read
 * sees every write at once, one a crash may then lose. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labs/05-wal-replication/kv_server.h"

struct kv_wait {
    struct rsrv_slot slot;
    uint64_t lsn, deadline_ms; /* deadline 0: none */
    long long want;            /* WAIT's numreplicas */
    char reply[24];            /* the reply once it holds: +OK, :n */
    unsigned char len;
    char *data; /* a read's reply (len unused), made when it ran */
    size_t dlen;
};

const char *const kv_level_names[5] = {"off", "local", "remote_write", "on", "remote_apply"};

/* What a remote level counts on the replica (local and off need no replica). */
static const enum walsnd_pos kv_level_pos[5] = {WALSND_FLUSH, WALSND_FLUSH, WALSND_WRITE,
                                                WALSND_FLUSH, WALSND_APPLY};

static int kv_level_holds(const struct kv_server *s, uint64_t lsn)
{
    if (wal_flush_lsn(s->wal) < lsn) return 0; /* every level but off waits for this */
    return s->level <= KV_LOCAL || walsnd_count(s->snd, kv_level_pos[s->level], lsn) > 0;
}

static void fill_error(struct kv_server *s, const struct kv_wait *w)
{
    char msg[512];
    int n = snprintf(msg, sizeof(msg),
                     "-ERR synchronous_commit=%s: no replica confirmed LSN %" PRIu64 " within %u "
                     "ms; the write is %s on the primary but may be lost on failover\r\n",
                     kv_level_names[s->level], w->lsn, s->sync_timeout_ms,
                     wal_flush_lsn(s->wal) >= w->lsn ? "flushed" : "not yet flushed");
    rsrv_fill(w->slot, msg, (size_t)n);
}

/* A new place at the tail of the queue; NULL out of memory (the ring grows; rsrv
 * bounds the deferred replies). */
static struct kv_wait *queue_add(struct kv_server *s)
{
    if (s->qlen == s->qcap) {
        size_t cap = s->qcap ? s->qcap * 2 : 1024;
        struct kv_wait *q = malloc(cap * sizeof(*q));
        if (!q) return NULL;
        for (size_t i = 0; i < s->qlen; i++)
            q[i] = s->q[(s->qhead + i) % s->qcap];
        free(s->q);
        s->q = q;
        s->qcap = cap;
        s->qhead = 0;
    }
    struct kv_wait *w = &s->q[(s->qhead + s->qlen++) % s->qcap];
    memset(w, 0, sizeof(*w));
    return w;
}

/* Replies now (off) or defers the reply until the level holds for lsn. */
void kv_commit(struct rsrv_client *c, uint64_t lsn, const char *reply, size_t n)
{
    struct kv_server *s = rsrv_app(c);
    struct kv_client *kc = rsrv_data(c);
    kc->last_write_lsn = lsn;
    if (s->level == KV_OFF) {
        resp_add_raw(rsrv_reply(c), reply, n);
        return;
    }
    struct kv_wait *w = queue_add(s);
    if (!w) {
        resp_add_error(rsrv_reply(c), "OOM out of memory for a commit wait");
        return;
    }
    w->slot = rsrv_defer(c);
    w->lsn = lsn;
    w->deadline_ms = s->level > KV_LOCAL ? ev_now_ms() + s->sync_timeout_ms : 0;
    w->len = (unsigned char)(n < sizeof(w->reply) ? n : sizeof(w->reply));
    memcpy(w->reply, reply, w->len);
    s->round_lsn = lsn; /* one flush request at the end of the round, for all of it */
}

struct resp_out *kv_read_out(struct rsrv_client *c, uint64_t dep)
{
    struct kv_server *s = rsrv_app(c);
    char err[256];
    s->rdefer = 0;
    /* at off a read sees every write; a replica applies only what it flushed */
    if (s->level == KV_OFF || s->is_replica) return rsrv_reply(c);
    if (wal_failed(s->wal, err, sizeof(err))) {
        uint64_t upto = dep == UINT64_MAX ? wal_insert_lsn(s->wal) : dep;
        if (upto <= wal_flush_lsn(s->wal)) return rsrv_reply(c);
        resp_add_errorf(rsrv_reply(c),
                        "ERR WAL failed, what this read would return is not durable: %s", err);
        return NULL;
    }
    if (!s->qlen || dep <= s->visible_lsn) return rsrv_reply(c);
    s->rdefer = 1;
    s->rscratch.len = 0;
    s->rscratch.overflow = 0;
    return &s->rscratch;
}

void kv_read_done(struct rsrv_client *c)
{
    struct kv_server *s = rsrv_app(c);
    if (!s->rdefer) return;
    s->rdefer = 0;
    struct kv_wait *w = NULL;
    char *data = s->rscratch.overflow ? NULL : malloc(s->rscratch.len ? s->rscratch.len : 1);
    /* behind the last write in the queue: every write it may rest on is before it */
    uint64_t lsn = s->q[(s->qhead + s->qlen - 1) % s->qcap].lsn;
    if (!data || !(w = queue_add(s))) {
        free(data);
        resp_add_error(rsrv_reply(c), "OOM out of memory for a read waiting for a commit");
        return;
    }
    memcpy(data, s->rscratch.data, s->rscratch.len);
    w->slot = rsrv_defer(c);
    w->lsn = lsn;
    w->data = data;
    w->dlen = s->rscratch.len;
}

/* A commit up to lsn still waits for its level. */
static int commits_pending(const struct kv_server *s, uint64_t lsn)
{
    return s->qlen && s->q[s->qhead].lsn <= lsn;
}

/* WAIT numreplicas timeout: replicas that flushed this client's last write, counted once
 * the replies before it were released (its place in the client's pipeline). */
void kv_wait(struct rsrv_client *c, long long want, long long timeout_ms)
{
    struct kv_server *s = rsrv_app(c);
    struct kv_client *kc = rsrv_data(c);
    int n = walsnd_count(s->snd, WALSND_FLUSH, kc->last_write_lsn);
    if (n >= want && !commits_pending(s, kc->last_write_lsn)) {
        resp_add_int(rsrv_reply(c), n);
        return;
    }
    if (s->nwaits == s->capwaits) {
        size_t cap = s->capwaits ? s->capwaits * 2 : 16;
        struct kv_wait *v = realloc(s->waits, cap * sizeof(*v));
        if (!v) {
            resp_add_error(rsrv_reply(c), "OOM out of memory for a WAIT");
            return;
        }
        s->waits = v;
        s->capwaits = cap;
    }
    struct kv_wait *w = &s->waits[s->nwaits++];
    w->slot = rsrv_defer(c);
    w->lsn = kc->last_write_lsn;
    w->want = want;
    w->deadline_ms = timeout_ms ? ev_now_ms() + (uint64_t)timeout_ms : 0; /* 0: forever */
}

void kv_commit_release(struct kv_server *s)
{
    uint64_t now = ev_now_ms();
    char err[256];
    int failed = wal_failed(s->wal, err, sizeof(err));
    while (s->qlen) {
        struct kv_wait *w = &s->q[s->qhead];
        /* After a failure, what was already durable before it is still answered as such:
         * a write whose record was flushed is acknowledged, and a read shows it. */
        int durable = w->data ? wal_flush_lsn(s->wal) >= w->lsn : kv_level_holds(s, w->lsn);
        if (failed && !durable) {
            char msg[320];
            int n = snprintf(msg, sizeof(msg), "-ERR WAL failed, %s not durable: %s\r\n",
                             w->data ? "what this read would return is" : "write", err);
            rsrv_fill(w->slot, msg, (size_t)n);
        } else if (w->data) { /* a read: the writes before it were answered */
            if (wal_flush_lsn(s->wal) < w->lsn) break;
            rsrv_fill(w->slot, w->data, w->dlen);
        } else if (kv_level_holds(s, w->lsn)) {
            rsrv_fill(w->slot, w->reply, w->len);
            s->visible_lsn = w->lsn;
        } else if (w->deadline_ms && now >= w->deadline_ms) {
            fill_error(s, w); /* the write stays on the primary, as PostgreSQL's does */
            s->visible_lsn = w->lsn;
        } else {
            break; /* the ones behind it have later LSNs and deadlines */
        }
        free(w->data);
        s->qhead = (s->qhead + 1) % s->qcap;
        s->qlen--;
    }
    for (size_t i = 0; i < s->nwaits;) {
        struct kv_wait *w = &s->waits[i];
        int n = walsnd_count(s->snd, WALSND_FLUSH, w->lsn);
        int late = w->deadline_ms && now >= w->deadline_ms;
        if ((n < w->want && !late) || commits_pending(s, w->lsn)) {
            i++;
            continue;
        }
        char num[32];
        rsrv_fill(w->slot, num, (size_t)snprintf(num, sizeof(num), ":%d\r\n", n));
        s->waits[i] = s->waits[--s->nwaits];
    }
}

void kv_commit_flush(struct kv_server *s)
{
    /* One flush request per loop round, at its end: a request per commit would wake the
     * writer (on the same core) on the first one, and it would take a batch of one. */
    if (s->round_lsn) wal_flush_request(s->wal, s->round_lsn);
    s->round_lsn = 0;
}

void kv_commit_free(struct kv_server *s)
{
    for (size_t i = 0; i < s->qlen; i++)
        free(s->q[(s->qhead + i) % s->qcap].data);
    resp_out_free(&s->rscratch);
    free(s->q);
    free(s->waits);
}
