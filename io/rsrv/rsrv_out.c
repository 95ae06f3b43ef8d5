/* rsrv_out: a client's output (replies, deferred replies, gates), the end-of-round
 * flush and the limits.  Contract in rsrv.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "io/rsrv/rsrv_int.h"

#define RSRV_IOV 64

static struct rsrv_hold *hold_at(const struct rsrv_client *c, unsigned k)
{
    return &c->holds[(c->hhead + k) % c->hcap];
}

/* A new hold at absolute position `at`, the newest; NULL when memory ran out. */
static struct rsrv_hold *hold_push(struct rsrv_client *c, uint64_t at)
{
    if (c->nholds == c->hcap) {
        unsigned cap = c->hcap ? c->hcap * 2 : 8;
        struct rsrv_hold *h = malloc(cap * sizeof(*h));
        if (!h) return NULL;
        for (unsigned k = 0; k < c->nholds; k++)
            h[k] = *hold_at(c, k);
        free(c->holds);
        c->holds = h;
        c->hcap = cap;
        c->hhead = 0;
    }
    struct rsrv_hold *h = hold_at(c, c->nholds++);
    memset(h, 0, sizeof(*h));
    h->at = at;
    h->seq = c->hseq++;
    return h;
}

static char *hold_bytes(struct rsrv_hold *h)
{
    return h->len <= sizeof(h->small) ? h->small : h->big;
}

static void hold_pop(struct rsrv_client *c)
{
    struct rsrv_hold *h = hold_at(c, 0);
    free(h->big);
    c->hhead = (c->hhead + 1) % c->hcap;
    c->nholds--;
}

void rsrv_drop_holds(struct rsrv_client *c)
{
    struct rsrv *s = c->s;
    for (unsigned k = 0; k < c->nholds; k++)
        free(hold_at(c, k)->big);
    s->deferred -= c->ndeferred;
    c->ndeferred = 0;
    c->nholds = 0;
    free(c->holds);
    c->holds = NULL;
    c->hcap = c->hhead = 0;
}

void rsrv_mark_pending(struct rsrv_client *c)
{
    if (c->flags & (RC_PENDING | RC_CLOSING | RC_REPLAY)) return;
    c->flags |= RC_PENDING;
    c->wnext = c->s->pending;
    c->s->pending = c;
}

void rsrv_mark_resume(struct rsrv_client *c)
{
    if (c->flags & (RC_RESUME | RC_CLOSING | RC_REPLAY)) return;
    c->flags |= RC_RESUME;
    c->rnext = c->s->resume;
    c->s->resume = c;
}

size_t rsrv_unsent(const struct rsrv_client *c)
{
    return c->out.len - c->sent;
}

void rsrv_close_limit(struct rsrv_client *c, const char *why, uint64_t *counter)
{
    if (c->flags & RC_CLOSING) return;
    (*counter)++;
    rsrv_close(c, why);
}

/* Redis's rule for clients in pub/sub mode: cut, never wait for them.  The clock is
 * read only above the soft mark (this runs for every message delivered). */
static int pubsub_over(struct rsrv_client *c, uint64_t now)
{
    const struct oblimit *l = &c->s->cfg.pubsub_limit;
    size_t used = rsrv_unsent(c);
    if (!(c->flags & RC_PUBSUB)) return 0;
    if (l->hard && used >= l->hard) return 1;
    if (!l->soft || used < l->soft) {
        c->soft_since = 0;
        return 0;
    }
    return oblimit_over(l, used, &c->soft_since, now ? now : ev_now_ms());
}

void rsrv_after_command(struct rsrv_client *c)
{
    if (c->flags & RC_REPLAY) { /* the log loader's replies go nowhere */
        c->out.len = c->sent = 0;
        c->out.overflow = 0;
        rsrv_drop_holds(c);
        return;
    }
    if (c->flags & RC_CLOSING) return;
    if (c->out.overflow) {
        rsrv_close_limit(c, "output buffer limit reached", &c->s->st.closed_out_limit);
        return;
    }
    if (c->out.len > c->sent || c->nholds) rsrv_mark_pending(c);
}

void rsrv_wrote(struct rsrv_client *c)
{
    /* the common case, a client under every mark, in few instructions: a PUBLISH to
     * N subscribers runs this N times */
    if (!c->out.overflow && !(c->flags & (RC_CLOSING | RC_REPLAY)) &&
        (!(c->flags & RC_PUBSUB) || (rsrv_unsent(c) < c->s->pubsub_mark && !c->soft_since))) {
        rsrv_mark_pending(c);
        return;
    }
    if (c->flags & (RC_CLOSING | RC_REPLAY)) {
        rsrv_after_command(c);
        return;
    }
    if (c->out.overflow) {
        rsrv_close_limit(c, "output buffer limit reached", &c->s->st.closed_out_limit);
        return;
    }
    if (pubsub_over(c, 0)) {
        rsrv_close_limit(c, "pubsub output buffer limit reached", &c->s->st.closed_pubsub_limit);
        return;
    }
    rsrv_mark_pending(c);
}

struct rsrv_slot rsrv_defer(struct rsrv_client *c)
{
    struct rsrv *s = c->s;
    struct rsrv_hold *h = hold_push(c, c->base + c->out.len);
    if (!h) {
        rsrv_close(c, "out of memory for a deferred reply");
        return (struct rsrv_slot){.s = s, .fd = -1};
    }
    c->ndeferred++;
    if (++s->deferred >= RSRV_MAX_DEFERRED_ALL) s->deferred_full = 1;
    return (struct rsrv_slot){.s = s, .fd = c->fd, .client = c->id, .seq = h->seq};
}

int rsrv_fill(struct rsrv_slot sl, const void *reply, size_t n)
{
    struct rsrv *s = sl.s;
    if (!s || sl.fd < 0 || (size_t)sl.fd >= s->nbyfd) return -1;
    struct rsrv_client *c = s->byfd[sl.fd];
    if (!c || c->id != sl.client || (c->flags & RC_CLOSING) || !c->nholds) return -1;
    uint64_t first = hold_at(c, 0)->seq;
    if (sl.seq < first || sl.seq - first >= c->nholds) return -1;
    struct rsrv_hold *h = hold_at(c, (unsigned)(sl.seq - first));
    if (h->gate || h->filled) return -1;
    if (n > sizeof(h->small) && !(h->big = malloc(n))) {
        rsrv_close(c, "out of memory for a deferred reply");
        return -1;
    }
    h->len = n;
    memcpy(hold_bytes(h), reply, n);
    h->filled = 1;
    c->ndeferred--;
    if (--s->deferred < RSRV_MAX_DEFERRED_ALL / 2 && s->deferred_full) {
        s->deferred_full = 0; /* clients held by the server-wide bound go on */
        for (struct rsrv_client *o = s->all; o; o = o->next)
            if (o->flags & RC_STALLED) rsrv_mark_resume(o);
    }
    rsrv_mark_pending(c);
    if (c->flags & RC_STALLED) rsrv_mark_resume(c);
    return 0;
}

void rsrv_gate(struct rsrv_client *c, uint64_t lsn)
{
    struct rsrv *s = c->s;
    if ((c->flags & RC_REPLAY) || !s->cfg.durable_lsn || lsn == 0) return;
    struct rsrv_hold *last = c->nholds ? hold_at(c, c->nholds - 1) : NULL;
    if (last && last->gate) { /* merge: everything after it waits for the later LSN */
        if (lsn > last->lsn) last->lsn = lsn;
    } else {
        uint64_t at = (c->flags & RC_IN_CMD) ? c->reply_start : c->base + c->out.len;
        struct rsrv_hold *h = hold_push(c, at);
        if (!h) {
            rsrv_close(c, "out of memory for a gate");
            return;
        }
        h->gate = 1;
        h->lsn = lsn;
    }
    if (!(c->flags & RC_GATED)) {
        c->flags |= RC_GATED;
        c->gnext = s->gated;
        s->gated = c;
    }
}

/* Consumes w written bytes in the order out_send() gathered them. */
static void out_advance(struct rsrv_client *c, size_t w, uint64_t durable)
{
    for (;;) {
        struct rsrv_hold *h = c->nholds ? hold_at(c, 0) : NULL;
        size_t stop = h ? (size_t)(h->at - c->base) : c->out.len;
        if (stop > c->sent) {
            size_t take = stop - c->sent < w ? stop - c->sent : w;
            c->sent += take;
            w -= take;
            if (c->sent < stop) return;
            continue;
        }
        if (!h) return;
        if (h->gate) {
            if (h->lsn > durable) return;
            hold_pop(c);
            continue;
        }
        if (!h->filled) return;
        size_t take = h->len - h->done < w ? h->len - h->done : w;
        h->done += take;
        w -= take;
        if (h->done < h->len) return;
        hold_pop(c);
    }
}

/* Writes what may leave now: buffer bytes up to the first hold that is not clear, with
 * filled slots' replies in their places.  1: all of it written (or nothing may leave);
 * 0: the socket is full; -1: the peer is gone. */
static int out_send(struct rsrv_client *c, uint64_t durable)
{
    for (;;) {
        struct iovec iov[RSRV_IOV];
        int n = 0;
        size_t pos = c->sent, total = 0;
        unsigned k = 0;
        while (n < RSRV_IOV) {
            struct rsrv_hold *h = k < c->nholds ? hold_at(c, k) : NULL;
            size_t stop = h ? (size_t)(h->at - c->base) : c->out.len;
            if (stop > pos) {
                iov[n++] = (struct iovec){c->out.data + pos, stop - pos};
                total += stop - pos;
                pos = stop;
                continue;
            }
            if (!h || (h->gate && h->lsn > durable) || (!h->gate && !h->filled)) break;
            if (!h->gate && h->len > h->done) {
                iov[n++] = (struct iovec){hold_bytes(h) + h->done, h->len - h->done};
                total += h->len - h->done;
            }
            k++;
        }
        if (n == 0) {
            out_advance(c, 0, durable); /* pops holds that cleared with nothing after */
            return 1;
        }
        /* sendmsg for MSG_NOSIGNAL: a peer that left is an error here, not SIGPIPE */
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        if (w <= 0) return -1;
        out_advance(c, (size_t)w, durable);
        if ((size_t)w < total) return 0;
    }
}

/* Drops written bytes from the front (the holds keep absolute positions). */
static void out_compact(struct rsrv_client *c)
{
    if (c->sent == c->out.len) {
        c->base += c->sent;
        c->out.len = c->sent = 0;
    } else if (c->sent >= ((size_t)64 << 10) && c->sent >= c->out.len / 2) {
        resp_out_consume(&c->out, c->sent);
        c->base += c->sent;
        c->sent = 0;
    }
    c->out.limit = c->sent + c->s->cfg.out_limit; /* the limit is on unsent bytes */
}

/* Writes c's output; then closes it (peer gone, or done after close-after-reply) or
 * lets it run again (output drained below the soft mark). */
static void out_flush(struct rsrv_client *c, uint64_t durable)
{
    struct rsrv *s = c->s;
    if (c->flags & RC_CLOSING) return;
    int r = out_send(c, durable);
    if (r < 0) {
        rsrv_close(c, NULL);
        return;
    }
    out_compact(c);
    size_t unsent = rsrv_unsent(c);
    s->out_total = s->out_total - c->acct + unsent;
    c->acct = unsent;
    unsigned want = r == 0 ? RC_WANT_WRITE : 0;
    if ((c->flags & RC_WANT_WRITE) != want) {
        c->flags = (c->flags & ~RC_WANT_WRITE) | want;
        rsrv_set_watch(c);
    }
    if ((c->flags & RC_CLOSE_AFTER) && unsent == 0 && c->nholds == 0) {
        rsrv_close(c, NULL);
        return;
    }
    if ((c->flags & RC_STALLED) && rsrv_runnable(c)) rsrv_mark_resume(c);
}

int rsrv_out_write(struct rsrv_client *c)
{
    struct rsrv *s = c->s;
    out_flush(c, s->cfg.durable_lsn ? s->cfg.durable_lsn(s->cfg.app) : UINT64_MAX);
    return (c->flags & RC_CLOSING) ? -1 : 0;
}

/* Over cfg.out_total_limit: close the client holding the most (a reader that stopped:
 * the ones that read keep theirs near zero), until under it. */
static void out_total_enforce(struct rsrv *s)
{
    while (s->cfg.out_total_limit && s->out_total > s->cfg.out_total_limit) {
        struct rsrv_client *big = NULL;
        for (struct rsrv_client *c = s->all; c; c = c->next)
            if (!(c->flags & RC_CLOSING) && (!big || c->acct > big->acct)) big = c;
        if (!big || !big->acct) return;
        char why[160];
        snprintf(why, sizeof(why), "all clients' output %zu bytes over the limit of %zu",
                 s->out_total, s->cfg.out_total_limit);
        rsrv_close_limit(big, why, &s->st.closed_total_limit);
        s->out_total -= big->acct;
        big->acct = 0;
    }
}

static void unlink_closing(struct rsrv_client **list, size_t next_off)
{
    while (*list) {
        struct rsrv_client *c = *list;
        struct rsrv_client **nx = (struct rsrv_client **)((char *)c + next_off);
        if (c->flags & RC_CLOSING)
            *list = *nx;
        else
            list = nx;
    }
}

static void on_resume_timer(struct ev_loop *loop, uint64_t id, void *arg)
{
    (void)loop, (void)id, (void)arg; /* its job was to end the wait: the hook runs next */
}

void rsrv_before_sleep(struct ev_loop *loop, void *arg)
{
    struct rsrv *s = arg;
    uint64_t durable = UINT64_MAX;
    /* Resumed clients run first, then the app's end-of-round work (which may resume more:
     * a blocked reader served), then every output is written (which may resume more: a
     * client whose output drained below the soft mark); a few times at most per round. */
    for (int round = 0; round < 16; round++) {
        while (s->resume) {
            struct rsrv_client *c = s->resume;
            s->resume = c->rnext;
            c->flags &= ~RC_RESUME;
            if (!(c->flags & RC_CLOSING)) rsrv_run_input(c);
        }
        if (s->cfg.before_flush) s->cfg.before_flush(s->cfg.app);
        if (s->cfg.durable_lsn) durable = s->cfg.durable_lsn(s->cfg.app);
        struct rsrv_client *g = s->gated;
        s->gated = NULL;
        while (g) { /* gated clients: write what the durable LSN now lets out */
            struct rsrv_client *c = g;
            g = c->gnext;
            out_flush(c, durable);
            int still = 0;
            for (unsigned k = 0; k < c->nholds && !still; k++)
                still = hold_at(c, k)->gate;
            if (still && !(c->flags & RC_CLOSING)) {
                c->gnext = s->gated;
                s->gated = c;
            } else {
                c->flags &= ~RC_GATED;
            }
        }
        while (s->pending) {
            struct rsrv_client *c = s->pending;
            s->pending = c->wnext;
            c->flags &= ~RC_PENDING;
            out_flush(c, durable);
        }
        if (!s->resume) break;
    }
    if (s->resume) ev_timer_add(loop, 0, on_resume_timer, s); /* more next round, no sleep */
    out_total_enforce(s);
    if (s->closing) {
        unlink_closing(&s->gated, offsetof(struct rsrv_client, gnext));
        unlink_closing(&s->resume, offsetof(struct rsrv_client, rnext));
        while (s->closing) {
            struct rsrv_client *c = s->closing;
            s->closing = c->cnext;
            rsrv_free_client(c);
        }
    }
}

/* Once a second: the pub/sub soft limit's clock runs even when nothing is published. */
void rsrv_cron(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct rsrv *s = arg;
    uint64_t now = ev_now_ms();
    if (s->npubsub)
        for (struct rsrv_client *c = s->all; c; c = c->next)
            if (!(c->flags & RC_CLOSING) && pubsub_over(c, now))
                rsrv_close_limit(c, "pubsub output buffer soft limit held too long",
                                 &s->st.closed_pubsub_limit);
    s->cron = ev_timer_add(loop, 1000, rsrv_cron, s);
}
