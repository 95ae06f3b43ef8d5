/* xclaim: looking at and taking over pending entries (XPENDING, XCLAIM, XAUTOCLAIM),
 * how an at-least-once queue recovers the tasks of a consumer that died.  Replies follow
 * Redis 7.0 byte for byte. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "labs/11-pubsub/xcmd.h"

/* One claimed entry into the XCLAIM/XAUTOCLAIM reply body: its ID, or ID and fields. */
static void add_claimed(struct resp_out *body, const struct stream *s, struct stream_id id, long e,
                        int justid)
{
    char buf[STREAM_ID_MAX];
    if (!justid && e >= 0) resp_add_array(body, 2);
    resp_add_bulk(body, buf, (size_t)stream_id_fmt(id, buf));
    if (!justid && e >= 0) resp_add_raw(body, s->e[e].enc, s->e[e].enclen);
}

/* The consumer that takes entries over, created if new; NULL after replying the error. */
static struct stream_consumer *claimer(struct rsrv_client *c, struct stream_group *g,
                                       const char *name, size_t n, uint64_t now)
{
    struct stream_consumer *cons = stream_consumer_get(g, name, n, now, NULL);
    if (!cons)
        resp_add_error(rsrv_reply(c), "OOM out of memory or over the broker's consumer limit");
    return cons;
}

static uint64_t idle_of(const struct stream_pel *p, uint64_t now)
{
    return now > p->delivery_ms ? now - p->delivery_ms : 0;
}

/* XPENDING key group [[IDLE min-idle] start end count [consumer]] */
void xcmd_xpending(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    long long minidle = 0, count = 0;
    struct stream_id lo = {0, 0}, hi = {0, 0};
    const char *cname = NULL;
    size_t cl = 0;
    int ext = argc > 3;
    if (ext) {
        int i = 3;
        if (argc < 6 || argc > 9) { /* Redis checks only this; extra words are ignored */
            resp_add_error(rsrv_reply(c), XERR_SYNTAX);
            return;
        }
        if (rsrv_arg_is(argv[3], argl[3], "IDLE")) {
            if (rsrv_arg_ll(argv[4], argl[4], &minidle) < 0) {
                resp_add_error(rsrv_reply(c), XERR_INT);
                return;
            }
            if (argc < 8) {
                resp_add_error(rsrv_reply(c), XERR_SYNTAX);
                return;
            }
            i = 5;
        }
        if (xcmd_count(c, argv[i + 2], argl[i + 2], &count) < 0) return;
        if (xcmd_range_id(c, argv[i], argl[i], 0, 1, &lo) < 0 ||
            xcmd_range_id(c, argv[i + 1], argl[i + 1], 1, 1, &hi) < 0)
            return;
        if (argc - i >= 4) cname = argv[i + 3], cl = argl[i + 3];
    }
    struct stream *s;
    struct stream_group *g = xcmd_group(c, argv[1], argl[1], argv[2], argl[2], "", &s);
    if (!g) return;
    if (!ext) {
        resp_add_array(rsrv_reply(c), 4);
        resp_add_int(rsrv_reply(c), (long long)g->npel);
        if (g->npel == 0) {
            resp_add_null(rsrv_reply(c));
            resp_add_null(rsrv_reply(c));
            resp_add_null_array(rsrv_reply(c));
            return;
        }
        xcmd_reply_id(c, g->pel[0].id);
        xcmd_reply_id(c, g->pel[g->npel - 1].id);
        size_t nc = 0;
        for (size_t i = 0; i < g->ncons; i++)
            nc += g->cons[i]->pending > 0;
        resp_add_array(rsrv_reply(c), (long long)nc);
        for (size_t i = 0; i < g->ncons; i++) {
            if (!g->cons[i]->pending) continue;
            char n[24];
            int nl = snprintf(n, sizeof(n), "%zu", g->cons[i]->pending);
            resp_add_array(rsrv_reply(c), 2);
            resp_add_bulk(rsrv_reply(c), g->cons[i]->name, g->cons[i]->namelen);
            resp_add_bulk(rsrv_reply(c), n, (size_t)nl);
        }
        return;
    }
    const struct stream_consumer *only = NULL;
    if (cname && !(only = stream_consumer_find(g, cname, cl))) {
        resp_add_array(rsrv_reply(c), 0);
        return;
    }
    uint64_t now = xcmd_now_ms();
    size_t first = stream_pel_seek(g, lo), n = 0;
    for (size_t j = first; j < g->npel && stream_id_cmp(g->pel[j].id, hi) <= 0; j++)
        if ((!only || g->pel[j].owner == only) && idle_of(&g->pel[j], now) >= (uint64_t)minidle &&
            n < (size_t)count)
            n++;
    resp_add_array(rsrv_reply(c), (long long)n);
    size_t done = 0;
    for (size_t j = first; j < g->npel && done < n; j++) {
        const struct stream_pel *p = &g->pel[j];
        if ((only && p->owner != only) || idle_of(p, now) < (uint64_t)minidle) continue;
        resp_add_array(rsrv_reply(c), 4);
        xcmd_reply_id(c, p->id);
        resp_add_bulk(rsrv_reply(c), p->owner->name, p->owner->namelen);
        resp_add_int(rsrv_reply(c), (long long)idle_of(p, now));
        resp_add_int(rsrv_reply(c), (long long)p->count);
        done++;
    }
}

/* XCLAIM key group consumer min-idle-time id... [IDLE ms] [TIME ms] [RETRYCOUNT n]
 *        [FORCE] [JUSTID] [LASTID id] */
void xcmd_xclaim(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    struct stream *s; /* XCLAIM looks the group up first (XAUTOCLAIM last), as Redis */
    struct stream_group *g = xcmd_group(c, argv[1], argl[1], argv[2], argl[2], "", &s);
    if (!g) return;
    long long minidle;
    if (rsrv_arg_ll(argv[4], argl[4], &minidle) < 0) {
        resp_add_error(rsrv_reply(c), "ERR Invalid min-idle-time argument for XCLAIM");
        return;
    }
    if (minidle < 0) minidle = 0;
    int nids = 0, j = 5; /* the IDs, up to the first word that is not one */
    struct stream_id id;
    for (; j < argc; j++, nids++)
        if (stream_id_parse(argv[j], argl[j], 0, &id, NULL) < 0) break;
    uint64_t now = xcmd_now_ms();
    long long deliverytime = -1, retry = -1;
    int force = 0, justid = 0, havelast = 0;
    struct stream_id lastid = {0, 0};
    for (; j < argc; j++) {
        int more = argc - j - 1;
        long long v;
        if (rsrv_arg_is(argv[j], argl[j], "FORCE")) {
            force = 1;
        } else if (rsrv_arg_is(argv[j], argl[j], "JUSTID")) {
            justid = 1;
        } else if (rsrv_arg_is(argv[j], argl[j], "IDLE") && more >= 1) {
            if (j++, rsrv_arg_ll(argv[j], argl[j], &v) < 0) {
                resp_add_error(rsrv_reply(c), "ERR Invalid IDLE option argument for XCLAIM");
                return;
            }
            deliverytime = (long long)now - v;
        } else if (rsrv_arg_is(argv[j], argl[j], "TIME") && more >= 1) {
            if (j++, rsrv_arg_ll(argv[j], argl[j], &v) < 0) {
                resp_add_error(rsrv_reply(c), "ERR Invalid TIME option argument for XCLAIM");
                return;
            }
            deliverytime = v;
        } else if (rsrv_arg_is(argv[j], argl[j], "RETRYCOUNT") && more >= 1) {
            if (j++, rsrv_arg_ll(argv[j], argl[j], &retry) < 0) {
                resp_add_error(rsrv_reply(c), "ERR Invalid RETRYCOUNT option argument for XCLAIM");
                return;
            }
        } else if (rsrv_arg_is(argv[j], argl[j], "LASTID") && more >= 1) {
            j++;
            if (stream_id_parse(argv[j], argl[j], 0, &lastid, NULL) < 0) {
                resp_add_error(rsrv_reply(c), XERR_ID);
                return;
            }
            havelast = 1;
        } else {
            resp_add_errorf(rsrv_reply(c), "ERR Unrecognized XCLAIM option '%.*s'", (int)argl[j],
                            argv[j]);
            return;
        }
    }
    if (deliverytime < 0 || (uint64_t)deliverytime > now)
        deliverytime = (long long)now; /* no or bogus IDLE/TIME: now, as Redis */
    if (xcmd_log_room(c, (size_t)nids, xcmd_claim_bytes(argl[1], argl[2], argl[3])) < 0) return;
    if (havelast && stream_id_cmp(lastid, g->last) > 0) g->last = lastid;
    struct stream_consumer *cons = claimer(c, g, argv[3], argl[3], now);
    if (!cons) return;
    /* The reply length is known only at the end: build it aside, then copy. */
    struct resp_out body;
    resp_out_init(&body, BROKER_OUT_LIMIT);
    long long claimed = 0;
    for (int k = 0; k < nids; k++) {
        stream_id_parse(argv[5 + k], argl[5 + k], 0, &id, NULL);
        long e = stream_find(s, id);
        long pi = stream_pel_find(g, id);
        if (pi < 0) {
            if (!force || e < 0) continue;
            if (!stream_pel_deliver(g, id, cons, now)) continue;
            pi = stream_pel_find(g, id);
        }
        struct stream_pel *p = &g->pel[pi];
        if (minidle && idle_of(p, now) < (uint64_t)minidle) continue;
        p->delivery_ms = (uint64_t)deliverytime;
        if (retry >= 0)
            p->count = (uint64_t)retry;
        else if (!justid)
            p->count++;
        if (p->owner != cons) stream_pel_set_owner(g, p, cons);
        add_claimed(&body, s, p->id, e, justid);
        claimed++;
        xcmd_log_claim(c, argv[1], argl[1], g, p);
    }
    resp_add_array(rsrv_reply(c), claimed);
    resp_add_raw(rsrv_reply(c), body.data, body.len);
    resp_out_free(&body);
}

/* XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID] */
void xcmd_xautoclaim(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    long long minidle, count = 100;
    if (rsrv_arg_ll(argv[4], argl[4], &minidle) < 0) {
        resp_add_error(rsrv_reply(c), "ERR Invalid min-idle-time argument for XAUTOCLAIM");
        return;
    }
    if (minidle < 0) minidle = 0;
    struct stream_id start;
    if (xcmd_range_id(c, argv[5], argl[5], 0, 1, &start) < 0) return;
    int justid = 0;
    for (int j = 6; j < argc; j++) {
        if (rsrv_arg_is(argv[j], argl[j], "COUNT") && j + 1 < argc) {
            if (rsrv_arg_ll(argv[j + 1], argl[j + 1], &count) < 0 || count < 1 ||
                count > LONG_MAX / 10) {
                resp_add_error(rsrv_reply(c), "ERR COUNT must be > 0");
                return;
            }
            j++;
        } else if (rsrv_arg_is(argv[j], argl[j], "JUSTID")) {
            justid = 1;
        } else {
            resp_add_error(rsrv_reply(c), XERR_SYNTAX);
            return;
        }
    }
    struct stream *s; /* the arguments are checked first, then the group, as Redis */
    struct stream_group *g = xcmd_group(c, argv[1], argl[1], argv[2], argl[2], "", &s);
    if (!g) return;
    uint64_t now = xcmd_now_ms();
    size_t nrec = g->npel < (size_t)count ? g->npel : (size_t)count;
    if (xcmd_log_room(c, nrec, xcmd_claim_bytes(argl[1], argl[2], argl[3])) < 0) return;
    struct stream_consumer *cons = claimer(c, g, argv[3], argl[3], now);
    if (!cons) return;
    struct resp_out body;
    resp_out_init(&body, BROKER_OUT_LIMIT);
    long long attempts = count * 10, claimed = 0;
    size_t j = stream_pel_seek(g, start);
    while (j < g->npel && attempts-- > 0 && count > 0) {
        struct stream_pel *p = &g->pel[j];
        if (minidle && idle_of(p, now) < (uint64_t)minidle) {
            j++;
            continue;
        }
        long e = stream_find(s, p->id);
        p->delivery_ms = now;
        if (!justid) p->count++;
        if (p->owner != cons) stream_pel_set_owner(g, p, cons);
        add_claimed(&body, s, p->id, e, justid);
        claimed++;
        count--;
        xcmd_log_claim(c, argv[1], argl[1], g, p);
        j++;
    }
    resp_add_array(rsrv_reply(c), 3);
    if (j < g->npel)
        xcmd_reply_id(c, g->pel[j].id);
    else
        resp_add_bulk(rsrv_reply(c), "0-0", 3);
    resp_add_array(rsrv_reply(c), claimed);
    resp_add_raw(rsrv_reply(c), body.data, body.len);
    resp_add_array(rsrv_reply(c), 0); /* deleted IDs: this broker never deletes entries */
    resp_out_free(&body);
}
