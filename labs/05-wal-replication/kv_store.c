/* kv_store: chained hash map with power-of-two buckets.  Contract in kv_store.h. */
#include "labs/05-wal-replication/kv_store.h"

#include <stdlib.h>
#include <string.h>

struct kvs_ent {
    struct kvs_ent *next;
    uint64_t hash;
    size_t kl, vl;
    char *v;
    char k[]; /* key bytes */
};

struct kvs {
    struct kvs_ent **b;
    size_t nb, n;
};

static uint64_t kvs_hash(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)k[i]) * 1099511628211ull;
    return h;
}

struct kvs *kvs_create(void)
{
    struct kvs *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->nb = 1024;
    s->b = calloc(s->nb, sizeof(*s->b));
    if (!s->b) {
        free(s);
        return NULL;
    }
    return s;
}

void kvs_destroy(struct kvs *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->nb; i++)
        for (struct kvs_ent *e = s->b[i], *nx; e; e = nx) {
            nx = e->next;
            free(e->v);
            free(e);
        }
    free(s->b);
    free(s);
}

static struct kvs_ent **kvs_find(struct kvs *s, const char *k, size_t kl, uint64_t h)
{
    struct kvs_ent **p = &s->b[h & (s->nb - 1)];
    for (; *p; p = &(*p)->next)
        if ((*p)->hash == h && (*p)->kl == kl && memcmp((*p)->k, k, kl) == 0) return p;
    return p;
}

static void kvs_grow(struct kvs *s)
{
    size_t nb = s->nb * 2;
    struct kvs_ent **b = calloc(nb, sizeof(*b));
    if (!b) return; /* keep the old table: longer chains, still correct */
    for (size_t i = 0; i < s->nb; i++)
        for (struct kvs_ent *e = s->b[i], *nx; e; e = nx) {
            nx = e->next;
            e->next = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
        }
    free(s->b);
    s->b = b;
    s->nb = nb;
}

int kvs_set(struct kvs *s, const char *k, size_t kl, const char *v, size_t vl)
{
    uint64_t h = kvs_hash(k, kl);
    struct kvs_ent **p = kvs_find(s, k, kl, h);
    char *nv = malloc(vl ? vl : 1);
    if (!nv) return -1;
    memcpy(nv, v, vl);
    if (*p) {
        free((*p)->v);
        (*p)->v = nv;
        (*p)->vl = vl;
        return 0;
    }
    struct kvs_ent *e = s->n < KVS_MAX_KEYS ? malloc(sizeof(*e) + kl) : NULL;
    if (!e) {
        free(nv);
        return -1;
    }
    e->next = NULL;
    e->hash = h;
    e->kl = kl;
    e->vl = vl;
    e->v = nv;
    memcpy(e->k, k, kl);
    *p = e;
    if (++s->n > s->nb) kvs_grow(s);
    return 0;
}

const char *kvs_get(struct kvs *s, const char *k, size_t kl, size_t *vlen)
{
    struct kvs_ent *e = *kvs_find(s, k, kl, kvs_hash(k, kl));
    if (!e) return NULL;
    *vlen = e->vl;
    return e->v;
}

int kvs_del(struct kvs *s, const char *k, size_t kl)
{
    struct kvs_ent **p = kvs_find(s, k, kl, kvs_hash(k, kl));
    struct kvs_ent *e = *p;
    if (!e) return 0;
    *p = e->next;
    free(e->v);
    free(e);
    s->n--;
    return 1;
}

size_t kvs_count(const struct kvs *s)
{
    return s->n;
}

uint64_t kvs_scan(struct kvs *s, uint64_t cursor, size_t count, kvs_key_cb cb, void *arg)
{
    size_t seen = 0;
    uint64_t i = cursor;
    /* The cursor is a bucket index; growth only doubles the table, so a bucket's keys
     * move to higher indexes and an in-progress scan still meets them. */
    for (; i < s->nb && seen < count; i++)
        for (struct kvs_ent *e = s->b[i]; e; e = e->next) {
            cb(arg, e->k, e->kl);
            seen++;
        }
    return i >= s->nb ? 0 : i;
}
