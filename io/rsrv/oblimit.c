/* oblimit: the hard/soft/seconds output-buffer rule.  Contract in oblimit.h. */
#include "io/rsrv/oblimit.h"

#include <errno.h>
#include <stdlib.h>
#include <strings.h>

int oblimit_over(const struct oblimit *l, size_t used, uint64_t *since_ms, uint64_t now_ms)
{
    if (l->hard && used >= l->hard) return 1;
    if (!l->soft || used < l->soft) {
        *since_ms = 0;
        return 0;
    }
    if (*since_ms == 0) {
        *since_ms = now_ms ? now_ms : 1;
        return 0;
    }
    return now_ms - *since_ms > l->soft_secs * 1000;
}

int oblimit_parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9') return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno) return -1;
    unsigned long long mul = 1;
    if (*end == 0)
        mul = 1;
    else if (!strcasecmp(end, "k"))
        mul = 1000;
    else if (!strcasecmp(end, "kb"))
        mul = 1024;
    else if (!strcasecmp(end, "m"))
        mul = 1000 * 1000;
    else if (!strcasecmp(end, "mb"))
        mul = 1024 * 1024;
    else if (!strcasecmp(end, "g"))
        mul = 1000ull * 1000 * 1000;
    else if (!strcasecmp(end, "gb"))
        mul = 1024ull * 1024 * 1024;
    else
        return -1;
    if (v > (unsigned long long)SIZE_MAX / mul) return -1;
    *out = (size_t)(v * mul);
    return 0;
}

int oblimit_parse(const char *hard, const char *soft, const char *secs, struct oblimit *l)
{
    size_t h, s, t;
    if (oblimit_parse_size(hard, &h) < 0 || oblimit_parse_size(soft, &s) < 0) return -1;
    char *end;
    errno = 0;
    if (*secs < '0' || *secs > '9') return -1;
    t = strtoul(secs, &end, 10);
    if (errno || *end) return -1;
    l->hard = h;
    l->soft = s;
    l->soft_secs = t;
    return 0;
}
