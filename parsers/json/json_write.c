/* json_write: the JSON writer's buffer, string escaping and number formatting
 * (contract in json_write.h). */
#include "parsers/json/json_write.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int jw_grow(struct jw *w, size_t n)
{
    if (w->err) return -1;
    size_t cap = w->cap ? w->cap : 4096;
    while (cap - w->len < n) {
        if (cap >= JW_MAX_BYTES / 2) goto fail;
        cap *= 2;
    }
    char *p = realloc(w->p, cap);
    if (!p) goto fail;
    w->p = p;
    w->cap = cap;
    return 0;
fail:
    w->err = JW_ENOMEM;
    return -1;
}

void jw_reset(struct jw *w)
{
    w->len = 0;
    w->err = JW_OK;
}

void jw_free(struct jw *w)
{
    free(w->p);
    *w = (struct jw)JW_INIT;
}

void jw_str(struct jw *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    /* worst case every byte becomes \u00XX */
    if (jw_room(w, n * 6 + 2)) return;
    char *o = w->p + w->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"':
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            break;
        case '\b':
            *o++ = 'b';
            break;
        case '\f':
            *o++ = 'f';
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\t':
            *o++ = 't';
            break;
        default:
            memcpy(o, "u00", 3);
            o[3] = hex[c >> 4];
            o[4] = hex[c & 15];
            o += 5;
        }
    }
    *o++ = '"';
    w->len = (size_t)(o - w->p);
}

void jw_u64(struct jw *w, uint64_t v)
{
    /* two digits per division: half the divisions of the naive loop */
    static const char d2[] =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
        "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
        "8081828384858687888990919293949596979899";
    char b[20], *e = b + sizeof b, *o = e;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        o -= 2;
        memcpy(o, d2 + 2 * r, 2);
    }
    if (v >= 10) {
        o -= 2;
        memcpy(o, d2 + 2 * v, 2);
    } else
        *--o = (char)('0' + v);
    jw_raw(w, o, (size_t)(e - o));
}

void jw_i64(struct jw *w, int64_t v)
{
    if (v < 0) {
        jw_ch(w, '-');
        jw_u64(w, (uint64_t)0 - (uint64_t)v);
    } else
        jw_u64(w, (uint64_t)v);
}

void jw_double(struct jw *w, double d)
{
    if (!isfinite(d)) {
        jw_lit(w, "null");
        if (!w->err) w->err = JW_ERANGE;
        return;
    }
    if (d == 0) {
        if (signbit(d))
            jw_lit(w, "-0");
        else
            jw_ch(w, '0');
        return;
    }
    double a = fabs(d);
    if (a < 9007199254740992.0 && d == floor(d)) {
        jw_i64(w, (int64_t)d);
        return;
    }
    /* m / 10^k with m < 2^53 and 10^k exact: the quotient and strtod of the decimal
     * text are both the correctly rounded value of the same rational, so when the
     * quotient equals d the text reads back to d; the smallest such k is the shortest. */
    static const double p10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
    if (a < 1e9) {
        for (int k = 1; k <= 6; k++) {
            double m = a * p10[k];
            if (m != floor(m) || m >= 9007199254740992.0 || m / p10[k] != a) continue;
            uint64_t mi = (uint64_t)m, ip = mi / (uint64_t)p10[k], fp = mi % (uint64_t)p10[k];
            if (d < 0) jw_ch(w, '-');
            jw_u64(w, ip);
            char f[8];
            f[0] = '.';
            for (int j = k; j >= 1; j--, fp /= 10)
                f[j] = (char)('0' + fp % 10);
            while (f[k] == '0') /* a rounded product can make k one too big: 0.30 */
                k--;
            jw_raw(w, f, (size_t)k + 1);
            return;
        }
    }
    char b[40];
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(b, sizeof b, "%.*g", prec, d);
        if (strtod(b, NULL) == d) break;
    }
    jw_raw(w, b, (size_t)n);
}

void jw_hex(struct jw *w, const uint8_t *b, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (jw_room(w, 2 * n)) return;
    char *o = w->p + w->len;
    for (size_t i = 0; i < n; i++) {
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 15];
    }
    w->len += 2 * n;
}
