/* disk run: the closed-loop workload runner that drives a disk engine (disk.h).
 *
 * Contract
 * - disk_run(job, res) keeps job->qd requests of job->bs bytes in flight on job->fd
 *   (random or sequential, reads or writes, over [region_off, region_off +
 *   region_len)) until runtime_s has passed or max_ios I/Os completed (whichever
 *   first; 0 = no limit, at least one must be set), then drains what is in flight.
 *   A sync engine runs at depth 1; with job->threads, qd threads each run the engine
 *   at depth 1 and the results are merged.
 * - Submission follows fio's defaults and knobs: with batch <= 1 each request is
 *   handed to the kernel as soon as it is queued (fio's iodepth_batch_submit=1), and
 *   the loop waits for one completion when the queue is full; with batch = N it
 *   submits N at a time and waits for at least N (iodepth_batch_complete_min=N),
 *   fewer system calls per I/O for requests that wait for their batch.  A submit
 *   that fills the queue shares its system call with the wait.
 * - Latency is measured per I/O from just before it is queued to when its
 *   completion is reaped (CLOCK_MONOTONIC), so it includes batching delays.
 * - Short transfers: a read that stops at end of file completes short (counted in
 *   eof_short); any other partial transfer is resubmitted for the remainder and
 *   counted in resubmits; a zero-byte transfer before EOF is an error (-EIO).
 * - With job->verify, every read is checked against the pattern (generation 0,
 *   disk.h) and writes carry generation write_gen and set their block's bit in
 *   job->written (one bit per block, caller-allocated, disk_run_bitmap_bytes()).
 * - Returns 0, or -1 with res->err (-errno of the first failed request, with the
 *   request in err_off/err_len/err_op) or res->msg set.  For EINVAL on an O_DIRECT
 *   file (job->dio set), res->msg explains which alignment rule the request broke.
 *   A run stops at the first failed request.
 */
#ifndef WIRELAB_IO_DISK_RUN_H
#define WIRELAB_IO_DISK_RUN_H

#include "io/disk/disk.h"

enum disk_rw { DISK_RW_RANDREAD, DISK_RW_READ, DISK_RW_RANDWRITE, DISK_RW_WRITE };

struct disk_job {
    const struct disk_engine_ops *ops;
    int threads; /* run qd threads of ops at depth 1 */
    unsigned eng_flags;
    int fd;
    uint64_t file_size;
    uint64_t region_off, region_len;
    uint32_t bs;
    unsigned qd, batch; /* submit this many per call, reap at least this many */
    int rw;             /* enum disk_rw */
    double runtime_s;
    uint64_t max_ios;
    unsigned fsync_every;
    uint64_t seed;
    int verify;
    uint64_t write_gen;
    uint8_t *written;
    size_t buf_offset; /* start each buffer this many bytes past an aligned address */
    const struct disk_dio_align *dio; /* non-NULL when fd is O_DIRECT */
};

struct disk_result {
    uint64_t ios, bytes, eof_short, resubmits, fsyncs;
    uint64_t verify_bad, verify_first_off;
    double secs;
    struct disk_stats st;
    struct disk_hist hist;
    int err; /* -errno of the first failed request */
    uint64_t err_off;
    uint32_t err_len;
    int err_op;
    char msg[512];
};

int disk_run(const struct disk_job *job, struct disk_result *res);

/* Blocks the job's region is cut into (the last one may be short for reads). */
uint64_t disk_run_blocks(const struct disk_job *job);
size_t disk_run_bitmap_bytes(const struct disk_job *job);

/* After a verified write run: reads the region back with plain pread and checks each
 * block holds write_gen if its bit in job->written is set, else generation 0.
 * Returns the number of bad blocks (first file offset in *first_bad), -1 on error
 * (message in msg). */
int64_t disk_run_verify_region(const struct disk_job *job, uint64_t *first_bad, char *msg,
                               size_t msglen);

#endif
