/* bsnap: the broker's checkpoints on replication/ckpt: the streams and groups at an LSN,
 * written as the commands that rebuild them (Redis's AOF rewrite), so the WAL before it
 * can be compacted.  The body is RESP commands, replayed at start through the same
 * command table as the log:
 *   XADD key id field value ...            every entry, with its ID
 *   XGROUP CREATE key group last MKSTREAM   every group, at its last delivered ID
 *   XGROUP CREATECONSUMER key group name    every consumer (its idle time restarts)
 *   XCLAIM key group owner 0 id TIME t RETRYCOUNT n FORCE JUSTID
 *                                           every pending entry, as a delivery is logged
 * A stream with neither entries nor groups (XGROUP CREATE MKSTREAM, then DESTROY) is a
 * group made and destroyed.  Contract in broker.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labs/11-pubsub/blog.h"
#include "labs/11-pubsub/broker.h"
#include "labs/11-pubsub/stream.h"
#include "replication/ckpt.h"

#define BSNAP_TEMP_GROUP "wirelab-checkpoint-empty-stream"

/* ---- writing, in the forked child: no allocation ------------------------------------ */

static int put_head(struct ckpt_out *o, char t, size_t n)
{
    char h[32];
    int k = snprintf(h, sizeof(h), "%c%zu\r\n", t, n);
    return ckpt_put(o, h, (size_t)k);
}

static int put_arg(struct ckpt_out *o, const char *p, size_t n)
{
    return put_head(o, '$', n) || ckpt_put(o, p, n) || ckpt_put(o, "\r\n", 2);
}

/* argl[i] == W: argv[i] is a word (a C string) */
#define W ((size_t)-1)
static int put_cmd(struct ckpt_out *o, int argc, const char *const *argv, const size_t *argl)
{
    if (put_head(o, '*', (size_t)argc)) return -1;
    for (int i = 0; i < argc; i++)
        if (put_arg(o, argv[i], argl[i] == W ? strlen(argv[i]) : argl[i])) return -1;
    return 0;
}

static int put_entry(struct ckpt_out *o, const struct dict_entry *k, const struct stream_entry *e)
{
    /* the fields are one RESP array already: "*2n\r\n" and its elements */
    const char *body = memchr(e->enc, '\n', e->enclen);
    size_t nfields = strtoul(e->enc + 1, NULL, 10);
    char id[STREAM_ID_MAX];
    int idl = stream_id_fmt(e->id, id);
    if (!body) return -1;
    body++;
    return put_head(o, '*', nfields + 3) || put_arg(o, "XADD", 4) || put_arg(o, k->key, k->klen) ||
           put_arg(o, id, (size_t)idl) || ckpt_put(o, body, e->enclen - (size_t)(body - e->enc));
}

static int put_group(struct ckpt_out *o, const struct dict_entry *k, const struct stream_group *g)
{
    char last[STREAM_ID_MAX], id[STREAM_ID_MAX], t[24], n[24];
    stream_id_fmt(g->last, last);
    const char *cr[6] = {"XGROUP", "CREATE", k->key, g->name, last, "MKSTREAM"};
    size_t crl[6] = {W, W, k->klen, g->namelen, W, W};
    if (put_cmd(o, 6, cr, crl)) return -1;
    for (size_t i = 0; i < g->ncons; i++) {
        const char *cc[5] = {"XGROUP", "CREATECONSUMER", k->key, g->name, g->cons[i]->name};
        size_t ccl[5] = {W, W, k->klen, g->namelen, g->cons[i]->namelen};
        if (put_cmd(o, 5, cc, ccl)) return -1;
    }
    for (size_t i = 0; i < g->npel; i++) {
        const struct stream_pel *p = &g->pel[i];
        stream_id_fmt(p->id, id);
        snprintf(t, sizeof(t), "%llu", (unsigned long long)p->delivery_ms);
        snprintf(n, sizeof(n), "%llu", (unsigned long long)p->count);
        const char *xc[12] = {"XCLAIM", k->key,       g->name, p->owner->name, "0",     id, "TIME",
                              t,        "RETRYCOUNT", n,       "FORCE",        "JUSTID"};
        size_t xcl[12] = {W, k->klen, g->namelen, p->owner->namelen, W, W, W, W, W, W, W, W};
        if (put_cmd(o, 12, xc, xcl)) return -1;
    }
    return 0;
}

static int bsnap_write(void *arg, struct ckpt_out *o)
{
    const struct broker *b = arg;
    struct dict_iter it;
    for (struct dict_entry *k = dict_first(&b->keys, &it); k; k = dict_next(&b->keys, &it)) {
        const struct stream *s = k->val;
        for (size_t i = 0; i < s->n; i++)
            if (put_entry(o, k, &s->e[i])) return -1;
        for (size_t i = 0; i < s->ngroups; i++)
            if (put_group(o, k, s->groups[i])) return -1;
        if (!s->n && !s->ngroups) {
            const char *cr[6] = {"XGROUP", "CREATE", k->key, BSNAP_TEMP_GROUP, "0", "MKSTREAM"};
            const char *de[4] = {"XGROUP", "DESTROY", k->key, BSNAP_TEMP_GROUP};
            size_t l[6] = {W, W, k->klen, W, W, W};
            if (put_cmd(o, 6, cr, l) || put_cmd(o, 4, de, l)) return -1;
        }
    }
    return 0;
}

/* ---- loading ------------------------------------------------------------------------ */

struct bsnap_load {
    blog_replay_fn replay;
    void *arg;
    uint64_t commands;
};

static int bsnap_read(void *arg, struct ckpt_in *in, uint64_t lsn)
{
    struct bsnap_load *x = arg;
    struct resp_parser p;
    size_t cap = (size_t)BLOG_MAX_RECORD + (1u << 16), len = 0;
    char *buf = malloc(cap);
    int rc = -1;
    resp_init(&p, &(struct resp_limits){.max_bulk = BLOG_MAX_RECORD});
    if (!buf) {
        in->why = "out of memory";
        goto out;
    }
    for (;;) {
        ssize_t r = len ? resp_parse(&p, buf, len) : -2;
        if (r > 0) {
            if (p.argc && x->replay(x->arg, p.argc, p.argv, p.argl) < 0) goto out;
            x->commands++;
            memmove(buf, buf + r, len - (size_t)r);
            len -= (size_t)r;
            continue;
        }
        if (r == -1) {
            in->why = "a command that does not parse";
            goto out;
        }
        size_t want = cap - len < ckpt_left(in) ? cap - len : (size_t)ckpt_left(in);
        if (!want) break; /* the body's end: a command left incomplete is damage */
        if (ckpt_get(in, buf + len, want)) goto out;
        len += want;
    }
    if (len) {
        in->why = "a command cut short";
        goto out;
    }
    rc = 0;
out:
    resp_free(&p);
    free(buf);
    return rc;
}

int bsnap_load(const char *dir, int (*replay)(void *, int, const char **, const size_t *),
               void *arg, uint64_t *lsn, uint64_t *commands, char *err, size_t errlen)
{
    struct bsnap_load x = {.replay = replay, .arg = arg};
    int r = ckpt_load(dir, bsnap_read, &x, lsn, err, errlen);
    *commands = x.commands;
    return r;
}

struct ckpt *bsnap_start(struct broker *b, const char *dir)
{
    return ckpt_start(dir, blog_wal(b->log), b->ckpt_lsn, bsnap_write, b);
}
