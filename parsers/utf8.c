/* utf8: strict UTF-8 validation and encoding (contract in utf8.h). */
#include "parsers/utf8.h"

#include <string.h>

int utf8_valid(const uint8_t *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if (len - i >= 8) { /* ASCII runs a word at a time */
            uint64_t x;
            memcpy(&x, p + i, 8);
            if (!(x & 0x8080808080808080ull)) {
                i += 8;
                continue;
            }
        }
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_seq(p + i, len - i);
        if (!k) return 0;
        i += k;
    }
    return 1;
}

/* State of utf8_feed: 0 between characters; otherwise the continuation bytes still
 * needed (bits 0-1) and the range the next one must fall in, [lo (bits 8-15), hi (bits
 * 16-23)]: utf8_seq's narrowed second-byte ranges, carried across calls. */
#define UTF8_BAD              0xFFFFFFFFu
#define UTF8_ST(need, lo, hi) ((uint32_t)(need) | ((uint32_t)(lo) << 8) | ((uint32_t)(hi) << 16))

int utf8_feed(uint32_t *state, const uint8_t *s, size_t n)
{
    uint32_t st = *state;
    if (st == UTF8_BAD) return -1;
    size_t i = 0;
    while (i < n) {
        uint8_t b = s[i];
        if (st == 0) {
            /* Between characters: whole ones in one step while they are all here. */
            if (b < 0x80) {
                i++;
                continue;
            }
            size_t k = utf8_seq(s + i, n - i);
            if (k) {
                i += k;
                continue;
            }
            /* An invalid lead, or a sequence cut by the end of this piece: byte by byte. */
            if (b >= 0xC2 && b <= 0xDF)
                st = UTF8_ST(1, 0x80, 0xBF);
            else if (b == 0xE0)
                st = UTF8_ST(2, 0xA0, 0xBF);
            else if (b == 0xED)
                st = UTF8_ST(2, 0x80, 0x9F);
            else if (b >= 0xE1 && b <= 0xEF)
                st = UTF8_ST(2, 0x80, 0xBF);
            else if (b == 0xF0)
                st = UTF8_ST(3, 0x90, 0xBF);
            else if (b >= 0xF1 && b <= 0xF3)
                st = UTF8_ST(3, 0x80, 0xBF);
            else if (b == 0xF4)
                st = UTF8_ST(3, 0x80, 0x8F);
            else
                goto bad;
        } else {
            unsigned need = st & 3, lo = (st >> 8) & 0xFF, hi = (st >> 16) & 0xFF;
            if (b < lo || b > hi) goto bad;
            st = need == 1 ? 0 : UTF8_ST(need - 1, 0x80, 0xBF);
        }
        i++;
    }
    *state = st;
    return 0;
bad:
    *state = UTF8_BAD;
    return -1;
}

size_t utf8_put(uint8_t *u, uint32_t cp)
{
    if (cp < 0x80) {
        u[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        u[0] = (uint8_t)(0xC0 | cp >> 6);
        u[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        u[0] = (uint8_t)(0xE0 | cp >> 12);
        u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    u[0] = (uint8_t)(0xF0 | cp >> 18);
    u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    u[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}
