/* utf8: strict UTF-8 checks shared by the hand-written parsers (JSON strings,
 * protobuf string fields).
 *
 * Contract
 * - utf8_seq(p, avail): p points at a byte >= 0x80; returns the length (2..4) of the
 *   well-formed sequence starting there (RFC 3629: no overlongs, no surrogates, nothing
 *   above U+10FFFF, never reading past avail bytes), or 0 when it is not one.
 * - utf8_valid(p, len): 1 when all len bytes are well-formed UTF-8, else 0.
 * - utf8_put(o, cp): writes code point cp (< 0x110000, not a surrogate) and returns
 *   the number of bytes written (1..4).
 */
#ifndef WIRELAB_PARSERS_UTF8_H
#define WIRELAB_PARSERS_UTF8_H

#include <stddef.h>

int utf8_valid(const unsigned char *p, size_t len);
size_t utf8_put(char *o, unsigned cp);

/* Inline: it is on the hot path of every non-ASCII byte in a JSON string. */
static inline size_t utf8_seq(const unsigned char *p, size_t avail)
{
    unsigned c = p[0];
    /* Ranges of the second byte per lead byte, from RFC 3629's table. */
    if (c >= 0xC2 && c <= 0xDF) {
        return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    }
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

#endif
