/* glob: Redis-style glob matching, binary-safe: PSUBSCRIBE patterns, KEYS, SCAN MATCH.
 *
 * Contract
 * - glob_match(pat, plen, s, slen) returns 1 when the byte string s matches the pattern,
 *   0 otherwise.  Neither string needs a NUL terminator; both may hold any byte.
 * - Syntax (Redis's stringmatchlen): `*` any run of bytes (empty included), `?` one byte,
 *   `[abc]` one of the set, `[^abc]` none of the set, `[a-z]` a range (reversed ranges
 *   like `[z-a]` work too), `\x` the byte x literally (also inside brackets).  An
 *   unterminated `[` set ends at the end of the pattern.
 * - Bounded work: runs of `*` are collapsed and matching backtracks only to the most
 *   recent `*`, so the cost is O(plen * slen) in the worst case, never exponential.
 */
#ifndef WIRELAB_IO_RSRV_GLOB_H
#define WIRELAB_IO_RSRV_GLOB_H

#include <stddef.h>

int glob_match(const char *pat, size_t plen, const char *s, size_t slen);

#endif
