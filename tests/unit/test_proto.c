/* test_proto: the hand-written protobuf codec (parsers/proto/proto.h): round trips,
 * every truncation, hostile lengths and varints, nesting, unknown fields. */
#include "parsers/proto/proto.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static struct proto_order sample_order(void)
{
    static struct proto_customer c = {
        .id = 7, .name = {(const uint8_t *)"Ann", 3}, .tz_offset_min = -300, .vip = true};
    static struct proto_line_item items[2] = {{.sku = {(const uint8_t *)"A-1", 3},
                                               .quantity = 2,
                                               .price_cents = -1999,
                                               .weight_kg = 0.25,
                                               .discount = 0.5f},
                                              {.sku = {(const uint8_t *)"B", 1}, .quantity = 1}};
    static uint32_t tags[] = {1, 300, 70000};
    static int32_t adj[] = {-1, 2};
    static double samples[] = {1.5, -2.25};
    static struct proto_category sub = {.name = {(const uint8_t *)"phones", 6}};
    static struct proto_category cat = {
        .name = {(const uint8_t *)"electronics", 11}, .sub = &sub, .n_sub = 1};
    struct proto_order o = {.id = 42,
                            .customer = &c,
                            .items = items,
                            .n_items = 2,
                            .status = PROTO_PAID,
                            .created_ms = 1700000000000ull,
                            .zone = -3,
                            .flags = 5,
                            .balance = -123456789012ll,
                            .priority = -1,
                            .token = {(const uint8_t *)"\0\1\377", 3},
                            .tags = tags,
                            .n_tags = 3,
                            .adjustments = adj,
                            .n_adjustments = 2,
                            .ref = -9,
                            .samples = samples,
                            .n_samples = 2,
                            .note = {(const uint8_t *)"n", 1},
                            .category = &cat};
    return o;
}

Test(proto, round_trip_byte_identical)
{
    struct proto_order o = sample_order();
    uint8_t *b1, *b2;
    size_t l1, l2;
    cr_assert_eq(proto_encode(PROTO_ORDER, &o, &b1, &l1), 0);
    struct proto_arena a = {0};
    struct proto_error e;
    void *m;
    cr_assert_eq(proto_decode(PROTO_ORDER, b1, l1, &a, &m, &e), 0, "%s", e.msg);
    struct proto_order *d = m;
    cr_assert_eq(d->id, 42);
    cr_assert_eq(d->customer->tz_offset_min, -300);
    cr_assert_eq(d->n_items, 2);
    cr_assert_eq(d->items[0].price_cents, -1999);
    cr_assert_eq(d->n_tags, 3);
    cr_assert_eq(d->tags[2], 70000);
    cr_assert_eq(d->adjustments[0], -1);
    cr_assert_eq(d->balance, -123456789012ll);
    cr_assert_eq(d->category->sub[0].name.len, 6);
    cr_assert_eq(proto_encode(PROTO_ORDER, d, &b2, &l2), 0);
    cr_assert_eq(l1, l2);
    cr_assert(!memcmp(b1, b2, l1));
    proto_arena_free(&a);
    free(b1);
    free(b2);
}

/* Where each top-level field of b[0..l) ends, read with the wire format's rules alone
 * (a varint key, then a varint, 8 bytes, a varint length and its bytes, or 4 bytes),
 * not with the decoder under test.  Returns how many; 0 if b is not well formed. */
static size_t field_ends(const uint8_t *b, size_t l, size_t *ends, size_t max)
{
    size_t at = 0, n = 0;
    while (at < l && n < max) {
        uint64_t v[2] = {0, 0};
        for (int j = 0; j < 2; j++) { /* the key, then a varint value or a length */
            int shift = 0;
            do {
                if (at >= l || shift > 63) return 0;
                v[j] |= (uint64_t)(b[at] & 0x7f) << shift;
                shift += 7;
            } while (b[at++] & 0x80);
            if (j == 0 && (v[0] & 7) != 0 && (v[0] & 7) != 2) break;
        }
        switch (v[0] & 7) {
        case 0:
            break;
        case 1:
            at += 8;
            break;
        case 2:
            at += v[1];
            break;
        case 5:
            at += 4;
            break;
        default:
            return 0;
        }
        if (at > l) return 0;
        ends[n++] = at;
    }
    return n;
}

/* A cut at a top-level field boundary is a shorter valid message, which re-encodes to
 * exactly the cut bytes; a cut anywhere else is an error at or before the cut. */
Test(proto, every_truncation_is_an_error_or_a_valid_prefix)
{
    struct proto_order o = sample_order();
    uint8_t *b;
    size_t l, ends[64];
    cr_assert_eq(proto_encode(PROTO_ORDER, &o, &b, &l), 0);
    size_t nends = field_ends(b, l, ends, 64);
    cr_assert_geq(nends, 15, "%zu top-level fields in the sample", nends);
    cr_assert_eq(ends[nends - 1], l);
    size_t valid = 0;
    for (size_t k = 0; k < l; k++) {
        int boundary = k == 0;
        for (size_t j = 0; j < nends; j++)
            boundary |= ends[j] == k;
        uint8_t *cut = malloc(k ? k : 1);
        memcpy(cut, b, k);
        struct proto_arena a = {0};
        struct proto_error e;
        void *m;
        int rc = proto_decode(PROTO_ORDER, cut, k, &a, &m, &e);
        if (boundary) {
            cr_assert_eq(rc, 0, "cut at field boundary %zu: rc %d (%s)", k, rc, e.msg);
            uint8_t *re;
            size_t rl;
            cr_assert_eq(proto_encode(PROTO_ORDER, m, &re, &rl), 0);
            cr_assert(rl == k && !memcmp(re, cut, k), "cut at %zu re-encodes to %zu bytes", k, rl);
            free(re);
            valid++;
        } else {
            cr_assert_eq(rc, -1, "cut at %zu, inside a field: rc %d", k, rc);
            cr_assert_leq(e.offset, k, "cut at %zu: error offset %zu", k, e.offset);
        }
        proto_arena_free(&a);
        free(cut);
    }
    cr_assert_eq(valid, nends, "every boundary but the full length is a valid prefix");
    free(b);
}

static int decode_raw(const char *bytes, size_t len, enum proto_type t, struct proto_error *e)
{
    struct proto_arena a = {0};
    void *m;
    int rc = proto_decode(t, (const uint8_t *)bytes, len, &a, &m, e);
    proto_arena_free(&a);
    return rc;
}

Test(proto, hostile_inputs)
{
    struct proto_error e;
    /* 11-byte varint for field 1 */
    cr_assert_eq(
        decode_raw("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12, PROTO_ORDER, &e), -1);
    cr_assert(strstr(e.msg, "10 bytes"));
    /* 4 GiB length prefix for the note */
    cr_assert_eq(decode_raw("\x7a\x80\x80\x80\x80\x10xx", 8, PROTO_ORDER, &e), -1);
    cr_assert(strstr(e.msg, "past the end"));
    cr_assert_eq(e.offset, 1);
    /* field number 0, wrong wire type, group */
    cr_assert_eq(decode_raw("\x00\x01", 2, PROTO_ORDER, &e), -1);
    cr_assert_eq(decode_raw("\x0a\x01x", 3, PROTO_ORDER, &e), -1);
    cr_assert_eq(decode_raw("\x0b\x0c", 2, PROTO_ORDER, &e), -1);
    /* invalid UTF-8 in a string field; fine in bytes */
    cr_assert_eq(decode_raw("\x7a\x01\xff", 3, PROTO_ORDER, &e), -1);
    cr_assert_eq(decode_raw("\x52\x01\xff", 3, PROTO_ORDER, &e), 0);
}

Test(proto, nesting_limit)
{
    /* Category{sub{sub{...}}} 150 deep, built from the inside out. */
    uint8_t buf[1024];
    size_t len = 0;
    for (int i = 0; i < 150; i++) {
        memmove(buf + 2, buf, len);
        buf[0] = 0x12;
        buf[1] = (uint8_t)len;
        len += 2;
        if (len > 120) break; /* keep single-byte lengths: 60 levels */
    }
    struct proto_error e;
    cr_assert_eq(decode_raw((const char *)buf, len, PROTO_CATEGORY, &e), 0);
    /* Two-byte lengths from here: grow to 150 levels. */
    size_t depth = len / 2;
    uint8_t *big = malloc(8192);
    memcpy(big, buf, len);
    for (; depth < 150; depth++) {
        size_t hl = len < 128 ? 2 : 3;
        memmove(big + hl, big, len);
        big[0] = 0x12;
        if (hl == 2)
            big[1] = (uint8_t)len;
        else
            big[1] = (uint8_t)(0x80 | (len & 0x7f)), big[2] = (uint8_t)(len >> 7);
        len += hl;
    }
    cr_assert_eq(decode_raw((const char *)big, len, PROTO_CATEGORY, &e), -1);
    cr_assert(strstr(e.msg, "deeper than 100"));
    free(big);
}

Test(proto, unknown_fields_kept_and_packed_unpacked_accepted)
{
    /* id=1, unknown field 99 varint 5, tags unpacked (two elements), samples unpacked */
    const char in[] = "\x08\x01\x98\x06\x05\x58\x07\x58\x08\x71\x00\x00\x00\x00\x00\x00\xf8\x3f";
    struct proto_arena a = {0};
    struct proto_error e;
    void *m;
    cr_assert_eq(proto_decode(PROTO_ORDER, (const uint8_t *)in, sizeof in - 1, &a, &m, &e), 0, "%s",
                 e.msg);
    struct proto_order *o = m;
    cr_assert_eq(o->n_tags, 2);
    cr_assert_eq(o->tags[1], 8);
    cr_assert_eq(o->n_samples, 1);
    cr_assert_eq(o->samples[0], 1.5);
    cr_assert_eq(o->unknown.n, 1);
    cr_assert_eq(o->unknown.v[0].field, 99);
    uint8_t *out;
    size_t l;
    cr_assert_eq(proto_encode(PROTO_ORDER, o, &out, &l), 0);
    /* canonical: id, tags packed, samples packed, then the unknown field */
    const char want[] =
        "\x08\x01\x5a\x02\x07\x08\x72\x08\x00\x00\x00\x00\x00\x00\xf8\x3f\x98\x06\x05";
    cr_assert_eq(l, sizeof want - 1);
    cr_assert(!memcmp(out, want, l));
    free(out);
    proto_arena_free(&a);
}
