/* blog: the broker's command log on the shared WAL.  Contract in blog.h. */
#include "labs/11-pubsub/blog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/resp/resp.h"

struct blog {
    struct wal *w;
    enum blog_fsync policy;
    struct resp_out rec; /* scratch: one record being encoded */
    uint64_t last;       /* commit LSN of the last append */
    uint64_t requested;  /* highest LSN a flush was asked for */
    uint64_t records;
};

struct blog_replay_ctx {
    blog_replay_fn fn;
    void *arg;
    uint64_t skip_below;
    struct resp_parser p; /* one for the whole replay */
    char *buf;
    uint64_t *records;
};

static int blog_replay_one(void *arg, uint64_t lsn, uint16_t type, const void *p, size_t n)
{
    struct blog_replay_ctx *x = arg;
    if (type != BLOG_T_COMMAND || n > BLOG_MAX_RECORD) {
        fprintf(stderr, "broker: log record at LSN %llu has type %u: not the broker's\n",
                (unsigned long long)lsn, type);
        return -1;
    }
    if (lsn < x->skip_below) return 0;
    memcpy(x->buf, p, n); /* the parser may decode in place */
    ssize_t r = resp_parse(&x->p, x->buf, n);
    if (r != (ssize_t)n || x->p.argc == 0) {
        fprintf(stderr, "broker: log record at LSN %llu is not one command\n",
                (unsigned long long)lsn);
        return -1;
    }
    (*x->records)++;
    return x->fn(x->arg, x->p.argc, x->p.argv, x->p.argl);
}

struct blog *blog_open(const struct blog_config *cfg, char *err, size_t errlen)
{
    struct blog *l = calloc(1, sizeof(*l));
    struct blog_replay_ctx x = {.fn = cfg->replay,
                                .arg = cfg->arg,
                                .skip_below = cfg->skip_below,
                                .records = l ? &l->records : NULL};
    resp_init(&x.p, &(struct resp_limits){.max_bulk = BLOG_MAX_RECORD});
    x.buf = malloc(BLOG_MAX_RECORD);
    if (!l || !x.buf) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    l->policy = cfg->policy;
    resp_out_init(&l->rec, BLOG_MAX_RECORD);
    struct wal_opts o = {
        .segment_size = cfg->segsize,
        .notify_write = cfg->policy == BLOG_EVERYSEC, /* replies may leave once written */
        .truncate_corrupt = cfg->truncate_damaged,
        .on_progress = cfg->wake,
        .progress_arg = cfg->wake_arg,
    };
    /* The WAL creates dir itself, the last component only, as mkdir(1) does: a
     * mistyped path fails with its reason instead of growing a tree. */
    l->w = wal_open(cfg->dir, &o, blog_replay_one, &x, err, errlen);
    if (!l->w) goto fail;
    resp_free(&x.p);
    free(x.buf);
    return l;
fail:
    resp_free(&x.p);
    free(x.buf);
    if (l) resp_out_free(&l->rec);
    free(l);
    return NULL;
}

uint64_t blog_append(struct blog *l, int argc, const char *const *argv, const size_t *argl)
{
    l->rec.len = 0;
    l->rec.overflow = 0;
    if (resp_add_argv(&l->rec, argc, argv, argl) < 0) {
        errno = E2BIG;
        return 0;
    }
    uint64_t lsn = wal_append(l->w, BLOG_T_COMMAND, l->rec.data, l->rec.len);
    if (lsn) {
        l->last = lsn;
        l->records++;
    }
    return lsn;
}

int blog_room(struct blog *l, size_t nrec, size_t payload)
{
    size_t one = wal_rec_size(payload);
    return wal_can_append(l->w, nrec * one, one);
}

size_t blog_cmd_bytes(int argc, const size_t *argl)
{
    size_t n = 24; /* *N\r\n, then $len\r\n...\r\n per argument */
    for (int i = 0; i < argc; i++)
        n += argl[i] + 24;
    return n;
}

void blog_commit(struct blog *l)
{
    if (l->last > l->requested) {
        wal_flush_request(l->w, l->last);
        l->requested = l->last;
    }
}

uint64_t blog_durable_lsn(const struct blog *l)
{
    return l->policy == BLOG_ALWAYS ? wal_flush_lsn(l->w) : wal_write_lsn(l->w);
}

int blog_failed(const struct blog *l)
{
    char err[8];
    return wal_failed(l->w, err, sizeof(err));
}

struct wal *blog_wal(struct blog *l)
{
    return l->w;
}

uint64_t blog_records(const struct blog *l)
{
    return l->records;
}

void blog_close(struct blog *l)
{
    if (!l) return;
    wal_close(l->w);
    resp_out_free(&l->rec);
    free(l);
}
