/* cmds: the broker's command table (io/rsrv does the lookup, arity and subscribed-context
 * checks in Redis's order and wording) and the pub/sub and generic commands.  Stream
 * commands live in xcmd.c, xgroup.c and xclaim.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "labs/11-pubsub/blog.h"
#include "labs/11-pubsub/broker.h"
#include "labs/11-pubsub/stream.h"
#include "labs/11-pubsub/xcmd.h"

static struct broker *b(struct rsrv_client *c)
{
    return rsrv_app(c);
}

static struct pubsub_sub *subs(struct rsrv_client *c)
{
    return &((struct bclient *)rsrv_data(c))->sub;
}

static void reply_sub(struct rsrv_client *c, const char *kind, size_t kl, const char *name,
                      size_t nl, int null)
{
    struct resp_out *o = rsrv_reply(c);
    resp_add_array(o, 3);
    resp_add_bulk(o, kind, kl);
    if (null)
        resp_add_null(o);
    else
        resp_add_bulk(o, name, nl);
    resp_add_int(o, (long long)pubsub_count(subs(c)));
    rsrv_set_pubsub(c, pubsub_count(subs(c)) > 0); /* Redis's subscribed context */
}

static void cmd_subscribe(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    for (int i = 1; i < argc; i++) {
        if (pubsub_subscribe(&b(c)->ps, subs(c), argv[i], argl[i]) < 0) {
            resp_add_error(rsrv_reply(c), "ERR too many subscriptions for this client");
            return;
        }
        reply_sub(c, "subscribe", 9, argv[i], argl[i], 0);
    }
}

static void cmd_psubscribe(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    for (int i = 1; i < argc; i++) {
        if (pubsub_psubscribe(&b(c)->ps, subs(c), argv[i], argl[i]) < 0) {
            resp_add_error(rsrv_reply(c), "ERR too many subscriptions for this client");
            return;
        }
        reply_sub(c, "psubscribe", 10, argv[i], argl[i], 0);
    }
}

static void unsubscribe_all(struct rsrv_client *c, int reply)
{
    struct dict_iter it;
    int any = 0;
    for (struct dict_entry *e = dict_first(&subs(c)->chans, &it); e;
         e = dict_next(&subs(c)->chans, &it)) {
        char *name = malloc(e->klen + 1);
        size_t n = e->klen;
        if (!name) break;
        memcpy(name, e->key, n);
        pubsub_unsubscribe(&b(c)->ps, subs(c), name, n);
        if (reply) reply_sub(c, "unsubscribe", 11, name, n, 0);
        free(name);
        any = 1;
    }
    if (reply && !any) reply_sub(c, "unsubscribe", 11, NULL, 0, 1);
}

static void punsubscribe_all(struct rsrv_client *c, int reply)
{
    int any = 0;
    while (subs(c)->npats > 0) {
        struct pubsub_str p = subs(c)->pats[0];
        char *name = malloc(p.n + 1);
        if (!name) break;
        memcpy(name, p.p, p.n);
        pubsub_punsubscribe(&b(c)->ps, subs(c), name, p.n);
        if (reply) reply_sub(c, "punsubscribe", 12, name, p.n, 0);
        free(name);
        any = 1;
    }
    if (reply && !any) reply_sub(c, "punsubscribe", 12, NULL, 0, 1);
}

static void cmd_unsubscribe(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    if (argc == 1) {
        unsubscribe_all(c, 1);
        return;
    }
    for (int i = 1; i < argc; i++) {
        pubsub_unsubscribe(&b(c)->ps, subs(c), argv[i], argl[i]);
        reply_sub(c, "unsubscribe", 11, argv[i], argl[i], 0);
    }
}

static void cmd_punsubscribe(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    if (argc == 1) {
        punsubscribe_all(c, 1);
        return;
    }
    for (int i = 1; i < argc; i++) {
        pubsub_punsubscribe(&b(c)->ps, subs(c), argv[i], argl[i]);
        reply_sub(c, "punsubscribe", 12, argv[i], argl[i], 0);
    }
}

/* One PUBLISH: the message is encoded once; each receiver gets a copy of the bytes. */
struct pub {
    const char *msg; /* "*3\r\n$7\r\nmessage\r\n" + tail */
    size_t msglen;
    size_t tail; /* offset of "$chlen\r\nch\r\n$n\r\npayload\r\n" in msg */
};

static void deliver(void *arg, struct pubsub_sub *s, const char *pat, size_t patlen)
{
    struct pub *p = arg;
    struct rsrv_client *c = ((struct bclient *)((char *)s - offsetof(struct bclient, sub)))->c;
    struct resp_out *o =
        rsrv_reply(c); /* (a client closing in this loop iteration: wasted, harmless) */
    if (!pat) {
        resp_add_raw(o, p->msg, p->msglen);
    } else {
        resp_add_raw(o, "*4\r\n$8\r\npmessage\r\n", 18);
        resp_add_bulk(o, pat, patlen);
        resp_add_raw(o, p->msg + p->tail, p->msglen - p->tail);
    }
    /* Redis's rule: a subscriber that cannot keep up is cut (rsrv checks the pub/sub
     * limit here), the publisher is not slowed. */
    rsrv_wrote(c);
}

static void cmd_publish(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    struct resp_out m;
    resp_out_init(&m, BROKER_OUT_LIMIT);
    resp_add_raw(&m, "*3\r\n$7\r\nmessage\r\n", 17);
    resp_add_bulk(&m, argv[1], argl[1]);
    resp_add_bulk(&m, argv[2], argl[2]);
    struct pub p = {.msg = m.data, .msglen = m.len, .tail = 17};
    long n = m.overflow ? 0 : pubsub_publish(&b(c)->ps, argv[1], argl[1], deliver, &p);
    resp_out_free(&m);
    resp_add_int(rsrv_reply(c), n);
}

static void cmd_ping(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    struct resp_out *o = rsrv_reply(c);
    if (argc > 2) {
        resp_add_error(o, "ERR wrong number of arguments for 'ping' command");
    } else if (pubsub_count(subs(c)) > 0) {
        resp_add_array(o, 2);
        resp_add_bulk(o, "pong", 4);
        resp_add_bulk(o, argc > 1 ? argv[1] : "", argc > 1 ? argl[1] : 0);
    } else if (argc > 1) {
        resp_add_bulk(o, argv[1], argl[1]);
    } else {
        resp_add_simple(o, "PONG");
    }
}

static void cmd_echo(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    resp_add_bulk(rsrv_reply(c), argv[1], argl[1]);
}

static void cmd_quit(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    resp_add_simple(rsrv_reply(c), "OK");
    rsrv_close_after_reply(c);
}

static void cmd_reset(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    unsubscribe_all(c, 0);
    punsubscribe_all(c, 0);
    rsrv_set_pubsub(c, 0);
    resp_add_simple(rsrv_reply(c), "RESET");
}

/* SELECT: one keyspace, so only database 0 (Redis has 16: SELECT 1 differs on purpose). */
static void cmd_select(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    long long db;
    if (rsrv_arg_ll(argv[1], argl[1], &db) < 0)
        resp_add_error(rsrv_reply(c), "ERR value is not an integer or out of range");
    else if (db != 0)
        resp_add_error(rsrv_reply(c), "ERR DB index is out of range");
    else
        resp_add_simple(rsrv_reply(c), "OK");
}

/* CLIENT ID | SETNAME name | GETNAME: what client libraries send; the rest, Redis's
 * unknown-subcommand error. */
static void cmd_client(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    struct bclient *bc = rsrv_data(c);
    struct resp_out *o = rsrv_reply(c);
    static const struct {
        const char *name;
        int arity;
    } sub[] = {{"id", 2}, {"setname", 3}, {"getname", 2}};
    size_t k = 0;
    while (k < 3 && !rsrv_arg_is(argv[1], argl[1], sub[k].name))
        k++;
    if (k == 3) {
        resp_add_errorf(o, "ERR unknown subcommand '%.*s'. Try CLIENT HELP.",
                        (int)(argl[1] < 128 ? argl[1] : 128), argv[1]);
    } else if (argc != sub[k].arity) {
        resp_add_errorf(o, "ERR wrong number of arguments for 'client|%s' command", sub[k].name);
    } else if (k == 0) {
        resp_add_int(o, (long long)rsrv_id(c));
    } else if (k == 2) {
        if (bc->namelen)
            resp_add_bulk(o, bc->name, bc->namelen);
        else
            resp_add_null(o);
    } else {
        for (size_t i = 0; i < argl[2]; i++)
            if (argv[2][i] < '!' || argv[2][i] > '~') {
                resp_add_error(o, "ERR Client names cannot contain spaces, newlines or special "
                                  "characters.");
                return;
            }
        char *name = malloc(argl[2] + 1);
        if (!name) {
            resp_add_error(o, "OOM out of memory");
            return;
        }
        memcpy(name, argv[2], argl[2]);
        free(bc->name);
        bc->name = name;
        bc->namelen = argl[2];
        resp_add_simple(o, "OK");
    }
}

static void cmd_command(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    resp_add_array(rsrv_reply(c), 0); /* redis-cli asks COMMAND DOCS for hints: none here */
}

/* CONFIG GET: what redis-benchmark asks at start (save, appendonly); the other
 * subcommands are refused, in Redis's words where Redis has them. */
static void cmd_config(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    struct resp_out *o = rsrv_reply(c);
    if (rsrv_arg_is(argv[1], argl[1], "GET")) {
        if (argc != 3) {
            resp_add_error(o, "ERR wrong number of arguments for 'config|get' command");
            return;
        }
        const char *val = NULL;
        if (rsrv_arg_is(argv[2], argl[2], "save"))
            val = "";
        else if (rsrv_arg_is(argv[2], argl[2], "appendonly"))
            val = b(c)->log ? "yes" : "no";
        if (!val) {
            resp_add_array(o, 0);
            return;
        }
        resp_add_array(o, 2);
        resp_add_bulk(o, argv[2], argl[2]);
        resp_add_bulk(o, val, strlen(val));
    } else if (rsrv_arg_is(argv[1], argl[1], "SET") || rsrv_arg_is(argv[1], argl[1], "RESETSTAT") ||
               rsrv_arg_is(argv[1], argl[1], "REWRITE")) {
        resp_add_error(o, "ERR CONFIG: only CONFIG GET is supported by this broker");
    } else {
        resp_add_errorf(o, "ERR unknown subcommand '%.*s'. Try CONFIG HELP.",
                        (int)(argl[1] < 128 ? argl[1] : 128), argv[1]);
    }
}

/* INFO [section ...]: server, clients, keyspace (default, all, everything: the three). */
static void cmd_info(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    static const char *const names[] = {"server", "clients", "keyspace"};
    int want[3] = {argc == 1, argc == 1, argc == 1};
    for (int i = 1; i < argc; i++)
        for (int k = 0; k < 3; k++)
            want[k] |= rsrv_arg_is(argv[i], argl[i], names[k]) ||
                       rsrv_arg_is(argv[i], argl[i], "default") ||
                       rsrv_arg_is(argv[i], argl[i], "all") ||
                       rsrv_arg_is(argv[i], argl[i], "everything");
    struct broker *bk = b(c);
    struct rsrv_stats st;
    rsrv_stats(bk->srv, &st);
    struct resp_out t;
    resp_out_init(&t, 0);
    if (want[0]) resp_add_rawf(&t, "# Server\r\nredis_version:7.0.15\r\nwirelab_broker:1\r\n");
    if (want[1])
        resp_add_rawf(&t,
                      "%s# Clients\r\nconnected_clients:%zu\r\npubsub_channels:%zu\r\n"
                      "pubsub_patterns:%zu\r\nclients_closed_for_output_limits:%llu\r\n",
                      t.len ? "\r\n" : "", st.clients, bk->ps.chans.n, bk->ps.npats,
                      (unsigned long long)(st.closed_out_limit + st.closed_pubsub_limit +
                                           st.closed_total_limit));
    if (want[2])
        resp_add_rawf(&t, "%s# Keyspace\r\nstreams:%zu\r\nstream_bytes:%zu\r\n",
                      t.len ? "\r\n" : "", bk->keys.n, bk->stream_bytes);
    resp_add_bulk(rsrv_reply(c), t.data, t.len);
    resp_out_free(&t);
}

static void drop_key(struct broker *bk, const char *k, size_t n)
{
    struct stream *s = dict_del(&bk->keys, k, n);
    if (s) {
        bk->stream_bytes -= s->bytes;
        stream_free(s);
    }
}

static void cmd_del(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    long long n = 0;
    int any = 0;
    for (int i = 1; i < argc && !any; i++)
        any = dict_find(&b(c)->keys, argv[i], argl[i]) != NULL;
    if (any && xcmd_log_room(c, 1, blog_cmd_bytes(argc, argl)) < 0) return;
    for (int i = 1; i < argc; i++) {
        if (dict_find(&b(c)->keys, argv[i], argl[i])) {
            drop_key(b(c), argv[i], argl[i]);
            n++;
        }
    }
    resp_add_int(rsrv_reply(c), n);
    if (n) xcmd_log(c, 1, argc, argv, argl);
}

static void cmd_exists(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    long long n = 0;
    for (int i = 1; i < argc; i++)
        n += dict_find(&b(c)->keys, argv[i], argl[i]) != NULL;
    resp_add_int(rsrv_reply(c), n);
}

static void cmd_type(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    resp_add_simple(rsrv_reply(c), dict_find(&b(c)->keys, argv[1], argl[1]) ? "stream" : "none");
}

static void cmd_dbsize(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    resp_add_int(rsrv_reply(c), (long long)b(c)->keys.n);
}

/* FLUSHALL / FLUSHDB [ASYNC|SYNC] */
static void cmd_flushall(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    if (argc > 2 || (argc == 2 && !rsrv_arg_is(argv[1], argl[1], "ASYNC") &&
                     !rsrv_arg_is(argv[1], argl[1], "SYNC"))) {
        resp_add_error(rsrv_reply(c), "ERR syntax error");
        return;
    }
    if (xcmd_log_room(c, 1, 64) < 0) return;
    dict_free(&b(c)->keys, xcmd_free_stream);
    b(c)->stream_bytes = 0;
    resp_add_simple(rsrv_reply(c), "OK");
    const char *fa = "FLUSHALL";
    size_t fl = 8;
    xcmd_log(c, 1, 1, &fa, &fl);
}

#define W RSRV_CMD_WRITE
#define S RSRV_CMD_SUBOK
const struct rsrv_cmd broker_commands[] = {
    {"publish", 3, 0, cmd_publish},
    {"xadd", -5, W, xcmd_xadd},
    {"xreadgroup", -7, W, xcmd_xreadgroup},
    {"xack", -4, W, xcmd_xack},
    {"ping", -1, S, cmd_ping},
    {"subscribe", -2, S, cmd_subscribe},
    {"unsubscribe", -1, S, cmd_unsubscribe},
    {"psubscribe", -2, S, cmd_psubscribe},
    {"punsubscribe", -1, S, cmd_punsubscribe},
    {"quit", -1, S, cmd_quit},
    {"reset", 1, S, cmd_reset},
    {"echo", 2, 0, cmd_echo},
    {"xlen", 2, 0, xcmd_xlen},
    {"xrange", -4, 0, xcmd_xrange},
    {"xrevrange", -4, 0, xcmd_xrevrange},
    {"xgroup", -2, W, xcmd_xgroup},
    {"xpending", -3, 0, xcmd_xpending},
    {"xclaim", -6, W, xcmd_xclaim},
    {"xautoclaim", -6, W, xcmd_xautoclaim},
    {"del", -2, W, cmd_del},
    {"exists", -2, 0, cmd_exists},
    {"type", 2, 0, cmd_type},
    {"dbsize", 1, 0, cmd_dbsize},
    {"flushall", -1, W, cmd_flushall},
    {"flushdb", -1, W, cmd_flushall},
    {"select", 2, 0, cmd_select},
    {"client", -2, 0, cmd_client},
    {"config", -2, 0, cmd_config},
    {"command", -1, 0, cmd_command},
    {"info", -1, 0, cmd_info},
};
#undef W
#undef S
const size_t broker_ncommands = sizeof(broker_commands) / sizeof(broker_commands[0]);
