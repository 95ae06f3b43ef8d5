/* xgroup: the consumer-group commands XGROUP and XREADGROUP (xclaim.c has XPENDING, XCLAIM,
 * XAUTOCLAIM): at-least-once delivery through the pending entries list.  Replies
 * follow Redis 7.0 byte for byte; every change is logged in a form whose replay
 * rebuilds the same PEL (deliveries as XCLAIM ... TIME RETRYCOUNT FORCE JUSTID LASTID). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labs/11-pubsub/xcmd.h"

#include "labs/11-pubsub/blog.h"

#define XERR_NOKEY                                                                                 \
    "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may "           \
    "want to use the MKSTREAM option to create an empty stream automatically."

static void subcommand_syntax(struct rsrv_client *c, const char *sub, size_t subl)
{
    resp_add_errorf(
        rsrv_reply(c),
        "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try XGROUP HELP.",
        (int)subl, sub);
}

static void xgroup_arity(struct rsrv_client *c, const char *sub)
{
    resp_add_errorf(rsrv_reply(c), "ERR wrong number of arguments for 'xgroup|%s' command", sub);
}

void xcmd_xgroup(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    struct broker *b = rsrv_app(c);
    const char *sub = argv[1];
    size_t subl = argl[1];
    static const struct {
        const char *name;
        int arity;
    } subs[] = {
        {"create", -5}, {"setid", -5}, {"destroy", 4}, {"createconsumer", 5}, {"delconsumer", 5},
    };
    int which = -1;
    for (int i = 0; i < 5; i++)
        if (rsrv_arg_is(sub, subl, subs[i].name)) which = i;
    if (which < 0) {
        resp_add_errorf(rsrv_reply(c), "ERR unknown subcommand '%.*s'. Try XGROUP HELP.", (int)subl,
                        sub);
        return;
    }
    int ar = subs[which].arity;
    if ((ar > 0 && argc != ar) || (ar < 0 && argc < -ar)) {
        xgroup_arity(c, subs[which].name);
        return;
    }
    const char *key = argv[2], *gname = argv[3];
    size_t kl = argl[2], gl = argl[3];
    struct stream *s = xcmd_lookup(b, key, kl);
    int mkstream = 0;
    struct stream_id id = {0, 0};
    int dollar = 0;
    if ((which == 0 && argc > 8) || (which == 1 && argc != 5 && argc != 7)) {
        subcommand_syntax(c, sub, subl);
        return;
    }
    for (int i = 5; which <= 1 && i < argc; i++) {
        if (which == 0 && rsrv_arg_is(argv[i], argl[i], "MKSTREAM")) {
            mkstream = 1;
        } else if (rsrv_arg_is(argv[i], argl[i], "ENTRIESREAD") && i + 1 < argc) {
            long long v;
            if (rsrv_arg_ll(argv[i + 1], argl[i + 1], &v) < 0) {
                resp_add_error(rsrv_reply(c), XERR_INT);
                return;
            }
            i++; /* accepted and ignored: this broker keeps no lag counters */
        } else {
            subcommand_syntax(c, sub, subl);
            return;
        }
    }
    /* Then the key, then the group, then the ID: Redis's order of complaints. */
    if (!s && !(which == 0 && mkstream)) {
        resp_add_error(rsrv_reply(c), XERR_NOKEY);
        return;
    }
    struct stream_group *g = s ? stream_group_find(s, gname, gl) : NULL;
    if (which != 0 && !g) {
        if (which == 2) {
            resp_add_int(rsrv_reply(c), 0);
            return;
        }
        resp_add_errorf(rsrv_reply(c), "NOGROUP No such consumer group '%.*s' for key name '%.*s'",
                        (int)gl, gname, (int)kl, key);
        return;
    }
    if (which <= 1) {
        dollar = argl[4] == 1 && argv[4][0] == '$';
        if (!dollar && stream_id_parse(argv[4], argl[4], 0, &id, NULL) < 0) {
            resp_add_error(rsrv_reply(c), XERR_ID);
            return;
        }
    }
    if (xcmd_log_room(c, 1, blog_cmd_bytes(argc, argl)) < 0) return;
    switch (which) {
    case 0: /* CREATE */
        if (g) {
            resp_add_error(rsrv_reply(c), "BUSYGROUP Consumer Group name already exists");
            return;
        }
        if (!s) {
            if (b->keys.n >= BROKER_MAX_KEYS || !(s = stream_new()) ||
                dict_put(&b->keys, key, kl, s) < 0) {
                stream_free(s);
                resp_add_error(rsrv_reply(c),
                               "OOM out of memory or over the broker's stream count limit");
                return;
            }
        }
        if (dollar) id = s->last;
        if (!stream_group_create(s, gname, gl, id)) {
            resp_add_error(rsrv_reply(c), "OOM out of memory or over the broker's group limit");
            return;
        }
        resp_add_simple(rsrv_reply(c), "OK");
        break;
    case 1: /* SETID */
        g->last = dollar ? s->last : id;
        resp_add_simple(rsrv_reply(c), "OK");
        break;
    case 2: /* DESTROY */
        resp_add_int(rsrv_reply(c), stream_group_destroy(s, gname, gl));
        break;
    case 3: { /* CREATECONSUMER */
        int created;
        if (!stream_consumer_get(g, argv[4], argl[4], xcmd_now_ms(), &created)) {
            resp_add_error(rsrv_reply(c), "OOM out of memory or over the broker's consumer limit");
            return;
        }
        resp_add_int(rsrv_reply(c), created);
        break;
    }
    case 4: { /* DELCONSUMER */
        long n = stream_consumer_delete(g, argv[4], argl[4]);
        resp_add_int(rsrv_reply(c), n < 0 ? 0 : n);
        break;
    }
    }
    /* $ is resolved at replay time to the same top ID: the log is replayed in order. */
    xcmd_log(c, 1, argc, argv, argl);
}

/* XREADGROUP GROUP g c [COUNT n] [BLOCK ms] [NOACK] STREAMS key... id... */
void xcmd_xreadgroup(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    long long count = 0, block = -1;
    int noack = 0, streams = -1;
    const char *gname = NULL, *cname = NULL;
    size_t gl = 0, cl = 0;
    for (int i = 1; i < argc; i++) {
        int more = argc - i - 1;
        if (rsrv_arg_is(argv[i], argl[i], "BLOCK") && more >= 1) {
            if (rsrv_arg_ll(argv[i + 1], argl[i + 1], &block) < 0) {
                resp_add_error(rsrv_reply(c), "ERR timeout is not an integer or out of range");
                return;
            }
            if (block < 0) {
                resp_add_error(rsrv_reply(c), "ERR timeout is negative");
                return;
            }
            i++;
        } else if (rsrv_arg_is(argv[i], argl[i], "COUNT") && more >= 1) {
            if (xcmd_count(c, argv[i + 1], argl[i + 1], &count) < 0) return;
            i++;
        } else if (rsrv_arg_is(argv[i], argl[i], "STREAMS") && more >= 1) {
            streams = i + 1;
            if ((argc - streams) % 2) {
                resp_add_error(rsrv_reply(c),
                               "ERR Unbalanced XREAD list of streams: for each stream "
                               "key an ID or '$' must be specified.");
                return;
            }
            break;
        } else if (rsrv_arg_is(argv[i], argl[i], "GROUP") && more >= 2) {
            gname = argv[i + 1], gl = argl[i + 1];
            cname = argv[i + 2], cl = argl[i + 2];
            i += 2;
        } else if (rsrv_arg_is(argv[i], argl[i], "NOACK")) {
            noack = 1;
        } else {
            resp_add_error(rsrv_reply(c), XERR_SYNTAX);
            return;
        }
    }
    if (streams < 0) {
        resp_add_error(rsrv_reply(c), XERR_SYNTAX);
        return;
    }
    if (!gname) {
        resp_add_error(rsrv_reply(c), "ERR Missing GROUP option for XREADGROUP");
        return;
    }
    int nkeys = (argc - streams) / 2;
    struct rg_key {
        struct stream *s;
        struct stream_group *g;
        struct stream_id from;
        int newonly;
    } *ks = calloc((size_t)nkeys, sizeof(*ks));
    if (!ks) {
        resp_add_error(rsrv_reply(c), "OOM out of memory");
        return;
    }
    const char **keys = argv + streams;
    const size_t *keyl = argl + streams;
    for (int k = 0; k < nkeys; k++) {
        const char *ia = argv[streams + nkeys + k];
        size_t il = argl[streams + nkeys + k];
        if (!(ks[k].g = xcmd_group(c, keys[k], keyl[k], gname, gl,
                                   " in XREADGROUP with GROUP option", &ks[k].s)))
            goto out;
        ks[k].newonly = il == 1 && ia[0] == '>';
        if (!ks[k].newonly && stream_id_parse(ia, il, 0, &ks[k].from, NULL) < 0) {
            resp_add_error(rsrv_reply(c), XERR_ID);
            goto out;
        }
    }
    /* Which streams have something to reply: new entries, or any history read. */
    int nreply = 0;
    for (int k = 0; k < nkeys; k++)
        if (!ks[k].newonly || stream_id_cmp(ks[k].s->last, ks[k].g->last) > 0) nreply++;
    if (nreply == 0) {
        struct bclient *bc = rsrv_data(c);
        if (block >= 0 && !bc->reexec) {
            if (block_wait(c, argc, argv, argl, streams, nkeys, (uint64_t)block) < 0)
                resp_add_error(rsrv_reply(c), "ERR too many blocked clients");
        } else if (block < 0) {
            resp_add_null_array(rsrv_reply(c));
        }
        goto out; /* re-executed and still nothing: stays blocked */
    }
    /* the delivery records this read will log: refused now if the log cannot take them */
    size_t nrec = 0;
    for (int k = 0; k < nkeys; k++) {
        size_t n = ks[k].g->npel;
        if (ks[k].newonly) {
            struct stream_id after = ks[k].g->last;
            n = stream_id_incr(&after) < 0 ? 0 : ks[k].s->n - stream_seek(ks[k].s, after);
            if (noack) n = n ? 1 : 0; /* one XGROUP SETID */
        }
        nrec += count > 0 && (size_t)count < n ? (size_t)count : n;
    }
    size_t longest = 0;
    for (int k = 0; k < nkeys; k++) {
        size_t one = xcmd_claim_bytes(keyl[k], gl, cl);
        if (one > longest) longest = one;
    }
    if (xcmd_log_room(c, nrec, longest) < 0) goto out;
    uint64_t now = xcmd_now_ms();
    resp_add_array(rsrv_reply(c), nreply);
    for (int k = 0; k < nkeys; k++) {
        struct stream *s = ks[k].s;
        struct stream_group *g = ks[k].g;
        if (ks[k].newonly && stream_id_cmp(s->last, g->last) <= 0) continue;
        struct stream_consumer *cons = stream_consumer_get(g, cname, cl, now, NULL);
        if (!cons) {
            /* an error element keeps the reply well-formed */
            resp_add_error(rsrv_reply(c), "OOM out of memory or over the consumer limit");
            continue;
        }
        cons->seen_ms = now;
        resp_add_array(rsrv_reply(c), 2);
        resp_add_bulk(rsrv_reply(c), keys[k], keyl[k]);
        if (ks[k].newonly) {
            struct stream_id after = g->last;
            size_t i = stream_id_incr(&after) < 0 ? s->n : stream_seek(s, after);
            size_t n = s->n - i;
            if (count > 0 && (size_t)count < n) n = (size_t)count;
            resp_add_array(rsrv_reply(c), (long long)n);
            for (size_t j = i; j < i + n; j++) {
                xcmd_reply_entry(c, &s->e[j]);
                g->last = s->e[j].id;
                if (noack) continue;
                struct stream_pel *p = stream_pel_deliver(g, s->e[j].id, cons, now);
                if (p) xcmd_log_claim(c, keys[k], keyl[k], g, p);
            }
            if (noack && n) {
                char last[STREAM_ID_MAX];
                size_t ll = (size_t)stream_id_fmt(g->last, last);
                const char *pv[4] = {"XGROUP", "SETID", keys[k], gname};
                const char *pv2[5] = {pv[0], pv[1], pv[2], pv[3], last};
                size_t pl[5] = {6, 5, keyl[k], gl, ll};
                xcmd_log(c, 0, 5, pv2, pl);
            }
        } else {
            /* History: this consumer's pending entries after the given ID. */
            struct stream_id after = ks[k].from;
            size_t i = stream_id_incr(&after) < 0 ? g->npel : stream_pel_seek(g, after);
            size_t n = 0;
            for (size_t j = i; j < g->npel; j++)
                if (g->pel[j].owner == cons && (count == 0 || n < (size_t)count)) n++;
            resp_add_array(rsrv_reply(c), (long long)n);
            size_t done = 0;
            for (size_t j = i; j < g->npel && done < n; j++) {
                struct stream_pel *p = &g->pel[j];
                if (p->owner != cons) continue;
                long e = stream_find(s, p->id);
                if (e < 0) {
                    resp_add_array(rsrv_reply(c), 2);
                    xcmd_reply_id(c, p->id);
                    resp_add_null_array(rsrv_reply(c));
                } else {
                    xcmd_reply_entry(c, &s->e[e]);
                    p->count++;
                    p->delivery_ms = now;
                    xcmd_log_claim(c, keys[k], keyl[k], g, p);
                }
                done++;
            }
        }
    }
out:
    free(ks);
}
