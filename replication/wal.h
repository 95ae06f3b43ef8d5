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
 * - wal_open() creates the directory if needed, recovers: calls replay(arg, lsn,
 *   type, payload, n) for every valid record in order (a non-zero return stops with an
 *   error), truncates a torn or zeroed tail (and says so through opts.log), and refuses
 *   to open, naming segment and offset, when a bad record is followed by valid ones
 *   (corruption before the tail), unless opts.truncate_corrupt is set.  What it
 *   recovered is fdatasynced (it may have been only in the page cache after a kill -9)
 *   before the flush LSN is set to its end.  It then starts the writer thread.  Returns NULL with a
 * message in err on failure.
 * - wal_append() (any thread) puts one record in the in-memory WAL buffer and returns
 *   the LSN just past it (its "commit LSN", > 0).  The record is durable once
 *   wal_flush_lsn() >= that LSN.  Returns 0 with errno: E2BIG (payload too big),
 *   ENOBUFS (buffer limit reached: the writer is behind), EIO (the writer failed).
 * - wal_append_raw() (replicas) appends one whole encoded record received from another
 *   WAL with the same segment size: it must carry the next LSN and previous LSN of
 *   this log and a valid CRC (else -1, EINVAL), so the copy stays byte-identical.
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
 *   A failed write or fdatasync is final (as PostgreSQL's PANIC): wal_failed() != 0,
 *   appends fail with EIO, flush LSN stops.
 * - Durability: a new segment is preallocated, fsynced, and the directory fsynced
 *   before any record goes in it; the previous segment is fdatasynced before the next
 *   one gets records, so a durable record implies every earlier one is durable.
 * - wal_read() copies whole encoded records from [from, upto) (upto <= flush LSN) out
 *   of the segment files, for streaming: returns bytes copied (0: nothing yet) and the
 *   LSN to continue from in *next; -1 with err (ENOENT: that WAL is gone).  Call it
 *   from one thread at a time.
 * - Power-loss simulation (tests): with opts.sim_power_loss the writer records the
 *   last fdatasync'd LSN in DIR/durable.lsn, and wal_open() first zeroes every byte
 *   past it in every segment (the files are fixed size: that is cutting each file back
 *   to its durable length); with WAL_SIM_TEAR it keeps the first half of the first
 *   non-durable record, a torn write.
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
    int truncate_corrupt;     /* recovery: cut at corruption instead of refusing */
    int sim_power_loss;       /* WAL_SIM_* */
    int notify_write;         /* also call on_progress after the write, before fdatasync */
    void (*on_progress)(void *arg);
    void *progress_arg;
    void (*log)(void *arg, const char *msg); /* recovery messages; NULL: stderr */
    void *log_arg;
};

typedef int (*wal_replay_cb)(void *arg, uint64_t lsn, uint16_t type, const void *p, size_t n);

struct wal;
struct wal *wal_open(const char *dir, const struct wal_opts *o, wal_replay_cb replay, void *arg,
                     char *err, size_t errlen);
void wal_close(struct wal *w); /* writes and flushes what is buffered, stops the writer */

uint64_t wal_append(struct wal *w, uint16_t type, const void *p, size_t n);
int wal_append_raw(struct wal *w, const void *rec, size_t n);
void wal_flush_request(struct wal *w, uint64_t lsn);

uint64_t wal_insert_lsn(struct wal *w);
uint64_t wal_write_lsn(struct wal *w);
uint64_t wal_flush_lsn(struct wal *w);
uint64_t wal_oldest_lsn(struct wal *w);
size_t wal_segment_size(struct wal *w);
uint64_t wal_flush_count(struct wal *w); /* fdatasync calls made by the writer */
int wal_failed(struct wal *w, char *err, size_t errlen);

ssize_t wal_read(struct wal *w, uint64_t from, uint64_t upto, void *buf, size_t cap, uint64_t *next,
                 char *err, size_t errlen);

/* ---- the record format, for wal-dump and the replication stream ---- */
enum { WAL_REC_OK, WAL_REC_ZERO, WAL_REC_SHORT, WAL_REC_BADLEN, WAL_REC_BADCRC, WAL_REC_BADLSN };
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

/* Walks a WAL directory read-only, calling cb for each record (status WAL_REC_OK) and
 * once for the first bad one (its status, then stops); segment and offset given.
 * Returns 0, or -1 with err when the directory cannot be read. */
typedef void (*wal_walk_cb)(void *arg, const char *segment, size_t offset, int status,
                            const struct wal_rec *r);
int wal_walk(const char *dir, wal_walk_cb cb, void *arg, char *err, size_t errlen);

#endif
