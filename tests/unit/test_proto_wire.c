/* test_proto_wire: the hand protobuf decoder against the wire rules protoc applies
 * (empty packed runs, tag length, unknown groups) and the memory bound of proto.h,
 * both sides of it: what protobuf-c accepts is never refused for memory, and the arena
 * stays within 4 * D + 64 KiB of the decoded size D on every hostile shape. */
#include "parsers/proto/proto.h"
#include "parsers/proto/proto_impl.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int decode(enum proto_type t, const void *in, size_t len, struct proto_arena *a, void **m,
                  struct proto_error *e)
{
    memset(a, 0, sizeof *a);
    return proto_decode(t, in, len, a, m, e);
}

Test(proto_wire, empty_packed_run_is_accepted)
{
    struct proto_arena a;
    struct proto_error e;
    void *m;
    /* tags (11), adjustments (12, declared unpacked: a packed run is still read) and
     * samples (14), each an empty packed run */
    static const uint8_t in[] = {0x5a, 0x00, 0x62, 0x00, 0x72, 0x00, 0x08, 0x07};
    cr_assert_eq(decode(PROTO_ORDER, in, sizeof in, &a, &m, &e), 0, "%s", e.msg);
    struct proto_order *o = m;
    cr_assert_eq(o->n_tags + o->n_adjustments + o->n_samples, 0);
    cr_assert_eq(o->id, 7);
    proto_arena_free(&a);
}

Test(proto_wire, a_tag_is_at_most_five_bytes)
{
    struct proto_arena a;
    struct proto_error e;
    void *m;
    /* field 1 (varint) padded to 5 bytes: a uint32 varint, accepted */
    static const uint8_t five[] = {0x88, 0x80, 0x80, 0x80, 0x00, 0x2a};
    cr_assert_eq(decode(PROTO_ORDER, five, sizeof five, &a, &m, &e), 0, "%s", e.msg);
    cr_assert_eq(((struct proto_order *)m)->id, 42);
    proto_arena_free(&a);
    static const uint8_t six[] = {0x88, 0x80, 0x80, 0x80, 0x80, 0x00, 0x2a};
    cr_assert_eq(decode(PROTO_ORDER, six, sizeof six, &a, &m, &e), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert(strstr(e.msg, "tag longer than 5 bytes"), "%s", e.msg);
    cr_assert_eq(e.offset, 0);
    proto_arena_free(&a);
    static const uint8_t ten[] = {0x88, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x2a};
    cr_assert_eq(decode(PROTO_ORDER, ten, sizeof ten, &a, &m, &e), -1);
    proto_arena_free(&a);
    /* 5 bytes but more than 32 bits */
    static const uint8_t big[] = {0x88, 0x80, 0x80, 0x80, 0x10, 0x2a};
    cr_assert_eq(decode(PROTO_ORDER, big, sizeof big, &a, &m, &e), -1);
    proto_arena_free(&a);
}

Test(proto_wire, unknown_groups_are_kept_like_protoc)
{
    struct proto_arena a;
    struct proto_error e;
    void *m;
    /* id 1, then field 99 as a group holding field 1 = 5 and a nested group 98, then
     * field 2 of Order... no: the note (15) = "x" after it */
    static const uint8_t in[] = {0x08, 0x01, 0x9b, 0x06, 0x08, 0x05, 0x93, 0x06, 0x10,
                                 0x01, 0x94, 0x06, 0x9c, 0x06, 0x7a, 0x01, 'x'};
    cr_assert_eq(decode(PROTO_ORDER, in, sizeof in, &a, &m, &e), 0, "%s", e.msg);
    struct proto_order *o = m;
    cr_assert_eq(o->unknown.n, 1);
    cr_assert_eq(o->unknown.v[0].field, 99);
    cr_assert_eq(o->unknown.v[0].wire_type, 3);
    cr_assert_eq(o->unknown.v[0].len, 10); /* everything up to and with the end tag */
    cr_assert_eq(o->note.len, 1);
    uint8_t *out;
    size_t l;
    cr_assert_eq(proto_encode(PROTO_ORDER, o, &out, &l), 0);
    /* canonical order puts the note before the unknown field */
    static const uint8_t want[] = {0x08, 0x01, 0x7a, 0x01, 'x',  0x9b, 0x06, 0x08, 0x05,
                                   0x93, 0x06, 0x10, 0x01, 0x94, 0x06, 0x9c, 0x06};
    cr_assert_eq(l, sizeof want);
    cr_assert(!memcmp(out, want, l));
    free(out);
    proto_arena_free(&a);
    /* a group that ends with another field's end tag, one that never ends, an end
     * without a start, a known field sent as a group */
    static const uint8_t bad1[] = {0x9b, 0x06, 0x08, 0x05, 0x94, 0x06};
    static const uint8_t bad2[] = {0x9b, 0x06, 0x08, 0x05};
    static const uint8_t bad3[] = {0x9c, 0x06};
    static const uint8_t bad4[] = {0x0b, 0x0c};
    const struct {
        const uint8_t *p;
        size_t n;
        const char *msg;
    } bad[] = {{bad1, sizeof bad1, "does not match"},
               {bad2, sizeof bad2, "not closed"},
               {bad3, sizeof bad3, "without its start"},
               {bad4, sizeof bad4, "wrong wire type"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(decode(PROTO_ORDER, bad[i].p, bad[i].n, &a, &m, &e), -1, "case %zu", i);
        cr_assert(strstr(e.msg, bad[i].msg), "case %zu: %s", i, e.msg);
        proto_arena_free(&a);
    }
    /* groups nested past the depth limit */
    uint8_t deep[2 * 2 * (PROTO_MAX_DEPTH + 2)];
    size_t n = 0;
    for (int i = 0; i < PROTO_MAX_DEPTH + 2; i++)
        deep[n++] = 0x9b, deep[n++] = 0x06;
    for (int i = 0; i < PROTO_MAX_DEPTH + 2; i++)
        deep[n++] = 0x9c, deep[n++] = 0x06;
    cr_assert_eq(decode(PROTO_ORDER, deep, n, &a, &m, &e), -1);
    cr_assert(strstr(e.msg, "too deep"), "%s", e.msg);
    proto_arena_free(&a);
}

/* ---- the memory bound: D, the decoded size of proto.h, computed from the tree ---- */

static size_t unknown_size(const struct proto_unknowns *u)
{
    return u->n * sizeof(struct proto_unknown);
}

static size_t category_size(const struct proto_category *c)
{
    size_t s = unknown_size(&c->unknown) + c->n_sub * sizeof *c->sub;
    for (size_t i = 0; i < c->n_sub; i++)
        s += category_size(&c->sub[i]);
    return s;
}

static size_t order_size(const struct proto_order *o)
{
    size_t s = unknown_size(&o->unknown) + o->n_items * sizeof *o->items +
               o->n_tags * sizeof *o->tags + o->n_adjustments * sizeof *o->adjustments +
               o->n_samples * sizeof *o->samples;
    for (size_t i = 0; i < o->n_items; i++)
        s += unknown_size(&o->items[i].unknown);
    if (o->customer) s += sizeof *o->customer + unknown_size(&o->customer->unknown);
    if (o->category) s += sizeof *o->category + category_size(o->category);
    return s;
}

static size_t batch_size(const struct proto_order_batch *b)
{
    size_t s = sizeof *b + unknown_size(&b->unknown) + b->n_orders * sizeof *b->orders;
    for (size_t i = 0; i < b->n_orders; i++)
        s += order_size(&b->orders[i]);
    return s;
}

/* A growable byte string for building inputs. */
struct bytes {
    uint8_t *p;
    size_t n, cap;
};

static void put(struct bytes *b, const void *s, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->p = realloc(b->p, b->cap);
        cr_assert(b->p);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void put_varint(struct bytes *b, uint64_t v)
{
    uint8_t t[10];
    size_t n = 0;
    do {
        t[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    put(b, t, n);
}

/* field f, wire type 2, the bytes of m */
static void put_msg(struct bytes *b, uint32_t f, const struct bytes *m)
{
    put_varint(b, (uint64_t)f << 3 | 2);
    put_varint(b, m->n);
    put(b, m->p, m->n);
}

/* Decodes b as an OrderBatch; the arena must hold at most 4 * D + 64 KiB.  Returns
 * arena bytes / D (for the usual case's tighter check). */
static double check_bound(const struct bytes *b, const char *what)
{
    struct proto_arena a;
    struct proto_error e;
    void *m;
    cr_assert_eq(decode(PROTO_ORDER_BATCH, b->p, b->n, &a, &m, &e), 0, "%s: %s", what, e.msg);
    size_t d = batch_size(m);
    cr_assert_leq(a.used, 4 * d + 65536, "%s: arena %zu bytes for D = %zu", what, a.used, d);
    double r = (double)a.used / (double)d;
    proto_arena_free(&a);
    return r;
}

Test(proto_wire, memory_stays_within_four_times_the_decoded_size)
{
    struct bytes b = {0}, m = {0}, c = {0};
    /* 100,000 empty orders (200 KB of input; protobuf-c accepts it) */
    for (int i = 0; i < 100000; i++)
        put(&b, "\x0a\x00", 2);
    cr_assert_leq(check_bound(&b, "empty orders"), 1.2);
    /* one order with 100,000 line items: the array is counted, not grown */
    b.n = m.n = 0;
    for (int i = 0; i < 100000; i++)
        put(&m, "\x1a\x02\x10\x01", 4);
    put_msg(&b, 1, &m);
    cr_assert_leq(check_bound(&b, "many items"), 1.2);
    /* 50,000 packed and 50,000 unpacked tags, interleaved in runs */
    b.n = m.n = 0;
    for (int i = 0; i < 10000; i++) {
        put(&m, "\x5a\x05\x01\x02\x03\x04\x05", 7);
        for (int k = 0; k < 5; k++)
            put(&m, "\x58\x09", 2);
    }
    put_msg(&b, 1, &m);
    cr_assert_leq(check_bound(&b, "tags"), 1.2);
    /* the category merged 20,000 times, each occurrence bringing one sub-category: the
     * one array the count cannot size, grown by doubling */
    b.n = m.n = c.n = 0;
    put(&c, "\x12\x02\x0a\x00", 4); /* sub { name: "" } */
    for (int i = 0; i < 20000; i++)
        put_msg(&m, 16, &c);
    put_msg(&b, 1, &m);
    check_bound(&b, "merged categories");
    /* unknown fields in line items (not counted) and in orders (counted) */
    b.n = m.n = c.n = 0;
    for (int i = 0; i < 20000; i++)
        put(&c, "\xa0\x06\x01", 3); /* field 100 varint 1 */
    for (int i = 0; i < 5; i++)
        put_msg(&m, 3, &c);
    put(&m, c.p, c.n);
    put_msg(&b, 1, &m);
    check_bound(&b, "unknown fields");
    free(b.p);
    free(m.p);
    free(c.p);
}

/* The other side: inputs protobuf-c accepts that the old bound (160 bytes of arena per
 * input byte) refused are accepted, by both. */
Test(proto_wire, what_protobuf_c_accepts_is_not_refused_for_memory)
{
    struct bytes b = {0};
    for (int i = 0; i < 129; i++) /* 129 empty orders in 258 bytes */
        put(&b, "\x0a\x00", 2);
    for (size_t k = 0; k < 2; k++) {
        const struct parser_impl *p = k ? &proto_protobufc_impl : &proto_hand_impl;
        struct parse_result r;
        memset(&r, 0, sizeof r);
        cr_assert_eq(p->parse(b.p, b.n, NULL, &r, NULL), 0, "%s: %s", p->name, r.err);
    }
    free(b.p);
}

Test(proto_wire, the_arena_limit_is_an_error_not_a_crash)
{
    struct bytes b = {0};
    for (int i = 0; i < 100000; i++)
        put(&b, "\x0a\x00", 2);
    struct proto_arena a = {.limit = 1 << 20};
    struct proto_error e;
    void *m;
    cr_assert_eq(proto_decode(PROTO_ORDER_BATCH, b.p, b.n, &a, &m, &e), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert(strstr(e.msg, "memory limit"), "%s", e.msg);
    cr_assert_leq(a.used, (size_t)1 << 20);
    proto_arena_free(&a);
    free(b.p);
}
