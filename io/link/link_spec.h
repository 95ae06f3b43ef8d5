/* link_spec: the words a link is described in: durations (`40ms`), rates (`100mbit`),
 * sizes (`1MiB`) and the named profiles (lan, region, continent, mobile), for linkem's
 * flags and for harnesses that start one.  Sans-I/O, no allocation.
 *
 * Contract
 * - link_spec_duration("40ms") -> 40000000 ns: a decimal number (`0.5ms` allowed) and
 *   a unit ns, us, ms or s; "0" alone is zero.  link_spec_rate("100mbit") -> bits per
 *   second: bit, kbit, mbit, gbit (powers of 1000, as tc writes them); "0" alone is
 *   "no limit".  link_spec_size("1MiB") -> bytes: no unit, b, k/kb/KiB, m/mb/MiB,
 *   g/gb/GiB (powers of 1024).  Each returns 0 and stores the value, or -1 with a
 *   one-line reason in err (negative, no unit, unknown unit, too large, trailing junk).
 * - link_spec_profile(name) returns the profile or NULL; link_spec_profiles lists
 *   them (LINK_SPEC_NPROFILES), in order, with what each stands for.
 */
#ifndef WIRELAB_IO_LINK_SPEC_H
#define WIRELAB_IO_LINK_SPEC_H

#include <stddef.h>
#include <stdint.h>

struct link_profile {
    const char *name;
    const char *what; /* one line for --help */
    uint64_t delay_ns, jitter_ns;
    uint64_t up_bps, down_bps; /* 0 = no limit */
    size_t queue;
};

#define LINK_SPEC_NPROFILES 4
extern const struct link_profile link_spec_profiles[LINK_SPEC_NPROFILES];

const struct link_profile *link_spec_profile(const char *name);
int link_spec_duration(const char *s, uint64_t *ns, char *err, size_t errlen);
int link_spec_rate(const char *s, uint64_t *bps, char *err, size_t errlen);
int link_spec_size(const char *s, size_t *bytes, char *err, size_t errlen);

#endif
