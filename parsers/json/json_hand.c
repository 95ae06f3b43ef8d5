/* json_hand: the hand-written strict RFC 8259 parser (contract in json.h).
 *
 * One pass, no recursion: a loop over "expect a value" / "after a value" with the
 * open containers on a heap stack.  Why it is fast where it is:
 * - nodes go into one growing array (no malloc per value, unlike cJSON/jansson);
 * - string bodies and whitespace runs are scanned 16 bytes at a time (SSE2; SWAR
 *   8 at a time near the end of the input), copying while scanning;
 * - numbers take 8 digits per step (SWAR), and decimals are converted without strtod
 *   (exact fast path: mantissa <= 2^53 and |exp10| <= 22, so one IEEE multiply/divide
 *   rounds once; then an x87 path, strtod only for the rest).
 */
#include "parsers/json/json.h"
#include "parsers/utf8.h"

#include <errno.h>
#include <float.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct jp {
    const unsigned char *p, *beg, *end;
    struct json_doc *doc;
    struct json_error *err;
    size_t max_depth, max_nodes;
    char *sp; /* next free byte in doc->strs */
    int sse2; /* the 16-byte loops may run */
    int avx2; /* the 32-byte UTF-8 runs may run (checked at run time) */
};

static int jp_fail(struct jp *j, const unsigned char *at, const char *msg)
{
    j->err->offset = (size_t)(at - j->beg);
    snprintf(j->err->msg, sizeof j->err->msg, "%s", msg);
    return -1;
}

/* Skips whitespace.  Pretty-printed documents are mostly newline + indentation runs
 * (a quarter of twitter.json, more of citm_catalog.json): 16 bytes per step with SSE2
 * (baseline on x86_64), the first non-whitespace byte from the compare mask. */
static inline void jp_ws(struct jp *j)
{
    const unsigned char *p = j->p, *e = j->end;
    if (p<e && * p> ' ') return;
#ifdef __SSE2__
    if (j->sse2) {
        const __m128i sp = _mm_set1_epi8(' '), nl = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r'),
                      tab = _mm_set1_epi8('\t');
        while (e - p >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
            __m128i w = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, sp), _mm_cmpeq_epi8(v, nl)),
                                     _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, tab)));
            unsigned m = ~(unsigned)_mm_movemask_epi8(w) & 0xFFFFu;
            if (m) {
                j->p = p + __builtin_ctz(m);
                return;
            }
            p += 16;
        }
    }
#endif
    while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    j->p = p;
}

/* Grows the node array (the slow path of jp_node); 0, -1 at the limit, -2 out of memory. */
static int jp_grow(struct jp *j)
{
    struct json_doc *d = j->doc;
    if (d->n >= j->max_nodes || d->n >= UINT32_MAX - 1)
        return jp_fail(j, j->p, "too many values (node limit reached)");
    size_t nc = d->cap ? d->cap * 2 : 64;
    if (nc > j->max_nodes) nc = j->max_nodes;
    struct json_node *nn = realloc(d->nodes, nc * sizeof *nn);
    if (!nn) return -2;
    d->nodes = nn;
    d->cap = nc;
    return 0;
}

/* A new node at the end of the array; NULL (and *rc) when the limit or memory runs out. */
static inline struct json_node *jp_node(struct jp *j, int *rc)
{
    struct json_doc *d = j->doc;
    if (d->n == d->cap && (*rc = jp_grow(j)) != 0) return NULL;
    struct json_node *n = &d->nodes[d->n++];
    n->skip = 1;
    n->num_kind = 0;
    return n;
}

static const unsigned char *jp_hex4(const unsigned char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], h;
        if (c >= '0' && c <= '9')
            h = c - '0';
        else if ((c | 32) >= 'a' && (c | 32) <= 'f')
            h = (c | 32) - 'a' + 10;
        else
            return NULL;
        v = v << 4 | h;
    }
    *out = v;
    return p + 4;
}

/* SWAR: a mask with the high bit set in each byte of x that is '"', '\\', a control
 * character or >= 0x80.  Borrows can only mark bytes ABOVE a real hit, so the lowest
 * marked byte is always the first real one. */
static inline uint64_t jp_special(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
    return (((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b) | x) & high;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define JP_AVX2 1
#include <immintrin.h>

/* A 16-entry table, in both 128-bit lanes, for _mm256_shuffle_epi8. */
#define C8(x) ((char)(unsigned char)(x))
#define T16(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p)                                        \
    _mm256_setr_epi8(C8(a), C8(b), C8(c), C8(d), C8(e), C8(f), C8(g), C8(h), C8(i), C8(j), C8(k),  \
                     C8(l), C8(m), C8(n), C8(o), C8(p), C8(a), C8(b), C8(c), C8(d), C8(e), C8(f),  \
                     C8(g), C8(h), C8(i), C8(j), C8(k), C8(l), C8(m), C8(n), C8(o), C8(p))

/* The bytes of cur shifted back by n, the first n from the end of prev: the byte n
 * before each one. */
#define PREV(cur, prev, n)                                                                         \
    _mm256_alignr_epi8((cur), _mm256_permute2x128_si256((prev), (cur), 0x21), 16 - (n))

/* Validates and copies whole 32-byte blocks of UTF-8 text from p (at the start of a
 * sequence) to o, up to the first block holding a quote, a backslash or a control
 * character, or an invalid sequence, or the last 32 bytes; returns the bytes done,
 * which end where a sequence ends (what follows is left to the byte-wise code, which
 * also reports any error at its exact byte).  Each byte is checked by its high nibble
 * and the nibbles of the byte before it (three table lookups), and continuation bytes
 * against the leading byte two or three back: the classification Keiser and Lemire published
 * ("Validating UTF-8 in less than one instruction per byte", 2021). */
__attribute__((target("avx2"))) static size_t
jp_utf8_run_avx2(const unsigned char *p0, const unsigned char *e, unsigned char *o)
{
    enum {
        TOO_SHORT = 1 << 0,  /* a lead not followed by a continuation */
        TOO_LONG = 1 << 1,   /* a continuation after ASCII */
        OVERLONG_3 = 1 << 2, /* E0 80..9F */
        TOO_LARGE = 1 << 3,  /* above U+10FFFF */
        SURROGATE = 1 << 4,  /* ED A0..BF */
        OVERLONG_2 = 1 << 5, /* C0, C1 */
        TOO_LARGE_1000 = 1 << 6,
        OVERLONG_4 = 1 << 6, /* F0 80..8F */
        TWO_CONTS = 1 << 7,  /* a continuation after a continuation */
        CARRY = TOO_SHORT | TOO_LONG | TWO_CONTS
    };
    const __m256i hi1 = T16(TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG,
                            TOO_LONG, TWO_CONTS, TWO_CONTS, TWO_CONTS, TWO_CONTS,
                            TOO_SHORT | OVERLONG_2, TOO_SHORT, TOO_SHORT | OVERLONG_3 | SURROGATE,
                            TOO_SHORT | TOO_LARGE | TOO_LARGE_1000 | OVERLONG_4);
    const __m256i lo1 =
        T16(CARRY | OVERLONG_3 | OVERLONG_2 | OVERLONG_4, CARRY | OVERLONG_2, CARRY, CARRY,
            CARRY | TOO_LARGE, CARRY | TOO_LARGE | TOO_LARGE_1000,
            CARRY | TOO_LARGE | TOO_LARGE_1000, CARRY | TOO_LARGE | TOO_LARGE_1000,
            CARRY | TOO_LARGE | TOO_LARGE_1000, CARRY | TOO_LARGE | TOO_LARGE_1000,
            CARRY | TOO_LARGE | TOO_LARGE_1000, CARRY | TOO_LARGE | TOO_LARGE_1000,
            CARRY | TOO_LARGE | TOO_LARGE_1000, CARRY | TOO_LARGE | TOO_LARGE_1000 | SURROGATE,
            CARRY | TOO_LARGE | TOO_LARGE_1000, CARRY | TOO_LARGE | TOO_LARGE_1000);
    const __m256i hi2 =
        T16(TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT,
            TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE_1000 | OVERLONG_4,
            TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE,
            TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
            TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE, TOO_SHORT, TOO_SHORT,
            TOO_SHORT, TOO_SHORT);
    /* is_incomplete: the last byte a lead, or the second last a 3/4-byte lead, or the
     * third last a 4-byte lead */
    const __m256i max_end = _mm256_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                             -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                             -1, (char)0xEF, (char)0xDF, (char)0xBF);
    const __m256i nib = _mm256_set1_epi8(0x0F), dq = _mm256_set1_epi8('"'),
                  bs = _mm256_set1_epi8('\\'), c1f = _mm256_set1_epi8(0x1F),
                  b80 = _mm256_set1_epi8((char)0x80), s60 = _mm256_set1_epi8(0x60),
                  s70 = _mm256_set1_epi8(0x70);
    __m256i prev = _mm256_setzero_si256(), incomplete = _mm256_setzero_si256();
    const unsigned char *p = p0;
    while (e - p >= 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)p);
        __m256i stop =
            _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, dq), _mm256_cmpeq_epi8(v, bs)),
                            _mm256_cmpeq_epi8(_mm256_min_epu8(v, c1f), v));
        if (!_mm256_testz_si256(stop, stop)) break;
        __m256i err, inc;
        if (!_mm256_movemask_epi8(v)) { /* ASCII: fine unless a sequence was left open */
            err = incomplete;
            inc = _mm256_setzero_si256();
        } else {
            __m256i p1 = PREV(v, prev, 1), p2 = PREV(v, prev, 2), p3 = PREV(v, prev, 3);
            __m256i sc = _mm256_and_si256(
                _mm256_and_si256(
                    _mm256_shuffle_epi8(hi1, _mm256_and_si256(_mm256_srli_epi16(p1, 4), nib)),
                    _mm256_shuffle_epi8(lo1, _mm256_and_si256(p1, nib))),
                _mm256_shuffle_epi8(hi2, _mm256_and_si256(_mm256_srli_epi16(v, 4), nib)));
            __m256i must23 = _mm256_and_si256(
                _mm256_or_si256(_mm256_subs_epu8(p2, s60), _mm256_subs_epu8(p3, s70)), b80);
            err = _mm256_xor_si256(must23, sc);
            inc = _mm256_subs_epu8(v, max_end);
        }
        if (!_mm256_testz_si256(err, err)) break; /* the byte-wise code finds where */
        _mm256_storeu_si256((__m256i *)(void *)o, v);
        p += 32;
        o += 32;
        prev = v;
        incomplete = inc;
    }
    /* End on a sequence boundary: step back over a sequence the last block left open. */
    if (!_mm256_testz_si256(incomplete, incomplete))
        for (int k = 1; k <= 3; k++)
            if (p[-k] >= 0xC0) {
                p -= k;
                break;
            }
    return (size_t)(p - p0);
}
#undef T16
#undef C8
#undef PREV
#endif

/* Parses a string body; j->p is just past the opening quote.  Appends the decoded
 * bytes + NUL to doc->strs and sets n->s/n->len. */
static int jp_string(struct jp *j, struct json_node *n)
{
    const unsigned char *p = j->p, *e = j->end;
    char *o = j->sp;
    n->type = JSON_T_STRING;
    n->s = o;
    for (;;) {
        /* Copy 16 (8) bytes at a time while scanning.  Storing a whole word is safe: the
         * decoded output never gets ahead of the input consumed (o - strs <= p - beg),
         * and strs holds len + 1 bytes. */
#ifdef __SSE2__
        /* 16 bytes per step: '"', '\\', and (one signed compare) bytes < 0x20 or >= 0x80. */
        const __m128i dq = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'), sp = _mm_set1_epi8(0x20);
        while (j->sse2 && e - p >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
            _mm_storeu_si128((__m128i *)(void *)o, v);
            __m128i w = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, dq), _mm_cmpeq_epi8(v, bs)),
                                     _mm_cmplt_epi8(v, sp));
            unsigned m = (unsigned)_mm_movemask_epi8(w);
            if (m) {
                unsigned k = (unsigned)__builtin_ctz(m);
                p += k;
                o += k;
                goto special;
            }
            p += 16;
            o += 16;
        }
#endif
        while (e - p >= 8) {
            uint64_t x, m;
            memcpy(&x, p, 8);
            memcpy(o, &x, 8);
            if ((m = jp_special(x)) != 0) {
                unsigned k = (unsigned)__builtin_ctzll(m) >> 3;
                p += k;
                o += k;
                break;
            }
            p += 8;
            o += 8;
        }
        while (p < e && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            *o++ = (char)*p++;
#ifdef __SSE2__
    special:
#endif
        if (p == e) return jp_fail(j, p, "unterminated string");
        unsigned c = *p;
        if (c == '"') {
            p++;
            break;
        }
        if (c < 0x20) return jp_fail(j, p, "control character in string (must be escaped)");
        if (c >= 0x80) {
#ifdef JP_AVX2
            /* Long non-ASCII text: whole 32-byte blocks validated and copied at once. */
            if (j->avx2 && e - p >= 64) {
                size_t k = jp_utf8_run_avx2(p, e, (unsigned char *)o);
                p += k;
                o += k;
                if (p == e || *p < 0x80) continue;
            }
#endif
            /* Stay here while the text stays non-ASCII (CJK text is runs of 3-byte sequences). */
            do {
                /* Common case first: a 3-byte sequence whose lead is E1..EC or EE..EF
                 * (no second-byte range to check, RFC 3629), copied as one word; the
                 * 4-byte store stays inside strs as above (p + 4 <= e). */
                if (e - p >= 4) {
                    uint32_t w;
                    memcpy(&w, p, 4);
                    unsigned lead = w & 0x0F;
                    if ((w & 0x00C0C0F0u) == 0x008080E0u && lead != 0 && lead != 0x0D) {
                        memcpy(o, &w, 4);
                        o += 3;
                        p += 3;
                        continue;
                    }
                }
                size_t k = utf8_seq(p, (size_t)(e - p));
                if (!k) return jp_fail(j, p, "invalid UTF-8 in string");
                o[0] = (char)p[0];
                o[1] = (char)p[1];
                if (k > 2) o[2] = (char)p[2];
                if (k > 3) o[3] = (char)p[3];
                o += k;
                p += k;
            } while (p < e && *p >= 0x80);
            continue;
        }
        /* backslash */
        if (e - p < 2) return jp_fail(j, p, "unterminated string");
        unsigned x = p[1];
        p += 2;
        switch (x) {
        case '"':
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            break;
        case '/':
            *o++ = '/';
            break;
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'u': {
            unsigned cp, lo;
            if (e - p < 4 || !jp_hex4(p, &cp))
                return jp_fail(j, p - 2, "bad \\u escape (need 4 hex digits)");
            p += 4;
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return jp_fail(j, p - 6, "lone low surrogate in \\u escape");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (e - p < 6 || p[0] != '\\' || p[1] != 'u' || !jp_hex4(p + 2, &lo) ||
                    lo < 0xDC00 || lo > 0xDFFF)
                    return jp_fail(j, p - 6,
                                   "high surrogate not followed by a low surrogate escape");
                p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            o += utf8_put((uint8_t *)o, cp);
            break;
        }
        default:
            return jp_fail(j, p - 2, "invalid escape in string");
        }
    }
    n->len = (uint32_t)(o - n->s);
    *o++ = 0;
    j->sp = o;
    j->p = p;
    return 0;
}

static const double jp_pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                  1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                  1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* The value of 8 ASCII digits (first digit in the lowest byte, little-endian): pairs
 * of digits into bytes, then pairs of pairs with two multiplies. */
static inline uint64_t jp_parse8(uint64_t w)
{
    w -= 0x3030303030303030ull;
    w = w * 10 + (w >> 8); /* bytes 0,2,4,6: d0d1, d2d3, d4d5, d6d7 (each <= 99) */
    const uint64_t lo = 0x000000FF000000FFull;
    return ((w & lo) * (100 + (1000000ull << 32)) + ((w >> 16) & lo) * (1 + (10000ull << 32))) >>
           32;
}

/* Takes up to 8 digits per step into *m (which must be non-zero, so every digit is
 * significant) while *nd stays <= 19; a partial word is right-aligned behind '0'
 * padding and parsed the same way.  Returns the new position; the caller's byte loop
 * takes what is left (the 19-digit cap, leading zeros).  Needs 8 readable bytes, which
 * may extend past the number but not past e. */
static inline const unsigned char *jp_digits(const unsigned char *p, const unsigned char *e,
                                             uint64_t *m, int *nd)
{
    static const uint64_t p10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};
    const uint64_t hi = 0xF0F0F0F0F0F0F0F0ull, three = 0x3030303030303030ull;
    while (e - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        /* Non-digit bytes flagged; a carry only leaves a non-digit byte, so the lowest
         * flag is the first non-digit. */
        uint64_t t = ((w & hi) ^ three) | (((w + 0x0606060606060606ull) & hi) ^ three);
        unsigned k = t ? (unsigned)__builtin_ctzll(t) >> 3 : 8;
        if (k == 0 || *nd + (int)k > 19) break;
        if (k < 8) w = (w << (8 * (8 - k))) | (three >> (8 * k));
        *m = *m * p10[k] + jp_parse8(w);
        *nd += (int)k;
        p += k;
        if (k < 8) break;
    }
    return p;
}

#if LDBL_MANT_DIG == 64
/* 10^0 .. 10^350 as long doubles: exact up to 10^27 (5^27 < 2^64), correctly rounded
 * by the compiler above. */
#define P10_4(k)                                                                                   \
    1e##k##0L, 1e##k##1L, 1e##k##2L, 1e##k##3L, 1e##k##4L, 1e##k##5L, 1e##k##6L, 1e##k##7L,        \
        1e##k##8L, 1e##k##9L
static const long double jp_p10[] = {
    1e0L,      1e1L,      1e2L,      1e3L,      1e4L,      1e5L,      1e6L,      1e7L,
    1e8L,      1e9L,      P10_4(1),  P10_4(2),  P10_4(3),  P10_4(4),  P10_4(5),  P10_4(6),
    P10_4(7),  P10_4(8),  P10_4(9),  P10_4(10), P10_4(11), P10_4(12), P10_4(13), P10_4(14),
    P10_4(15), P10_4(16), P10_4(17), P10_4(18), P10_4(19), P10_4(20), P10_4(21), P10_4(22),
    P10_4(23), P10_4(24), P10_4(25), P10_4(26), P10_4(27), P10_4(28), P10_4(29), P10_4(30),
    P10_4(31), P10_4(32), P10_4(33), P10_4(34), 1e350L};
#undef P10_4
_Static_assert(sizeof jp_p10 / sizeof jp_p10[0] == 351, "10^0 to 10^350");

/* m * 10^e (m != 0, below 2^64) as a correctly rounded double, through one x87
 * multiply or divide: 0 and *out, or -1 when it cannot be sure.  m is exact in the
 * 64-bit significand; 10^|e| is exact up to e = 27 and within half an ulp beyond, so
 * the extended result is within half an ulp (exact power) or two ulps of the true
 * value.  Rounding it to double is then right unless its low 11 bits (what the double
 * drops) are that close to 0x400, the halfway point; results in the subnormal range
 * round at another bit and overflow needs strtod's verdict, so both return -1 too. */
static inline int jp_ext(uint64_t m, long e, double *out)
{
    long double x = (long double)m;
    uint64_t sig;
    if (e >= -27 && e <= 27) { /* the usual case: an exact power, far from either end */
        x = e < 0 ? x / jp_p10[-e] : x * jp_p10[e];
        memcpy(&sig, &x, 8);
        if ((sig & 0x7ff) == 0x400) return -1;
    } else {
        if (e < -350 || e > 350) return -1;
        x = e < 0 ? x / jp_p10[-e] : x * jp_p10[e];
        if (!(x >= (long double)DBL_MIN && x <= (long double)DBL_MAX)) return -1;
        memcpy(&sig, &x, 8);
        if ((sig & 0x7ff) + 2 >= 0x400 && (sig & 0x7ff) <= 0x402) return -1;
    }
    *out = (double)x;
    return 0;
}
#endif

static int jp_number(struct jp *j, struct json_node *n)
{
    const unsigned char *p = j->p, *e = j->end, *start = p;
    bool neg = false, is_int = true;
    uint64_t m = 0;
    int nd = 0;        /* significant digits accumulated into m */
    long exp10 = 0;    /* decimal exponent to apply to m */
    bool exact = true; /* m holds every significant digit */
    if (*p == '-') {
        neg = true;
        p++;
    }
    if (p == e || *p < '0' || *p > '9') return jp_fail(j, p, "invalid number (digit expected)");
    if (*p == '0') {
        p++;
        if (p < e && *p >= '0' && *p <= '9') return jp_fail(j, p - 1, "leading zero in number");
    } else {
        m = (uint64_t)(*p++ - '0');
        nd = 1;
        p = jp_digits(p, e, &m, &nd);
        while (p < e && *p >= '0' && *p <= '9') {
            if (nd < 19) {
                m = m * 10 + (*p - '0');
                nd++;
            } else {
                exact = false;
                exp10++;
            }
            p++;
        }
    }
    if (p < e && *p == '.') {
        is_int = false;
        p++;
        if (p == e || *p < '0' || *p > '9')
            return jp_fail(j, p, "invalid number (digit expected after '.')");
        /* Coordinates and prices (canada.json) are long fractions: take 8 digits per
         * step while m is non-zero (so all 8 are significant) and nd + 8 <= 19. */
        if (m) {
            const unsigned char *q = jp_digits(p, e, &m, &nd);
            exp10 -= q - p;
            p = q;
        }
        while (p < e && *p >= '0' && *p <= '9') {
            if (nd < 19) {
                m = m * 10 + (*p - '0');
                if (m) nd++;
                exp10--;
            } else if (*p != '0') {
                exact = false;
            }
            p++;
        }
    }
    if (p < e && (*p | 32) == 'e') {
        is_int = false;
        p++;
        bool eneg = false;
        if (p < e && (*p == '+' || *p == '-')) eneg = *p++ == '-';
        if (p == e || *p < '0' || *p > '9')
            return jp_fail(j, p, "invalid number (digit expected in exponent)");
        long x = 0;
        while (p < e && *p >= '0' && *p <= '9') {
            if (x < 100000000) x = x * 10 + (*p - '0');
            p++;
        }
        exp10 += eneg ? -x : x;
    }
    n->type = JSON_T_NUMBER;
    n->s = (const char *)start;
    n->len = (uint32_t)(p - start);
    j->p = p;
    if (is_int && exact && nd <= 19 &&
        (m <= (uint64_t)INT64_MAX || (neg && m == (uint64_t)INT64_MAX + 1))) {
        if (neg && m == 0) goto slow; /* -0: keep the sign, as a double */
        n->num_kind = JSON_NUM_INT;
        n->v.i = neg ? (int64_t)(0 - m) : (int64_t)m;
        return 0;
    }
    if (exact && m <= (1ull << 53) && exp10 >= -22 && exp10 <= 22 && !is_int) {
        double d = (double)m;
        d = exp10 < 0 ? d / jp_pow10[-exp10] : d * jp_pow10[exp10];
        n->v.d = neg ? -d : d;
        return 0;
    }
#if LDBL_MANT_DIG == 64
    /* x87's 80-bit path (jp_ext) for what Clinger's cannot take: 20+ digits (the first 19
     * and one more bound the value: when both round to the same double, so does the
     * number), exponents up to 10^350; strtod only where the extended result sits too
     * close to a double halfway point to decide. */
    if (m && (!is_int || !exact || m > (uint64_t)INT64_MAX)) {
        double lo, hi;
        if (jp_ext(m, exp10, &lo) == 0 &&
            (exact || (m < UINT64_MAX && jp_ext(m + 1, exp10, &hi) == 0 && lo == hi))) {
            n->v.d = neg ? -lo : lo;
            if (is_int) n->num_kind = JSON_NUM_BIG; /* an integer past int64: v.d approximates */
            return 0;
        }
    }
#endif
slow:;
    /* strtod needs a terminated copy: the input may end right after the number. */
    char small[128], *tmp = small;
    size_t l = (size_t)(p - start);
    if (l >= sizeof small && !(tmp = malloc(l + 1))) return -2;
    memcpy(tmp, start, l);
    tmp[l] = 0;
    errno = 0;
    double d = strtod(tmp, NULL);
    int overflow = errno == ERANGE && isinf(d);
    if (tmp != small) free(tmp);
    if (overflow) return jp_fail(j, start, "number out of range of a double");
    n->v.d = d;
    if (is_int) n->num_kind = (neg && m == 0) ? JSON_NUM_DOUBLE : JSON_NUM_BIG;
    return 0;
}

static int jp_literal(struct jp *j, struct json_node *n)
{
    /* Compared as one 4-byte word ("fals" + 'e' for false). */
    size_t left = (size_t)(j->end - j->p);
    uint32_t w = 0;
    if (left >= 4) memcpy(&w, j->p, 4);
    if (*j->p == 'n' && left >= 4 && !memcmp(&w, "null", 4))
        n->type = JSON_T_NULL;
    else if (*j->p == 't' && left >= 4 && !memcmp(&w, "true", 4))
        n->type = JSON_T_TRUE;
    else if (*j->p == 'f' && left >= 5 && !memcmp(&w, "fals", 4) && j->p[4] == 'e')
        n->type = JSON_T_FALSE;
    else
        return jp_fail(j, j->p, "invalid literal");
    j->p += n->type == JSON_T_FALSE ? 5 : 4;
    return 0;
}

static int jp_reserve(struct json_doc *d, size_t len)
{
    if (d->strs_cap < len + 1) {
        char *s = realloc(d->strs, len + 1);
        if (!s) return -2;
        d->strs = s;
        d->strs_cap = len + 1;
    }
    if (!d->stack_cap) {
        d->stack = malloc(64 * sizeof *d->stack);
        if (!d->stack) return -2;
        d->stack_cap = 64;
    }
    return 0;
}

/* The parse itself: 0, -1 invalid (err set), -2 out of memory; json_parse() turns that
 * into the tree's convention. */
static int jp_parse(struct json_doc *doc, const char *buf, size_t len,
                    const struct json_limits *lim, struct json_error *err)
{
    struct jp j = {.p = (const unsigned char *)buf,
                   .beg = (const unsigned char *)buf,
                   .end = (const unsigned char *)buf + len,
                   .doc = doc,
                   .err = err,
                   .max_depth = lim && lim->max_depth ? lim->max_depth : JSON_DEFAULT_MAX_DEPTH,
                   .max_nodes = lim && lim->max_nodes ? lim->max_nodes : JSON_DEFAULT_MAX_NODES};
    enum json_simd simd = lim ? lim->simd : JSON_SIMD_BEST;
    j.sse2 = simd != JSON_SIMD_NONE;
#ifdef JP_AVX2
    j.avx2 = simd == JSON_SIMD_BEST && __builtin_cpu_supports("avx2");
#endif
    int rc = 0;
    size_t depth = 0, values = 0;
    doc->n = 0;
    doc->depth = doc->values = 0;
    err->offset = 0;
    err->msg[0] = 0;
    if ((rc = jp_reserve(doc, len)) != 0) return rc;
    j.sp = doc->strs;

value:
    jp_ws(&j);
    if (j.p == j.end)
        return jp_fail(&j, j.p, depth ? "unexpected end of input (value expected)" : "empty input");
    {
        struct json_node *n = jp_node(&j, &rc);
        if (!n) return rc;
        values++;
        if (depth) doc->nodes[doc->stack[depth - 1]].len++;
        unsigned c = *j.p;
        switch (c) {
        case '{':
        case '[':
            if (depth == j.max_depth)
                return jp_fail(&j, j.p, "nesting too deep (depth limit reached)");
            if (depth == doc->stack_cap) {
                size_t nc = doc->stack_cap * 2;
                if (nc > j.max_depth) nc = j.max_depth;
                uint32_t *ns = realloc(doc->stack, nc * sizeof *ns);
                if (!ns) return -2;
                doc->stack = ns;
                doc->stack_cap = nc;
            }
            n->type = c == '{' ? JSON_T_OBJECT : JSON_T_ARRAY;
            n->len = 0;
            n->s = NULL;
            doc->stack[depth++] = (uint32_t)(doc->n - 1);
            if (depth > doc->depth) doc->depth = depth;
            j.p++;
            jp_ws(&j);
            if (j.p < j.end && *j.p == (c == '{' ? '}' : ']')) {
                j.p++;
                depth--;
                goto after;
            }
            if (c == '[') goto value;
            goto key;
        case '"':
            j.p++;
            if ((rc = jp_string(&j, n)) != 0) return rc;
            break;
        case 't':
        case 'f':
        case 'n':
            if ((rc = jp_literal(&j, n)) != 0) return rc;
            break;
        default:
            if (c == '-' || (c >= '0' && c <= '9')) {
                if ((rc = jp_number(&j, n)) != 0) return rc;
                break;
            }
            return jp_fail(&j, j.p, "unexpected character (value expected)");
        }
    }
after:
    if (!depth) {
        jp_ws(&j);
        if (j.p != j.end) return jp_fail(&j, j.p, "unexpected data after the top-level value");
        doc->values = values;
        return 0;
    }
    jp_ws(&j);
    {
        uint32_t top = doc->stack[depth - 1];
        struct json_node *t = &doc->nodes[top];
        if (j.p == j.end)
            return jp_fail(&j, j.p, "unexpected end of input (unclosed array or object)");
        if (*j.p == ',') {
            j.p++;
            if (t->type == JSON_T_ARRAY) goto value;
            goto key;
        }
        if (*j.p == (t->type == JSON_T_ARRAY ? ']' : '}')) {
            j.p++;
            t->skip = (uint32_t)(doc->n - top);
            depth--;
            goto after;
        }
        return jp_fail(&j, j.p,
                       t->type == JSON_T_ARRAY ? "expected ',' or ']'" : "expected ',' or '}'");
    }
key:
    jp_ws(&j);
    if (j.p == j.end || *j.p != '"') return jp_fail(&j, j.p, "object key (a string) expected");
    {
        struct json_node *k = jp_node(&j, &rc);
        if (!k) return rc;
        j.p++;
        if ((rc = jp_string(&j, k)) != 0) return rc;
    }
    jp_ws(&j);
    if (j.p == j.end || *j.p != ':') return jp_fail(&j, j.p, "expected ':' after object key");
    j.p++;
    doc->nodes[doc->stack[depth - 1]].len--; /* the value increments it again: count members */
    goto value;
}

int json_parse(struct json_doc *doc, const char *buf, size_t len, const struct json_limits *lim,
               struct json_error *err)
{
    int rc = jp_parse(doc, buf, len, lim, err);
    if (rc == 0) return 0;
    if (rc == -2) snprintf(err->msg, sizeof err->msg, "out of memory");
    errno = rc == -2 ? ENOMEM : EINVAL;
    return -1;
}

void json_doc_free(struct json_doc *doc)
{
    free(doc->nodes);
    free(doc->strs);
    free(doc->stack);
    memset(doc, 0, sizeof *doc);
}

const struct json_node *json_first(const struct json_node *c)
{
    if (!c || (c->type != JSON_T_ARRAY && c->type != JSON_T_OBJECT) || c->skip < 2) return NULL;
    return c + 1;
}

const struct json_node *json_next(const struct json_node *c, const struct json_node *child)
{
    const struct json_node *n =
        child + (c->type == JSON_T_OBJECT ? 1 + child[1].skip : child->skip);
    return n < c + c->skip ? n : NULL;
}

const struct json_node *json_get(const struct json_node *obj, const char *key)
{
    if (!obj || obj->type != JSON_T_OBJECT) return NULL;
    size_t kl = strlen(key);
    for (const struct json_node *k = json_first(obj); k; k = json_next(obj, k))
        if (k->len == kl && memcmp(k->s, key, kl) == 0) return k + 1;
    return NULL;
}

const struct json_node *json_at(const struct json_node *arr, size_t i)
{
    if (!arr || arr->type != JSON_T_ARRAY || i >= arr->len) return NULL;
    const struct json_node *c = json_first(arr);
    while (i-- && c)
        c = json_next(arr, c);
    return c;
}

int json_get_int(const struct json_node *n, int64_t *out)
{
    if (!n || n->type != JSON_T_NUMBER) return -1;
    if (n->num_kind == JSON_NUM_INT) {
        *out = n->v.i;
        return 0;
    }
    if (n->num_kind == JSON_NUM_DOUBLE && n->v.d == floor(n->v.d) && fabs(n->v.d) < 9.2e18) {
        *out = (int64_t)n->v.d;
        return 0;
    }
    return -1;
}

int json_get_double(const struct json_node *n, double *out)
{
    if (!n || n->type != JSON_T_NUMBER) return -1;
    *out = n->num_kind == JSON_NUM_INT ? (double)n->v.i : n->v.d;
    return 0;
}

const char *json_get_str(const struct json_node *n, size_t *len)
{
    if (!n || n->type != JSON_T_STRING) return NULL;
    if (len) *len = n->len;
    return n->s;
}
