/* nc_conn: one non-blocking client TCP connection on io/ev, for notify-client:
 * connect without blocking the loop, buffered writes (bounded), reads handed to a
 * callback, and every byte in and out added to a caller's counter (bytes on the
 * wire per completed job is one of the numbers the push lab compares).
 *
 * Contract
 * - nc_open() starts a connect to 127.0.0.1-style IPv4 addr:port; bytes given to
 *   nc_send() before it completes are queued.  Returns 0, or -1 with errno.
 * - on_data(c, data, len) runs for every read; on_close(c, err) runs once when the
 *   peer closes (err 0) or on an error (err = errno), never after nc_close().
 *   Both may call nc_close() and nc_open() on the same struct.
 * - nc_send() returns -1 (ENOBUFS) when the queued bytes would pass NC_OUT_MAX.
 */
#ifndef WIRELAB_LABS_PUSH_NC_CONN_H
#define WIRELAB_LABS_PUSH_NC_CONN_H

#include "io/ev.h"

#include <stddef.h>
#include <stdint.h>

#define NC_OUT_MAX 8192

struct nc_conn;
typedef void (*nc_data_cb)(struct nc_conn *c, const uint8_t *data, size_t len);
typedef void (*nc_close_cb)(struct nc_conn *c, int err);

struct nc_conn {
    int fd; /* -1 when closed */
    int connecting;
    unsigned mask; /* what the loop watches now */
    struct ev_loop *loop;
    uint8_t out[NC_OUT_MAX];
    size_t out_len, out_off;
    uint64_t *bytes; /* in + out, may be NULL */
    nc_data_cb on_data;
    nc_close_cb on_close;
    void *arg;
};

void nc_init(struct nc_conn *c, struct ev_loop *loop, uint64_t *bytes, nc_data_cb on_data,
             nc_close_cb on_close, void *arg);
int nc_open(struct nc_conn *c, uint32_t addr, int port);
int nc_send(struct nc_conn *c, const void *data, size_t len);
void nc_close(struct nc_conn *c);

#endif
