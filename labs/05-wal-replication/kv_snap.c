/* kv_snap: kv-server's checkpoints on replication/ckpt (a snapshot of the map at an LSN
 * written by a forked child, then the WAL before it compacted; ckpt.h says why each step
 * is crash-safe).  The body: the key count (8 bytes), then per key its length and the
 * value's (4 bytes each, as the machine orders them), the key, the value.  The map at
 * the fork holds exactly the records below applied_end: a write is applied as it is
 * appended, and a replica applies what it flushed. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labs/05-wal-replication/kv_server.h"
#include "replication/ckpt.h"

#define KV_CKPT_RETRY_MS 1000

/* In the forked child: no allocation, no lock. */
static int snap_write(void *arg, struct ckpt_out *o)
{
    const struct kv_server *s = arg;
    uint64_t n = s->map.n;
    if (ckpt_put(o, &n, 8)) return -1;
    struct dict_iter it;
    for (struct dict_entry *e = dict_first(&s->map, &it); e; e = dict_next(&s->map, &it)) {
        const struct kv_value *v = e->val;
        uint32_t kl = (uint32_t)e->klen, vl = (uint32_t)v->len;
        if (ckpt_put(o, &kl, 4) || ckpt_put(o, &vl, 4) || ckpt_put(o, e->key, e->klen) ||
            ckpt_put(o, v->v, v->len))
            return -1;
    }
    return 0;
}

static int snap_read(void *arg, struct ckpt_in *in, uint64_t lsn)
{
    struct kv_server *s = arg;
    uint64_t n;
    char *buf = NULL;
    size_t cap = 0;
    int rc = -1;
    if (ckpt_get(in, &n, 8)) goto out;
    for (uint64_t i = 0; i < n; i++) {
        uint32_t kl, vl;
        if (ckpt_get(in, &kl, 4) || ckpt_get(in, &vl, 4)) goto out;
        size_t need = (size_t)kl + vl;
        if (need > WAL_MAX_PAYLOAD) {
            in->why = "an entry larger than any WAL record";
            goto out;
        }
        if (need > cap) {
            char *b = realloc(buf, need);
            if (!b) {
                in->why = "out of memory";
                goto out;
            }
            buf = b;
            cap = need;
        }
        if (ckpt_get(in, buf, need)) goto out;
        if (kv_put(s, buf, kl, buf + kl, vl, lsn) < 0) {
            in->why = "out of memory";
            goto out;
        }
    }
    rc = 0;
out:
    if (rc < 0 && !in->why) in->why = "cut short";
    free(buf);
    return rc;
}

int kv_snap_load(struct kv_server *s, char *err, size_t errlen)
{
    uint64_t lsn;
    int r = ckpt_load(s->dir, snap_read, s, &lsn, err, errlen);
    if (r <= 0) return r;
    s->snap_lsn = s->applied_end = lsn;
    fprintf(stderr, "kv-server: loaded the checkpoint in %s: %zu keys at LSN %" PRIu64 "\n", s->dir,
            s->map.n, lsn);
    return 0;
}

void kv_ckpt_tick(struct kv_server *s)
{
    char msg[700];
    if (!s->ckpt) {
        if (!s->ckpt_every || s->applied_end - s->snap_lsn < s->ckpt_every ||
            ev_now_ms() < s->ckpt_retry_ms || wal_failed(s->wal, msg, sizeof(msg)))
            return;
        s->ckpt_lsn = s->applied_end;
        s->ckpt_keys = s->map.n;
        if (!(s->ckpt = ckpt_start(s->dir, s->wal, s->ckpt_lsn, snap_write, s))) {
            fprintf(stderr, "kv-server: checkpoint: %s\n", strerror(errno));
            s->ckpt_retry_ms = ev_now_ms() + KV_CKPT_RETRY_MS;
        }
        return;
    }
    /* the WAL a streaming replica has not flushed stays */
    int r = ckpt_poll(s->ckpt, walsnd_min(s->snd, WALSND_FLUSH), msg, sizeof(msg));
    if (r == 0) return;
    s->ckpt = NULL;
    fprintf(stderr, "kv-server: %s; %" PRIu64 " keys\n", msg, s->ckpt_keys);
    if (r > 0 || strstr(msg, " written, ")) s->snap_lsn = s->ckpt_lsn;
    if (r < 0) s->ckpt_retry_ms = ev_now_ms() + KV_CKPT_RETRY_MS;
}

void kv_ckpt_stop(struct kv_server *s)
{
    ckpt_abort(s->ckpt);
    s->ckpt = NULL;
}
