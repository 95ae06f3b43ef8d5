/* Unit tests for labs/11-pubsub/stream: IDs, auto IDs, range seeks, consumer groups, PEL. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "labs/11-pubsub/stream.h"

static struct stream_id id(uint64_t ms, uint64_t seq)
{
    return (struct stream_id){ms, seq};
}

static void add(struct stream *s, uint64_t ms, uint64_t seq)
{
    char *enc = strdup("*0\r\n");
    cr_assert_eq(stream_append(s, id(ms, seq), enc, 4), 0);
}

Test(stream, id_parse_and_format)
{
    struct stream_id x;
    int had;
    cr_assert_eq(stream_id_parse("5-3", 3, 0, &x, &had), 0);
    cr_assert(x.ms == 5 && x.seq == 3 && had);
    cr_assert_eq(stream_id_parse("7", 1, UINT64_MAX, &x, &had), 0);
    cr_assert(x.ms == 7 && x.seq == UINT64_MAX && !had);
    cr_assert_lt(stream_id_parse("7-x", 3, 0, &x, NULL), 0);
    cr_assert_lt(stream_id_parse("-1", 2, 0, &x, NULL), 0);
    cr_assert_lt(stream_id_parse("", 0, 0, &x, NULL), 0);
    cr_assert_lt(stream_id_parse("18446744073709551616", 20, 0, &x, NULL), 0, "overflow");
    char buf[STREAM_ID_MAX];
    cr_assert_eq(stream_id_fmt(id(UINT64_MAX, UINT64_MAX), buf), 41);
    cr_assert_str_eq(buf, "18446744073709551615-18446744073709551615");
    x = id(1, UINT64_MAX);
    cr_assert_eq(stream_id_incr(&x), 0);
    cr_assert(x.ms == 2 && x.seq == 0);
    cr_assert_eq(stream_id_decr(&x), 0);
    cr_assert(x.ms == 1 && x.seq == UINT64_MAX);
    x = id(0, 0);
    cr_assert_lt(stream_id_decr(&x), 0);
}

Test(stream, auto_ids_follow_the_clock_and_the_top)
{
    struct stream *s = stream_new();
    struct stream_id x;
    cr_assert_eq(stream_auto_id(s, 1000, &x), 0);
    cr_assert(x.ms == 1000 && x.seq == 0);
    add(s, 1000, 0);
    cr_assert_eq(stream_auto_id(s, 1000, &x), 0);
    cr_assert(x.ms == 1000 && x.seq == 1, "same millisecond: next sequence");
    cr_assert_eq(stream_auto_id(s, 900, &x), 0);
    cr_assert(x.ms == 1000 && x.seq == 1, "a clock that went back never goes below the top");
    cr_assert_eq(stream_auto_seq(s, 1000, &x), 0);
    cr_assert(x.ms == 1000 && x.seq == 1);
    cr_assert_lt(stream_auto_seq(s, 999, &x), 0);
    cr_assert_eq(stream_auto_seq(s, 2000, &x), 0);
    cr_assert(x.ms == 2000 && x.seq == 0);
    stream_free(s);
}

Test(stream, seek_and_find)
{
    struct stream *s = stream_new();
    for (uint64_t i = 1; i <= 100; i++)
        add(s, i * 10, i % 3);
    cr_assert_eq(s->n, 100);
    cr_assert_eq(stream_seek(s, id(0, 0)), 0);
    cr_assert_eq(stream_seek(s, id(10, 1)), 0);
    cr_assert_eq(stream_seek(s, id(10, 2)), 1);
    cr_assert_eq(stream_seek(s, id(5000, 0)), 100);
    cr_assert_eq(stream_find(s, id(500, 50 % 3)), 49);
    cr_assert_eq(stream_find(s, id(500, 0)), -1);
    stream_free(s);
}

Test(stream, groups_and_consumers_are_sorted_by_name)
{
    struct stream *s = stream_new();
    cr_assert_not_null(stream_group_create(s, "b", 1, id(0, 0)));
    cr_assert_not_null(stream_group_create(s, "a", 1, id(0, 0)));
    cr_assert_null(stream_group_create(s, "a", 1, id(0, 0)), "BUSYGROUP");
    cr_assert_str_eq(s->groups[0]->name, "a");
    struct stream_group *g = stream_group_find(s, "b", 1);
    cr_assert_not_null(g);
    int created;
    stream_consumer_get(g, "zed", 3, 1, &created);
    cr_assert(created);
    stream_consumer_get(g, "amy", 3, 1, &created);
    stream_consumer_get(g, "zed", 3, 1, &created);
    cr_assert(!created);
    cr_assert_eq(g->ncons, 2);
    cr_assert_str_eq(g->cons[0]->name, "amy");
    cr_assert_eq(stream_group_destroy(s, "a", 1), 1);
    cr_assert_eq(stream_group_destroy(s, "a", 1), 0);
    stream_free(s);
}

Test(stream, pel_delivery_ack_claim_and_consumer_delete)
{
    struct stream *s = stream_new();
    for (uint64_t i = 1; i <= 5; i++)
        add(s, i, 0);
    struct stream_group *g = stream_group_create(s, "g", 1, id(0, 0));
    struct stream_consumer *c1 = stream_consumer_get(g, "c1", 2, 0, NULL);
    struct stream_consumer *c2 = stream_consumer_get(g, "c2", 2, 0, NULL);
    for (uint64_t i = 5; i >= 1; i--) /* out of order: the PEL stays sorted */
        cr_assert_not_null(stream_pel_deliver(g, id(i, 0), i % 2 ? c1 : c2, 100));
    cr_assert_eq(g->npel, 5);
    for (size_t i = 0; i < 5; i++)
        cr_assert_eq(g->pel[i].id.ms, i + 1);
    cr_assert_eq(c1->pending, 3);
    cr_assert_eq(c2->pending, 2);
    /* a re-delivery changes the owner and restarts the count, as Redis */
    g->pel[0].count = 7;
    struct stream_pel *p = stream_pel_deliver(g, id(1, 0), c2, 200);
    cr_assert_eq(p->count, 1);
    cr_assert_eq(p->owner, c2);
    cr_assert_eq(c1->pending, 2);
    cr_assert_eq(c2->pending, 3);
    long k = stream_pel_find(g, id(3, 0));
    cr_assert_eq(k, 2);
    stream_pel_remove(g, (size_t)k);
    cr_assert_eq(stream_pel_find(g, id(3, 0)), -1);
    cr_assert_eq(c1->pending, 1);
    stream_pel_set_owner(g, &g->pel[0], c1);
    cr_assert_eq(c1->pending, 2);
    cr_assert_eq(stream_consumer_delete(g, "c2", 2), 2);
    cr_assert_eq(g->npel, 2);
    cr_assert_eq(stream_consumer_delete(g, "c2", 2), -1);
    stream_free(s);
}
