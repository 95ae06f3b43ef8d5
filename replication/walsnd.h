/* walsnd: the WAL sender, a primary streaming its log to replicas (PostgreSQL's
 * walsender).  walrcv.h is the other end.
 *
 * The stream (both directions on one TCP connection to the primary's replication port):
 *   replica -> primary  REPLSTART <lsn> <segment-size>     (a RESP array) once
 *   primary -> replica  +STREAM <primary flush LSN>         or -ERR why, then it closes
 *   primary -> replica  WAL records, byte for byte as in the primary's segments, never
 *                       past the primary's own flush LSN
 *   replica -> primary  REPLCONF ACK <write> <flush> <apply>  after each progress
 *
 * Contract
 * - walsnd_create(loop, wal, cfg) serves replicas on the loop's thread through io/rsrv
 *   (at most WALSND_MAX_REPLICAS; one more is answered "-ERR too many replicas");
 *   walsnd_listen() opens the replication port, walsnd_adopt() takes a connected socket
 *   (tests).  walsnd_destroy() closes them all.
 * - REPLSTART is refused (an error, then the connection closes) when the segment size
 *   differs from the primary's, when the replica is past the primary's flush LSN (its
 *   log has diverged) or asks for WAL older than wal_oldest_lsn() (it is gone).
 * - Streaming: the sender copies flushed WAL (wal_read) into each streaming replica's
 *   output while less than WALSND_OUT_HIGH bytes of it are unsent (the socket's pace,
 *   not a growing buffer).  Call walsnd_progress() when the WAL's flush LSN moved (from
 *   the loop's wake callback, the WAL writer's on_progress having woken it) and, with a
 *   throttle, every WALSND_TICK_MS or so; more goes out as the socket drains.
 * - cfg.throttle (bytes/s, 0 = none) sends each replica at most that rate, as a slow
 *   link would: a token bucket refilled at the rate, holding at most 40 ms of it; a
 *   record bigger than the bucket goes once the bucket is full (it runs into debt), so
 *   the long-run rate holds.  WAL the link has not carried stays in the segment files.
 * - Acknowledgements: a REPLCONF ACK sets the connection's write/flush/apply LSNs
 *   (backwards positions are taken as they come: they only ever lower the count) and
 *   then runs cfg.on_ack(cfg.arg).  An ACK past the LSN this connection was sent is a
 *   protocol error: logged once, answered, the connection closed; it is never counted.
 * - walsnd_count(s, what, lsn): how many streaming replicas have `what` >= lsn (0 when
 *   s is NULL); walsnd_min(s, what) the lowest such position among them (UINT64_MAX:
 *   none), what a checkpoint may compact the WAL up to.  walsnd_info(s, out) appends INFO
 * replication lines: connected_slaves, and per replica its sent/write/flush/apply LSNs, the lag in
 * bytes, in time (how long ago the oldest WAL it has not applied was flushed here, from a ring of
 * flush times sampled at most once a millisecond) and the time since its last ACK.
 * - Errors: walsnd_create returns NULL (errno); walsnd_listen -1 with err.
 */
#ifndef WIRELAB_REPLICATION_WALSND_H
#define WIRELAB_REPLICATION_WALSND_H

#include <stddef.h>
#include <stdint.h>

#include "io/ev.h"
#include "parsers/resp/resp.h"
#include "replication/wal.h"

#define WALSND_MAX_REPLICAS 8
#define WALSND_OUT_HIGH     ((size_t)1 << 20)
#define WALSND_TICK_MS      20

enum walsnd_pos { WALSND_WRITE, WALSND_FLUSH, WALSND_APPLY };

struct walsnd_config {
    const char *name;  /* log prefix */
    uint64_t throttle; /* bytes/s per replica; 0: as fast as the socket takes them */
    void (*on_ack)(void *arg);
    void *arg;
};

struct walsnd;
struct walsnd *walsnd_create(struct ev_loop *loop, struct wal *wal,
                             const struct walsnd_config *cfg);
int walsnd_listen(struct walsnd *s, const char *host, int port, char *err, size_t errlen);
int walsnd_adopt(struct walsnd *s, int fd);
void walsnd_progress(struct walsnd *s);
int walsnd_count(const struct walsnd *s, enum walsnd_pos what, uint64_t lsn);
uint64_t walsnd_min(const struct walsnd *s, enum walsnd_pos what);
void walsnd_info(const struct walsnd *s, struct resp_out *o);
void walsnd_destroy(struct walsnd *s);

#endif
