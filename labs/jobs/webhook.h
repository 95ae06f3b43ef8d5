/* webhook: the push-to-a-callback client: POST a body to a URL on the event loop,
 * signed, retried with exponential backoff, never blocking the loop.
 *
 * Wire format of one delivery attempt (documented for receivers in labs/jobs/NOTES.md):
 *   POST /path HTTP/1.1
 *   Host: HOST:PORT
 *   Content-Type: application/json
 *   Content-Length: N
 *   X-Wirelab-Event: EVENT
 *   X-Wirelab-Delivery: ID        32 hex digits, the same on every retry (dedupe on it)
 *   X-Wirelab-Attempt: K          1, 2, ...
 *   X-Wirelab-Signature: sha256=HEX   HMAC-SHA256(secret, raw body), lowercase hex;
 *                                     only when a secret is set
 *   Connection: close
 * A 2xx status is success.  Anything else (refused connection, non-2xx status,
 * no response head within timeout_ms, a head that is not HTTP/1.x as io/httpc
 * parses it, connection closed early) is a failed attempt;
 * attempt K+1 starts min(base_ms * 2^(K-1), max_ms) after attempt K failed, up
 * to max_attempts in all.
 *
 * Contract
 * - URLs: http://HOST:PORT/path with HOST an IPv4 literal or "localhost" (no DNS:
 *   a resolver call would block the loop).  hook_parse_url checks that.
 * - At most max_pending deliveries exist at once (in flight or waiting to retry);
 *   hook_send refuses beyond that with -1 and a message.  Each attempt has its own
 *   socket and timer, so a receiver that hangs or refuses delays only its own
 *   deliveries.
 * - done(arg, delivery_id, ok, attempts, status) is called once per delivery,
 *   when it succeeded or gave up (status: last HTTP status, 0 if none).
 * - hook_destroy drops every pending delivery without calling done.
 */
#ifndef WIRELAB_LABS_JOBS_WEBHOOK_H
#define WIRELAB_LABS_JOBS_WEBHOOK_H

#include "io/ev.h"

#include <stddef.h>
#include <stdint.h>

#define HOOK_ID_LEN  32 /* hex digits of a delivery id */
#define HOOK_SIG_LEN 64 /* hex digits of an HMAC-SHA256 */

struct hook_opts {
    const char *secret; /* NULL or "": deliveries are not signed */
    uint32_t timeout_ms;
    uint32_t base_ms, max_ms;
    unsigned max_attempts;
    size_t max_pending;
};

struct hook_stats {
    uint64_t attempts, delivered, failed_attempts, given_up;
};

typedef void (*hook_done_cb)(void *arg, const char *delivery_id, int ok, unsigned attempts,
                             int status);

struct hook_client;

struct hook_client *hook_create(struct ev_loop *loop, const struct hook_opts *opts,
                                hook_done_cb done, void *arg);
void hook_destroy(struct hook_client *hc);
/* Queue a delivery of body to url; the first attempt starts at once.  Writes the
 * delivery id (HOOK_ID_LEN hex + NUL) into id_out when not NULL.  Returns 0, or
 * -1 with a reason in err (bad URL, too many pending deliveries, no memory). */
int hook_send(struct hook_client *hc, const char *url, const char *event, const char *body,
              size_t len, char *id_out, char *err, size_t errlen);
const struct hook_stats *hook_stats(const struct hook_client *hc);
size_t hook_pending(const struct hook_client *hc);

/* http://HOST:PORT/path -> IPv4 address (network order), port, path.  0 or -1. */
int hook_parse_url(const char *url, uint32_t *addr, int *port, char *path, size_t pathlen);
/* HMAC-SHA256(secret, body) as lowercase hex into hex (HOOK_SIG_LEN + 1 bytes). */
void hook_sign(const char *secret, const void *body, size_t len, char *hex);
/* Delay before attempt `next` (2, 3, ...) given the options. */
uint32_t hook_backoff_ms(const struct hook_opts *opts, unsigned next);

#endif
