/* receiver: the webhook receiver inside notify-client: a tiny HTTP server on io/ev
 * that takes the jobs server's POSTs, verifies the HMAC-SHA256 signature when it
 * knows the secret, answers 200 and reports each delivery.
 *
 * Contract
 * - rcv_create() binds 127.0.0.1:port (0 picks one) at once but starts listening
 *   only after offline_ms: until then connects are refused, which is what a
 *   receiver that is offline looks like to the sender (it must retry).
 * - on_delivery(arg, path, body, len, sig_ok) runs once per complete request;
 *   sig_ok is 1 (valid), 0 (invalid or missing) or -1 (no secret to check with).
 * - At most RCV_MAX_CONNS connections at once (more are closed at accept), each
 *   request at most RCV_MAX_REQ bytes (larger: 413 and close).  Bytes in and out
 *   are added to *bytes.
 */
#ifndef WIRELAB_LABS_PUSH_RECEIVER_H
#define WIRELAB_LABS_PUSH_RECEIVER_H

#include "io/ev.h"

#include <stddef.h>
#include <stdint.h>

#define RCV_MAX_CONNS 4096
#define RCV_MAX_REQ   16384

typedef void (*rcv_delivery_cb)(void *arg, const char *path, const char *body, size_t len,
                                int sig_ok);

struct receiver;

struct receiver *rcv_create(struct ev_loop *loop, int port, uint32_t offline_ms, const char *secret,
                            uint64_t *bytes, rcv_delivery_cb cb, void *arg, char *err,
                            size_t errlen);
int rcv_port(const struct receiver *r);
void rcv_destroy(struct receiver *r);

#endif
