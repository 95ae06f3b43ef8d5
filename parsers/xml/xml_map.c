/* xml_map: the hash tables of the hand-written XML parser (entities, attribute and
 * element declarations, namespace bindings, attribute names of one element), keyed by
 * byte strings under a keyed hash, so neither a long DTD nor names chosen to collide
 * make a lookup cost more than a few probes.  Contract in xml_int.h.
 *
 * The hash is SipHash-1-3 (Aumasson and Bernstein's construction, one compression
 * round per word and three at the end) keyed per parse from the process's AT_RANDOM
 * bytes and the parse's own address: an attacker who does not know the key cannot
 * build names that collide.  The table is open addressing with linear probing, at
 * most half full, and removes by shifting the run back (no tombstones). */
#include "parsers/xml/xml_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

void xml_map_seed(struct xml_ctx *c)
{
    uint64_t k[2] = {0x736f6d6570736575ull, 0x646f72616e646f6dull};
    const void *r = (const void *)getauxval(AT_RANDOM); /* 16 random bytes per process */
    if (r) memcpy(k, r, sizeof k);
    c->hkey[0] = k[0] ^ (uint64_t)(uintptr_t)c;
    c->hkey[1] = k[1] ^ ((uint64_t)(uintptr_t)c << 17);
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = ROTL(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = ROTL(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = ROTL(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = ROTL(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = ROTL(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = ROTL(v2, 32);                                                                         \
    } while (0)

uint64_t xml_hash(const struct xml_ctx *c, const void *key, size_t n)
{
    const uint8_t *p = key;
    uint64_t v0 = 0x736f6d6570736575ull ^ c->hkey[0], v1 = 0x646f72616e646f6dull ^ c->hkey[1];
    uint64_t v2 = 0x6c7967656e657261ull ^ c->hkey[0], v3 = 0x7465646279746573ull ^ c->hkey[1];
    uint64_t m;
    size_t i = 0;
    for (; n - i >= 8; i += 8) {
        memcpy(&m, p + i, 8);
        v3 ^= m;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)n << 56;
    for (size_t k = 0; i + k < n; k++)
        b |= (uint64_t)p[i + k] << (8 * k);
    v3 ^= b;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/* The slot holding (h, key) or the empty slot where it would go. */
static size_t map_slot(const struct xml_ctx *c, const struct xml_map *m, uint64_t h,
                       const void *key, size_t n, xml_map_key_fn keyof)
{
    size_t mask = m->cap - 1, i = (size_t)h & mask;
    for (;; i = (i + 1) & mask) {
        const struct xml_map_slot *s = &m->s[i];
        if (!s->v) return i;
        if (s->h == h) {
            size_t kn;
            const void *k = keyof(c, s->v, &kn);
            if (kn == n && memcmp(k, key, n) == 0) return i;
        }
    }
}

void *xml_map_get(const struct xml_ctx *c, const struct xml_map *m, uint64_t h, const void *key,
                  size_t n, xml_map_key_fn keyof)
{
    return m->cap ? m->s[map_slot(c, m, h, key, n, keyof)].v : NULL;
}

int xml_map_put(struct xml_ctx *c, struct xml_map *m, uint64_t h, const void *key, size_t n,
                void *v, xml_map_key_fn keyof)
{
    if (m->cap) {
        size_t i = map_slot(c, m, h, key, n, keyof);
        if (m->s[i].v) { /* replacing never grows the table */
            m->s[i].v = v;
            return 0;
        }
    }
    if (2 * (m->n + 1) > m->cap) { /* grow to keep it at most half full */
        size_t nc = m->cap ? m->cap * 2 : 16;
        struct xml_map_slot *ns = calloc(nc, sizeof *ns), *old = m->s;
        if (!ns) return xml_oom(c);
        struct xml_map big = {ns, nc, m->n};
        for (size_t i = 0; i < m->cap; i++)
            if (old[i].v) {
                size_t kn;
                const void *k = keyof(c, old[i].v, &kn);
                big.s[map_slot(c, &big, old[i].h, k, kn, keyof)] = old[i];
            }
        free(old);
        *m = big;
    }
    m->s[map_slot(c, m, h, key, n, keyof)] = (struct xml_map_slot){h, v};
    m->n++;
    return 0;
}

void xml_map_del(const struct xml_ctx *c, struct xml_map *m, uint64_t h, const void *key, size_t n,
                 xml_map_key_fn keyof)
{
    if (!m->cap) return;
    size_t mask = m->cap - 1, i = map_slot(c, m, h, key, n, keyof);
    if (!m->s[i].v) return;
    m->n--;
    /* Shift the rest of the run back over the hole, so lookups never stop early. */
    for (size_t j = (i + 1) & mask; m->s[j].v; j = (j + 1) & mask) {
        size_t home = (size_t)m->s[j].h & mask;
        /* j's entry may move to i when its home is not in (i, j] (cyclically) */
        if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
            m->s[i] = m->s[j];
            i = j;
        }
    }
    m->s[i] = (struct xml_map_slot){0, NULL};
}

void xml_map_free(struct xml_map *m)
{
    free(m->s);
    memset(m, 0, sizeof *m);
}
