/* ckpt: checkpoints for a program whose state is the replay of a WAL (kv-server's map,
 * the broker's streams).  A checkpoint is a snapshot of the state at an LSN; once it is
 * durable the WAL before that LSN can go, so the log stops growing for ever
 * (PostgreSQL's CHECKPOINT; the fork is Redis's BGSAVE).
 *
 * Contract
 * - ckpt_start(dir, wal, lsn, write, arg) forks.  The child has the state as it was at
 *   that instant (copy-on-write pages) and calls write(arg, out) to put it into
 *   DIR/snapshot.tmp with ckpt_put(), in a frame: "WLCKPT01", the LSN (8 bytes), the
 *   body, the CRC-32C of all of it (4 bytes).  It fsyncs the file and exits; it dies
 *   with its parent (PR_SET_PDEATHSIG), so no orphan keeps writing the file.  write()
 *   must not allocate or lock (the fork copied one thread of several).  lsn is what
 *   the state holds: every record below it, none from it on.  Returns NULL with errno.
 * - ckpt_poll(k, keep_from, msg, n), on the caller's thread, moves it along: 0 still
 *   running; once the child exited 0 and wal_flush_lsn() >= lsn (a snapshot never holds
 *   a write the log could still lose), a thread renames snapshot.tmp to snapshot,
 *   fsyncs the directory and calls wal_compact() up to min(lsn, keep_from) (keep_from:
 *   the oldest LSN a replica still needs; UINT64_MAX none); then 1 with what it did in
 *   msg.  -1 with the reason in msg when it failed (the child, a failed WAL, the
 *   rename); the snapshot in place stays valid.  After 1 or -1, k is freed.
 * - ckpt_abort(k): kills and reaps the child or waits for the thread; frees k.
 * - Crash safety: before the rename, the old snapshot and all the WAL it needs are there
 *   (a snapshot.tmp is removed by the next ckpt_load); after it, the new one, and the
 *   WAL from its LSN on is never removed before the rename is durable.
 * - ckpt_load(dir, read, arg, &lsn, err, errlen): removes a snapshot.tmp, then, when
 *   DIR/snapshot exists, checks its header and calls read(arg, in, lsn) to load the
 *   body with ckpt_get()/ckpt_left(), then checks the CRC.  Returns 1 loaded (*lsn set),
 *   0 no snapshot (*lsn = 0), -1 with err naming the file and what is wrong (a bad
 *   header or CRC, a body read() rejected: it returns -1 with a reason in the
 *   ckpt_in's why).  A bad snapshot is fatal to the caller: the WAL below its LSN may
 *   be gone.  The caller then replays the WAL and skips the records below lsn (after a
 *   compaction, replay starts at the first record of the segment that held lsn).
 */
#ifndef WIRELAB_REPLICATION_CKPT_H
#define WIRELAB_REPLICATION_CKPT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "replication/wal.h"

struct ckpt_out {
    int fd;
    uint32_t crc;
    size_t len;
    unsigned char buf[1 << 16];
};
int ckpt_put(struct ckpt_out *o, const void *p, size_t n); /* 0, -1 with errno */

struct ckpt_in {
    FILE *f;
    uint32_t crc;
    uint64_t left; /* body bytes not yet read */
    const char *why;
};
int ckpt_get(struct ckpt_in *in, void *p, size_t n); /* 0, -1 (past the body's end) */
static inline uint64_t ckpt_left(const struct ckpt_in *in)
{
    return in->left;
}

typedef int (*ckpt_write_fn)(void *arg, struct ckpt_out *o);
typedef int (*ckpt_read_fn)(void *arg, struct ckpt_in *in, uint64_t lsn);

struct ckpt;
struct ckpt *ckpt_start(const char *dir, struct wal *w, uint64_t lsn, ckpt_write_fn write,
                        void *arg);
int ckpt_poll(struct ckpt *k, uint64_t keep_from, char *msg, size_t n);
void ckpt_abort(struct ckpt *k);
int ckpt_load(const char *dir, ckpt_read_fn read, void *arg, uint64_t *lsn, char *err,
              size_t errlen);

#endif
