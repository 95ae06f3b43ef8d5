/* link_spec: durations, rates, sizes and profiles.  Contract in link_spec.h. */
#include "io/link/link_spec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KIB 1024u
#define MIB (1024u * 1024u)

/* Round trips: lan 0.2 ms, region 2 ms, continent 80 ms, mobile 60 ms +- 20 ms.  The
 * queue is the bottleneck's buffer: a few ms of the rate on wired links, far more on a
 * radio link (bufferbloat is what mobile networks are known for). */
const struct link_profile link_spec_profiles[LINK_SPEC_NPROFILES] = {
    {"lan", "one data centre: 0.1 ms each way, 1 gbit, 256 KiB queue", 100000, 0, 1000000000,
     1000000000, 256 * KIB},
    {"region", "zones of one region: 1 ms each way, 1 gbit, 1 MiB queue", 1000000, 0, 1000000000,
     1000000000, MIB},
    {"continent", "across a continent: 40 ms each way, 100 mbit, 1 MiB queue", 40000000, 0,
     100000000, 100000000, MIB},
    {"mobile", "a phone: 30 ms +- 10 ms each way, 2 mbit up, 10 mbit down, 256 KiB queue", 30000000,
     10000000, 2000000, 10000000, 256 * KIB},
};

const struct link_profile *link_spec_profile(const char *name)
{
    for (int i = 0; i < LINK_SPEC_NPROFILES; i++)
        if (strcmp(link_spec_profiles[i].name, name) == 0) return &link_spec_profiles[i];
    return NULL;
}

struct unit {
    const char *name;
    double mult;
};

/* A non-negative decimal number followed by one of the units (or "0" alone). */
static int parse(const char *s, const struct unit *units, const char *what, double max, double *out,
                 char *err, size_t errlen)
{
    const char *p = s;
    if (*p == '-') {
        snprintf(err, errlen, "%s '%s' is negative", what, s);
        return -1;
    }
    size_t digits = strspn(p, "0123456789");
    p += digits;
    if (*p == '.') {
        size_t frac = strspn(p + 1, "0123456789");
        if (frac == 0) goto bad;
        digits += frac;
        p += 1 + frac;
    }
    if (digits == 0) goto bad;
    double v = strtod(s, NULL);
    if (*p == 0) {
        if (v == 0) {
            *out = 0;
            return 0;
        }
        snprintf(err, errlen, "%s '%s' has no unit", what, s);
        return -1;
    }
    for (const struct unit *u = units; u->name; u++) {
        if (strcmp(p, u->name) != 0) continue;
        double x = v * u->mult;
        if (!isfinite(x) || x > max) {
            snprintf(err, errlen, "%s '%s' is too large", what, s);
            return -1;
        }
        *out = x;
        return 0;
    }
bad:
    snprintf(err, errlen, "bad %s '%s'", what, s);
    return -1;
}

int link_spec_duration(const char *s, uint64_t *ns, char *err, size_t errlen)
{
    static const struct unit u[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {0, 0}};
    double v;
    /* an hour each way is more than any link: beyond it is a typo */
    if (parse(s, u, "duration (want e.g. 40ms, 500us)", 3600e9, &v, err, errlen) < 0) return -1;
    *ns = (uint64_t)llround(v);
    return 0;
}

int link_spec_rate(const char *s, uint64_t *bps, char *err, size_t errlen)
{
    static const struct unit u[] = {
        {"bit", 1}, {"kbit", 1e3}, {"mbit", 1e6}, {"gbit", 1e9}, {0, 0}};
    double v;
    if (parse(s, u, "rate (want e.g. 100mbit, 1gbit)", 1e12, &v, err, errlen) < 0) return -1;
    if (v > 0 && v < 8) {
        snprintf(err, errlen, "rate '%s' is below one byte per second", s);
        return -1;
    }
    *bps = (uint64_t)llround(v);
    return 0;
}

int link_spec_size(const char *s, size_t *bytes, char *err, size_t errlen)
{
    static const struct unit u[] = {
        {"b", 1},        {"k", KIB},       {"K", KIB},        {"kb", KIB},  {"KiB", KIB},
        {"m", MIB},      {"M", MIB},       {"mb", MIB},       {"MiB", MIB}, {"g", 1u << 30},
        {"G", 1u << 30}, {"gb", 1u << 30}, {"GiB", 1u << 30}, {0, 0}};
    double v;
    if (s[0] && s[strspn(s, "0123456789")] == 0) { /* plain bytes */
        unsigned long long x = strtoull(s, NULL, 10);
        if (strlen(s) > 13 || x > (1ull << 40)) {
            snprintf(err, errlen, "size '%s' is too large", s);
            return -1;
        }
        *bytes = (size_t)x;
        return 0;
    }
    if (parse(s, u, "size (want e.g. 1MiB, 256k)", (double)(1ull << 40), &v, err, errlen) < 0)
        return -1;
    *bytes = (size_t)llround(v);
    return 0;
}
