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

size_t utf8_seq(const unsigned char *p, size_t avail);
int utf8_valid(const unsigned char *p, size_t len);
size_t utf8_put(char *o, unsigned cp);

#endif
