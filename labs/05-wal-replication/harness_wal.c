/* harness_wal: the crash harness's WAL readers (prefix check, where each write is).
 * Contract in the header. */
#include "labs/05-wal-replication/harness_wal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labs/05-wal-replication/kv_server.h"
#include "replication/wal.h"

struct hw_log {
    uint64_t *lsn;
    uint32_t *crc;
    size_t n, cap;
    int oom;
};

static void collect(void *arg, const char *seg, size_t off, int st, const struct wal_rec *r)
{
    struct hw_log *l = arg;
    (void)seg;
    (void)off;
    if (st != WAL_REC_OK || l->oom) return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4096;
        uint64_t *a = realloc(l->lsn, cap * sizeof(*a));
        if (a) l->lsn = a;
        uint32_t *c = a ? realloc(l->crc, cap * sizeof(*c)) : NULL;
        if (!c) {
            l->oom = 1; /* the comparison then fails: never a false "prefix" */
            return;
        }
        l->crc = c;
        l->cap = cap;
    }
    l->lsn[l->n] = r->lsn;
    l->crc[l->n++] = r->crc_stored;
}

int hw_prefix(const char *pdir, const char *rdir, char *msg, size_t cap)
{
    struct hw_log p = {0}, r = {0};
    char err[256];
    int ok = wal_walk(pdir, collect, &p, err, sizeof(err)) == 0 &&
             wal_walk(rdir, collect, &r, err, sizeof(err)) == 0 && !p.oom && !r.oom;
    size_t same = 0;
    while (ok && same < r.n && same < p.n && p.lsn[same] == r.lsn[same] &&
           p.crc[same] == r.crc[same])
        same++;
    int prefix = ok && same == r.n && r.n <= p.n;
    snprintf(msg, cap, "replica WAL %zu records, primary %zu, common prefix %zu, %s", r.n, p.n,
             same, prefix ? "prefix with CRCs intact" : "NOT a prefix");
    free(p.lsn);
    free(p.crc);
    free(r.lsn);
    free(r.crc);
    return prefix ? 0 : -1;
}

struct hw_map {
    int trial, nclients;
    const int *n;
    uint64_t **lsn;
    uint64_t end;
};

static void map_lsn(void *arg, const char *seg, size_t off, int st, const struct wal_rec *r)
{
    struct hw_map *m = arg;
    uint32_t kl;
    char key[64];
    int t, c, k;
    (void)seg;
    (void)off;
    if (st != WAL_REC_OK) return;
    if (r->lsn + r->size > m->end) m->end = r->lsn + r->size;
    if (r->type != KV_REC_SET || r->len < 4) /* payload: key length (4 bytes), key, value */
        return;
    memcpy(&kl, r->payload, 4);
    if (kl >= sizeof(key) || kl > r->len - 4) return;
    memcpy(key, (const char *)r->payload + 4, kl);
    key[kl] = 0;
    if (sscanf(key, "t%d:c%d:%d", &t, &c, &k) == 3 && t == m->trial && c >= 0 && c < m->nclients &&
        k >= 0 && k < m->n[c])
        m->lsn[c][k] = r->lsn;
}

int hw_find_writes(const char *dir, int trial, int nclients, const int *n, uint64_t **lsn,
                   uint64_t *end, char *err, size_t errlen)
{
    struct hw_map m = {trial, nclients, n, lsn, 0};
    int rc = wal_walk(dir, map_lsn, &m, err, errlen);
    *end = m.end;
    return rc;
}
