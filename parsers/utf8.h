/* utf8: the one strict UTF-8 checker of the tree (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF, never reading past the bytes it is given), shared by the JSON,
 * XML and protobuf parsers and the WebSocket codec (io/ws).
 *
 * Contract
 * - utf8_seq(p, avail): p points at a byte >= 0x80; returns the length (2..4) of the
 *   well-formed sequence starting there, or 0 when it is not one.  Inline: it is on the
 *   hot path of every non-ASCII byte of a JSON string.
 * - utf8_decode(p, avail, &cp): any byte at p (avail >= 1); returns the length (1..4) of
 *   the well-formed sequence starting there and its code point in *cp, or 0.
 * - utf8_valid(p, len): 1 when all len bytes are well-formed UTF-8, else 0.
 * - utf8_feed(&state, p, n): the same check over a text that arrives in pieces split
 *   anywhere (WebSocket fragments).  Start with state 0; it returns 0 while the text is
 *   valid so far, -1 once it is not (and keeps returning -1); the text is complete and
 *   valid when it returned 0 and the state is 0 again.
 * - utf8_put(o, cp): writes code point cp (< 0x110000, not a surrogate) at o and
 *   returns the number of bytes written (1..4).
 */
#ifndef WIRELAB_PARSERS_UTF8_H
#define WIRELAB_PARSERS_UTF8_H

#include <stddef.h>
#include <stdint.h>

int utf8_valid(const uint8_t *p, size_t len);
int utf8_feed(uint32_t *state, const uint8_t *p, size_t n);
size_t utf8_put(uint8_t *o, uint32_t cp);

static inline size_t utf8_seq(const uint8_t *p, size_t avail)
{
    unsigned c = p[0];
    /* The range of the second byte per lead byte is RFC 3629's table: the narrowed
     * ranges after E0, ED, F0 and F4 rule out overlongs, surrogates and > U+10FFFF. */
    if (c >= 0xC2 && c <= 0xDF) return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (avail < 3) return 0;
        unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        return p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (avail < 4) return 0;
        unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        return p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80 ? 4 : 0;
    }
    return 0;
}

static inline size_t utf8_decode(const uint8_t *p, size_t avail, uint32_t *cp)
{
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    size_t n = utf8_seq(p, avail);
    if (n == 2)
        *cp = (uint32_t)(p[0] & 0x1F) << 6 | (p[1] & 0x3F);
    else if (n == 3)
        *cp = (uint32_t)(p[0] & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
    else if (n == 4)
        *cp = (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3F) << 12 |
              (uint32_t)(p[2] & 0x3F) << 6 | (p[3] & 0x3F);
    return n;
}

#endif
