/* Unit tests for parsers/utf8: the tree's one UTF-8 checker (JSON, XML, protobuf
 * strings and WebSocket text), against a reference written from RFC 3629's definition
 * (decode by the bit pattern, then refuse overlongs, surrogates and > U+10FFFF) on
 * every 1-, 2- and 3-byte sequence and every 4-byte lead with its boundary bytes; the
 * streaming form split at every point. */
#include <criterion/criterion.h>
#include <string.h>

#include "parsers/utf8.h"

/* The reference: length of the well-formed sequence at p (avail bytes) and its code
 * point, or 0.  Slow and plain on purpose. */
static size_t ref_seq(const uint8_t *p, size_t avail, uint32_t *cp)
{
    size_t n;
    uint32_t c, min;
    if (p[0] < 0x80) return *cp = p[0], 1;
    if ((p[0] & 0xE0) == 0xC0)
        n = 2, c = p[0] & 0x1F, min = 0x80;
    else if ((p[0] & 0xF0) == 0xE0)
        n = 3, c = p[0] & 0x0F, min = 0x800;
    else if ((p[0] & 0xF8) == 0xF0)
        n = 4, c = p[0] & 0x07, min = 0x10000;
    else
        return 0;
    if (avail < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        c = c << 6 | (p[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    *cp = c;
    return n;
}

static void check_one(const uint8_t *b, size_t n)
{
    uint32_t want_cp = 0, got_cp = 0;
    size_t want = ref_seq(b, n, &want_cp);
    size_t got = utf8_decode(b, n, &got_cp);
    cr_assert_eq(got, want, "%02x %02x %02x %02x (%zu bytes): %zu, want %zu", b[0],
                 n > 1 ? b[1] : 0, n > 2 ? b[2] : 0, n > 3 ? b[3] : 0, n, got, want);
    if (want) cr_assert_eq(got_cp, want_cp);
    if (b[0] >= 0x80) cr_assert_eq(utf8_seq(b, n), want);
    /* utf8_valid and utf8_feed agree on the whole n bytes */
    size_t i = 0;
    int ok = 1;
    while (ok && i < n) {
        uint32_t cp;
        size_t k = ref_seq(b + i, n - i, &cp);
        ok = k > 0;
        i += k;
    }
    cr_assert_eq(utf8_valid(b, n), ok);
    uint32_t st = 0;
    int fed = utf8_feed(&st, b, n) == 0 && st == 0;
    cr_assert_eq(fed, ok, "feed %02x %02x %02x (%zu)", b[0], n > 1 ? b[1] : 0, n > 2 ? b[2] : 0, n);
}

Test(utf8, every_short_sequence_against_the_reference)
{
    uint8_t b[4];
    for (unsigned x = 0; x < 256; x++) {
        b[0] = (uint8_t)x;
        check_one(b, 1);
        for (unsigned y = 0; y < 256; y++) {
            b[1] = (uint8_t)y;
            check_one(b, 2);
        }
    }
    for (unsigned x = 0xE0; x < 0x100; x++)
        for (unsigned y = 0; y < 256; y++)
            for (unsigned z = 0; z < 256; z++) {
                b[0] = (uint8_t)x, b[1] = (uint8_t)y, b[2] = (uint8_t)z;
                check_one(b, 3);
            }
    /* 4-byte leads with the bytes at every range boundary */
    static const uint8_t edge[] = {0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF};
    for (unsigned x = 0xF0; x < 0x100; x++)
        for (size_t i = 0; i < sizeof edge; i++)
            for (size_t j = 0; j < sizeof edge; j++)
                for (size_t k = 0; k < sizeof edge; k++) {
                    b[0] = (uint8_t)x, b[1] = edge[i], b[2] = edge[j], b[3] = edge[k];
                    check_one(b, 4);
                    check_one(b, 3); /* cut short */
                }
}

Test(utf8, table)
{
    cr_assert(utf8_valid((const uint8_t *)"", 0));
    cr_assert(utf8_valid((const uint8_t *)"plain ascii", 11));
    cr_assert(utf8_valid((const uint8_t *)"\xF0\x9F\x98\x80", 4)); /* U+1F600 */
    cr_assert(utf8_valid((const uint8_t *)"\xF4\x8F\xBF\xBF", 4)); /* U+10FFFF */
    cr_assert(utf8_valid((const uint8_t *)"\xEF\xBF\xBF", 3));
    cr_assert(!utf8_valid((const uint8_t *)"\xE0\x80\x80", 3)); /* overlong */
    cr_assert(!utf8_valid((const uint8_t *)"\xED\xA0\x80", 3)); /* surrogate */
    cr_assert(!utf8_valid((const uint8_t *)"\xF0\x80\x80\x80", 4));
    cr_assert(!utf8_valid((const uint8_t *)"\xF5\x80\x80\x80", 4));
    cr_assert(!utf8_valid((const uint8_t *)"\x80", 1));
    cr_assert(!utf8_valid((const uint8_t *)"\xC2", 1));
    uint8_t o[4];
    static const uint32_t cps[] = {0,      0x7F,   0x80,   0x7FF,   0x800,
                                   0xD7FF, 0xE000, 0xFFFF, 0x10000, 0x10FFFF};
    for (size_t i = 0; i < sizeof cps / sizeof cps[0]; i++) {
        uint32_t back;
        size_t n = utf8_put(o, cps[i]);
        cr_assert_eq(utf8_decode(o, n, &back), n);
        cr_assert_eq(back, cps[i]);
    }
}

/* A text split into two pieces anywhere gives the verdict of the whole. */
Test(utf8, feed_split_anywhere)
{
    static const char *const texts[] = {
        "a\xC3\xA9z\xE2\x82\xAC\xF0\x9F\x98\x80!",
        "\xE4\xB8\xAD\xE6\x96\x87 text",
        "ok then \xED\xA0\x80 surrogate",
        "cut \xF0\x9F\x98",
        "overlong \xC0\xAF",
        "\xF4\x90\x80\x80 too high",
        "plain ascii that is long enough to span words",
    };
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
        const uint8_t *s = (const uint8_t *)texts[t];
        size_t n = strlen(texts[t]);
        int whole = utf8_valid(s, n);
        for (size_t k = 0; k <= n; k++) {
            uint32_t st = 0;
            int a = utf8_feed(&st, s, k);
            int b = utf8_feed(&st, s + k, n - k);
            cr_assert_eq(a == 0 && b == 0 && st == 0, whole, "text %zu split %zu", t, k);
        }
    }
}
