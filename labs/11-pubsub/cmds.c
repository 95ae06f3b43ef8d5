/* cmds: the broker's command table, dispatch (lookup, arity, subscribed-context checks
 * in Redis's order and wording) and the pub/sub and generic commands.  Stream commands
 * live in xcmd.c, xgroup.c and xclaim.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "labs/11-pubsub/blog.h"
#include "labs/11-pubsub/broker.h"
#include "labs/11-pubsub/stream.h"
#include "labs/11-pubsub/xcmd.h"

enum { F_SUBOK = 1, F_WRITE = 2 }; /* allowed while subscribed; changes logged state */

struct cmd {
    const char *name;
    cmd_fn fn;
    int arity; /* Redis convention: n exact, -n at least n */
    unsigned flags;
};

static void reply_sub(struct client *c, const char *kind, size_t kl, const char *name, size_t nl,
                      int null)
{
    resp_add_array(RB(c), 3);
    resp_add_bulk(RB(c), kind, kl);
    if (null)
        resp_add_null(RB(c));
    else
        resp_add_bulk(RB(c), name, nl);
    resp_add_int(RB(c), (long long)pubsub_count(&c->sub));
}

static void cmd_subscribe(struct client *c, int argc, const char **argv, const size_t *argl)
{
    for (int i = 1; i < argc; i++) {
        if (pubsub_subscribe(&c->b->ps, &c->sub, argv[i], argl[i]) < 0) {
            resp_add_error(RB(c), "ERR too many subscriptions for this client");
            return;
        }
        reply_sub(c, "subscribe", 9, argv[i], argl[i], 0);
    }
}

static void cmd_psubscribe(struct client *c, int argc, const char **argv, const size_t *argl)
{
    for (int i = 1; i < argc; i++) {
        if (pubsub_psubscribe(&c->b->ps, &c->sub, argv[i], argl[i]) < 0) {
            resp_add_error(RB(c), "ERR too many subscriptions for this client");
            return;
        }
        reply_sub(c, "psubscribe", 10, argv[i], argl[i], 0);
    }
}

static void unsubscribe_all(struct client *c, int reply)
{
    struct broker *b = c->b;
    struct dict_iter it;
    int any = 0;
    for (struct dict_entry *e = dict_first(&c->sub.chans, &it); e;
         e = dict_next(&c->sub.chans, &it)) {
        char *name = malloc(e->klen + 1);
        size_t n = e->klen;
        if (!name) break;
        memcpy(name, e->key, n);
        pubsub_unsubscribe(&b->ps, &c->sub, name, n);
        if (reply) reply_sub(c, "unsubscribe", 11, name, n, 0);
        free(name);
        any = 1;
    }
    if (reply && !any) reply_sub(c, "unsubscribe", 11, NULL, 0, 1);
}

static void punsubscribe_all(struct client *c, int reply)
{
    int any = 0;
    while (c->sub.npats > 0) {
        struct pubsub_str p = c->sub.pats[0];
        char *name = malloc(p.n + 1);
        if (!name) break;
        memcpy(name, p.p, p.n);
        pubsub_punsubscribe(&c->b->ps, &c->sub, name, p.n);
        if (reply) reply_sub(c, "punsubscribe", 12, name, p.n, 0);
        free(name);
        any = 1;
    }
    if (reply && !any) reply_sub(c, "punsubscribe", 12, NULL, 0, 1);
}

static void cmd_unsubscribe(struct client *c, int argc, const char **argv, const size_t *argl)
{
    if (argc == 1) {
        unsubscribe_all(c, 1);
        return;
    }
    for (int i = 1; i < argc; i++) {
        pubsub_unsubscribe(&c->b->ps, &c->sub, argv[i], argl[i]);
        reply_sub(c, "unsubscribe", 11, argv[i], argl[i], 0);
    }
}

static void cmd_punsubscribe(struct client *c, int argc, const char **argv, const size_t *argl)
{
    if (argc == 1) {
        punsubscribe_all(c, 1);
        return;
    }
    for (int i = 1; i < argc; i++) {
        pubsub_punsubscribe(&c->b->ps, &c->sub, argv[i], argl[i]);
        reply_sub(c, "punsubscribe", 12, argv[i], argl[i], 0);
    }
}

/* One PUBLISH: the message is encoded once; each receiver gets a copy of the bytes. */
struct pub {
    const char *msg; /* "*3\r\n$7\r\nmessage\r\n" + tail */
    size_t msglen;
    size_t tail; /* offset of "$chlen\r\nch\r\n$n\r\npayload\r\n" in msg */
    uint64_t now;
};

static void deliver(void *arg, struct pubsub_sub *s, const char *pat, size_t patlen)
{
    struct pub *p = arg;
    struct client *c = (struct client *)((char *)s - offsetof(struct client, sub));
    if (c->flags & CF_CLOSE) return;
    if (!pat) {
        resp_add_raw(RB(c), p->msg, p->msglen);
    } else {
        resp_add_raw(RB(c), "*4\r\n$8\r\npmessage\r\n", 18);
        resp_add_bulk(RB(c), pat, patlen);
        resp_add_raw(RB(c), p->msg + p->tail, p->msglen - p->tail);
    }
    broker_touch(c);
    /* Redis's rule: a subscriber that cannot keep up is cut, the publisher is not slowed. */
    if (c->out.overflow ||
        oblimit_over(&c->b->pslimit, c->out.len - c->sent, &c->soft_since, p->now))
        broker_close_async(c, "pubsub output buffer limit reached");
}

static void cmd_publish(struct client *c, int argc, const char **argv, const size_t *argl)
{
    struct resp_out m;
    resp_out_init(&m, BROKER_OUT_LIMIT);
    resp_add_raw(&m, "*3\r\n$7\r\nmessage\r\n", 17);
    resp_add_bulk(&m, argv[1], argl[1]);
    resp_add_bulk(&m, argv[2], argl[2]);
    struct pub p = {.msg = m.data, .msglen = m.len, .tail = 17, .now = ev_now_ms()};
    long n = m.overflow ? 0 : pubsub_publish(&c->b->ps, argv[1], argl[1], deliver, &p);
    resp_out_free(&m);
    resp_add_int(RB(c), n);
}

static void cmd_ping(struct client *c, int argc, const char **argv, const size_t *argl)
{
    if (argc > 2) {
        resp_add_error(RB(c), "ERR wrong number of arguments for 'ping' command");
    } else if (pubsub_count(&c->sub) > 0) {
        resp_add_array(RB(c), 2);
        resp_add_bulk(RB(c), "pong", 4);
        resp_add_bulk(RB(c), argc > 1 ? argv[1] : "", argc > 1 ? argl[1] : 0);
    } else if (argc > 1) {
        resp_add_bulk(RB(c), argv[1], argl[1]);
    } else {
        resp_add_simple(RB(c), "PONG");
    }
}

static void cmd_echo(struct client *c, int argc, const char **argv, const size_t *argl)
{
    resp_add_bulk(RB(c), argv[1], argl[1]);
}

static void cmd_quit(struct client *c, int argc, const char **argv, const size_t *argl)
{
    resp_add_simple(RB(c), "OK");
    c->flags |= CF_QUIT;
}

static void cmd_reset(struct client *c, int argc, const char **argv, const size_t *argl)
{
    unsubscribe_all(c, 0);
    punsubscribe_all(c, 0);
    resp_add_simple(RB(c), "RESET");
}

static void cmd_ok(struct client *c, int argc, const char **argv, const size_t *argl)
{
    resp_add_simple(RB(c), "OK"); /* SELECT 0, CLIENT SETNAME: accepted, no effect */
}

static void cmd_command(struct client *c, int argc, const char **argv, const size_t *argl)
{
    resp_add_array(RB(c), 0); /* redis-cli asks COMMAND DOCS for hints: none here */
}

/* CONFIG GET: what redis-benchmark asks at start (save, appendonly). */
static void cmd_config(struct client *c, int argc, const char **argv, const size_t *argl)
{
    if (argc == 3 && xcmd_is(argv[1], argl[1], "GET")) {
        const char *val = NULL;
        if (xcmd_is(argv[2], argl[2], "save"))
            val = "";
        else if (xcmd_is(argv[2], argl[2], "appendonly"))
            val = c->b->log ? "yes" : "no";
        if (!val) {
            resp_add_array(RB(c), 0);
            return;
        }
        resp_add_array(RB(c), 2);
        resp_add_bulk(RB(c), argv[2], argl[2]);
        resp_add_bulk(RB(c), val, strlen(val));
        return;
    }
    resp_add_error(RB(c), "ERR CONFIG: only CONFIG GET is supported by this broker");
}

static void cmd_info(struct client *c, int argc, const char **argv, const size_t *argl)
{
    char buf[512];
    struct broker *b = c->b;
    int n = snprintf(buf, sizeof(buf),
                     "# Server\r\nredis_version:7.0.15\r\nwirelab_broker:1\r\n\r\n# Clients\r\n"
                     "connected_clients:%zu\r\npubsub_channels:%zu\r\npubsub_patterns:%zu\r\n\r\n"
                     "# Keyspace\r\nstreams:%zu\r\nstream_bytes:%zu\r\n",
                     b->nclients, b->ps.chans.n, b->ps.npats, b->keys.n, b->stream_bytes);
    resp_add_bulk(RB(c), buf, (size_t)n);
}

static void drop_key(struct broker *b, const char *k, size_t n)
{
    struct stream *s = dict_del(&b->keys, k, n);
    if (s) {
        b->stream_bytes -= s->bytes;
        stream_free(s);
    }
}

static void cmd_del(struct client *c, int argc, const char **argv, const size_t *argl)
{
    long long n = 0;
    for (int i = 1; i < argc; i++) {
        if (dict_find(&c->b->keys, argv[i], argl[i])) {
            drop_key(c->b, argv[i], argl[i]);
            n++;
        }
    }
    resp_add_int(RB(c), n);
    if (n) broker_propagate(c->b, argc, argv, argl);
}

static void cmd_exists(struct client *c, int argc, const char **argv, const size_t *argl)
{
    long long n = 0;
    for (int i = 1; i < argc; i++)
        n += dict_find(&c->b->keys, argv[i], argl[i]) != NULL;
    resp_add_int(RB(c), n);
}

static void cmd_type(struct client *c, int argc, const char **argv, const size_t *argl)
{
    resp_add_simple(RB(c), dict_find(&c->b->keys, argv[1], argl[1]) ? "stream" : "none");
}

static void cmd_dbsize(struct client *c, int argc, const char **argv, const size_t *argl)
{
    resp_add_int(RB(c), (long long)c->b->keys.n);
}

static void cmd_flushall(struct client *c, int argc, const char **argv, const size_t *argl)
{
    dict_free(&c->b->keys, xcmd_free_stream);
    c->b->stream_bytes = 0;
    resp_add_simple(RB(c), "OK");
    const char *fa = "FLUSHALL";
    size_t fl = 8;
    broker_propagate(c->b, 1, &fa, &fl);
}

static const struct cmd cmd_table[] = {
    {"publish", cmd_publish, 3, 0},
    {"xadd", xcmd_xadd, -5, F_WRITE},
    {"xreadgroup", xcmd_xreadgroup, -7, F_WRITE},
    {"xack", xcmd_xack, -4, F_WRITE},
    {"ping", cmd_ping, -1, F_SUBOK},
    {"subscribe", cmd_subscribe, -2, F_SUBOK},
    {"unsubscribe", cmd_unsubscribe, -1, F_SUBOK},
    {"psubscribe", cmd_psubscribe, -2, F_SUBOK},
    {"punsubscribe", cmd_punsubscribe, -1, F_SUBOK},
    {"quit", cmd_quit, -1, F_SUBOK},
    {"reset", cmd_reset, 1, F_SUBOK},
    {"echo", cmd_echo, 2, 0},
    {"xlen", xcmd_xlen, 2, 0},
    {"xrange", xcmd_xrange, -4, 0},
    {"xrevrange", xcmd_xrevrange, -4, 0},
    {"xgroup", xcmd_xgroup, -2, F_WRITE},
    {"xpending", xcmd_xpending, -3, 0},
    {"xclaim", xcmd_xclaim, -6, F_WRITE},
    {"xautoclaim", xcmd_xautoclaim, -6, F_WRITE},
    {"del", cmd_del, -2, F_WRITE},
    {"exists", cmd_exists, -2, 0},
    {"type", cmd_type, 2, 0},
    {"dbsize", cmd_dbsize, 1, 0},
    {"flushall", cmd_flushall, -1, F_WRITE},
    {"flushdb", cmd_flushall, -1, F_WRITE},
    {"select", cmd_ok, 2, 0},
    {"client", cmd_ok, -2, 0},
    {"config", cmd_config, -2, 0},
    {"command", cmd_command, -1, 0},
    {"info", cmd_info, -1, 0},
};

static const struct cmd *cmd_lookup(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof(cmd_table) / sizeof(cmd_table[0]); i++)
        if (xcmd_is(name, n, cmd_table[i].name)) return &cmd_table[i];
    return NULL;
}

/* Redis's text, with CR/LF in the client's bytes turned into spaces. */
static void unknown_command(struct client *c, int argc, const char **argv, const size_t *argl)
{
    char msg[512], args[300];
    size_t al = 0;
    args[0] = 0;
    for (int i = 1; i < argc && al < 128; i++) {
        int w = snprintf(args + al, sizeof(args) - al, "'%.*s' ",
                         (int)(argl[i] < 128 - al ? argl[i] : 128 - al), argv[i]);
        if (w > 0) al += (size_t)w;
    }
    snprintf(msg, sizeof(msg), "ERR unknown command '%.*s', with args beginning with: %s",
             (int)(argl[0] < 128 ? argl[0] : 128), argv[0], args);
    for (char *p = msg; *p; p++)
        if (*p == '\r' || *p == '\n') *p = ' ';
    resp_add_error(RB(c), msg);
}

void cmd_dispatch(struct client *c, int argc, const char **argv, const size_t *argl)
{
    const struct cmd *cmd = cmd_lookup(argv[0], argl[0]);
    if (!cmd) {
        unknown_command(c, argc, argv, argl);
    } else if ((cmd->arity > 0 && argc != cmd->arity) || (cmd->arity < 0 && argc < -cmd->arity)) {
        resp_add_errorf(RB(c), "ERR wrong number of arguments for '%s' command", cmd->name);
    } else if (!(cmd->flags & F_SUBOK) && pubsub_count(&c->sub) > 0) {
        resp_add_errorf(RB(c),
                        "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
                        "QUIT / RESET are allowed in this context",
                        cmd->name);
    } else if ((cmd->flags & F_WRITE) && c->b->log && blog_failed(c->b->log)) {
        resp_add_error(RB(c), "MISCONF the broker's log failed: writes are refused");
    } else {
        c->b->cur = c; /* what the command logs, its reply waits for */
        cmd->fn(c, argc, argv, argl);
        c->b->cur = NULL;
    }
    broker_touch(c);
}
