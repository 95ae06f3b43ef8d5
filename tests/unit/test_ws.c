/* Unit tests for io/ws: the handshake, the RFC 6455 section 5.7 examples, the
 * encoders, UTF-8 and every protocol-error class with its close code. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "tests/unit/test_ws_util.h"

static uint8_t msgbuf[1 << 17];

static size_t slen(const char *s)
{
    return s ? strlen(s) : 0;
}

#define HS(m, u, c, v, k)                                                                          \
    (struct ws_handshake_req)                                                                      \
    {                                                                                              \
        m, slen(m), u, slen(u), c, slen(c), v, slen(v), k, slen(k)                                 \
    }

static const char *KEY = "dGhlIHNhbXBsZSBub25jZQ==";

Test(ws_handshake, rfc_example_accept)
{
    char acc[WS_ACCEPT_LEN + 1], err[100];
    struct ws_handshake_req r = HS("GET", "websocket", "Upgrade", "13", KEY);
    cr_assert_eq(ws_handshake_check(&r, acc, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    char out[256];
    int n = ws_handshake_response(out, sizeof out, acc);
    cr_assert_gt(n, 0);
    cr_assert(strstr(out, "HTTP/1.1 101 Switching Protocols\r\n") == out);
    cr_assert(strstr(out, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"));
    cr_assert_eq(ws_handshake_response(out, 20, acc), -1);
}

Test(ws_handshake, token_lists_and_case)
{
    char acc[WS_ACCEPT_LEN + 1], err[100];
    struct ws_handshake_req r = HS("GET", "WebSocket", "keep-alive, Upgrade", "13", KEY);
    cr_assert_eq(ws_handshake_check(&r, acc, err, sizeof err), 0, "%s", err);
    r = HS("GET", "websocket", " upgrade ,keep-alive", "13", KEY);
    cr_assert_eq(ws_handshake_check(&r, acc, err, sizeof err), 0, "%s", err);
}

Test(ws_handshake, rejects)
{
    char acc[WS_ACCEPT_LEN + 1], err[100];
    struct ws_handshake_req cases[] = {
        HS("POST", "websocket", "Upgrade", "13", KEY),
        HS("GET", NULL, "Upgrade", "13", KEY),
        HS("GET", "h2c", "Upgrade", "13", KEY),
        HS("GET", "websocket", "keep-alive", "13", KEY),
        HS("GET", "websocket", "Upgraded", "13", KEY),
        HS("GET", "websocket", "Upgrade", "13", NULL),
        HS("GET", "websocket", "Upgrade", "13", "short=="),
        HS("GET", "websocket", "Upgrade", "13", "dGhlIHNhbXBsZSBub25jZQ=x"),
        HS("GET", "websocket", "Upgrade", "13", "dGhlIHNhbX!sZSBub25jZQ=="),
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_assert_eq(ws_handshake_check(&cases[i], acc, err, sizeof err), 400, "case %zu", i);
    struct ws_handshake_req v8 = HS("GET", "websocket", "Upgrade", "8", KEY);
    cr_assert_eq(ws_handshake_check(&v8, acc, err, sizeof err), 426);
    cr_assert(strstr(err, "13"));
    struct ws_handshake_req nov = HS("GET", "websocket", "Upgrade", NULL, KEY);
    cr_assert_eq(ws_handshake_check(&nov, acc, err, sizeof err), 426);
}

Test(ws_handshake, client_side_round_trip)
{
    uint8_t nonce[16] = "the sample nonce";
    char key[WS_KEY_LEN + 1], req[512], acc[WS_ACCEPT_LEN + 1], err[100];
    ws_client_key(nonce, key);
    cr_assert_str_eq(key, KEY);
    cr_assert_gt(ws_client_request(req, sizeof req, "127.0.0.1", 8080, "/ws?room=a", key), 0);
    cr_assert(strstr(req, "GET /ws?room=a HTTP/1.1\r\n") == req);
    cr_assert(strstr(req, "Sec-WebSocket-Version: 13\r\n"));
    cr_assert_eq(ws_accept_for_key(key, strlen(key), acc), 0);
    cr_assert_eq(ws_client_check(101, "websocket", "Upgrade", acc, key, err, sizeof err), 0);
    cr_assert_eq(ws_client_check(200, "websocket", "Upgrade", acc, key, err, sizeof err), -1);
    cr_assert_eq(ws_client_check(101, "websocket", "Upgrade", "xxxx", key, err, sizeof err), -1);
    cr_assert_eq(ws_client_check(101, NULL, "Upgrade", acc, key, err, sizeof err), -1);
}

/* ---- RFC 6455 section 5.7 examples ---- */

static struct rec parse_all(enum ws_role role, const uint8_t *d, size_t n)
{
    struct ws_parser p;
    struct rec r = {0};
    ws_parser_init(&p, role, msgbuf, sizeof msgbuf, 0);
    rec_feed(&p, &r, d, n);
    return r;
}

Test(ws_rfc, unmasked_text_hello)
{
    const uint8_t f[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    struct rec r = parse_all(WS_CLIENT, f, sizeof f);
    cr_assert_eq(r.n, 1);
    cr_assert_eq(r.ev[0].type, WS_EV_TEXT);
    cr_assert_str_eq(r.ev[0].data, "Hello");
    /* the same frame is a protocol error for a server (clients must mask) */
    r = parse_all(WS_SERVER, f, sizeof f);
    cr_assert_eq(r.ev[0].type, WS_EV_ERROR);
    cr_assert_eq(r.ev[0].code, 1002);
}

Test(ws_rfc, masked_text_hello)
{
    const uint8_t f[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    struct rec r = parse_all(WS_SERVER, f, sizeof f);
    cr_assert_eq(r.n, 1);
    cr_assert_eq(r.ev[0].type, WS_EV_TEXT);
    cr_assert_str_eq(r.ev[0].data, "Hello");
    r = parse_all(WS_CLIENT, f, sizeof f);
    cr_assert_eq(r.ev[0].type, WS_EV_ERROR);
    cr_assert_eq(r.ev[0].code, 1002);
    /* our client encoder with the same key writes exactly these bytes */
    uint8_t out[32];
    const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    cr_assert_eq(ws_encode(out, sizeof out, WS_OP_TEXT, 1, "Hello", 5, key), (int)sizeof f);
    cr_assert_eq(memcmp(out, f, sizeof f), 0);
}

Test(ws_rfc, fragmented_unmasked_text)
{
    const uint8_t f[] = {0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f};
    struct rec r = parse_all(WS_CLIENT, f, sizeof f);
    cr_assert_eq(r.n, 1);
    cr_assert_eq(r.ev[0].type, WS_EV_TEXT);
    cr_assert_str_eq(r.ev[0].data, "Hello");
}

Test(ws_rfc, ping_and_masked_pong)
{
    const uint8_t ping[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    struct rec r = parse_all(WS_CLIENT, ping, sizeof ping);
    cr_assert_eq(r.ev[0].type, WS_EV_PING);
    cr_assert_str_eq(r.ev[0].data, "Hello");
    const uint8_t pong[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    r = parse_all(WS_SERVER, pong, sizeof pong);
    cr_assert_eq(r.ev[0].type, WS_EV_PONG);
    cr_assert_str_eq(r.ev[0].data, "Hello");
}

Test(ws_rfc, binary_256_and_64k_lengths)
{
    static uint8_t f[10 + 65536], pl[65536];
    for (size_t i = 0; i < sizeof pl; i++)
        pl[i] = (uint8_t)(i * 7);
    int n = ws_encode(f, sizeof f, WS_OP_BINARY, 1, pl, 256, NULL);
    cr_assert_eq(n, 4 + 256);
    cr_assert_eq(f[0], 0x82);
    cr_assert_eq(f[1], 0x7E);
    cr_assert_eq(f[2], 0x01);
    cr_assert_eq(f[3], 0x00);
    struct ws_parser p;
    struct ws_event ev;
    ws_parser_init(&p, WS_CLIENT, msgbuf, sizeof msgbuf, 0);
    cr_assert_eq(ws_parse(&p, f, (size_t)n, &ev), (size_t)n);
    cr_assert_eq(ev.type, WS_EV_BINARY);
    cr_assert_eq(ev.len, 256);
    cr_assert_eq(memcmp(ev.data, pl, 256), 0);

    n = ws_encode(f, sizeof f, WS_OP_BINARY, 1, pl, 65536, NULL);
    cr_assert_eq(n, 10 + 65536);
    const uint8_t hdr[] = {0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0};
    cr_assert_eq(memcmp(f, hdr, 10), 0);
    cr_assert_eq(ws_parse(&p, f, (size_t)n, &ev), (size_t)n);
    cr_assert_eq(ev.type, WS_EV_BINARY);
    cr_assert_eq(ev.len, 65536);
    cr_assert_eq(memcmp(ev.data, pl, 65536), 0);
}

/* ---- control frames between fragments, close ---- */

Test(ws_parse, ping_between_fragments_and_close)
{
    uint8_t s[256];
    size_t n = 0;
    const uint8_t m[4] = {1, 2, 3, 4};
    n += (size_t)ws_encode(s + n, sizeof s - n, WS_OP_TEXT, 0, "ab", 2, m);
    n += (size_t)ws_encode(s + n, sizeof s - n, WS_OP_PING, 1, "p", 1, m);
    n += (size_t)ws_encode(s + n, sizeof s - n, WS_OP_CONT, 0, "", 0, m);
    n += (size_t)ws_encode(s + n, sizeof s - n, WS_OP_CONT, 1, "cd", 2, m);
    n += (size_t)ws_encode_close(s + n, sizeof s - n, 1000, "bye", m);
    struct rec r = parse_all(WS_SERVER, s, n);
    cr_assert_eq(r.n, 3);
    cr_assert_eq(r.ev[0].type, WS_EV_PING);
    cr_assert_str_eq(r.ev[0].data, "p");
    cr_assert_eq(r.ev[1].type, WS_EV_TEXT);
    cr_assert_str_eq(r.ev[1].data, "abcd");
    cr_assert_eq(r.ev[2].type, WS_EV_CLOSE);
    cr_assert_eq(r.ev[2].code, 1000);
    cr_assert_str_eq(r.ev[2].data, "bye");
}

Test(ws_parse, empty_close_is_1005_and_input_after_close_is_discarded)
{
    const uint8_t f[] = {0x88, 0x00, 0x81, 0x01, 'x'};
    struct ws_parser p;
    struct ws_event ev;
    ws_parser_init(&p, WS_CLIENT, msgbuf, sizeof msgbuf, 0);
    cr_assert_eq(ws_parse(&p, f, sizeof f, &ev), sizeof f);
    cr_assert_eq(ev.type, WS_EV_CLOSE);
    cr_assert_eq(ev.code, 1005);
    cr_assert_eq(ws_parse(&p, f, sizeof f, &ev), sizeof f);
    cr_assert_eq(ev.type, WS_EV_NONE);
}

Test(ws_encode, close_reason_is_cut_on_a_character_boundary)
{
    char reason[200];
    memset(reason, 'a', sizeof reason);
    /* a 2-byte character straddling byte 123 of the reason */
    reason[122] = (char)0xC3;
    reason[123] = (char)0xA9;
    reason[199] = 0;
    uint8_t out[200];
    int n = ws_encode_close(out, sizeof out, 1001, reason, NULL);
    cr_assert_eq(n, 2 + 2 + 122);
    struct rec r = parse_all(WS_CLIENT, out, (size_t)n);
    cr_assert_eq(r.ev[0].type, WS_EV_CLOSE);
    cr_assert_eq(r.ev[0].code, 1001);
    cr_assert_eq(ws_encode_close(out, sizeof out, 0, NULL, NULL), 2);
    cr_assert_eq(ws_encode(out, 3, WS_OP_TEXT, 1, "hello", 5, NULL), -1);
}

/* ---- every error class with its close code ---- */

struct bad_case {
    const char *name;
    enum ws_role role;
    uint8_t bytes[16];
    size_t len;
    unsigned code;
};

Test(ws_parse, error_classes)
{
    const struct bad_case cases[] = {
        {"rsv1", WS_CLIENT, {0xC1, 0x00}, 2, 1002},
        {"rsv2", WS_CLIENT, {0xA1, 0x00}, 2, 1002},
        {"rsv3", WS_CLIENT, {0x91, 0x00}, 2, 1002},
        {"opcode 3", WS_CLIENT, {0x83, 0x00}, 2, 1002},
        {"opcode 7", WS_CLIENT, {0x87, 0x00}, 2, 1002},
        {"opcode B", WS_CLIENT, {0x8B, 0x00}, 2, 1002},
        {"opcode F", WS_CLIENT, {0x8F, 0x00}, 2, 1002},
        {"fragmented ping", WS_CLIENT, {0x09, 0x00}, 2, 1002},
        {"ping 126", WS_CLIENT, {0x89, 0x7E, 0x00, 0x7E}, 4, 1002},
        {"lone continuation", WS_CLIENT, {0x80, 0x00}, 2, 1002},
        {"text inside fragmented", WS_CLIENT, {0x01, 0x00, 0x81, 0x00}, 4, 1002},
        {"unmasked from client", WS_SERVER, {0x81, 0x00}, 2, 1002},
        {"masked from server", WS_CLIENT, {0x81, 0x80, 1, 2, 3, 4}, 6, 1002},
        {"16-bit not minimal", WS_CLIENT, {0x82, 0x7E, 0x00, 0x10}, 4, 1002},
        {"64-bit not minimal", WS_CLIENT, {0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF}, 10, 1002},
        {"64-bit msb", WS_CLIENT, {0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0}, 10, 1002},
        {"close 1 byte", WS_CLIENT, {0x88, 0x01, 0x03}, 3, 1002},
        {"close code 999", WS_CLIENT, {0x88, 0x02, 0x03, 0xE7}, 4, 1002},
        {"close code 1005", WS_CLIENT, {0x88, 0x02, 0x03, 0xED}, 4, 1002},
        {"close code 1006", WS_CLIENT, {0x88, 0x02, 0x03, 0xEE}, 4, 1002},
        {"close code 2999", WS_CLIENT, {0x88, 0x02, 0x0B, 0xB7}, 4, 1002},
        {"close code 5000", WS_CLIENT, {0x88, 0x02, 0x13, 0x88}, 4, 1002},
        {"close reason not utf8", WS_CLIENT, {0x88, 0x03, 0x03, 0xE8, 0xFF}, 5, 1007},
        {"text not utf8", WS_CLIENT, {0x81, 0x02, 0xC3, 0x28}, 4, 1007},
        {"text overlong", WS_CLIENT, {0x81, 0x02, 0xC0, 0xAF}, 4, 1007},
        {"text surrogate", WS_CLIENT, {0x81, 0x03, 0xED, 0xA0, 0x80}, 5, 1007},
        {"text > U+10FFFF", WS_CLIENT, {0x81, 0x04, 0xF4, 0x90, 0x80, 0x80}, 6, 1007},
        {"text truncated", WS_CLIENT, {0x81, 0x02, 'a', 0xE2}, 4, 1007},
        {"fragment truncated", WS_CLIENT, {0x01, 0x01, 0xE2, 0x80, 0x01, 0x82}, 6, 1007},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rec r = parse_all(cases[i].role, cases[i].bytes, cases[i].len);
        cr_assert_eq(r.n, 1, "%s: %d events", cases[i].name, r.n);
        cr_assert_eq(r.ev[0].type, WS_EV_ERROR, "%s: type %d", cases[i].name, r.ev[0].type);
        cr_assert_eq(r.ev[0].code, cases[i].code, "%s: code %u (%s)", cases[i].name, r.ev[0].code,
                     r.ev[0].data);
    }
}

Test(ws_parse, invalid_utf8_fails_fast_in_the_first_fragment)
{
    /* not FIN, invalid byte: error before the message ends */
    const uint8_t f[] = {0x01, 0x01, 0xFF};
    struct rec r = parse_all(WS_CLIENT, f, sizeof f);
    cr_assert_eq(r.ev[0].type, WS_EV_ERROR);
    cr_assert_eq(r.ev[0].code, 1007);
}

Test(ws_parse, valid_close_codes_and_utf8_across_fragments)
{
    const unsigned good[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint8_t out[16];
        int n = ws_encode_close(out, sizeof out, good[i], "", NULL);
        struct rec r = parse_all(WS_CLIENT, out, (size_t)n);
        cr_assert_eq(r.ev[0].type, WS_EV_CLOSE, "code %u", good[i]);
        cr_assert_eq(r.ev[0].code, good[i]);
    }
    /* "κόσμε" with a fragment boundary inside a 3-byte character */
    const uint8_t f[] = {0x01, 0x03, 0xCE, 0xBA, 0xE1, 0x80, 0x08, 0xBD,
                         0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5};
    struct rec r = parse_all(WS_CLIENT, f, sizeof f);
    cr_assert_eq(r.ev[0].type, WS_EV_TEXT, "%s", r.ev[0].data);
    cr_assert_eq(r.ev[0].len, 11);
}

Test(ws_parse, size_limits_are_1009)
{
    static uint8_t small[64];
    uint8_t f[256];
    struct ws_parser p;
    struct ws_event ev;
    /* per-message: 40 + 40 > 64 across two fragments */
    ws_parser_init(&p, WS_CLIENT, small, sizeof small, 0);
    uint8_t pl[100] = {0};
    int n = ws_encode(f, sizeof f, WS_OP_BINARY, 0, pl, 40, NULL);
    cr_assert_eq(ws_parse(&p, f, (size_t)n, &ev), (size_t)n);
    cr_assert_eq(ev.type, WS_EV_NONE);
    n = ws_encode(f, sizeof f, WS_OP_CONT, 1, pl, 40, NULL);
    ws_parse(&p, f, (size_t)n, &ev);
    cr_assert_eq(ev.type, WS_EV_ERROR);
    cr_assert_eq(ev.code, 1009);
    /* the error sticks */
    cr_assert_eq(ws_parse(&p, f, (size_t)n, &ev), 0);
    cr_assert_eq(ev.type, WS_EV_ERROR);
    cr_assert_eq(ev.code, 1009);
    /* per-frame: 20 > 16 even though the message would fit */
    ws_parser_init(&p, WS_CLIENT, small, sizeof small, 16);
    n = ws_encode(f, sizeof f, WS_OP_TEXT, 1, "aaaaaaaaaaaaaaaaaaaa", 20, NULL);
    ws_parse(&p, f, (size_t)n, &ev);
    cr_assert_eq(ev.type, WS_EV_ERROR);
    cr_assert_eq(ev.code, 1009);
    /* a huge declared length is refused from the header alone */
    const uint8_t huge[] = {0x82, 0x7F, 0, 0, 0, 1, 0, 0, 0, 0};
    ws_parser_init(&p, WS_CLIENT, small, sizeof small, 0);
    cr_assert_eq(ws_parse(&p, huge, sizeof huge, &ev), sizeof huge);
    cr_assert_eq(ev.code, 1009);
}
