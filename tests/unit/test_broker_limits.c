/* Unit tests for the broker's output-buffer rule (oblimit) and subscription tables (pubsub). */
#include <criterion/criterion.h>
#include <string.h>

#include "labs/11-pubsub/oblimit.h"
#include "labs/11-pubsub/pubsub.h"

Test(oblimit, hard_limit_cuts_at_once)
{
    struct oblimit l = {1000, 100, 60};
    uint64_t since = 0;
    cr_assert(!oblimit_over(&l, 999, &since, 5000));
    cr_assert(oblimit_over(&l, 1000, &since, 5000));
}

Test(oblimit, soft_limit_needs_to_last)
{
    struct oblimit l = {0, 100, 2};
    uint64_t since = 0;
    cr_assert(!oblimit_over(&l, 150, &since, 10000), "first time above soft starts the clock");
    cr_assert_eq(since, 10000);
    cr_assert(!oblimit_over(&l, 150, &since, 12000), "2 s is not more than 2 s");
    cr_assert(oblimit_over(&l, 150, &since, 12001));
    since = 0;
    cr_assert(!oblimit_over(&l, 150, &since, 20000));
    cr_assert(!oblimit_over(&l, 50, &since, 21000), "dropping below soft resets the clock");
    cr_assert_eq(since, 0);
    cr_assert(!oblimit_over(&l, 150, &since, 23000));
}

Test(oblimit, zero_disables)
{
    struct oblimit l = {0, 0, 0};
    uint64_t since = 0;
    cr_assert(!oblimit_over(&l, (size_t)1 << 40, &since, 1));
}

Test(oblimit, parse_redis_sizes)
{
    struct oblimit l;
    cr_assert_eq(oblimit_parse("32mb", "8mb", "60", &l), 0);
    cr_assert_eq(l.hard, 32u << 20);
    cr_assert_eq(l.soft, 8u << 20);
    cr_assert_eq(l.soft_secs, 60);
    size_t v;
    cr_assert_eq(oblimit_parse_size("1k", &v), 0);
    cr_assert_eq(v, 1000);
    cr_assert_eq(oblimit_parse_size("1KB", &v), 0);
    cr_assert_eq(v, 1024);
    cr_assert_eq(oblimit_parse_size("1gb", &v), 0);
    cr_assert_eq(v, 1u << 30);
    cr_assert_lt(oblimit_parse_size("12x", &v), 0);
    cr_assert_lt(oblimit_parse_size("-1", &v), 0);
    cr_assert_lt(oblimit_parse("1mb", "1mb", "x", &l), 0);
}

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
