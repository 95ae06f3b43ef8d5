/* pubsub: the subscription tables of the broker (channels and glob patterns ->
 * subscribers) and the fan-out of one published message, with Redis's semantics.
 *
 * Contract
 * - A subscriber is a struct pubsub_sub embedded in the caller's client; the tables
 *   keep pointers to it, so pubsub_sub_release() must run before that memory is freed.
 * - subscribe/psubscribe return 1 when added, 0 when already there, -1 when out of
 *   memory or over PUBSUB_MAX_PER_SUB subscriptions (nothing changed).
 *   unsubscribe/punsubscribe return 1 when removed, 0 when it was not subscribed.
 * - pubsub_count(s) is what Redis replies as the subscription count: channels + patterns.
 * - pubsub_publish() calls deliver once per receiver, first every channel subscriber
 *   in subscription order (pat == NULL), then for every pattern that matches, in
 *   pattern creation order, each of its subscribers; it returns the number of calls
 *   (what PUBLISH replies).  deliver must not change the tables (mark a client for
 *   closing and release it later).
 * - pubsub_sub_channel(s, i)/pubsub_sub_pattern(s, i) list a subscriber's names so the
 *   caller can unsubscribe from all (UNSUBSCRIBE with no argument, disconnect):
 *   patterns in subscription order (as Redis), channels in table order.
 */
#ifndef WIRELAB_LABS_PUBSUB_PUBSUB_H
#define WIRELAB_LABS_PUBSUB_PUBSUB_H

#include <stddef.h>

#include "io/rsrv/dict.h"

#define PUBSUB_MAX_PER_SUB 100000

struct pubsub_str {
    char *p;
    size_t n;
};

struct pubsub_sub {
    struct dict chans;       /* channel -> unused */
    struct pubsub_str *pats; /* subscription order */
    size_t npats, cappats;
};

struct pubsub_list {
    struct pubsub_str name;
    struct pubsub_sub **v;
    size_t n, cap;
};

struct pubsub {
    struct dict chans;         /* channel -> struct pubsub_list */
    struct pubsub_list **pats; /* creation order */
    size_t npats, cappats;
};

typedef void (*pubsub_deliver_fn)(void *arg, struct pubsub_sub *s, const char *pat, size_t patlen);

void pubsub_init(struct pubsub *ps);
void pubsub_free(struct pubsub *ps);
void pubsub_sub_init(struct pubsub_sub *s);
void pubsub_sub_release(struct pubsub *ps, struct pubsub_sub *s);

int pubsub_subscribe(struct pubsub *ps, struct pubsub_sub *s, const char *ch, size_t n);
int pubsub_unsubscribe(struct pubsub *ps, struct pubsub_sub *s, const char *ch, size_t n);
int pubsub_psubscribe(struct pubsub *ps, struct pubsub_sub *s, const char *pat, size_t n);
int pubsub_punsubscribe(struct pubsub *ps, struct pubsub_sub *s, const char *pat, size_t n);
size_t pubsub_count(const struct pubsub_sub *s);
long pubsub_publish(struct pubsub *ps, const char *ch, size_t n, pubsub_deliver_fn deliver,
                    void *arg);

#endif
