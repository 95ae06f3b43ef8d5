/* disk: block-file I/O engines (pread, threads, libaio, io_uring) behind one small
 * queue/flush interface, and the closed-loop runner that drives them at a queue depth.
 *
 * Contract
 * - An engine is opened on one fd with a queue depth qd and the qd request buffers
 *   (struct disk_engine_cfg).  The caller owns the requests and buffers; an engine
 *   never allocates per I/O.
 * - queue(e, r) stages request r (read or write of r->len bytes at r->off into/from
 *   r->buf; r->slot is the index of r's buffer in cfg.bufs, used for registered
 *   buffers).  At most qd requests may be staged or in flight at once; more is a bug
 *   (asserted).  Returns 0, or -errno when the engine cannot take it.
 * - flush(e, done, max, min) hands every staged request to the kernel, then waits
 *   until at least `min` requests have completed (min <= requests in flight), and
 *   stores up to `max` completed requests in done[].  Returns how many, or -errno
 *   when the engine itself failed (the requests' fate is then unknown).  A completed
 *   request has r->res = bytes transferred (possibly short: at EOF, or a partial
 *   transfer the caller must resubmit) or -errno for that request alone.
 * - The pread engine is synchronous: queue() performs the system call and the
 *   request is complete before queue() returns; its effective depth is 1.
 * - Each engine counts, in e->st, every system call it makes on the I/O path
 *   (pread/pwrite, io_submit, io_getevents, io_uring_enter) and the time spent inside
 *   submission calls, measured with CLOCK_MONOTONIC (vDSO, not a system call).
 *   For io_uring the counting follows liburing's rule for when it enters the kernel.
 * - The "threads" engine is not a queue: it is qd threads, each running the pread
 *   engine at depth 1 (disk_run does this), the classic way to get concurrency out
 *   of blocking calls.  fio's equivalent is psync with numjobs=qd.
 * - Errors from open are written into err (errlen bytes) and returned as -errno.
 */
#ifndef WIRELAB_IO_DISK_H
#define WIRELAB_IO_DISK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define DISK_MAX_QD    4096u       /* bound on queue depth / thread count */
#define DISK_MAX_BS    (16u << 20) /* bound on one request: 16 MiB */
#define DISK_MAX_BATCH DISK_MAX_QD

enum disk_op { DISK_READ = 0, DISK_WRITE = 1 };

/* engine flags (io_uring extras; others refuse them) */
#define DISK_F_FIXED_FILES   1u
#define DISK_F_FIXED_BUFFERS 2u
#define DISK_F_SQPOLL        4u

struct disk_req {
    void *buf;
    uint64_t off;
    uint32_t len;
    uint32_t slot; /* index into cfg.bufs */
    int op;        /* enum disk_op */
    int64_t res;   /* on completion: bytes, or -errno */
};

struct disk_stats {
    uint64_t syscalls;     /* every I/O-path system call the engine made */
    uint64_t submit_calls; /* calls that submit (pread, io_submit, io_uring_enter) */
    uint64_t submit_ns;    /* time spent inside those calls (libaio: io_submit only) */
    uint64_t wait_calls;   /* calls that only wait (io_getevents) */
};

struct disk_engine_cfg {
    int fd;
    unsigned qd;
    unsigned flags;           /* DISK_F_* */
    const struct iovec *bufs; /* qd buffers, bufs[i] for slot i */
};

struct disk_engine_ops;
struct disk_engine {
    const struct disk_engine_ops *ops;
    struct disk_stats st;
};

struct disk_engine_ops {
    const char *name;
    int sync;       /* 1: queue() completes the I/O itself */
    unsigned flags; /* DISK_F_* this engine supports */
    int (*open)(struct disk_engine **out, const struct disk_engine_cfg *cfg, char *err,
                size_t errlen);
    int (*queue)(struct disk_engine *e, struct disk_req *r);
    int (*flush)(struct disk_engine *e, struct disk_req **done, unsigned max, unsigned min);
    void (*close)(struct disk_engine *e);
};

extern const struct disk_engine_ops disk_engine_pread;
extern const struct disk_engine_ops disk_engine_libaio;
extern const struct disk_engine_ops disk_engine_uring;

/* CLOCK_MONOTONIC in ns (through the vDSO: not a system call, so not counted). */
uint64_t disk_now_ns(void);

/* ---- O_DIRECT alignment ------------------------------------------------------- */

struct disk_dio_align {
    uint32_t offset_align; /* offsets and sizes must be multiples of this */
    uint32_t mem_align;    /* buffer addresses must be multiples of this */
    const char *source;    /* "statx STATX_DIOALIGN" or "logical block size (sysfs)" */
};

/* Learns the O_DIRECT rules for fd: statx(STATX_DIOALIGN) when the filesystem reports
 * them, else the device's logical block size (what BLKSSZGET returns, read from sysfs
 * so no block-device node is needed) for both.  Returns 0, or -1 when neither works. */
int disk_dio_align_get(int fd, struct disk_dio_align *a);

/* Writes into out a sentence naming which of offset, size, buffer address violates
 * a.  Returns 1 when something is misaligned, 0 when the request looks aligned. */
int disk_dio_explain(const struct disk_dio_align *a, uint64_t off, uint64_t len, const void *buf,
                     char *out, size_t outlen);

/* Name of the filesystem holding fd ("ext4", "tmpfs", ... or "fs 0x...") into out. */
const char *disk_fs_name(int fd, char *out, size_t outlen);

/* ---- the verify pattern -------------------------------------------------------- */
/* Byte q of a file written with generation gen is byte (q % 8) of the little-endian
 * 64-bit word splitmix64(q / 8 + gen * 0x9E3779B97F4A7C15).  Any range of the file
 * can be checked alone; tests regenerate it independently (Python). */
void disk_pattern_fill(void *buf, uint64_t off, size_t len, uint64_t gen);
/* Returns the index of the first byte of buf that differs, or -1 when all match. */
int64_t disk_pattern_check(const void *buf, uint64_t off, size_t len, uint64_t gen);

/* ---- latency histogram (log-linear, <= 1.6% relative error) ------------------- */
#define DISK_HIST_BUCKETS 2048
struct disk_hist {
    uint64_t n, max_ns;
    uint64_t b[DISK_HIST_BUCKETS];
};
void disk_hist_add(struct disk_hist *h, uint64_t ns);
void disk_hist_merge(struct disk_hist *into, const struct disk_hist *from);
uint64_t disk_hist_pct(const struct disk_hist *h, double pct); /* ns, 0 when empty */

#endif
