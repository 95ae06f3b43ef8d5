/* stream: entries, consumer groups, consumers and the PEL.  Contract in stream.h. */
#include "labs/11-pubsub/stream.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int stream_id_cmp(struct stream_id a, struct stream_id b)
{
    if (a.ms != b.ms) return a.ms < b.ms ? -1 : 1;
    if (a.seq != b.seq) return a.seq < b.seq ? -1 : 1;
    return 0;
}

static int parse_u64(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 20) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int stream_id_parse(const char *s, size_t n, uint64_t missing_seq, struct stream_id *id,
                    int *had_seq)
{
    const char *dash = memchr(s, '-', n);
    struct stream_id r;
    if (!dash) {
        if (parse_u64(s, n, &r.ms) < 0) return -1;
        r.seq = missing_seq;
    } else if (parse_u64(s, (size_t)(dash - s), &r.ms) < 0 ||
               parse_u64(dash + 1, n - (size_t)(dash - s) - 1, &r.seq) < 0) {
        return -1;
    }
    if (had_seq) *had_seq = dash != NULL;
    *id = r;
    return 0;
}

int stream_id_fmt(struct stream_id id, char *buf)
{
    return snprintf(buf, STREAM_ID_MAX, "%llu-%llu", (unsigned long long)id.ms,
                    (unsigned long long)id.seq);
}

int stream_id_incr(struct stream_id *id)
{
    if (id->seq == UINT64_MAX) {
        if (id->ms == UINT64_MAX) return -1;
        id->ms++;
        id->seq = 0;
    } else {
        id->seq++;
    }
    return 0;
}

int stream_id_decr(struct stream_id *id)
{
    if (id->seq == 0) {
        if (id->ms == 0) return -1;
        id->ms--;
        id->seq = UINT64_MAX;
    } else {
        id->seq--;
    }
    return 0;
}

struct stream *stream_new(void)
{
    return calloc(1, sizeof(struct stream));
}

static void group_free(struct stream_group *g)
{
    for (size_t i = 0; i < g->ncons; i++) {
        free(g->cons[i]->name);
        free(g->cons[i]);
    }
    free(g->cons);
    free(g->pel);
    free(g->name);
    free(g);
}

void stream_free(struct stream *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++)
        free(s->e[i].enc);
    free(s->e);
    for (size_t i = 0; i < s->ngroups; i++)
        group_free(s->groups[i]);
    free(s->groups);
    free(s);
}

int stream_auto_id(const struct stream *s, uint64_t now_ms, struct stream_id *id)
{
    if (now_ms > s->last.ms) {
        id->ms = now_ms;
        id->seq = 0;
        return 0;
    }
    *id = s->last;
    return stream_id_incr(id);
}

int stream_auto_seq(const struct stream *s, uint64_t ms, struct stream_id *id)
{
    if (ms > s->last.ms) {
        id->ms = ms;
        id->seq = 0;
        return 0;
    }
    if (ms < s->last.ms || s->last.seq == UINT64_MAX) return -1;
    id->ms = ms;
    id->seq = s->last.seq + 1;
    return 0;
}

static int grow(void **v, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap * 2 : 8;
    while (c < need)
        c *= 2;
    void *p = realloc(*v, c * elem);
    if (!p) return -1;
    *v = p;
    *cap = c;
    return 0;
}

int stream_append(struct stream *s, struct stream_id id, char *enc, size_t enclen)
{
    assert(stream_id_cmp(id, s->last) > 0);
    if (grow((void **)&s->e, &s->cap, s->n + 1, sizeof(*s->e)) < 0) return -1;
    s->e[s->n].id = id;
    s->e[s->n].enc = enc;
    s->e[s->n].enclen = enclen;
    s->n++;
    s->last = id;
    s->bytes += enclen;
    return 0;
}

/* The first index in [0, n) for which below(ctx, i) is false (below must be monotonic):
 * the one binary search behind every seek here. */
static size_t lower_bound(size_t n, int (*below)(const void *ctx, size_t i), const void *ctx)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (below(ctx, mid))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct seek_id {
    const void *base;
    struct stream_id id;
};

struct seek_name {
    const void *base;
    const char *name;
    size_t n;
};

static int entry_below(const void *ctx, size_t i)
{
    const struct seek_id *k = ctx;
    return stream_id_cmp(((const struct stream_entry *)k->base)[i].id, k->id) < 0;
}

static int pel_below(const void *ctx, size_t i)
{
    const struct seek_id *k = ctx;
    return stream_id_cmp(((const struct stream_pel *)k->base)[i].id, k->id) < 0;
}

size_t stream_seek(const struct stream *s, struct stream_id id)
{
    struct seek_id k = {s->e, id};
    return lower_bound(s->n, entry_below, &k);
}

long stream_find(const struct stream *s, struct stream_id id)
{
    size_t i = stream_seek(s, id);
    return i < s->n && stream_id_cmp(s->e[i].id, id) == 0 ? (long)i : -1;
}

static int name_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c) return c;
    return an < bn ? -1 : an > bn;
}

static int group_below(const void *ctx, size_t i)
{
    const struct seek_name *k = ctx;
    const struct stream_group *g = ((struct stream_group *const *)k->base)[i];
    return name_cmp(g->name, g->namelen, k->name, k->n) < 0;
}

static int cons_below(const void *ctx, size_t i)
{
    const struct seek_name *k = ctx;
    const struct stream_consumer *c = ((struct stream_consumer *const *)k->base)[i];
    return name_cmp(c->name, c->namelen, k->name, k->n) < 0;
}

/* Index of the first group whose name is >= name. */
static size_t group_seek(const struct stream *s, const char *name, size_t n)
{
    struct seek_name k = {s->groups, name, n};
    return lower_bound(s->ngroups, group_below, &k);
}

struct stream_group *stream_group_find(const struct stream *s, const char *name, size_t n)
{
    size_t i = group_seek(s, name, n);
    if (i < s->ngroups && name_cmp(s->groups[i]->name, s->groups[i]->namelen, name, n) == 0)
        return s->groups[i];
    return NULL;
}

static char *dupmem(const char *p, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, p, n);
        d[n] = 0;
    }
    return d;
}

struct stream_group *stream_group_create(struct stream *s, const char *name, size_t n,
                                         struct stream_id last)
{
    if (stream_group_find(s, name, n) || s->ngroups >= STREAM_MAX_GROUPS) return NULL;
    if (grow((void **)&s->groups, &s->capgroups, s->ngroups + 1, sizeof(*s->groups)) < 0)
        return NULL;
    struct stream_group *g = calloc(1, sizeof(*g));
    if (!g || !(g->name = dupmem(name, n))) {
        free(g);
        return NULL;
    }
    g->namelen = n;
    g->last = last;
    size_t i = group_seek(s, name, n);
    memmove(&s->groups[i + 1], &s->groups[i], (s->ngroups - i) * sizeof(*s->groups));
    s->groups[i] = g;
    s->ngroups++;
    return g;
}

int stream_group_destroy(struct stream *s, const char *name, size_t n)
{
    size_t i = group_seek(s, name, n);
    if (i >= s->ngroups || name_cmp(s->groups[i]->name, s->groups[i]->namelen, name, n) != 0)
        return 0;
    group_free(s->groups[i]);
    memmove(&s->groups[i], &s->groups[i + 1], (s->ngroups - i - 1) * sizeof(*s->groups));
    s->ngroups--;
    return 1;
}

static size_t cons_seek(const struct stream_group *g, const char *name, size_t n)
{
    struct seek_name k = {g->cons, name, n};
    return lower_bound(g->ncons, cons_below, &k);
}

struct stream_consumer *stream_consumer_find(const struct stream_group *g, const char *name,
                                             size_t n)
{
    size_t i = cons_seek(g, name, n);
    if (i < g->ncons && name_cmp(g->cons[i]->name, g->cons[i]->namelen, name, n) == 0)
        return g->cons[i];
    return NULL;
}

struct stream_consumer *stream_consumer_get(struct stream_group *g, const char *name, size_t n,
                                            uint64_t now_ms, int *created)
{
    struct stream_consumer *c = stream_consumer_find(g, name, n);
    if (created) *created = 0;
    if (c) return c;
    if (g->ncons >= STREAM_MAX_CONSUMERS ||
        grow((void **)&g->cons, &g->capcons, g->ncons + 1, sizeof(*g->cons)) < 0)
        return NULL;
    c = calloc(1, sizeof(*c));
    if (!c || !(c->name = dupmem(name, n))) {
        free(c);
        return NULL;
    }
    c->namelen = n;
    c->seen_ms = now_ms;
    size_t i = cons_seek(g, name, n);
    memmove(&g->cons[i + 1], &g->cons[i], (g->ncons - i) * sizeof(*g->cons));
    g->cons[i] = c;
    g->ncons++;
    if (created) *created = 1;
    return c;
}

long stream_consumer_delete(struct stream_group *g, const char *name, size_t n)
{
    size_t i = cons_seek(g, name, n);
    if (i >= g->ncons || name_cmp(g->cons[i]->name, g->cons[i]->namelen, name, n) != 0) return -1;
    struct stream_consumer *c = g->cons[i];
    long pending = (long)c->pending;
    size_t w = 0;
    for (size_t r = 0; r < g->npel; r++)
        if (g->pel[r].owner != c) g->pel[w++] = g->pel[r];
    g->npel = w;
    free(c->name);
    free(c);
    memmove(&g->cons[i], &g->cons[i + 1], (g->ncons - i - 1) * sizeof(*g->cons));
    g->ncons--;
    return pending;
}

size_t stream_pel_seek(const struct stream_group *g, struct stream_id id)
{
    struct seek_id k = {g->pel, id};
    return lower_bound(g->npel, pel_below, &k);
}

long stream_pel_find(const struct stream_group *g, struct stream_id id)
{
    size_t i = stream_pel_seek(g, id);
    return i < g->npel && stream_id_cmp(g->pel[i].id, id) == 0 ? (long)i : -1;
}

void stream_pel_set_owner(struct stream_group *g, struct stream_pel *p, struct stream_consumer *c)
{
    (void)g;
    assert(p->owner->pending > 0);
    p->owner->pending--;
    p->owner = c;
    c->pending++;
}

struct stream_pel *stream_pel_deliver(struct stream_group *g, struct stream_id id,
                                      struct stream_consumer *c, uint64_t now_ms)
{
    size_t i = stream_pel_seek(g, id);
    if (i < g->npel && stream_id_cmp(g->pel[i].id, id) == 0) {
        /* As Redis: a fresh delivery of a pending ID restarts its count. */
        stream_pel_set_owner(g, &g->pel[i], c);
        g->pel[i].delivery_ms = now_ms;
        g->pel[i].count = 1;
        return &g->pel[i];
    }
    if (grow((void **)&g->pel, &g->cappel, g->npel + 1, sizeof(*g->pel)) < 0) return NULL;
    memmove(&g->pel[i + 1], &g->pel[i], (g->npel - i) * sizeof(*g->pel));
    g->pel[i] = (struct stream_pel){.id = id, .owner = c, .delivery_ms = now_ms, .count = 1};
    g->npel++;
    c->pending++;
    return &g->pel[i];
}

void stream_pel_remove(struct stream_group *g, size_t idx)
{
    assert(idx < g->npel);
    assert(g->pel[idx].owner->pending > 0);
    g->pel[idx].owner->pending--;
    memmove(&g->pel[idx], &g->pel[idx + 1], (g->npel - idx - 1) * sizeof(*g->pel));
    g->npel--;
}
