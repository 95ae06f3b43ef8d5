/* kv_cmds: the commands kv-server understands, as a table of handlers on io/rsrv (PING,
 * ECHO, SET, GET, DEL, EXISTS, DBSIZE, KEYS, SCAN, INFO, WAIT, CONFIG GET, COMMAND,
 * SELECT, QUIT), and the map they work on.  A write is a WAL record, applied to the map
 * at once and acknowledged at the commit level (kv_commit.c). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/rsrv/glob.h"
#include "labs/05-wal-replication/kv_server.h"

/* A record of the map: replayed at start, applied by a replica, applied after each write. */
int kv_apply_record(void *arg, uint64_t lsn, uint16_t type, const void *p, size_t n)
{
    struct kv_server *s = arg;
    uint32_t kl;
    if (n < 4) return -1;
    memcpy(&kl, p, 4);
    if (kl > n - 4) return -1;
    const char *k = (const char *)p + 4;
    if (type == KV_REC_DEL) {
        free(dict_del(&s->map, k, kl));
        return 0;
    }
    if (type != KV_REC_SET) return -1; /* a record type this store never writes */
    struct kv_value *v = malloc(sizeof(*v) + n - 4 - kl);
    if (!v) return -1;
    v->len = n - 4 - kl;
    memcpy(v->v, k + kl, v->len);
    struct dict_entry *old = dict_find(&s->map, k, kl);
    if (old) {
        free(old->val);
        old->val = v;
    } else if (dict_put(&s->map, k, kl, v) < 0) {
        free(v);
        return -1;
    }
    return 0;
}

/* Appends the record and applies it; its commit LSN, or 0 after replying the error. */
static uint64_t log_write(struct rsrv_client *c, uint16_t type, const char *k, size_t kl,
                          const char *v, size_t vl)
{
    struct kv_server *s = rsrv_app(c);
    size_t n = 4 + kl + vl;
    if (n > WAL_MAX_PAYLOAD) {
        resp_add_error(rsrv_reply(c), "ERR key and value too large for one WAL record");
        return 0;
    }
    char *rec = malloc(n);
    if (!rec) {
        resp_add_error(rsrv_reply(c), "OOM out of memory");
        return 0;
    }
    uint32_t k32 = (uint32_t)kl;
    memcpy(rec, &k32, 4);
    memcpy(rec + 4, k, kl);
    if (vl) memcpy(rec + 4 + kl, v, vl);
    uint64_t lsn = wal_append(s->wal, type, rec, n);
    if (lsn)
        kv_apply_record(s, lsn, type, rec, n);
    else
        resp_add_errorf(rsrv_reply(c), "ERR WAL append failed: %s", strerror(errno));
    free(rec);
    return lsn;
}

static struct dict *map(struct rsrv_client *c)
{
    return &((struct kv_server *)rsrv_app(c))->map;
}

static void cmd_ping(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    if (argc > 2)
        resp_add_error(rsrv_reply(c), "ERR wrong number of arguments for 'ping' command");
    else if (argc == 2)
        resp_add_bulk(rsrv_reply(c), argv[1], argl[1]);
    else
        resp_add_simple(rsrv_reply(c), "PONG");
}

static void cmd_echo(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    resp_add_bulk(rsrv_reply(c), argv[1], argl[1]);
}

static void cmd_set(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    if (map(c)->n >= KV_MAX_KEYS && !dict_find(map(c), argv[1], argl[1])) {
        resp_add_error(rsrv_reply(c), "OOM the store holds its maximum number of keys");
        return;
    }
    uint64_t lsn = log_write(c, KV_REC_SET, argv[1], argl[1], argv[2], argl[2]);
    if (lsn) kv_commit(c, lsn, "+OK\r\n", 5);
}

static void cmd_get(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    const struct kv_value *v = dict_get(map(c), argv[1], argl[1]);
    if (v)
        resp_add_bulk(rsrv_reply(c), v->v, v->len);
    else
        resp_add_null(rsrv_reply(c));
}

static void cmd_del(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    long long n = 0;
    uint64_t lsn = 0;
    for (int i = 1; i < argc; i++) {
        if (!dict_find(map(c), argv[i], argl[i])) continue;
        uint64_t l = log_write(c, KV_REC_DEL, argv[i], argl[i], NULL, 0);
        if (!l) return;
        lsn = l;
        n++;
    }
    char num[32];
    if (lsn)
        kv_commit(c, lsn, num, (size_t)snprintf(num, sizeof(num), ":%lld\r\n", n));
    else
        resp_add_int(rsrv_reply(c), 0);
}

static void cmd_exists(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    long long n = 0;
    for (int i = 1; i < argc; i++)
        n += dict_find(map(c), argv[i], argl[i]) != NULL;
    resp_add_int(rsrv_reply(c), n);
}

static void cmd_dbsize(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    resp_add_int(rsrv_reply(c), (long long)map(c)->n);
}

struct kv_keys {
    const char *pat;
    size_t patlen, n;
    struct resp_out *o;
};

static void add_key_if_match(void *arg, const struct dict_entry *e)
{
    struct kv_keys *kk = arg;
    if (!glob_match(kk->pat, kk->patlen, e->key, e->klen)) return;
    resp_add_bulk(kk->o, e->key, e->klen);
    kk->n++;
}

/* KEYS pattern | SCAN cursor [MATCH pattern] [COUNT n]: the keys are gathered aside first
 * (the array header needs their count); patterns are Redis's binary-safe glob. */
static void keys_scan(struct rsrv_client *c, int argc, const char **argv, const size_t *argl,
                      int scan)
{
    struct kv_keys kk = {.pat = "*", .patlen = 1};
    long long cursor = 0, count = 10;
    if (!scan) {
        kk.pat = argv[1];
        kk.patlen = argl[1];
    } else if (rsrv_arg_ll(argv[1], argl[1], &cursor) < 0 || cursor < 0) {
        resp_add_error(rsrv_reply(c), "ERR invalid cursor");
        return;
    }
    for (int i = 2; scan && i < argc; i += 2) {
        if (i + 1 < argc && rsrv_arg_is(argv[i], argl[i], "MATCH")) {
            kk.pat = argv[i + 1];
            kk.patlen = argl[i + 1];
        } else if (i + 1 < argc && rsrv_arg_is(argv[i], argl[i], "COUNT")) {
            if (rsrv_arg_ll(argv[i + 1], argl[i + 1], &count) < 0) {
                resp_add_error(rsrv_reply(c), "ERR value is not an integer or out of range");
                return;
            }
            if (count < 1) {
                resp_add_error(rsrv_reply(c), "ERR syntax error");
                return;
            }
        } else {
            resp_add_error(rsrv_reply(c), "ERR syntax error");
            return;
        }
    }
    struct resp_out side;
    resp_out_init(&side, (size_t)32 << 20);
    kk.o = &side;
    uint64_t next =
        dict_scan(map(c), (uint64_t)cursor, scan ? (size_t)count : SIZE_MAX, add_key_if_match, &kk);
    if (side.overflow) {
        resp_add_error(rsrv_reply(c), "ERR too many keys for one reply: use SCAN");
    } else {
        if (scan) {
            char cur[32];
            resp_add_array(rsrv_reply(c), 2);
            resp_add_bulk(rsrv_reply(c), cur, (size_t)snprintf(cur, sizeof(cur), "%" PRIu64, next));
        }
        resp_add_array(rsrv_reply(c), (long long)kk.n);
        resp_add_raw(rsrv_reply(c), side.data, side.len);
    }
    resp_out_free(&side);
}

static void cmd_keys(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    keys_scan(c, argc, argv, argl, 0);
}

static void cmd_scan(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    keys_scan(c, argc, argv, argl, 1);
}

static void info_replication(struct kv_server *s, struct resp_out *o)
{
    resp_add_rawf(o, "# Replication\r\n");
    if (s->is_replica) {
        resp_add_rawf(o, "role:slave\r\n");
        walrcv_info(s->rcv, o);
    } else {
        resp_add_rawf(o, "role:master\r\nsynchronous_commit:%s\r\n", kv_level_names[s->level]);
        if (s->snd)
            walsnd_info(s->snd, o);
        else
            resp_add_rawf(o, "connected_slaves:0\r\n");
    }
    resp_add_rawf(o,
                  "wal_insert_lsn:%" PRIu64 "\r\nwal_write_lsn:%" PRIu64
                  "\r\nwal_flush_lsn:%" PRIu64 "\r\nwal_fdatasyncs:%" PRIu64
                  "\r\nmaster_repl_offset:%" PRIu64 "\r\n\r\n",
                  wal_insert_lsn(s->wal), wal_write_lsn(s->wal), wal_flush_lsn(s->wal),
                  wal_flush_count(s->wal), wal_flush_lsn(s->wal));
}

static void cmd_info(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    struct kv_server *s = rsrv_app(c);
    struct resp_out o;
    resp_out_init(&o, 1 << 20);
    int all = argc == 1;
    if (all || rsrv_arg_is(argv[1], argl[1], "server"))
        resp_add_rawf(&o,
                      "# Server\r\nredis_version:7.0.0\r\nwirelab_server:kv-server\r\n"
                      "process_id:%d\r\n\r\n",
                      (int)getpid());
    if (all || rsrv_arg_is(argv[1], argl[1], "replication")) info_replication(s, &o);
    if (all || rsrv_arg_is(argv[1], argl[1], "keyspace"))
        resp_add_rawf(&o, "# Keyspace\r\ndb0:keys=%zu,expires=0\r\n", s->map.n);
    resp_add_bulk(rsrv_reply(c), o.data, o.len);
    resp_out_free(&o);
}

static void cmd_wait(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    long long n, t;
    if (rsrv_arg_ll(argv[1], argl[1], &n) < 0 || rsrv_arg_ll(argv[2], argl[2], &t) < 0 || n < 0 ||
        t < 0) {
        resp_add_error(rsrv_reply(c), "ERR value is not an integer or out of range");
        return;
    }
    kv_wait(c, n, t);
}

static void cmd_config(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    struct resp_out *o = rsrv_reply(c);
    if (!rsrv_arg_is(argv[1], argl[1], "GET")) {
        resp_add_error(o, "ERR CONFIG: only CONFIG GET is supported");
    } else if (argc != 3) {
        resp_add_error(o, "ERR wrong number of arguments for 'config|get' command");
    } else if (rsrv_arg_is(argv[2], argl[2], "save")) {
        /* redis-benchmark asks for these two at start; the WAL is our "appendonly" */
        resp_add_array(o, 2);
        resp_add_cstr(o, "save");
        resp_add_cstr(o, "");
    } else if (rsrv_arg_is(argv[2], argl[2], "appendonly")) {
        resp_add_array(o, 2);
        resp_add_cstr(o, "appendonly");
        resp_add_cstr(o, "yes");
    } else {
        resp_add_array(o, 0);
    }
}

static void cmd_command(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    resp_add_array(rsrv_reply(c), 0);
}

static void cmd_select(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    if (rsrv_arg_is(argv[1], argl[1], "0"))
        resp_add_simple(rsrv_reply(c), "OK");
    else
        resp_add_error(rsrv_reply(c), "ERR DB index is out of range");
}

static void cmd_quit(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    resp_add_simple(rsrv_reply(c), "OK");
    rsrv_close_after_reply(c);
}

const struct rsrv_cmd kv_commands[] = {
    {"ping", -1, 0, cmd_ping},
    {"echo", 2, 0, cmd_echo},
    {"set", 3, RSRV_CMD_WRITE, cmd_set},
    {"get", 2, 0, cmd_get},
    {"del", -2, RSRV_CMD_WRITE, cmd_del},
    {"exists", -2, 0, cmd_exists},
    {"dbsize", 1, 0, cmd_dbsize},
    {"keys", 2, 0, cmd_keys},
    {"scan", -2, 0, cmd_scan},
    {"info", -1, 0, cmd_info},
    {"wait", 3, 0, cmd_wait},
    {"config", -2, 0, cmd_config},
    {"command", -1, 0, cmd_command},
    {"select", 2, 0, cmd_select},
    {"quit", 1, 0, cmd_quit},
};
const size_t kv_ncommands = sizeof(kv_commands) / sizeof(kv_commands[0]);
