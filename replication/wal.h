/* wal: a write-ahead log of typed records, with group commit on a writer thread.
 *
 * Contract
 * - A WAL is a directory of fixed-size segment files named by the LSN of their first
 *   byte ("%016llx.wal").  An LSN is a byte position in the log, as in PostgreSQL:
 *   lag in bytes is a difference of LSNs.  Records never span segments: when one does
 *   not fit, a SWITCH record (or, when fewer than WAL_HDR bytes remain, nothing) closes
 *   the segment and the record goes at the start of the next one.
 * - Record: a 32-byte header (crc32c, payload length, its own LSN, the previous
 *   record's LSN, type) and the payload, padded to 8 bytes.  The CRC-32C covers the
 *   header after the CRC field and the payload.  Types 1..0xFFFE are the caller's;
 *   WAL_T_SWITCH is reserved.  The payload is opaque bytes (at most WAL_MAX_PAYLOAD).
 * - Beside the segments: wal.meta (the segment size and the log's start LSN, in two
 *   checksummed slots written in turn, so an interrupted update leaves the previous
 *   one) and durable.lsn (the flush LSN, rewritten after every fdatasync, not itself
 *   synced: after a kill -9 it is exact, after a power loss it may be older, never
 *   newer, than what is on disk).
 *
 * Recovery: what a crash leaves versus damage
 * - wal_open() creates the directory if needed and recovers: it calls replay(arg, lsn,
 *   type, payload, n) for every valid record in order (a non-zero return stops it with
 *   an error), from the start LSN in wal.meta along a chain of contiguous segments,
 *   until the first position that holds no valid record: the end E.  What lies from E
 *   on decides:
 *   - a clean end: zeroes to the end of E's segment and every later segment all zeroes
 *     (the preallocated space a write never reached);
 *   - a torn tail: E >= durable.lsn and non-zero bytes only in E's own segment.  That
 *     is the write in flight at the crash: after a kill -9 a prefix of the last pwrite
 *     (a partial last record), after a power loss any of its sectors (PostgreSQL and
 *     SQLite end the log at the first bad record for the same reason).  It is the one
 *     case cut without asking: zeroed and fdatasynced, and the log names the segment,
 *     the LSN range and the bytes cut.  Records whose flush failed (below) are cut the
 *     same way;
 *   - damage, everything else: E below durable.lsn (a zeroed tail, a flipped byte, a
 *     deleted last or middle segment, a file cut short), the start segment missing
 *     (deleted first segment), a segment missing with later ones present, or data in a
 *     segment after E's (a torn write never reaches the next segment: a segment gets
 *     records only after the previous one is fdatasynced).  wal_open() then returns
 *     NULL with an error naming the segment, the offset and what is wrong, and changes
 *     no file.  With opts.truncate_corrupt (kv-server's and the broker's
 *     --wal-truncate-damaged) it instead cuts the log at E: it keeps the longest valid
 *     prefix, zeroes the rest of E's segment, removes every later segment, lowers
 *     durable.lsn to E, and logs exactly what was cut (segment, LSN range, bytes).
 *   Past durable.lsn, which after a power loss may be older than the last flush, the
 *   shape alone decides.  Segment files below the start LSN are left over from an
 *   interrupted wal_compact(): ignored, and removed by the next one.
 * - What recovery found is fdatasynced (it may have been only in the page cache after
 *   a kill -9) before the flush LSN is set to its end.  Then the writer thread starts.
 *   Returns NULL with a message in err on failure.  wal_check() gives the same verdict
 *   read-only, for tools.
 *
 * Appending, group commit, space
 * - wal_append() (any thread) puts one record in the in-memory WAL buffer and returns
 *   the LSN just past it (its "commit LSN", > 0).  The record is durable once
 *   wal_flush_lsn() >= that LSN.  Returns 0 with errno: E2BIG (payload too big),
 *   ENOBUFS (buffer limit reached: the writer is behind), ENOSPC (or another errno of
 *   segment creation: the segment the record needs cannot be created), EIO (the
 *   writer failed).  A record refused is not in the log and never will be: refuse the
 *   write and do not apply it.
 * - Segments are created by the writer one ahead of the one being filled (preallocated
 *   with posix_fallocate, fsynced, directory fsynced), so records are written only into
 *   space already allocated: a full disk shows as ENOSPC from wal_append() when the
 *   next segment cannot be created, never as a failed write of records already
 *   accepted.  The writer retries the creation every writer_delay_ms; appends succeed
 *   again once space is freed, with no restart.  An append that needs the next segment
 *   before the writer has made it waits for that creation (one fallocate and two fsyncs).
 * - wal_can_append(w, bytes, largest): 0 when records of `bytes` encoded bytes in all
 *   (wal_rec_size() each; the largest `largest`) would be accepted by wal_append() now,
 *   else -1 with the errno it would fail with (ENOSPC or another errno of segment
 *   creation, ENOBUFS, EIO).  For an owner that applies a command before logging it
 *   and must refuse it before changing anything; it holds while no other thread
 *   appends in between (only the owner's thread appends), except for a writer failure.
 * - wal_append_raw() (replicas) appends one whole encoded record received from another
 *   WAL with the same segment size: it must carry the next LSN and previous LSN of
 *   this log and a valid CRC (else -1, EINVAL), so the copy stays byte-identical.  It
 *   fails like wal_append() otherwise.
 * - Group commit: wal_flush_request(lsn) asks the writer to write and fdatasync at
 *   least up to lsn.  The writer takes everything buffered at that moment; commits
 *   appended while a flush runs all share the next one.  Without requests, the writer
 *   still writes and flushes what is buffered every writer_delay_ms (PostgreSQL's
 *   wal_writer_delay: what `synchronous_commit=off` relies on), or sooner when the
 *   buffer is half full.  After each fdatasync (and, with opts.notify_write, also
 *   after each write, for a replica that reports its write LSN) the writer calls
 *   opts.on_progress(arg) ON THE WRITER THREAD: use it to wake an event loop.
 * - wal_insert_lsn() <= ... wal_write_lsn() (handed to the kernel) and wal_flush_lsn()
 *   (fdatasync returned) are monotonic; the latter two may be read from any thread.
 *   wal_flush_count() counts the fdatasync calls the writer made on segments.
 * - A failed write or fdatasync (EIO, or ENOSPC from a file system that allocates late)
 *   is final (as PostgreSQL's PANIC): wal_failed() != 0 with the reason, appends fail
 *   with EIO, the flush LSN stops.  Every record past wal_flush_lsn() is refused: never
 *   acknowledge it; durable.lsn is marked so that the next wal_open() cuts it (and
 *   logs it) instead of replaying it.
 * - Durability: a segment is preallocated, fsynced, and the directory fsynced before
 *   any record goes in it; the previous segment is fdatasynced before the next one
 *   gets records, so a durable record implies every earlier one is durable.
 *
 * Compaction
 * - wal_compact(w, lsn) drops every segment that lies wholly before lsn (the owner no
 *   longer needs those records: it checkpointed the state they built, and no replica
 *   needs them), never the segment holding the last flushed byte.  Steps: the new start
 *   LSN goes into wal.meta (fdatasynced), then the old segments are unlinked, oldest
 *   first, then the directory is fsynced.  A crash at any step leaves a log that opens:
 *   before the meta write, the old start; after it, the new start, and leftover
 *   segments below it are ignored.  Returns the number of segments removed, or -1 with
 *   errno and err.  Any thread, blocking (two fsyncs and the unlinks): keep it off an
 *   event loop.  wal_oldest_lsn() moves up at once; wal_read() below it fails with
 *   ENOENT.  Replay after a compaction starts at the first record of the segment that
 *   held lsn, which may lie before lsn: the owner skips records below its checkpoint.
 *
 * Reading
 * - wal_read() copies whole encoded records from [from, upto) (upto <= flush LSN) out
 *   of the segment files, for streaming: returns bytes copied (0: nothing yet) and the
 *   LSN to continue from in *next; -1 with err (ENOENT: that WAL is gone).  Call it
 *   from one thread at a time.
 * - Power-loss simulation (tests): with opts.sim_power_loss, wal_open() first zeroes
 *   every byte past durable.lsn in every segment (the files are fixed size: that is
 *   cutting each file back to its durable length); with WAL_SIM_TEAR it keeps the
 *   first half of the first non-durable record, a torn write.
 */
#ifndef WIRELAB_REPLICATION_WAL_H
#define WIRELAB_REPLICATION_WAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define WAL_HDR             32u
#define WAL_MAX_PAYLOAD     (1u << 20)
#define WAL_T_SWITCH        0xFFFFu
#define WAL_SEGMENT_DEFAULT ((size_t)16 << 20)
#define WAL_SEGMENT_MIN     ((size_t)64 << 10)

enum { WAL_SIM_OFF = 0, WAL_SIM_CUT = 1, WAL_SIM_TEAR = 2 };

struct wal_opts {
    size_t segment_size;      /* new logs only (an existing log keeps its own); multiple of 4096 */
    size_t buffer_limit;      /* bytes appended but not yet written; default 64 MiB */
    unsigned writer_delay_ms; /* default 200 */
    int truncate_corrupt;     /* recovery: cut the log at damage instead of refusing */
    int sim_power_loss;       /* WAL_SIM_* */
    int notify_write;         /* also call on_progress after the write, before fdatasync */
    void (*on_progress)(void *arg);
    void *progress_arg;
    void (*log)(void *arg, const char *msg); /* recovery and space messages; NULL: stderr */
    void *log_arg;
    /* tests: wal_compact() calls this after each step (WAL_COMPACT_*) on its thread */
    void (*compact_step)(void *arg, int step);
    void *compact_arg;
};

enum { WAL_COMPACT_META = 1, WAL_COMPACT_UNLINK = 2, WAL_COMPACT_DIRSYNC = 3 };

typedef int (*wal_replay_cb)(void *arg, uint64_t lsn, uint16_t type, const void *p, size_t n);

struct wal;
struct wal *wal_open(const char *dir, const struct wal_opts *o, wal_replay_cb replay, void *arg,
                     char *err, size_t errlen);
void wal_close(struct wal *w); /* writes and flushes what is buffered, stops the writer */

uint64_t wal_append(struct wal *w, uint16_t type, const void *p, size_t n);
int wal_can_append(struct wal *w, size_t bytes, size_t largest);
int wal_append_raw(struct wal *w, const void *rec, size_t n);
void wal_flush_request(struct wal *w, uint64_t lsn);
int wal_compact(struct wal *w, uint64_t lsn, char *err, size_t errlen);

uint64_t wal_insert_lsn(struct wal *w);
uint64_t wal_write_lsn(struct wal *w);
uint64_t wal_flush_lsn(struct wal *w);
uint64_t wal_oldest_lsn(struct wal *w);
size_t wal_segment_size(struct wal *w);
size_t wal_segment_min(void);            /* the smallest segment size a new log takes (1052672) */
uint64_t wal_flush_count(struct wal *w); /* fdatasync calls made by the writer */
int wal_failed(struct wal *w, char *err, size_t errlen);

ssize_t wal_read(struct wal *w, uint64_t from, uint64_t upto, void *buf, size_t cap, uint64_t *next,
                 char *err, size_t errlen);

/* ---- the record format, for wal-dump and the replication stream ---- */
enum {
    WAL_REC_OK,
    WAL_REC_ZERO,
    WAL_REC_SHORT,
    WAL_REC_BADLEN,
    WAL_REC_BADCRC,
    WAL_REC_BADLSN,
    WAL_REC_MISSING /* walkers: the segment file that should hold the next record is absent */
};
struct wal_rec {
    uint64_t lsn, prev;
    uint16_t type;
    uint32_t len; /* payload bytes */
    const void *payload;
    size_t size; /* header + payload + padding */
    uint32_t crc_stored, crc_computed;
};
/* Decodes the record at p (avail bytes): WAL_REC_OK, ZERO (an all-zero header: end of
 * data), SHORT (needs more bytes), BADLEN, BADCRC.  r is filled as far as known.
 * (WAL_REC_BADLSN is what walkers report when a record's LSN or previous LSN do not chain.) */
int wal_rec_decode(const void *p, size_t avail, struct wal_rec *r);
size_t wal_rec_size(size_t payload);
const char *wal_rec_status_name(int st);

/* Walks a WAL directory read-only from its start LSN, calling cb for each record
 * (status WAL_REC_OK) and once for the position where valid records end (its status,
 * then stops); segment and offset given.  Returns 0, or -1 with err when the directory
 * cannot be read. */
typedef void (*wal_walk_cb)(void *arg, const char *segment, size_t offset, int status,
                            const struct wal_rec *r);
int wal_walk(const char *dir, wal_walk_cb cb, void *arg, char *err, size_t errlen);

/* What wal_open() would find, read-only (the rules above). */
enum { WAL_END_CLEAN, WAL_END_TORN, WAL_END_REFUSED, WAL_END_DAMAGED };
struct wal_verdict {
    int end;            /* WAL_END_*: REFUSED is records a failed flush left, cut like a tear */
    int status;         /* WAL_REC_* found at valid_end */
    uint64_t start;     /* the log's start LSN (wal.meta) */
    uint64_t flushed;   /* durable.lsn (0: absent) */
    uint64_t valid_end; /* E: where the valid records stop */
    uint64_t last_lsn;  /* LSN of the last valid record */
    uint64_t records;   /* valid records, SWITCH included */
    uint64_t data_end;  /* one past the last non-zero byte at or after E (E: none) */
    char segment[24];   /* E's segment file name, and E's offset in it */
    size_t offset;
    char why[400]; /* DAMAGED: what is wrong; TORN/REFUSED: what a cut removes */
};
int wal_check(const char *dir, struct wal_verdict *v, char *err, size_t errlen);

#endif
