/* kv_cmds: the commands kv-server understands (PING, SET, GET, DEL, EXISTS, DBSIZE,
 * KEYS, SCAN, INFO, WAIT, CONFIG GET, COMMAND, SELECT, QUIT).  Writes go through the
 * WAL and then wait for the commit level (kv_commit in kv_server.c). */
#include "labs/05-wal-replication/kv_server.h"

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---- commands --------------------------------------------------------------- */

#define ARG_IS(c, i, lit)                                                                          \
    ((c)->p.argl[i] == sizeof(lit) - 1 && !strncasecmp((c)->p.argv[i], lit, sizeof(lit) - 1))

static uint64_t log_write(struct kv_server *s, struct kv_client *c, uint16_t type, const char *k,
                          size_t kl, const char *v, size_t vl)
{
    size_t n = 4 + kl + vl;
    if (n > WAL_MAX_PAYLOAD) {
        resp_add_error(&c->out, "ERR key and value too large for one WAL record");
        return 0;
    }
    char *rec = malloc(n);
    if (!rec) {
        resp_add_error(&c->out, "OOM out of memory");
        return 0;
    }
    uint32_t k32 = (uint32_t)kl;
    memcpy(rec, &k32, 4);
    memcpy(rec + 4, k, kl);
    if (vl) memcpy(rec + 4 + kl, v, vl);
    uint64_t lsn = wal_append(s->wal, type, rec, n);
    if (lsn)
        kv_apply_record(s, type, rec, n);
    else
        resp_add_errorf(&c->out, "ERR WAL append failed: %s", strerror(errno));
    free(rec);
    return lsn;
}

struct kv_keys {
    struct kv_client *c;
    const char *pat;
    size_t n;
    struct resp_out *o;
};

static void add_key_if_match(void *arg, const char *k, size_t kl)
{
    struct kv_keys *kk = arg;
    char key[512];
    if (kk->pat && strcmp(kk->pat, "*") != 0) {
        if (kl >= sizeof(key)) return;
        memcpy(key, k, kl);
        key[kl] = 0;
        if (fnmatch(kk->pat, key, 0) != 0) return;
    }
    resp_add_bulk(kk->o, k, kl);
    kk->n++;
}

/* KEYS and SCAN gather keys into a side buffer first: the array header needs the count. */
static void cmd_keys_scan(struct kv_server *s, struct kv_client *c, int scan)
{
    char pat[512] = "*";
    uint64_t cursor = 0;
    size_t count = 10;
    int i = 1;
    if (scan) {
        char *end;
        char num[32];
        snprintf(num, sizeof(num), "%.*s", (int)c->p.argl[1], c->p.argv[1]);
        cursor = strtoull(num, &end, 10);
        if (*end) {
            resp_add_error(&c->out, "ERR invalid cursor");
            return;
        }
        for (i = 2; i + 1 < c->p.argc; i += 2) {
            if (ARG_IS(c, i, "MATCH") && c->p.argl[i + 1] < sizeof(pat)) {
                snprintf(pat, sizeof(pat), "%.*s", (int)c->p.argl[i + 1], c->p.argv[i + 1]);
            } else if (ARG_IS(c, i, "COUNT")) {
                snprintf(num, sizeof(num), "%.*s", (int)c->p.argl[i + 1], c->p.argv[i + 1]);
                count = strtoul(num, NULL, 10);
                count = count ? count : 10;
            } else {
                resp_add_error(&c->out, "ERR syntax error");
                return;
            }
        }
        if (i != c->p.argc) {
            resp_add_error(&c->out, "ERR syntax error");
            return;
        }
    } else if (c->p.argl[1] < sizeof(pat)) {
        snprintf(pat, sizeof(pat), "%.*s", (int)c->p.argl[1], c->p.argv[1]);
    }
    struct resp_out side;
    resp_out_init(&side, KV_OUT_MAX / 2);
    struct kv_keys kk = {c, pat, 0, &side};
    uint64_t next = kvs_scan(s->kv, cursor, scan ? count : SIZE_MAX, add_key_if_match, &kk);
    if (side.overflow) {
        resp_add_error(&c->out, "ERR too many keys for one reply: use SCAN");
    } else {
        if (scan) {
            char cur[32];
            resp_add_array(&c->out, 2);
            snprintf(cur, sizeof(cur), "%" PRIu64, next);
            resp_add_cstr(&c->out, cur);
        }
        resp_add_array(&c->out, (long long)kk.n);
        resp_add_raw(&c->out, side.data, side.len);
    }
    resp_out_free(&side);
}

static void cmd_info(struct kv_server *s, struct kv_client *c)
{
    struct resp_out o;
    resp_out_init(&o, 1 << 20);
    int all = c->p.argc == 1;
    if (all || ARG_IS(c, 1, "server")) {
        char line[256];
        int n = snprintf(line, sizeof(line),
                         "# Server\r\nredis_version:7.0.0\r\nwirelab_server:kv-server\r\n"
                         "process_id:%d\r\n\r\n",
                         (int)getpid());
        resp_add_raw(&o, line, (size_t)n);
    }
    if (all || ARG_IS(c, 1, "replication")) kv_repl_info(s, &o);
    if (all || ARG_IS(c, 1, "keyspace")) {
        char line[128];
        int n = snprintf(line, sizeof(line), "# Keyspace\r\ndb0:keys=%zu,expires=0\r\n",
                         kvs_count(s->kv));
        resp_add_raw(&o, line, (size_t)n);
    }
    resp_add_bulk(&c->out, o.data, o.len);
    resp_out_free(&o);
}

static void cmd_config(struct kv_server *s, struct kv_client *c)
{
    (void)s;
    if (!ARG_IS(c, 1, "GET")) {
        resp_add_error(&c->out, "ERR CONFIG: only CONFIG GET is supported");
        return;
    }
    if (c->p.argc != 3) {
        resp_add_error(&c->out, "ERR wrong number of arguments for 'config|get' command");
        return;
    }
    /* redis-benchmark asks for these two at start; the WAL is our "appendonly". */
    if (ARG_IS(c, 2, "save")) {
        resp_add_array(&c->out, 2);
        resp_add_cstr(&c->out, "save");
        resp_add_cstr(&c->out, "");
    } else if (ARG_IS(c, 2, "appendonly")) {
        resp_add_array(&c->out, 2);
        resp_add_cstr(&c->out, "appendonly");
        resp_add_cstr(&c->out, "yes");
    } else {
        resp_add_array(&c->out, 0);
    }
}

void kv_exec_command(struct kv_server *s, struct kv_client *c)
{
    struct resp_parser *p = &c->p;
    int argc = p->argc;
    static const struct {
        const char *name;
        int arity;
        int write;
    } cmds[] = {
        {"PING", -1, 0},   {"ECHO", 2, 0},    {"SET", 3, 1},      {"GET", 2, 0},    {"DEL", -2, 1},
        {"EXISTS", -2, 0}, {"DBSIZE", 1, 0},  {"KEYS", 2, 0},     {"SCAN", -2, 0},  {"INFO", -1, 0},
        {"WAIT", 3, 0},    {"CONFIG", -2, 0}, {"COMMAND", -1, 0}, {"SELECT", 2, 0}, {"QUIT", 1, 0},
    };
    size_t ci = 0, ncmds = sizeof(cmds) / sizeof(cmds[0]);
    for (; ci < ncmds; ci++)
        if (p->argl[0] == strlen(cmds[ci].name) &&
            !strncasecmp(p->argv[0], cmds[ci].name, p->argl[0]))
            break;
    if (ci == ncmds) {
        resp_add_errorf(&c->out, "ERR unknown command '%.*s'",
                        (int)(p->argl[0] > 64 ? 64 : p->argl[0]), p->argv[0]);
        return;
    }
    const char *name = cmds[ci].name;
    int ar = cmds[ci].arity;
    if ((ar > 0 && argc != ar) || (ar < 0 && argc < -ar)) {
        resp_add_errorf(&c->out, "ERR wrong number of arguments for '%s' command", name);
        return;
    }
    if (cmds[ci].write && s->is_replica) {
        resp_add_error(&c->out, "READONLY You can't write against a read only replica.");
        return;
    }
    if (!strcmp(name, "PING")) {
        if (argc > 1)
            resp_add_bulk(&c->out, p->argv[1], p->argl[1]);
        else
            resp_add_simple(&c->out, "PONG");
    } else if (!strcmp(name, "ECHO")) {
        resp_add_bulk(&c->out, p->argv[1], p->argl[1]);
    } else if (!strcmp(name, "SET")) {
        uint64_t lsn = log_write(s, c, KV_REC_SET, p->argv[1], p->argl[1], p->argv[2], p->argl[2]);
        if (lsn) kv_commit(s, c, lsn, 0, 0);
    } else if (!strcmp(name, "GET")) {
        size_t vl;
        const char *v = kvs_get(s->kv, p->argv[1], p->argl[1], &vl);
        if (v)
            resp_add_bulk(&c->out, v, vl);
        else
            resp_add_null(&c->out);
    } else if (!strcmp(name, "DEL")) {
        long long n = 0;
        uint64_t lsn = 0;
        for (int i = 1; i < argc; i++) {
            size_t vl;
            if (!kvs_get(s->kv, p->argv[i], p->argl[i], &vl)) continue;
            uint64_t l = log_write(s, c, KV_REC_DEL, p->argv[i], p->argl[i], NULL, 0);
            if (!l) return;
            lsn = l;
            n++;
        }
        if (lsn)
            kv_commit(s, c, lsn, 1, n);
        else
            resp_add_int(&c->out, 0);
    } else if (!strcmp(name, "EXISTS")) {
        long long n = 0;
        size_t vl;
        for (int i = 1; i < argc; i++)
            n += kvs_get(s->kv, p->argv[i], p->argl[i], &vl) != NULL;
        resp_add_int(&c->out, n);
    } else if (!strcmp(name, "DBSIZE")) {
        resp_add_int(&c->out, (long long)kvs_count(s->kv));
    } else if (!strcmp(name, "KEYS") || !strcmp(name, "SCAN")) {
        cmd_keys_scan(s, c, name[0] == 'S');
    } else if (!strcmp(name, "INFO")) {
        cmd_info(s, c);
    } else if (!strcmp(name, "WAIT")) {
        char a[32], b[32], *e1, *e2;
        snprintf(a, sizeof(a), "%.*s", (int)p->argl[1], p->argv[1]);
        snprintf(b, sizeof(b), "%.*s", (int)p->argl[2], p->argv[2]);
        long n = strtol(a, &e1, 10), t = strtol(b, &e2, 10);
        if (*e1 || *e2 || n < 0 || t < 0) {
            resp_add_error(&c->out, "ERR value is not an integer or out of range");
            return;
        }
        kv_defer_reply(s, c, KV_PEND_WAIT, c->last_write_lsn, n, t ? ev_now_ms() + (uint64_t)t : 0);
    } else if (!strcmp(name, "CONFIG")) {
        cmd_config(s, c);
    } else if (!strcmp(name, "COMMAND")) {
        resp_add_array(&c->out, 0);
    } else if (!strcmp(name, "SELECT")) {
        if (ARG_IS(c, 1, "0"))
            resp_add_simple(&c->out, "OK");
        else
            resp_add_error(&c->out, "ERR DB index is out of range");
    } else if (!strcmp(name, "QUIT")) {
        resp_add_simple(&c->out, "OK");
        c->close_after = 1;
    }
}
