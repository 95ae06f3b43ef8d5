/* glob: Redis-style glob matching.  Contract in glob.h. */
#include "io/rsrv/glob.h"

/* Matches one bracket set starting just after '['; *pi is left just past the closing
 * ']' (or at plen when unterminated).  Returns 1 when byte c is accepted. */
static int glob_set(const char *p, size_t plen, size_t *pi, unsigned char c)
{
    size_t i = *pi;
    int neg = 0, hit = 0;
    if (i < plen && p[i] == '^') {
        neg = 1;
        i++;
    }
    while (i < plen && p[i] != ']') {
        if (p[i] == '\\' && i + 1 < plen) {
            i++;
            if ((unsigned char)p[i] == c) hit = 1;
            i++;
        } else if (i + 2 < plen && p[i + 1] == '-') { /* as Redis: even [a-] */
            unsigned char lo = (unsigned char)p[i], hi = (unsigned char)p[i + 2];
            if (lo > hi) {
                unsigned char t = lo;
                lo = hi;
                hi = t;
            }
            if (c >= lo && c <= hi) hit = 1;
            i += 3;
        } else {
            if ((unsigned char)p[i] == c) hit = 1;
            i++;
        }
    }
    if (i < plen) i++; /* the ']' */
    *pi = i;
    return neg ? !hit : hit;
}

int glob_match(const char *p, size_t plen, const char *s, size_t slen)
{
    size_t pi = 0, si = 0;
    size_t star_p = (size_t)-1, star_s = 0; /* where to resume after the last '*' */
    while (si < slen) {
        if (pi < plen) {
            char pc = p[pi];
            if (pc == '*') {
                while (pi < plen && p[pi] == '*')
                    pi++;
                if (pi == plen) return 1; /* a trailing star eats the rest */
                star_p = pi;
                star_s = si;
                continue;
            }
            if (pc == '?') {
                pi++;
                si++;
                continue;
            }
            if (pc == '[') {
                size_t np = pi + 1;
                if (glob_set(p, plen, &np, (unsigned char)s[si])) {
                    pi = np;
                    si++;
                    continue;
                }
            } else if (pc == '\\' && pi + 1 < plen) {
                if (p[pi + 1] == s[si]) {
                    pi += 2;
                    si++;
                    continue;
                }
            } else if (pc == s[si]) {
                pi++;
                si++;
                continue;
            }
        }
        /* Mismatch: let the last star swallow one more byte, or fail. */
        if (star_p == (size_t)-1) return 0;
        pi = star_p;
        si = ++star_s;
    }
    while (pi < plen && p[pi] == '*')
        pi++;
    return pi == plen;
}
