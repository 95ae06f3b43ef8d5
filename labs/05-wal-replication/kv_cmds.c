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

/* A record of the map: replayed at start, applied by a replica, applied after each write.
 * lsn is the record's own LSN; a value remembers the LSN just past its record (its
 * commit LSN), which is what a read waits for (kv_commit.c).  SET is a key (4-byte
 * length, bytes) and the value; DEL is one or more keys, each a 4-byte length and the
 * bytes, so a DEL of several keys is one record: all of it is logged, or none. */
int kv_apply_record(void *arg, uint64_t lsn, uint16_t type, const void *p, size_t n)
{
    struct kv_server *s = arg;
    const char *b = p;
    uint64_t end = lsn + wal_rec_size(n);
    uint32_t kl;
    if (end > s->applied_end) s->applied_end = end;
    if (lsn < s->snap_lsn) return 0; /* the checkpoint this start loaded holds it already */
    if (type == KV_REC_DEL) {
        for (size_t at = 0; at < n; at += 4 + kl) {
            if (n - at < 4) return -1;
            memcpy(&kl, b + at, 4);
            if (kl > n - at - 4) return -1;
            free(dict_del(&s->map, b + at + 4, kl));
        }
        return 0;
    }
    if (n < 4) return -1;
    memcpy(&kl, p, 4);
    if (kl > n - 4) return -1;
    if (type != KV_REC_SET) return -1; /* a record type this store never writes */
    return kv_put(s, b + 4, kl, b + 4 + kl, n - 4 - kl, end);
}

/* Sets key k to a copy of v, written by the record ending at lsn; -1 out of memory. */
int kv_put(struct kv_server *s, const char *k, size_t kl, const char *v, size_t vl, uint64_t lsn)
{
    struct kv_value *val = malloc(sizeof(*val) + vl);
    if (!val) return -1;
    val->len = vl;
    val->lsn = lsn;
    if (vl) memcpy(val->v, v, vl);
    struct dict_entry *old = dict_find(&s->map, k, kl);
    if (old) {
        free(old->val);
        old->val = val;
    } else if (dict_put(&s->map, k, kl, val) < 0) {
        free(val);
        return -1;
    }
    return 0;
}

/* Appends the record rec[0..n) and applies it; its commit LSN, or 0 after replying the
 * error (a record refused is neither in the log nor in the map). */
static uint64_t log_write(struct rsrv_client *c, uint16_t type, const char *rec, size_t n)
{
    struct kv_server *s = rsrv_app(c);
    uint64_t lsn = wal_append(s->wal, type, rec, n);
    if (!lsn) {
        resp_add_errorf(rsrv_reply(c), "ERR WAL append failed: %s", strerror(errno));
        return 0;
    }
    if (kv_apply_record(s, lsn - wal_rec_size(n), type, rec, n) < 0) {
        /* logged but not applied (out of memory): never acknowledged either way */
        rsrv_close(c, "out of memory applying a logged write: not acknowledged");
        return 0;
    }
    return lsn;
}

/* A record buffer: a 4-byte length and the bytes of each key (DEL), or of the key
 * followed by the value (SET). */
struct kv_rec {
    char *p;
    size_t len, cap;
};

static int rec_add(struct kv_rec *r, const char *k, size_t kl, int with_len)
{
    size_t need = r->len + kl + (with_len ? 4 : 0);
    if (need > WAL_MAX_PAYLOAD) return -1;
    if (need > r->cap) {
        size_t cap = r->cap ? r->cap : 256;
        while (cap < need)
            cap *= 2;
        char *p = realloc(r->p, cap);
        if (!p) return -1;
        r->p = p;
        r->cap = cap;
    }
    if (with_len) {
        uint32_t k32 = (uint32_t)kl;
        memcpy(r->p + r->len, &k32, 4);
        r->len += 4;
    }
    if (kl) memcpy(r->p + r->len, k, kl);
    r->len += kl;
    return 0;
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
    if (4 + argl[1] + argl[2] > WAL_MAX_PAYLOAD) {
        resp_add_error(rsrv_reply(c), "ERR key and value too large for one WAL record");
        return;
    }
    struct kv_rec r = {0};
    if (rec_add(&r, argv[1], argl[1], 1) < 0 || rec_add(&r, argv[2], argl[2], 0) < 0) {
        resp_add_error(rsrv_reply(c), "OOM out of memory");
        free(r.p);
        return;
    }
    uint64_t lsn = log_write(c, KV_REC_SET, r.p, r.len);
    free(r.p);
    if (lsn) kv_commit(c, lsn, "+OK\r\n", 5);
}

static void cmd_get(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    const struct kv_value *v = dict_get(map(c), argv[1], argl[1]);
    /* a key that is absent may be absent because of a DEL still waiting: depends on all */
    struct resp_out *o = kv_read_out(c, v ? v->lsn : UINT64_MAX);
    if (!o) return;
    if (v)
        resp_add_bulk(o, v->v, v->len);
    else
        resp_add_null(o);
    kv_read_done(c);
}

/* DEL: one record for every key that exists (once each), so it is logged whole or not. */
static void cmd_del(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    struct kv_rec r = {0};
    long long n = 0;
    for (int i = 1; i < argc; i++) {
        int dup = 0;
        for (int j = 1; j < i && !dup; j++)
            dup = argl[j] == argl[i] && !memcmp(argv[j], argv[i], argl[i]);
        if (dup || !dict_find(map(c), argv[i], argl[i])) continue;
        if (rec_add(&r, argv[i], argl[i], 1) < 0) {
            resp_add_error(rsrv_reply(c), "ERR too many keys for one WAL record");
            free(r.p);
            return;
        }
        n++;
    }
    if (!n) { /* nothing to delete: no record, but the answer may rest on a pending write */
        struct resp_out *o = kv_read_out(c, UINT64_MAX);
        if (o) {
            resp_add_int(o, 0);
            kv_read_done(c);
        }
        return;
    }
    uint64_t lsn = log_write(c, KV_REC_DEL, r.p, r.len);
    free(r.p);
    char num[32];
    if (lsn) kv_commit(c, lsn, num, (size_t)snprintf(num, sizeof(num), ":%lld\r\n", n));
}

static void cmd_exists(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    long long n = 0;
    uint64_t dep = 0;
    for (int i = 1; i < argc; i++) {
        const struct kv_value *v = dict_get(map(c), argv[i], argl[i]);
        n += v != NULL;
        dep = v ? (v->lsn > dep ? v->lsn : dep) : UINT64_MAX;
    }
    struct resp_out *o = kv_read_out(c, dep);
    if (!o) return;
    resp_add_int(o, n);
    kv_read_done(c);
}

static void cmd_dbsize(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    struct resp_out *o = kv_read_out(c, UINT64_MAX);
    if (!o) return;
    resp_add_int(o, (long long)map(c)->n);
    kv_read_done(c);
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
    struct resp_out *o;
    if (side.overflow) {
        resp_add_error(rsrv_reply(c), "ERR too many keys for one reply: use SCAN");
    } else if ((o = kv_read_out(c, UINT64_MAX)) != NULL) {
        if (scan) {
            char cur[32];
            resp_add_array(o, 2);
            resp_add_bulk(o, cur, (size_t)snprintf(cur, sizeof(cur), "%" PRIu64, next));
        }
        resp_add_array(o, (long long)kk.n);
        resp_add_raw(o, side.data, side.len);
        kv_read_done(c);
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
    struct resp_out *r =
        kv_read_out(c, all || rsrv_arg_is(argv[1], argl[1], "keyspace") ? UINT64_MAX : 0);
    if (r) {
        resp_add_bulk(r, o.data, o.len);
        kv_read_done(c);
    }
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
