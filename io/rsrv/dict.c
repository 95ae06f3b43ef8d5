/* dict: chained hash table with byte-string keys.  Contract in dict.h. */
#include "io/rsrv/dict.h"

#include <stdlib.h>
#include <string.h>

static uint64_t dict_hash(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a, then a final mix for the low bits */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)k[i];
        h *= 1099511628211ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

void dict_init(struct dict *d)
{
    d->tab = NULL;
    d->mask = 0;
    d->n = 0;
}

void dict_free(struct dict *d, void (*free_val)(void *))
{
    if (d->tab) {
        for (size_t i = 0; i <= d->mask; i++) {
            struct dict_entry *e = d->tab[i];
            while (e) {
                struct dict_entry *nx = e->next;
                if (free_val) free_val(e->val);
                free(e);
                e = nx;
            }
        }
    }
    free(d->tab);
    dict_init(d);
}

struct dict_entry *dict_find(const struct dict *d, const char *k, size_t klen)
{
    if (!d->tab) return NULL;
    uint64_t h = dict_hash(k, klen);
    for (struct dict_entry *e = d->tab[h & d->mask]; e; e = e->next)
        if (e->hash == h && e->klen == klen && memcmp(e->key, k, klen) == 0) return e;
    return NULL;
}

void *dict_get(const struct dict *d, const char *k, size_t klen)
{
    struct dict_entry *e = dict_find(d, k, klen);
    return e ? e->val : NULL;
}

static int dict_grow(struct dict *d)
{
    size_t nb = d->tab ? (d->mask + 1) * 2 : 16;
    struct dict_entry **t = calloc(nb, sizeof(*t));
    if (!t) return -1;
    if (d->tab) {
        for (size_t i = 0; i <= d->mask; i++) {
            struct dict_entry *e = d->tab[i];
            while (e) {
                struct dict_entry *nx = e->next;
                e->next = t[e->hash & (nb - 1)];
                t[e->hash & (nb - 1)] = e;
                e = nx;
            }
        }
    }
    free(d->tab);
    d->tab = t;
    d->mask = nb - 1;
    return 0;
}

int dict_put(struct dict *d, const char *k, size_t klen, void *val)
{
    struct dict_entry *e = dict_find(d, k, klen);
    if (e) {
        e->val = val;
        return 0;
    }
    if ((!d->tab || d->n >= d->mask + 1) && dict_grow(d) < 0) return -1;
    e = malloc(sizeof(*e) + klen + 1);
    if (!e) return -1;
    e->hash = dict_hash(k, klen);
    e->val = val;
    e->klen = klen;
    memcpy(e->key, k, klen);
    e->key[klen] = 0;
    e->next = d->tab[e->hash & d->mask];
    d->tab[e->hash & d->mask] = e;
    d->n++;
    return 1;
}

void *dict_del(struct dict *d, const char *k, size_t klen)
{
    if (!d->tab) return NULL;
    uint64_t h = dict_hash(k, klen);
    for (struct dict_entry **pp = &d->tab[h & d->mask]; *pp; pp = &(*pp)->next) {
        struct dict_entry *e = *pp;
        if (e->hash == h && e->klen == klen && memcmp(e->key, k, klen) == 0) {
            void *v = e->val;
            *pp = e->next;
            free(e);
            d->n--;
            return v;
        }
    }
    return NULL;
}

static struct dict_entry *dict_walk(const struct dict *d, struct dict_iter *it)
{
    while (it->bucket <= d->mask) {
        struct dict_entry *e = d->tab[it->bucket++];
        if (e) {
            it->next = e->next;
            return e;
        }
    }
    return NULL;
}

struct dict_entry *dict_first(const struct dict *d, struct dict_iter *it)
{
    it->bucket = 0;
    it->next = NULL;
    return d->tab ? dict_walk(d, it) : NULL;
}

struct dict_entry *dict_next(const struct dict *d, struct dict_iter *it)
{
    if (it->next) {
        struct dict_entry *e = it->next;
        it->next = e->next;
        return e;
    }
    return d->tab ? dict_walk(d, it) : NULL;
}

uint64_t dict_scan(const struct dict *d, uint64_t cursor, size_t count, dict_scan_cb cb, void *arg)
{
    if (!d->tab) return 0;
    size_t seen = 0;
    uint64_t i = cursor;
    for (; i <= d->mask && seen < count; i++)
        for (const struct dict_entry *e = d->tab[i]; e; e = e->next) {
            cb(arg, e);
            seen++;
        }
    return i > d->mask ? 0 : i;
}
