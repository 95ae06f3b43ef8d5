/* json_write: an allocation-light JSON writer into one growable byte buffer, for
 * serializing application records (labs/02-parsers/orders.c) without building a DOM
 * and without stdio.  The byte buffer and the number formatting are also used by the
 * XML writer (parsers/xml/xml_write.h), so both formats print numbers the same way.
 *
 * Contract
 * - struct jw starts zeroed (JW_INIT); jw_reset() empties it and keeps the memory,
 *   jw_free() releases it.  The buffer grows by doubling up to JW_MAX_BYTES; past that,
 *   or when malloc fails, w->err is set, later writes do nothing and the caller
 *   checks w->err once at the end (no per-call error handling in the hot path).
 * - jw_str(s, n) writes a JSON string (RFC 8259 section 7): '"' and '\\' escaped, the
 *   control characters below 0x20 as \b \f \n \r \t or \u00XX (lower-case hex), every
 *   other byte as is: the input must be UTF-8, non-ASCII passes through unescaped
 *   (the caller's strings are UTF-8; invalid UTF-8 would make invalid JSON).
 * - jw_u64/jw_i64 write decimal integers; jw_double writes the shortest decimal that
 *   reads back (strtod) to the same double: integral values as integers, -0 as "-0",
 *   up to 6 fractional digits by exact integer arithmetic, else %.15g/%.16g/%.17g.
 *   A NaN or an infinity has no JSON form: null is written and w->err set to JW_ERANGE.
 */
#ifndef WIRELAB_PARSERS_JSON_WRITE_H
#define WIRELAB_PARSERS_JSON_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define JW_MAX_BYTES ((size_t)1 << 31)
enum { JW_OK = 0, JW_ENOMEM = 1, JW_ERANGE = 2, JW_EINVAL = 3 };

struct jw {
    char *p;
    size_t len, cap;
    int err; /* JW_OK, or the first error */
};
#define JW_INIT                                                                                    \
    {                                                                                              \
        0                                                                                          \
    }

/* Makes room for n more bytes; 0, or -1 with w->err set. */
int jw_grow(struct jw *w, size_t n);
static inline int jw_room(struct jw *w, size_t n)
{
    return w->cap - w->len >= n ? 0 : jw_grow(w, n);
}
static inline void jw_raw(struct jw *w, const char *s, size_t n)
{
    if (jw_room(w, n)) return;
    memcpy(w->p + w->len, s, n);
    w->len += n;
}
static inline void jw_ch(struct jw *w, char c)
{
    if (jw_room(w, 1)) return;
    w->p[w->len++] = c;
}
/* A string literal: jw_lit(w, "\"id\":") */
#define jw_lit(w, s) jw_raw((w), (s), sizeof(s) - 1)

void jw_reset(struct jw *w);
void jw_free(struct jw *w);
void jw_str(struct jw *w, const char *s, size_t n);
void jw_u64(struct jw *w, uint64_t v);
void jw_i64(struct jw *w, int64_t v);
void jw_double(struct jw *w, double d);
/* Lower-case hex of n bytes (no quotes). */
void jw_hex(struct jw *w, const uint8_t *b, size_t n);

#endif
