/* Unit tests for io/disk: the verify pattern, the latency histogram, the O_DIRECT
 * alignment explanation, each engine's queue/flush mechanics on a real file, and the
 * runner's short-transfer handling (through a fake engine that transfers half). */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/disk/disk.h"
#include "io/disk/run.h"

/* A scratch file under $BUILD (a disk filesystem in this project), filled with the
 * pattern; removed right away, the fd keeps it alive. */
static int scratch_file(uint64_t size)
{
    const char *b = getenv("BUILD");
    char path[256];
    snprintf(path, sizeof path, "%s/test_disk.XXXXXX", b && *b ? b : ".");
    int fd = mkstemp(path);
    cr_assert(fd >= 0, "mkstemp %s: %s", path, strerror(errno));
    unlink(path);
    uint8_t *buf = malloc(size ? size : 1);
    cr_assert(buf);
    disk_pattern_fill(buf, 0, size, 0);
    cr_assert_eq(pwrite(fd, buf, size, 0), (ssize_t)size);
    free(buf);
    return fd;
}

/* A job over the whole of a scratch file of `size` bytes, 4 KiB blocks. */
static struct disk_job job_on(int fd, uint64_t size, const struct disk_engine_ops *ops, unsigned qd,
                              int rw)
{
    return (struct disk_job){.ops = ops,
                             .fd = fd,
                             .file_size = size,
                             .region_len = size,
                             .bs = 4096,
                             .qd = qd,
                             .rw = rw};
}

Test(disk_pattern, any_range_checks_alone)
{
    uint8_t whole[1000], part[100];
    disk_pattern_fill(whole, 0, sizeof whole, 7);
    for (unsigned off = 0; off < 900; off += 37) {
        disk_pattern_fill(part, off, sizeof part, 7);
        cr_assert(memcmp(part, whole + off, sizeof part) == 0, "offset %u", off);
        cr_assert_eq(disk_pattern_check(whole + off, off, 100, 7), -1);
    }
    whole[555] ^= 1;
    cr_assert_eq(disk_pattern_check(whole + 500, 500, 100, 7), 55);
    cr_assert_eq(disk_pattern_check(whole, 0, 1000, 8) >= 0, 1, "another generation differs");
}

Test(disk_pattern, known_first_word)
{
    /* splitmix64(0): the value the Python generator in the integration test uses */
    uint8_t b[8];
    disk_pattern_fill(b, 0, 8, 0);
    uint64_t w = 0;
    for (int i = 7; i >= 0; i--)
        w = w << 8 | b[i];
    cr_assert_eq(w, 0xE220A8397B1DCDAFull);
}

Test(disk_hist, percentiles_within_two_percent)
{
    static struct disk_hist h;
    memset(&h, 0, sizeof h);
    for (uint64_t v = 1; v <= 100000; v++)
        disk_hist_add(&h, v * 1000); /* 1 us .. 100 ms, uniform */
    double p50 = (double)disk_hist_pct(&h, 50), p99 = (double)disk_hist_pct(&h, 99);
    cr_assert(p50 > 50e6 * 0.98 && p50 < 50e6 * 1.02, "p50 %.0f", p50);
    cr_assert(p99 > 99e6 * 0.98 && p99 < 99e6 * 1.02, "p99 %.0f", p99);
    cr_assert_eq(disk_hist_pct(&h, 100), 100000000ull);
    static struct disk_hist e;
    memset(&e, 0, sizeof e);
    cr_assert_eq(disk_hist_pct(&e, 99), 0);
    disk_hist_add(&e, 5);
    cr_assert_eq(disk_hist_pct(&e, 50), 5);
}

Test(disk_dio, explain_names_the_rule_broken)
{
    struct disk_dio_align a = {.offset_align = 512, .mem_align = 512, .source = "test"};
    char out[512];
    char *buf = (char *)(uintptr_t)0x10000;
    cr_assert_eq(disk_dio_explain(&a, 4096, 4096, buf, out, sizeof out), 0);
    cr_assert_eq(disk_dio_explain(&a, 4096, 1000, buf, out, sizeof out), 1);
    cr_assert(strstr(out, "size 1000 is not a multiple of 512"), "%s", out);
    cr_assert_eq(disk_dio_explain(&a, 100, 4096, buf, out, sizeof out), 1);
    cr_assert(strstr(out, "offset 100"), "%s", out);
    cr_assert_eq(disk_dio_explain(&a, 0, 4096, buf + 1, out, sizeof out), 1);
    cr_assert(strstr(out, "buffer address"), "%s", out);
}

Test(disk_dio, alignment_known_for_a_real_file)
{
    int fd = scratch_file(4096);
    struct disk_dio_align a;
    cr_assert_eq(disk_dio_align_get(fd, &a), 0);
    cr_assert(a.offset_align >= 1 && a.offset_align <= 65536, "%u", a.offset_align);
    close(fd);
}

/* Every engine: queue qd reads at known offsets, flush, each buffer holds the pattern. */
static void engine_reads_back(const struct disk_engine_ops *ops, unsigned flags)
{
    enum { QD = 8, BS = 4096 };
    int fd = scratch_file(QD * BS * 2);
    static uint8_t mem[QD][BS] __attribute__((aligned(4096)));
    struct iovec iov[QD];
    struct disk_req req[QD], *done[QD];
    for (int i = 0; i < QD; i++)
        iov[i] = (struct iovec){mem[i], BS};
    struct disk_engine_cfg cfg = {.fd = fd, .qd = ops->sync ? 1 : QD, .flags = flags, .bufs = iov};
    struct disk_engine *e;
    char err[256] = "";
    int rc = ops->open(&e, &cfg, err, sizeof err);
    cr_assert_eq(rc, 0, "%s open: %s", ops->name, err);
    unsigned got = 0, flushes = 0;
    for (unsigned i = 0; i < QD; i++) {
        memset(mem[i], 0, BS);
        req[i] = (struct disk_req){.buf = mem[i],
                                   .off = (uint64_t)(QD - i) * BS,
                                   .len = BS,
                                   .slot = ops->sync ? 0 : i,
                                   .op = DISK_READ};
        cr_assert_eq(ops->queue(e, &req[i]), 0);
        if (ops->sync) { /* one at a time */
            cr_assert_eq(ops->flush(e, done, 1, 1), 1);
            got++;
        }
    }
    while (got < QD) {
        int n = ops->flush(e, done, QD, 1);
        flushes++;
        cr_assert(n > 0, "%s flush: %d", ops->name, n);
        got += (unsigned)n;
    }
    for (unsigned i = 0; i < QD; i++) {
        cr_assert_eq(req[i].res, BS, "%s req %u res %lld", ops->name, i, (long long)req[i].res);
        cr_assert_eq(disk_pattern_check(mem[i], req[i].off, BS, 0), -1, "%s req %u", ops->name, i);
    }
    /* Every system call counted, each once, as a submit or a wait (strace checks the
     * same from outside in tests/integration/disk-io.sh). */
    const struct disk_stats *st = &e->st;
    cr_assert_eq(st->syscalls, st->submit_calls + st->wait_calls,
                 "%s: %" PRIu64 " != %" PRIu64 " + %" PRIu64, ops->name, st->syscalls,
                 st->submit_calls, st->wait_calls);
    if (ops->sync) {
        cr_assert_eq(st->submit_calls, QD, "one pread per I/O");
        cr_assert_eq(st->wait_calls, 0);
    } else if (ops == &disk_engine_libaio) {
        /* one io_submit for the QD staged iocbs; one io_getevents per flush (min 1) */
        cr_assert_eq(st->submit_calls, 1, "io_submit calls");
        cr_assert_eq(st->wait_calls, flushes, "io_getevents calls: %" PRIu64 " for %u flushes",
                     st->wait_calls, flushes);
    } else {
        /* one io_uring_enter submits (and waits); a later flush enters only to wait when
         * no completion is ready */
        cr_assert_eq(st->submit_calls, 1, "submitting io_uring_enter calls");
        cr_assert_leq(st->wait_calls, flushes - 1, "waiting io_uring_enter calls");
    }
    ops->close(e);
    close(fd);
}

Test(disk_engine, pread_reads_back)
{
    engine_reads_back(&disk_engine_pread, 0);
}
Test(disk_engine, libaio_reads_back)
{
    engine_reads_back(&disk_engine_libaio, 0);
}
Test(disk_engine, uring_reads_back)
{
    engine_reads_back(&disk_engine_uring, 0);
}
Test(disk_engine, uring_fixed_reads_back)
{
    engine_reads_back(&disk_engine_uring, DISK_F_FIXED_FILES | DISK_F_FIXED_BUFFERS);
}

Test(disk_engine, uring_batches_in_one_enter)
{
    /* 8 reads queued, one flush waiting for all 8: a single io_uring_enter */
    enum { QD = 8, BS = 4096 };
    int fd = scratch_file(QD * BS);
    static uint8_t mem[QD][BS];
    struct iovec iov[QD];
    struct disk_req req[QD], *done[QD];
    for (int i = 0; i < QD; i++)
        iov[i] = (struct iovec){mem[i], BS};
    struct disk_engine_cfg cfg = {.fd = fd, .qd = QD, .bufs = iov};
    struct disk_engine *e;
    char err[256];
    cr_assert_eq(disk_engine_uring.open(&e, &cfg, err, sizeof err), 0, "%s", err);
    for (unsigned i = 0; i < QD; i++) {
        req[i] = (struct disk_req){.buf = mem[i], .off = i * BS, .len = BS, .slot = i};
        disk_engine_uring.queue(e, &req[i]);
    }
    unsigned got = (unsigned)disk_engine_uring.flush(e, done, QD, QD);
    cr_assert_eq(got, QD);
    cr_assert_eq(e->st.syscalls, 1);
    disk_engine_uring.close(e);
    close(fd);
}

Test(disk_engine, read_past_eof_is_short)
{
    int fd = scratch_file(6000);
    static uint8_t mem[4096];
    struct iovec iov = {mem, sizeof mem};
    struct disk_req r = {.buf = mem, .off = 4096, .len = 4096}, *done[1];
    struct disk_engine_cfg cfg = {.fd = fd, .qd = 1, .bufs = &iov};
    const struct disk_engine_ops *ops[] = {&disk_engine_pread, &disk_engine_libaio,
                                           &disk_engine_uring};
    for (int k = 0; k < 3; k++) {
        struct disk_engine *e;
        char err[256];
        cr_assert_eq(ops[k]->open(&e, &cfg, err, sizeof err), 0);
        r.res = 12345;
        ops[k]->queue(e, &r);
        cr_assert_eq(ops[k]->flush(e, done, 1, 1), 1);
        cr_assert_eq(r.res, 6000 - 4096, "%s: %lld", ops[k]->name, (long long)r.res);
        ops[k]->close(e);
    }
    close(fd);
}

/* A fake engine over pread that transfers at most half of each request the first
 * time it sees it: the runner must resubmit the rest, and the data must verify. */
static const struct disk_engine_ops half_engine;
static int half_open(struct disk_engine **out, const struct disk_engine_cfg *cfg, char *err,
                     size_t n)
{
    int rc = disk_engine_pread.open(out, cfg, err, n);
    if (rc == 0) (*out)->ops = &half_engine;
    return rc;
}
static int half_flush(struct disk_engine *e, struct disk_req **d, unsigned max, unsigned min)
{
    return disk_engine_pread.flush(e, d, max, min);
}
static void half_close(struct disk_engine *e)
{
    disk_engine_pread.close(e);
}
static int half_queue(struct disk_engine *e, struct disk_req *r)
{
    uint32_t len = r->len;
    if (len > 512 && r->off % 4096 == 0) r->len = len / 2;
    int rc = disk_engine_pread.queue(e, r);
    r->len = len;
    return rc;
}
static const struct disk_engine_ops half_engine = {
    .name = "half",
    .sync = 1,
    .open = half_open,
    .queue = half_queue,
    .flush = half_flush,
    .close = half_close,
};

Test(disk_run, partial_transfers_are_resubmitted)
{
    int fd = scratch_file(64 * 4096);
    struct disk_job j = job_on(fd, 64 * 4096, &half_engine, 1, DISK_RW_READ);
    j.max_ios = 64;
    j.verify = 1;
    static struct disk_result r;
    cr_assert_eq(disk_run(&j, &r), 0, "%s", r.msg);
    cr_assert_eq(r.ios, 64);
    cr_assert_eq(r.bytes, 64 * 4096);
    cr_assert_eq(r.resubmits, 64);
    cr_assert_eq(r.verify_bad, 0);
    close(fd);
}

Test(disk_run, every_engine_verifies_and_eof_is_short)
{
    /* 10 blocks and a bit: sequential reads wrap, the last block is short */
    uint64_t size = 10 * 4096 + 100;
    int fd = scratch_file(size);
    const struct disk_engine_ops *ops[] = {&disk_engine_pread, &disk_engine_libaio,
                                           &disk_engine_uring, &disk_engine_pread};
    for (int k = 0; k < 4; k++) {
        struct disk_job j = job_on(fd, size, ops[k], 4, DISK_RW_READ);
        j.threads = k == 3;
        j.max_ios = 44;
        j.verify = 1;
        static struct disk_result r;
        cr_assert_eq(disk_run(&j, &r), 0, "%s: %s", ops[k]->name, r.msg);
        cr_assert_eq(r.ios, 44, "%s", ops[k]->name);
        cr_assert_eq(r.verify_bad, 0, "%s", ops[k]->name);
        cr_assert(r.eof_short >= 1, "%s: %llu", ops[k]->name, (unsigned long long)r.eof_short);
    }
    close(fd);
}

Test(disk_run, random_writes_verify_on_read_back)
{
    uint64_t size = 32 * 4096;
    int fd = scratch_file(size);
    static uint8_t bitmap[8];
    memset(bitmap, 0, sizeof bitmap);
    struct disk_job j = job_on(fd, size, &disk_engine_uring, 8, DISK_RW_RANDWRITE);
    j.max_ios = 20;
    j.verify = 1;
    j.write_gen = 3;
    j.written = bitmap;
    static struct disk_result r;
    cr_assert_eq(disk_run(&j, &r), 0, "%s", r.msg);
    uint64_t first = 0;
    char msg[128];
    cr_assert_eq(disk_run_verify_region(&j, &first, msg, sizeof msg), 0);
    bitmap[0] ^= 1; /* lie about block 0: the check must notice */
    cr_assert(disk_run_verify_region(&j, &first, msg, sizeof msg) > 0);
    close(fd);
}

Test(disk_run, batch_sets_system_calls_per_io)
{
    /* default (batch 1) submits each request on its own, like fio: ~1 call per I/O;
     * batch 8 submits 8 per call and waits for 8: ~1/8 */
    uint64_t size = 64 * 4096;
    int fd = scratch_file(size);
    unsigned batches[] = {1, 8};
    for (int k = 0; k < 2; k++) {
        struct disk_job j = job_on(fd, size, &disk_engine_uring, 8, DISK_RW_RANDREAD);
        j.batch = batches[k];
        j.max_ios = 800;
        static struct disk_result r;
        cr_assert_eq(disk_run(&j, &r), 0, "%s", r.msg);
        cr_assert_eq(r.ios, 800);
        double per_io = (double)r.st.syscalls / (double)r.ios;
        if (batches[k] == 1)
            cr_assert(per_io > 0.9 && per_io <= 1.05, "batch 1: %.3f", per_io);
        else
            cr_assert(per_io <= 0.2, "batch 8: %.3f", per_io);
    }
    close(fd);
}

Test(disk_run, runtime_is_kept_when_everything_completes_at_once)
{
    /* page-cache hits complete inside the submit: the loop must still see the clock */
    uint64_t size = 16 * 4096;
    int fd = scratch_file(size);
    struct disk_job j = job_on(fd, size, &disk_engine_uring, 8, DISK_RW_RANDREAD);
    j.runtime_s = 0.2;
    static struct disk_result r;
    cr_assert_eq(disk_run(&j, &r), 0, "%s", r.msg);
    cr_assert(r.secs < 2.0, "ran %.2f s for a 0.2 s runtime", r.secs);
    close(fd);
}
