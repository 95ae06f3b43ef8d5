/* block: XREADGROUP ... BLOCK held on the event loop (long polling).  A blocked client is
 * paused (io/rsrv: its next commands wait), its arguments are copied, and it waits in a
 * FIFO per stream key and on an io/ev timer.  An XADD marks the key ready
 * (block_signal_key); at the end of the round block_serve_ready() re-runs the waiting
 * commands in arrival order (rsrv_exec); the timer replies *-1 (Redis's nil). */
#include <stdlib.h>
#include <string.h>

#include "labs/11-pubsub/broker.h"

struct block_queue { /* clients blocked on one key, in arrival order */
    struct bclient **v;
    size_t n, cap;
    int ready; /* in the broker's ready list */
};

static void queue_drop_if_empty(struct broker *b, const char *key, size_t kl)
{
    struct block_queue *q = dict_get(&b->waiters, key, kl);
    if (q && q->n == 0 && !q->ready) {
        dict_del(&b->waiters, key, kl);
        free(q->v);
        free(q);
    }
}

void block_release(struct bclient *bc)
{
    struct broker *b = rsrv_app(bc->c);
    for (int k = 0; k < bc->nkeys; k++) {
        const char *key = bc->bargv[bc->key0 + k];
        size_t kl = bc->bargl[bc->key0 + k];
        struct block_queue *q = dict_get(&b->waiters, key, kl);
        for (size_t i = 0; q && i < q->n; i++) {
            if (q->v[i] == bc) {
                memmove(&q->v[i], &q->v[i + 1], (q->n - i - 1) * sizeof(*q->v));
                q->n--;
                break;
            }
        }
        queue_drop_if_empty(b, key, kl);
    }
    if (bc->timer) ev_timer_cancel(rsrv_loop(bc->c), bc->timer);
    for (int i = 0; i < bc->bargc; i++)
        free(bc->bargv[i]);
    free(bc->bargv);
    free(bc->bargl);
    bc->bargv = NULL;
    bc->bargl = NULL;
    bc->bargc = bc->nkeys = 0;
    bc->timer = 0;
}

static void block_timeout(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct bclient *bc = arg;
    bc->timer = 0;
    block_release(bc);
    resp_add_null_array(rsrv_reply(bc->c)); /* what Redis replies when BLOCK times out */
    rsrv_resume(bc->c);                     /* the commands pipelined behind it run */
}

int block_wait(struct rsrv_client *c, int argc, const char **argv, const size_t *argl, int key0,
               int nkeys, uint64_t timeout_ms)
{
    struct broker *b = rsrv_app(c);
    struct bclient *bc = rsrv_data(c);
    if (rsrv_is_replay(c)) return 0;
    bc->bargv = calloc((size_t)argc, sizeof(*bc->bargv));
    bc->bargl = calloc((size_t)argc, sizeof(*bc->bargl));
    if (!bc->bargv || !bc->bargl) goto fail;
    bc->bargc = argc;
    for (int i = 0; i < argc; i++) {
        if (!(bc->bargv[i] = malloc(argl[i] + 1))) goto fail;
        memcpy(bc->bargv[i], argv[i], argl[i]);
        bc->bargv[i][argl[i]] = 0;
        bc->bargl[i] = argl[i];
    }
    bc->key0 = key0;
    for (int k = 0; k < nkeys; k++) {
        const char *key = argv[key0 + k];
        size_t kl = argl[key0 + k];
        struct block_queue *q = dict_get(&b->waiters, key, kl);
        if (!q) {
            if (!(q = calloc(1, sizeof(*q))) || dict_put(&b->waiters, key, kl, q) < 0) {
                free(q);
                goto fail;
            }
        }
        if (q->n == q->cap) {
            size_t cap = q->cap ? q->cap * 2 : 4;
            void *v = realloc(q->v, cap * sizeof(*q->v));
            if (!v) goto fail;
            q->v = v;
            q->cap = cap;
        }
        q->v[q->n++] = bc;
        bc->nkeys = k + 1;
    }
    if (timeout_ms > 0 && !(bc->timer = ev_timer_add(rsrv_loop(c), timeout_ms, block_timeout, bc)))
        goto fail;
    rsrv_pause(c);
    return 0;
fail:
    block_release(bc);
    return -1;
}

void block_signal_key(struct rsrv_client *c, const char *key, size_t n)
{
    struct broker *b = rsrv_app(c);
    struct block_queue *q = dict_get(&b->waiters, key, n);
    if (!q || q->ready || rsrv_is_replay(c)) return;
    if (b->nready == b->capready) {
        size_t cap = b->capready ? b->capready * 2 : 8;
        void *v = realloc(b->ready, cap * sizeof(*b->ready));
        if (!v) return; /* the waiters still time out */
        b->ready = v;
        b->capready = cap;
    }
    char *k = malloc(n + 1);
    if (!k) return;
    memcpy(k, key, n);
    b->ready[b->nready].p = k;
    b->ready[b->nready].n = n;
    b->nready++;
    q->ready = 1;
}

void block_serve_ready(struct broker *b)
{
    while (b->nready > 0) {
        struct pubsub_str key = b->ready[--b->nready];
        struct block_queue *q = dict_get(&b->waiters, key.p, key.n);
        size_t n = q ? q->n : 0;
        struct bclient **snap = n ? malloc(n * sizeof(*snap)) : NULL;
        if (q) q->ready = 0;
        if (snap) {
            memcpy(snap, q->v, n * sizeof(*snap));
            for (size_t i = 0; i < n; i++) {
                struct bclient *bc = snap[i];
                /* Clients are freed only at the end of the round, so bc is valid; one
                 * served meanwhile is no longer paused and is skipped. */
                if (!rsrv_is_paused(bc->c) || rsrv_is_closing(bc->c)) continue;
                size_t before = rsrv_reply(bc->c)->len;
                bc->reexec = 1;
                rsrv_exec(bc->c, bc->bargc, (const char **)bc->bargv, bc->bargl);
                bc->reexec = 0;
                if (rsrv_reply(bc->c)->len != before) { /* served (or an error): done */
                    block_release(bc);
                    rsrv_resume(bc->c);
                }
            }
            free(snap);
        }
        queue_drop_if_empty(b, key.p, key.n);
        free(key.p);
    }
}
