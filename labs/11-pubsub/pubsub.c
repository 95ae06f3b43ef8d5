/* pubsub: channel and pattern tables, fan-out.  Contract in pubsub.h. */
#include "labs/11-pubsub/pubsub.h"

#include <stdlib.h>
#include <string.h>

#include "io/rsrv/glob.h"

void pubsub_init(struct pubsub *ps)
{
    memset(ps, 0, sizeof(*ps));
    dict_init(&ps->chans);
}

static void list_free(void *v)
{
    struct pubsub_list *l = v;
    free(l->name.p);
    free(l->v);
    free(l);
}

void pubsub_free(struct pubsub *ps)
{
    dict_free(&ps->chans, list_free);
    for (size_t i = 0; i < ps->npats; i++)
        list_free(ps->pats[i]);
    free(ps->pats);
    memset(ps, 0, sizeof(*ps));
}

void pubsub_sub_init(struct pubsub_sub *s)
{
    memset(s, 0, sizeof(*s));
    dict_init(&s->chans);
}

size_t pubsub_count(const struct pubsub_sub *s)
{
    return s->chans.n + s->npats;
}

static struct pubsub_list *list_new(const char *name, size_t n)
{
    struct pubsub_list *l = calloc(1, sizeof(*l));
    if (!l) return NULL;
    l->name.p = malloc(n + 1);
    if (!l->name.p) {
        free(l);
        return NULL;
    }
    memcpy(l->name.p, name, n);
    l->name.p[n] = 0;
    l->name.n = n;
    return l;
}

static int list_add(struct pubsub_list *l, struct pubsub_sub *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        void *v = realloc(l->v, cap * sizeof(*l->v));
        if (!v) return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    return 0;
}

/* Keeps the order of the others: delivery order is subscription order. */
static void list_remove(struct pubsub_list *l, struct pubsub_sub *s)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i] == s) {
            memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(*l->v));
            l->n--;
            return;
        }
    }
}

int pubsub_subscribe(struct pubsub *ps, struct pubsub_sub *s, const char *ch, size_t n)
{
    if (dict_find(&s->chans, ch, n)) return 0;
    if (pubsub_count(s) >= PUBSUB_MAX_PER_SUB) return -1;
    struct pubsub_list *l = dict_get(&ps->chans, ch, n);
    int fresh = 0;
    if (!l) {
        if (!(l = list_new(ch, n)) || dict_put(&ps->chans, ch, n, l) < 0) {
            if (l) list_free(l);
            return -1;
        }
        fresh = 1;
    }
    if (list_add(l, s) < 0) goto fail;
    if (dict_put(&s->chans, ch, n, NULL) < 0) {
        l->n--;
        goto fail;
    }
    return 1;
fail:
    if (fresh) list_free(dict_del(&ps->chans, ch, n));
    return -1;
}

int pubsub_unsubscribe(struct pubsub *ps, struct pubsub_sub *s, const char *ch, size_t n)
{
    if (!dict_find(&s->chans, ch, n)) return 0;
    dict_del(&s->chans, ch, n);
    struct pubsub_list *l = dict_get(&ps->chans, ch, n);
    if (l) {
        list_remove(l, s);
        if (l->n == 0) list_free(dict_del(&ps->chans, ch, n));
    }
    return 1;
}

static long sub_pat_index(const struct pubsub_sub *s, const char *p, size_t n)
{
    for (size_t i = 0; i < s->npats; i++)
        if (s->pats[i].n == n && memcmp(s->pats[i].p, p, n) == 0) return (long)i;
    return -1;
}

static long pat_index(const struct pubsub *ps, const char *p, size_t n)
{
    for (size_t i = 0; i < ps->npats; i++)
        if (ps->pats[i]->name.n == n && memcmp(ps->pats[i]->name.p, p, n) == 0) return (long)i;
    return -1;
}

int pubsub_psubscribe(struct pubsub *ps, struct pubsub_sub *s, const char *pat, size_t n)
{
    if (sub_pat_index(s, pat, n) >= 0) return 0;
    if (pubsub_count(s) >= PUBSUB_MAX_PER_SUB) return -1;
    if (s->npats == s->cappats) {
        size_t cap = s->cappats ? s->cappats * 2 : 4;
        void *v = realloc(s->pats, cap * sizeof(*s->pats));
        if (!v) return -1;
        s->pats = v;
        s->cappats = cap;
    }
    if (ps->npats == ps->cappats) {
        size_t cap = ps->cappats ? ps->cappats * 2 : 4;
        void *v = realloc(ps->pats, cap * sizeof(*ps->pats));
        if (!v) return -1;
        ps->pats = v;
        ps->cappats = cap;
    }
    char *copy = malloc(n + 1);
    if (!copy) return -1;
    memcpy(copy, pat, n);
    copy[n] = 0;
    long i = pat_index(ps, pat, n);
    struct pubsub_list *l = i >= 0 ? ps->pats[i] : list_new(pat, n);
    if (!l || list_add(l, s) < 0) {
        if (l && i < 0) list_free(l);
        free(copy);
        return -1;
    }
    if (i < 0) ps->pats[ps->npats++] = l;
    s->pats[s->npats].p = copy;
    s->pats[s->npats].n = n;
    s->npats++;
    return 1;
}

int pubsub_punsubscribe(struct pubsub *ps, struct pubsub_sub *s, const char *pat, size_t n)
{
    long si = sub_pat_index(s, pat, n);
    if (si < 0) return 0;
    long i = pat_index(ps, pat, n); /* before the free: pat may be s->pats[si].p */
    free(s->pats[si].p);
    memmove(&s->pats[si], &s->pats[si + 1], (s->npats - (size_t)si - 1) * sizeof(*s->pats));
    s->npats--;
    if (i >= 0) {
        struct pubsub_list *l = ps->pats[i];
        list_remove(l, s);
        if (l->n == 0) {
            list_free(l);
            memmove(&ps->pats[i], &ps->pats[i + 1],
                    (ps->npats - (size_t)i - 1) * sizeof(*ps->pats));
            ps->npats--;
        }
    }
    return 1;
}

void pubsub_sub_release(struct pubsub *ps, struct pubsub_sub *s)
{
    while (s->npats > 0)
        pubsub_punsubscribe(ps, s, s->pats[0].p, s->pats[0].n);
    struct dict_iter it;
    for (struct dict_entry *e = dict_first(&s->chans, &it); e; e = dict_next(&s->chans, &it)) {
        struct pubsub_list *l = dict_get(&ps->chans, e->key, e->klen);
        if (l) {
            list_remove(l, s);
            if (l->n == 0) list_free(dict_del(&ps->chans, e->key, e->klen));
        }
    }
    dict_free(&s->chans, NULL);
    free(s->pats);
    pubsub_sub_init(s);
}

long pubsub_publish(struct pubsub *ps, const char *ch, size_t n, pubsub_deliver_fn deliver,
                    void *arg)
{
    long count = 0;
    struct pubsub_list *l = dict_get(&ps->chans, ch, n);
    if (l) {
        for (size_t i = 0; i < l->n; i++)
            deliver(arg, l->v[i], NULL, 0);
        count += (long)l->n;
    }
    for (size_t i = 0; i < ps->npats; i++) {
        struct pubsub_list *p = ps->pats[i];
        if (!glob_match(p->name.p, p->name.n, ch, n)) continue;
        for (size_t j = 0; j < p->n; j++)
            deliver(arg, p->v[j], p->name.p, p->name.n);
        count += (long)p->n;
    }
    return count;
}
