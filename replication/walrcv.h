/* walrcv: the WAL receiver, a replica copying its primary's log (PostgreSQL's
 * walreceiver).  The stream it speaks is described in walsnd.h.
 *
 * Contract
 * - walrcv_create(loop, wal, cfg) makes a receiver for a replica whose log is `wal`;
 *   walrcv_start() connects (cfg.connect(cfg.arg), or a blocking TCP connect to
 *   cfg.host:cfg.port: instant on loopback, where this lab runs) and sends REPLSTART
 *   with the end of its own log (wal_insert_lsn) and its segment size.  A refusal or a
 *   lost connection is logged once per distinct reason and retried: after 200 ms when
 *   the link went, 1 s when the primary refused or sent what is not the protocol.
 * - Every record received is checked (CRC, its LSN and previous LSN chain: wal_rec_decode,
 *   wal_append_raw) and appended, so the replica's log is always a byte-identical prefix
 *   of the primary's; a record that does not follow drops the link ("the WALs
 *   diverged").  The receiver asks its WAL for a flush after each batch.
 * - Records are applied (cfg.apply(cfg.arg, lsn, type, payload, n), in log order) only
 *   once they are flushed here: apply <= flush <= write, and a restart resumes from what
 *   is on disk.  Call walrcv_progress() when the WAL wrote or flushed (from the loop's
 *   wake callback): it applies, then sends REPLCONF ACK write flush apply when any moved.
 * - Bounds: at most WALRCV_IN_MAX bytes of unparsed input and WALRCV_APPLY_MAX of
 *   records waiting to be applied; past that it stops reading (TCP pushes back on the
 *   primary, whose sender keeps the rest in its segment files).
 * - walrcv_info() appends INFO replication lines (master_host, master_port,
 *   master_link_status, master_last_error, replica_apply_lsn); walrcv_apply_lsn() and
 *   walrcv_link_up() for the rest.
 * - Errors: walrcv_create returns NULL (errno).
 */
#ifndef WIRELAB_REPLICATION_WALRCV_H
#define WIRELAB_REPLICATION_WALRCV_H

#include <stddef.h>
#include <stdint.h>

#include "io/ev.h"
#include "parsers/resp/resp.h"
#include "replication/wal.h"

#define WALRCV_IN_MAX    ((size_t)4 << 20)
#define WALRCV_APPLY_MAX ((size_t)64 << 20)

struct walrcv_config {
    const char *name; /* log prefix */
    const char *host; /* the primary's replication address */
    int port;
    int (*connect)(void *arg, char *err, size_t errlen); /* NULL: TCP to host:port */
    int (*apply)(void *arg, uint64_t lsn, uint16_t type, const void *p, size_t n);
    void *arg;
};

struct walrcv;
struct walrcv *walrcv_create(struct ev_loop *loop, struct wal *wal,
                             const struct walrcv_config *cfg);
void walrcv_start(struct walrcv *r);
void walrcv_progress(struct walrcv *r);
uint64_t walrcv_apply_lsn(const struct walrcv *r);
int walrcv_link_up(const struct walrcv *r);
void walrcv_info(const struct walrcv *r, struct resp_out *o);
void walrcv_destroy(struct walrcv *r);

#endif
