/* oblimit: Redis's client-output-buffer-limit rule (hard, soft, soft seconds) for
 * subscribers that cannot keep up (rsrv applies it to clients in pub/sub mode).
 *
 * Contract
 * - A client whose pending output reaches `hard` bytes is over the limit at once.
 * - A client whose pending output reaches `soft` bytes is over the limit when it has
 *   stayed at or above `soft` for more than `soft_secs` seconds; dropping below soft
 *   resets the clock.  `*since_ms` is the caller's per-client state (0 = not above
 *   soft), updated by each call; call on every append and from a periodic timer.
 * - A limit of 0 is disabled (as in Redis: `0 0 0` = unlimited).
 * - oblimit_parse() reads the three words of `--pubsub-buffer-limit 32mb 8mb 60`
 *   (sizes with an optional k/kb/m/mb/g/gb suffix, case-insensitive, as redis.conf).
 */
#ifndef WIRELAB_IO_RSRV_OBLIMIT_H
#define WIRELAB_IO_RSRV_OBLIMIT_H

#include <stddef.h>
#include <stdint.h>

struct oblimit {
    size_t hard, soft;
    uint64_t soft_secs;
};

int oblimit_over(const struct oblimit *l, size_t used, uint64_t *since_ms, uint64_t now_ms);
int oblimit_parse_size(const char *s, size_t *out);
int oblimit_parse(const char *hard, const char *soft, const char *secs, struct oblimit *l);

#endif
