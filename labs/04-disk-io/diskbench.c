/* diskbench: read or write a file with one of four engines (blocking pread, a pool
 * of threads doing pread, Linux AIO, io_uring) at a chosen queue depth, and print
 * IOPS, MB/s, latency percentiles and the system calls each I/O cost.  The lab's
 * story: how each engine waits, and what queue depth does to a real disk.
 * Engines and the loop live in io/disk/; this file is arguments, the file, output. */
#include "io/disk/disk.h"
#include "io/disk/run.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DB_MAX_BUFMEM   (1ull << 30) /* qd * bs bound */
#define DB_DEFAULT_SIZE (1ull << 30)

struct db_opts {
    const char *engine, *file;
    int rw, direct, json, verify, warm;
    uint64_t bs, size, ios, offset, buf_offset, seed;
    unsigned qd, batch, fsync_every, flags;
    double runtime;
    int size_set, runtime_set;
};

static void db_usage(FILE *f)
{
    fprintf(
        f,
        "usage: diskbench --engine pread|threads|libaio|uring --rw randread|read|randwrite|write\n"
        "                 [--bs 4k] [--qd N] [--size 1g] [--runtime SECONDS] [--direct]\n"
        "                 [--fsync-every N] [--json] FILE\n"
        "  io_uring extras: --fixed-files --fixed-buffers --sqpoll\n"
        "  --batch N: submit N requests per call and reap at least N per wait (fio's\n"
        "             iodepth_batch_submit/_complete_min; default 1, like fio)\n"
        "  also: --ios N (stop after N I/Os)  --verify (check data against the pattern)\n"
        "        --warm (read FILE into the page cache first; default drops it, like fio)\n"
        "        --offset N (region start)  --buf-offset N (misalign buffers)  --seed N\n"
        "FILE is created and filled with the verify pattern when missing or too small.\n"
        "threads: --qd N threads, each doing blocking pread (fio: psync, numjobs=N).\n");
}

static void db_bad(const char *fmt, const char *arg)
{
    fprintf(stderr, "diskbench: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\ntry 'diskbench --help'\n");
    exit(2);
}

/* "4096", "4k", "1m", "1g", "2t" (binary multiples). */
static uint64_t db_size(const char *what, const char *s, uint64_t min, uint64_t max)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-') db_bad("bad size '%s'", s);
    unsigned long long v = strtoull(s, &end, 10);
    unsigned shift = 0;
    switch (*end) {
    case 'k':
    case 'K':
        shift = 10;
        end++;
        break;
    case 'm':
    case 'M':
        shift = 20;
        end++;
        break;
    case 'g':
    case 'G':
        shift = 30;
        end++;
        break;
    case 't':
    case 'T':
        shift = 40;
        end++;
        break;
    default:
        break;
    }
    if (errno || end == s || *end || (shift && v > (UINT64_MAX >> shift))) {
        fprintf(stderr, "diskbench: %s: '%s' is not a size (a number, optionally k/m/g/t)\n", what,
                s);
        exit(2);
    }
    uint64_t r = (uint64_t)v << shift;
    if (r < min || r > max) {
        fprintf(stderr, "diskbench: %s %s is out of range [%" PRIu64 ", %" PRIu64 "]\n", what, s,
                min, max);
        exit(2);
    }
    return r;
}

static void db_parse(int argc, char **argv, struct db_opts *o)
{
    enum {
        OPT_ENGINE = 256,
        OPT_RW,
        OPT_BS,
        OPT_QD,
        OPT_SIZE,
        OPT_RUNTIME,
        OPT_DIRECT,
        OPT_FSYNC,
        OPT_FF,
        OPT_FB,
        OPT_SQPOLL,
        OPT_BATCH,
        OPT_JSON,
        OPT_IOS,
        OPT_VERIFY,
        OPT_WARM,
        OPT_OFFSET,
        OPT_BUFOFF,
        OPT_SEED,
        OPT_HELP
    };
    static const struct option lo[] = {{"engine", 1, 0, OPT_ENGINE},
                                       {"rw", 1, 0, OPT_RW},
                                       {"bs", 1, 0, OPT_BS},
                                       {"qd", 1, 0, OPT_QD},
                                       {"size", 1, 0, OPT_SIZE},
                                       {"runtime", 1, 0, OPT_RUNTIME},
                                       {"direct", 0, 0, OPT_DIRECT},
                                       {"fsync-every", 1, 0, OPT_FSYNC},
                                       {"fixed-files", 0, 0, OPT_FF},
                                       {"fixed-buffers", 0, 0, OPT_FB},
                                       {"sqpoll", 0, 0, OPT_SQPOLL},
                                       {"batch", 1, 0, OPT_BATCH},
                                       {"json", 0, 0, OPT_JSON},
                                       {"ios", 1, 0, OPT_IOS},
                                       {"verify", 0, 0, OPT_VERIFY},
                                       {"warm", 0, 0, OPT_WARM},
                                       {"offset", 1, 0, OPT_OFFSET},
                                       {"buf-offset", 1, 0, OPT_BUFOFF},
                                       {"seed", 1, 0, OPT_SEED},
                                       {"help", 0, 0, OPT_HELP},
                                       {0, 0, 0, 0}};
    static const char *rws[] = {"randread", "read", "randwrite", "write"};
    *o = (struct db_opts){.rw = -1, .bs = 4096, .qd = 1, .batch = 1, .runtime = 10, .seed = 1};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case OPT_ENGINE:
            o->engine = optarg;
            break;
        case OPT_RW:
            for (int i = 0; i < 4; i++)
                if (strcmp(optarg, rws[i]) == 0) o->rw = i;
            if (o->rw < 0)
                db_bad("--rw must be randread, read, randwrite or write, not '%s'", optarg);
            break;
        case OPT_BS:
            o->bs = db_size("--bs", optarg, 1, DISK_MAX_BS);
            break;
        case OPT_QD:
            o->qd = (unsigned)db_size("--qd", optarg, 1, DISK_MAX_QD);
            break;
        case OPT_SIZE:
            o->size = db_size("--size", optarg, 1, UINT64_MAX >> 2);
            o->size_set = 1;
            break;
        case OPT_RUNTIME: {
            char *end;
            o->runtime = strtod(optarg, &end);
            if (end == optarg || *end || !(o->runtime > 0) || o->runtime > 86400)
                db_bad("--runtime wants seconds in (0, 86400], not '%s'", optarg);
            o->runtime_set = 1;
            break;
        }
        case OPT_DIRECT:
            o->direct = 1;
            break;
        case OPT_FSYNC:
            o->fsync_every = (unsigned)db_size("--fsync-every", optarg, 1, 1u << 30);
            break;
        case OPT_FF:
            o->flags |= DISK_F_FIXED_FILES;
            break;
        case OPT_FB:
            o->flags |= DISK_F_FIXED_BUFFERS;
            break;
        case OPT_SQPOLL:
            o->flags |= DISK_F_SQPOLL;
            break;
        case OPT_BATCH:
            o->batch = (unsigned)db_size("--batch", optarg, 1, DISK_MAX_BATCH);
            break;
        case OPT_JSON:
            o->json = 1;
            break;
        case OPT_IOS:
            o->ios = db_size("--ios", optarg, 1, UINT64_MAX >> 2);
            break;
        case OPT_VERIFY:
            o->verify = 1;
            break;
        case OPT_WARM:
            o->warm = 1;
            break;
        case OPT_OFFSET:
            o->offset = db_size("--offset", optarg, 0, UINT64_MAX >> 2);
            break;
        case OPT_BUFOFF:
            o->buf_offset = db_size("--buf-offset", optarg, 0, 4095);
            break;
        case OPT_SEED:
            o->seed = db_size("--seed", optarg, 0, UINT64_MAX >> 2);
            break;
        case OPT_HELP:
        case 'h':
            db_usage(stdout);
            exit(0);
        default:
            db_bad("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (!o->engine) db_bad("%s--engine is required (pread, threads, libaio or uring)", "");
    if (strcmp(o->engine, "pread") && strcmp(o->engine, "threads") && strcmp(o->engine, "libaio") &&
        strcmp(o->engine, "uring"))
        db_bad("--engine must be pread, threads, libaio or uring, not '%s'", o->engine);
    if (o->rw < 0) db_bad("%s--rw is required (randread, read, randwrite or write)", "");
    if (optind != argc - 1)
        db_bad("%s", optind >= argc ? "exactly one FILE is required"
                                    : "exactly one FILE is required (extra arguments given)");
    o->file = argv[optind];
    if (o->flags && strcmp(o->engine, "uring"))
        db_bad("--fixed-files, --fixed-buffers and --sqpoll need --engine uring (got %s)",
               o->engine);
    if (o->batch > o->qd)
        db_bad("--batch cannot exceed --qd (%s)", "a batch is at most the queue depth");
    if (o->fsync_every && o->rw != DISK_RW_RANDWRITE && o->rw != DISK_RW_WRITE)
        db_bad("--fsync-every only makes sense with --rw write or randwrite%s", "");
    if ((uint64_t)o->qd * (o->bs + o->buf_offset) > DB_MAX_BUFMEM)
        db_bad("--qd times --bs exceeds the %s buffer memory bound", "1 GiB");
    if (o->ios && !o->runtime_set) o->runtime = 0; /* --ios alone: run until that many I/Os */
}

/* Creates or extends FILE to `need` bytes of pattern (generation 0). */
static int db_fill(int fd, uint64_t from, uint64_t need)
{
    size_t chunk = 1 << 20;
    uint8_t *buf = malloc(chunk);
    if (!buf) return -1;
    for (uint64_t off = from; off < need; off += chunk) {
        size_t n = need - off < chunk ? (size_t)(need - off) : chunk;
        disk_pattern_fill(buf, off, n, 0);
        if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n) {
            free(buf);
            return -1;
        }
    }
    free(buf);
    return fsync(fd);
}

static int db_warm(int fd, uint64_t off, uint64_t len)
{
    size_t chunk = 1 << 20;
    uint8_t *buf = malloc(chunk);
    if (!buf) return -1;
    for (uint64_t p = off; p < off + len;) {
        ssize_t n = pread(fd, buf, chunk, (off_t)p);
        if (n <= 0) break;
        p += (uint64_t)n;
    }
    free(buf);
    return 0;
}

static void db_print(const struct db_opts *o, const struct disk_job *j, const struct disk_result *r,
                     const char *fs)
{
    static const char *rws[] = {"randread", "read", "randwrite", "write"};
    double secs = r->secs > 0 ? r->secs : 1e-9;
    double iops = (double)r->ios / secs, mbps = (double)r->bytes / secs / 1e6;
    double p50 = disk_hist_pct(&r->hist, 50) / 1e3, p99 = disk_hist_pct(&r->hist, 99) / 1e3,
           p999 = disk_hist_pct(&r->hist, 99.9) / 1e3;
    uint64_t sys = r->st.syscalls + r->fsyncs;
    double per_io = r->ios ? (double)sys / (double)r->ios : 0;
    if (o->json) {
        printf("{\"engine\":\"%s\",\"rw\":\"%s\",\"bs\":%" PRIu64 ",\"qd\":%u,\"iops\":%.1f,"
               "\"mbps\":%.2f,\"lat_p50_us\":%.1f,\"lat_p99_us\":%.1f,\"lat_p999_us\":%.1f,"
               "\"syscalls_per_io\":%.3f}\n",
               o->engine, rws[o->rw], o->bs, o->qd, iops, mbps, p50, p99, p999, per_io);
        return;
    }
    printf("diskbench: %s %s bs=%" PRIu64 " qd=%u%s%s on %s (%s, %" PRIu64 " bytes)\n", o->engine,
           rws[o->rw], o->bs, o->qd, o->direct ? " O_DIRECT" : " buffered",
           o->warm ? " (warm cache)" : "", o->file, fs, j->region_len);
    printf("  %-11s %.0f IOPS, %.1f MB/s (%" PRIu64 " I/Os in %.2f s)\n", "throughput", iops, mbps,
           r->ios, r->secs);
    printf("  %-11s p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n", "latency us", p50, p99, p999,
           r->hist.max_ns / 1e3);
    char calls[160];
    if (!strcmp(o->engine, "libaio"))
        snprintf(calls, sizeof calls, "%" PRIu64 " io_submit + %" PRIu64 " io_getevents",
                 r->st.submit_calls, r->st.wait_calls);
    else if (!strcmp(o->engine, "uring"))
        snprintf(calls, sizeof calls, "%" PRIu64 " io_uring_enter", r->st.syscalls);
    else
        snprintf(calls, sizeof calls, "%" PRIu64 " %s", r->st.syscalls,
                 j->rw == DISK_RW_RANDWRITE || j->rw == DISK_RW_WRITE ? "pwrite64" : "pread64");
    if (r->fsyncs) {
        size_t l = strlen(calls);
        snprintf(calls + l, sizeof calls - l, " + %" PRIu64 " fsync", r->fsyncs);
    }
    printf("  %-11s %.3f per I/O (%s)\n", "syscalls", per_io, calls);
    if (!strcmp(o->engine, "libaio") && r->st.submit_calls)
        printf("  %-11s %.1f us per io_submit call, %.1f us per I/O, %.1f%% of the run "
               "inside io_submit\n",
               "submission", r->st.submit_ns / 1e3 / (double)r->st.submit_calls,
               r->ios ? r->st.submit_ns / 1e3 / (double)r->ios : 0,
               100.0 * (double)r->st.submit_ns / 1e9 / secs);
    if (r->eof_short || r->resubmits)
        printf("  %-11s %" PRIu64 " reads ended short at EOF, %" PRIu64
               " partial transfers resubmitted\n",
               "short", r->eof_short, r->resubmits);
    if (o->verify && (j->rw == DISK_RW_RANDREAD || j->rw == DISK_RW_READ))
        printf("  %-11s %s\n", "verify",
               r->verify_bad ? "MISMATCH" : "every byte read matched the pattern");
}

int main(int argc, char **argv)
{
    struct db_opts o;
    db_parse(argc, argv, &o);
    int is_write = o.rw == DISK_RW_RANDWRITE || o.rw == DISK_RW_WRITE;
    char fs[64];
    int rc = 1, cfd = -1, fd = -1;
    uint8_t *written = NULL;

    cfd = open(o.file, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (cfd < 0 && errno == EACCES && !is_write) cfd = open(o.file, O_RDONLY | O_CLOEXEC);
    if (cfd < 0) {
        fprintf(stderr, "diskbench: %s: %s\n", o.file, strerror(errno));
        return 1;
    }
    disk_fs_name(cfd, fs, sizeof fs);
    struct stat st;
    if (fstat(cfd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "diskbench: %s is not a regular file\n", o.file);
        goto out;
    }
    uint64_t fsize = (uint64_t)st.st_size;
    if (!o.size_set) o.size = fsize > o.offset ? fsize - o.offset : DB_DEFAULT_SIZE;
    uint64_t need = o.offset + o.size;
    if (fsize < need || (o.verify && is_write)) {
        /* a verified write run starts from a known file: all generation 0 */
        uint64_t from = (o.verify && is_write) ? o.offset : fsize;
        if (!o.json)
            fprintf(stderr, "diskbench: filling %s with %" PRIu64 " bytes of pattern\n", o.file,
                    need - from);
        if (db_fill(cfd, from, need) != 0) {
            fprintf(stderr, "diskbench: filling %s: %s\n", o.file, strerror(errno));
            goto out;
        }
        fsize = need > fsize ? need : fsize;
    }
    if (o.warm)
        db_warm(cfd, o.offset, o.size);
    else /* like fio's invalidate=1: start with the file out of the page cache */
        posix_fadvise(cfd, 0, 0, POSIX_FADV_DONTNEED);

    int flags = (is_write || o.verify ? O_RDWR : O_RDONLY) | O_CLOEXEC;
    fd = open(o.file, flags | (o.direct ? O_DIRECT : 0));
    if (fd < 0) {
        if (o.direct && errno == EINVAL)
            fprintf(stderr,
                    "diskbench: %s is on %s, which refuses O_DIRECT (open: EINVAL). "
                    "Put the file on a disk filesystem such as ext4 or xfs (e.g. under the "
                    "build directory), or drop --direct.\n",
                    o.file, fs);
        else
            fprintf(stderr, "diskbench: open %s: %s\n", o.file, strerror(errno));
        goto out;
    }
    struct disk_dio_align dio;
    int have_dio = o.direct && disk_dio_align_get(fd, &dio) == 0;
    if (o.direct && (!strcmp(fs, "tmpfs") || !strcmp(fs, "ramfs")))
        fprintf(stderr,
                "diskbench: note: %s is on %s: it accepts O_DIRECT (Linux >= 6.6) but "
                "serves it from memory, so there is no device and these are not disk "
                "numbers. Put the file on ext4/xfs to measure a disk.\n",
                o.file, fs);

    struct disk_job j = {
        .ops = !strcmp(o.engine, "libaio")  ? &disk_engine_libaio
               : !strcmp(o.engine, "uring") ? &disk_engine_uring
                                            : &disk_engine_pread,
        .threads = !strcmp(o.engine, "threads"),
        .eng_flags = o.flags,
        .fd = fd,
        .file_size = fsize,
        .region_off = o.offset,
        .region_len = o.size,
        .bs = (uint32_t)o.bs,
        .qd = o.qd,
        .batch = o.batch,
        .rw = o.rw,
        .runtime_s = o.runtime,
        .max_ios = o.ios,
        .fsync_every = o.fsync_every,
        .seed = o.seed,
        .verify = o.verify,
        .write_gen = 1,
        .buf_offset = (size_t)o.buf_offset,
        .dio = have_dio ? &dio : NULL,
    };
    if (disk_run_blocks(&j) == 0) {
        fprintf(stderr, "diskbench: --size %" PRIu64 " holds no whole %" PRIu64 "-byte block\n",
                o.size, o.bs);
        rc = 2;
        goto out;
    }
    if (o.verify && is_write) {
        written = calloc(1, disk_run_bitmap_bytes(&j));
        if (!written) {
            fprintf(stderr, "diskbench: out of memory for the verify bitmap\n");
            goto out;
        }
        j.written = written;
    }
    if (!strcmp(o.engine, "pread") && o.qd > 1 && !o.json)
        fprintf(stderr, "diskbench: note: pread blocks, so it runs at queue depth 1 whatever "
                        "--qd says (--engine threads gets concurrency from blocking calls)\n");

    struct disk_result *r = malloc(sizeof *r);
    if (!r) goto out;
    int run = disk_run(&j, r);
    if (run != 0) {
        fprintf(stderr, "diskbench: %s\n", r->msg[0] ? r->msg : strerror(-r->err));
        free(r);
        goto out;
    }
    db_print(&o, &j, r, fs);
    rc = 0;
    if (r->verify_bad) {
        fprintf(stderr,
                "diskbench: verify: %" PRIu64 " reads did not match the pattern; "
                "first bad byte at file offset %" PRIu64 "\n",
                r->verify_bad, r->verify_first_off);
        rc = 1;
    }
    if (o.verify && is_write) {
        char msg[256] = "";
        uint64_t first = 0;
        int64_t bad = disk_run_verify_region(&j, &first, msg, sizeof msg);
        if (bad != 0) {
            fprintf(stderr, "diskbench: verify after writes: %s", msg);
            if (bad > 0)
                fprintf(stderr, "%" PRId64 " blocks wrong, first bad byte at %" PRIu64, bad, first);
            fprintf(stderr, "\n");
            rc = 1;
        } else if (!o.json) {
            printf("  %-11s read back: every block holds what was written\n", "verify");
        }
    }
    free(r);
out:
    free(written);
    if (fd >= 0) close(fd);
    close(cfd);
    return rc;
}
