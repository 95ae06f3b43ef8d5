/* Unit tests for io/ws: the parser gives the same events whatever the input split
 * (every 2-way split, every 3-way split of a short stream, byte by byte). */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "tests/unit/test_ws_util.h"

static uint8_t msgbuf[1 << 17];

/* A stream that touches every header form: fragmented text with a ping between the
 * fragments, a 16-bit length, a 64-bit length, a pong, a close. */
static size_t build_stream(uint8_t *s, size_t cap, const uint8_t *mask)
{
    static uint8_t big[70000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)('a' + i % 26);
    size_t n = 0;
    n += (size_t)ws_encode(s + n, cap - n, WS_OP_TEXT, 0, "h\xC3", 2, mask);
    n += (size_t)ws_encode(s + n, cap - n, WS_OP_PING, 1, "are you there", 13, mask);
    n += (size_t)ws_encode(s + n, cap - n, WS_OP_CONT, 1, "\xA9llo", 4, mask);
    n += (size_t)ws_encode(s + n, cap - n, WS_OP_BINARY, 1, big, 300, mask);
    n += (size_t)ws_encode(s + n, cap - n, WS_OP_TEXT, 1, big, sizeof big, mask);
    n += (size_t)ws_encode(s + n, cap - n, WS_OP_PONG, 1, "", 0, mask);
    n += (size_t)ws_encode_close(s + n, cap - n, 1001, "going", mask);
    return n;
}

static void expect_events(const struct rec *r)
{
    cr_assert_eq(r->n, 6, "%d events", r->n);
    cr_assert_eq(r->ev[0].type, WS_EV_PING);
    cr_assert_str_eq(r->ev[0].data, "are you there");
    cr_assert_eq(r->ev[1].type, WS_EV_TEXT);
    cr_assert_str_eq(r->ev[1].data, "h\xC3\xA9llo");
    cr_assert_eq(r->ev[2].type, WS_EV_BINARY);
    cr_assert_eq(r->ev[2].len, 300);
    cr_assert_eq(r->ev[3].type, WS_EV_TEXT);
    cr_assert_eq(r->ev[3].len, 70000);
    cr_assert_eq(r->ev[3].data[27], 'b');
    cr_assert_eq(r->ev[4].type, WS_EV_PONG);
    cr_assert_eq(r->ev[4].len, 0);
    cr_assert_eq(r->ev[5].type, WS_EV_CLOSE);
    cr_assert_eq(r->ev[5].code, 1001);
    cr_assert_str_eq(r->ev[5].data, "going");
}

static void two_way(enum ws_role role, const uint8_t *mask)
{
    static uint8_t s[80000];
    size_t n = build_stream(s, sizeof s, mask);
    /* the 64 KiB payload makes all n splits slow under ASan: split every point of the
     * headers and the small frames, and sample inside the big payload */
    for (size_t cut = 0; cut <= n; cut += (cut > 400 && cut < n - 400) ? 997 : 1) {
        struct ws_parser p;
        struct rec r = {0};
        ws_parser_init(&p, role, msgbuf, sizeof msgbuf, 0);
        rec_feed(&p, &r, s, cut);
        rec_feed(&p, &r, s + cut, n - cut);
        expect_events(&r);
    }
}

Test(ws_split, every_two_way_split_server)
{
    two_way(WS_SERVER, (const uint8_t *)"\x11\x22\x33\x44");
}
Test(ws_split, every_two_way_split_client)
{
    two_way(WS_CLIENT, NULL);
}

Test(ws_split, byte_by_byte)
{
    static uint8_t s[80000];
    size_t n = build_stream(s, sizeof s, (const uint8_t *)"\x01\x02\x03\x04");
    struct ws_parser p;
    struct rec r = {0};
    ws_parser_init(&p, WS_SERVER, msgbuf, sizeof msgbuf, 0);
    for (size_t i = 0; i < n; i++)
        rec_feed(&p, &r, s + i, 1);
    expect_events(&r);
}

Test(ws_split, every_three_way_split_of_short_frames)
{
    uint8_t s[256];
    const uint8_t *m = (const uint8_t *)"\x0a\x0b\x0c\x0d";
    size_t n = 0;
    n += (size_t)ws_encode(s + n, sizeof s - n, WS_OP_TEXT, 0, "ab", 2, m);
    n += (size_t)ws_encode(s + n, sizeof s - n, WS_OP_PING, 1, "x", 1, m);
    n += (size_t)ws_encode(s + n, sizeof s - n, WS_OP_CONT, 1, "c", 1, m);
    n += (size_t)ws_encode(s + n, sizeof s - n, WS_OP_BINARY, 1, "", 0, m);
    n += (size_t)ws_encode_close(s + n, sizeof s - n, 1000, "", m);
    for (size_t a = 0; a <= n; a++)
        for (size_t b = a; b <= n; b++) {
            struct ws_parser p;
            struct rec r = {0};
            ws_parser_init(&p, WS_SERVER, msgbuf, sizeof msgbuf, 0);
            rec_feed(&p, &r, s, a);
            rec_feed(&p, &r, s + a, b - a);
            rec_feed(&p, &r, s + b, n - b);
            cr_assert_eq(r.n, 4, "split %zu/%zu: %d events", a, b, r.n);
            cr_assert_eq(r.ev[0].type, WS_EV_PING);
            cr_assert_eq(r.ev[1].type, WS_EV_TEXT);
            cr_assert_str_eq(r.ev[1].data, "abc");
            cr_assert_eq(r.ev[2].type, WS_EV_BINARY);
            cr_assert_eq(r.ev[2].len, 0);
            cr_assert_eq(r.ev[3].type, WS_EV_CLOSE);
            cr_assert_eq(r.ev[3].code, 1000);
        }
}

Test(ws_split, error_in_split_header_reported_once_complete)
{
    /* RSV bit set, fed one byte at a time: error when the second byte arrives */
    const uint8_t f[] = {0xC1, 0x80, 1, 2, 3, 4};
    struct ws_parser p;
    struct ws_event ev;
    ws_parser_init(&p, WS_SERVER, msgbuf, sizeof msgbuf, 0);
    cr_assert_eq(ws_parse(&p, f, 1, &ev), 1);
    cr_assert_eq(ev.type, WS_EV_NONE);
    cr_assert_eq(ws_parse(&p, f + 1, 1, &ev), 1);
    cr_assert_eq(ev.type, WS_EV_ERROR);
    cr_assert_eq(ev.code, 1002);
}
