/* block: XREADGROUP ... BLOCK held on the event loop (long polling).  A blocked client's
 * arguments are copied, it waits in a FIFO per stream key and on an io/ev timer; an XADD
 * marks the key ready (broker_signal_key) and, after the command, block_serve_ready()
 * re-runs the waiting commands in arrival order; the timer replies *-1 (Redis's nil). */
#include <stdlib.h>
#include <string.h>

#include "labs/11-pubsub/broker.h"

void block_release(struct client *c)
{
    struct broker *b = c->b;
    for (int k = 0; k < c->nbkeys; k++) {
        const char *key = c->bargv[c->bkey0 + k];
        size_t kl = c->bargl[c->bkey0 + k];
        struct waitq *q = dict_get(&b->waiters, key, kl);
        if (!q) continue;
        for (size_t i = 0; i < q->n; i++) {
            if (q->v[i] == c) {
                memmove(&q->v[i], &q->v[i + 1], (q->n - i - 1) * sizeof(*q->v));
                q->n--;
                break;
            }
        }
        if (q->n == 0 && !q->ready) {
            dict_del(&b->waiters, key, kl);
            free(q->v);
            free(q);
        }
    }
    if (c->btimer) ev_timer_cancel(b->loop, c->btimer);
    for (int i = 0; i < c->bargc; i++)
        free(c->bargv[i]);
    free(c->bargv);
    free(c->bargl);
    c->bargv = NULL;
    c->bargl = NULL;
    c->bargc = c->nbkeys = 0;
    c->btimer = 0;
    c->flags &= ~CF_BLOCKED;
}

static void block_timeout(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct client *c = arg;
    c->btimer = 0;
    block_release(c);
    resp_add_null_array(RB(c)); /* what Redis replies when BLOCK times out */
    broker_touch(c);
    broker_client_process(c); /* commands pipelined behind the blocking one */
    broker_after_events(c->b);
}

int broker_block(struct client *c, int argc, const char **argv, const size_t *argl,
                 const char **keys, const size_t *keyl, int nkeys, uint64_t timeout_ms)
{
    struct broker *b = c->b;
    if (c->flags & CF_FAKE) return 0;
    c->bargv = calloc((size_t)argc, sizeof(*c->bargv));
    c->bargl = calloc((size_t)argc, sizeof(*c->bargl));
    if (!c->bargv || !c->bargl) goto fail;
    c->bargc = argc;
    for (int i = 0; i < argc; i++) {
        if (!(c->bargv[i] = malloc(argl[i] + 1))) goto fail;
        memcpy(c->bargv[i], argv[i], argl[i]);
        c->bargv[i][argl[i]] = 0;
        c->bargl[i] = argl[i];
    }
    c->bkey0 = (int)(keys - argv);
    for (int k = 0; k < nkeys; k++) {
        struct waitq *q = dict_get(&b->waiters, keys[k], keyl[k]);
        if (!q) {
            if (!(q = calloc(1, sizeof(*q))) || dict_put(&b->waiters, keys[k], keyl[k], q) < 0) {
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
        q->v[q->n++] = c;
        c->nbkeys = k + 1;
    }
    c->flags |= CF_BLOCKED;
    if (timeout_ms > 0 && !(c->btimer = ev_timer_add(b->loop, timeout_ms, block_timeout, c)))
        goto fail;
    return 0;
fail:
    block_release(c);
    return -1;
}

void broker_signal_key(struct broker *b, const char *key, size_t n)
{
    struct waitq *q = dict_get(&b->waiters, key, n);
    if (!q || q->ready || b->loading) return;
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

/* Retry, in arrival order, the readers blocked on keys that got entries. */
void block_serve_ready(struct broker *b)
{
    while (b->nready > 0) {
        struct pubsub_str key = b->ready[--b->nready];
        struct waitq *q = dict_get(&b->waiters, key.p, key.n);
        if (!q) {
            free(key.p);
            continue;
        }
        q->ready = 0;
        size_t n = q->n;
        struct client **snap = malloc(n * sizeof(*snap));
        if (snap) {
            memcpy(snap, q->v, n * sizeof(*snap));
            for (size_t i = 0; i < n; i++) {
                struct client *c = snap[i];
                /* Clients are freed only after this round, so c is valid; one that was
                 * served meanwhile and blocked again is just retried, harmlessly. */
                if (!(c->flags & CF_BLOCKED) || (c->flags & CF_CLOSE)) continue;
                size_t before = c->out.len;
                c->flags |= CF_REEXEC;
                cmd_dispatch(c, c->bargc, (const char **)c->bargv, c->bargl);
                c->flags &= ~CF_REEXEC;
                if (c->out.len != before) {
                    block_release(c);
                    broker_client_process(c);
                }
            }
            free(snap);
        }
        q = dict_get(&b->waiters, key.p, key.n);
        if (q && q->n == 0 && !q->ready) {
            dict_del(&b->waiters, key.p, key.n);
            free(q->v);
            free(q);
        }
        free(key.p);
    }
}
