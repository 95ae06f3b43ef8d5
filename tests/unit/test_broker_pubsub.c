/* Unit tests for the broker's subscription tables (pubsub): fan-out order, release. */
#include <criterion/criterion.h>
#include <string.h>

#include "labs/11-pubsub/pubsub.h"

struct got {
    struct pubsub_sub *who[16];
    const char *pat[16];
    int n;
};

static void rec(void *arg, struct pubsub_sub *s, const char *pat, size_t patlen)
{
    struct got *g = arg;
    g->who[g->n] = s;
    g->pat[g->n] = pat;
    g->n++;
}

Test(pubsub, fan_out_in_subscription_order_then_patterns)
{
    struct pubsub ps;
    struct pubsub_sub a, b, c;
    pubsub_init(&ps);
    pubsub_sub_init(&a);
    pubsub_sub_init(&b);
    pubsub_sub_init(&c);
    cr_assert_eq(pubsub_subscribe(&ps, &b, "news", 4), 1);
    cr_assert_eq(pubsub_subscribe(&ps, &a, "news", 4), 1);
    cr_assert_eq(pubsub_subscribe(&ps, &a, "news", 4), 0, "twice is once");
    cr_assert_eq(pubsub_psubscribe(&ps, &c, "n*", 2), 1);
    cr_assert_eq(pubsub_psubscribe(&ps, &a, "n*", 2), 1);
    cr_assert_eq(pubsub_count(&a), 2);
    struct got g = {0};
    cr_assert_eq(pubsub_publish(&ps, "news", 4, rec, &g), 4);
    cr_assert_eq(g.n, 4);
    cr_assert(g.who[0] == &b && g.who[1] == &a && !g.pat[0] && !g.pat[1]);
    cr_assert(g.who[2] == &c && g.who[3] == &a && g.pat[2] && !strcmp(g.pat[2], "n*"));
    memset(&g, 0, sizeof(g));
    cr_assert_eq(pubsub_publish(&ps, "other", 5, rec, &g), 0);
    cr_assert_eq(pubsub_unsubscribe(&ps, &a, "news", 4), 1);
    cr_assert_eq(pubsub_unsubscribe(&ps, &a, "news", 4), 0);
    cr_assert_eq(pubsub_punsubscribe(&ps, &c, "n*", 2), 1);
    memset(&g, 0, sizeof(g));
    cr_assert_eq(pubsub_publish(&ps, "news", 4, rec, &g), 2);
    pubsub_sub_release(&ps, &a);
    pubsub_sub_release(&ps, &b);
    pubsub_sub_release(&ps, &c);
    cr_assert_eq(ps.chans.n, 0, "empty channels are dropped");
    cr_assert_eq(ps.npats, 0);
    pubsub_free(&ps);
}

static void rec_count_only(void *arg, struct pubsub_sub *s, const char *pat, size_t patlen) {}

Test(pubsub, many_subscribers)
{
    struct pubsub ps;
    static struct pubsub_sub subs[500];
    pubsub_init(&ps);
    for (int i = 0; i < 500; i++) {
        pubsub_sub_init(&subs[i]);
        cr_assert_eq(pubsub_subscribe(&ps, &subs[i], "c", 1), 1);
    }
    for (int i = 0; i < 500; i += 2)
        pubsub_sub_release(&ps, &subs[i]);
    cr_assert_eq(pubsub_publish(&ps, "c", 1, rec_count_only, NULL), 250);
    for (int i = 1; i < 500; i += 2)
        pubsub_sub_release(&ps, &subs[i]);
    pubsub_free(&ps);
}
