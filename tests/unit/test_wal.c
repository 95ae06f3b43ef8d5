/* Unit tests for replication/wal: recovery, torn tails, corruption before the tail,
 * segment switches, group commit, byte-identical replication, power-loss simulation. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replication/wal.h"

#define SEG ((size_t)2 << 20)

struct seen {
    int n;
    uint64_t last_lsn;
    size_t bytes;
    char logs[2048];
};

static int on_rec(void *arg, uint64_t lsn, uint16_t type, const void *p, size_t n)
{
    struct seen *s = arg;
    cr_assert(lsn > s->last_lsn || s->n == 0);
    cr_assert_eq(type, 7);
    int v;
    memcpy(&v, p, sizeof(v));
    cr_assert_eq(v, s->n, "record %d carries %d", s->n, v);
    s->last_lsn = lsn;
    s->bytes += n;
    s->n++;
    return 0;
}

static void on_log(void *arg, const char *msg)
{
    struct seen *s = arg;
    strncat(s->logs, msg, sizeof(s->logs) - strlen(s->logs) - 2);
    strcat(s->logs, "\n");
}

static char *tmpdir(void)
{
    char *d = strdup("/tmp/test_wal.XXXXXX"); /* freed by each test; not on a failed assert */
    cr_assert_not_null(mkdtemp(d));
    return d;
}

static void rmrf(const char *d)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
    cr_assert_eq(system(cmd), 0);
}

static struct wal *open_wal(const char *d, struct seen *s, int trunc, int sim, char *err)
{
    struct wal_opts o = {.segment_size = SEG,
                         .truncate_corrupt = trunc,
                         .sim_power_loss = sim,
                         .log = on_log,
                         .log_arg = s,
                         .writer_delay_ms = 10};
    return wal_open(d, &o, on_rec, s, err, 512);
}

/* Appends records 0..n-1 carrying their index (payload size varies), flushes. */
static uint64_t fill(struct wal *w, int from, int n, size_t size)
{
    char *p = malloc(size + 64);
    memset(p, 0x5c, size + 64); /* non-zero, so a torn (zeroed) half always shows */
    uint64_t end = 0;
    for (int i = from; i < from + n; i++) {
        memcpy(p, &i, sizeof(i));
        end = wal_append(w, 7, p, size + (size_t)(i % 13));
        cr_assert_gt(end, 0);
    }
    wal_flush_request(w, end);
    for (int k = 0; k < 5000 && wal_flush_lsn(w) < end; k++)
        usleep(1000);
    cr_assert_geq(wal_flush_lsn(w), end);
    free(p);
    return end;
}

Test(wal, append_close_reopen_replays_everything_across_segments)
{
    char *d = tmpdir(), err[512];
    struct seen s = {0};
    struct wal *w = open_wal(d, &s, 0, 0, err);
    cr_assert_not_null(w, "%s", err);
    uint64_t end = fill(w, 0, 100, 100000); /* ~10 MB: five segments */
    wal_close(w);
    struct seen s2 = {0};
    w = open_wal(d, &s2, 0, 0, err);
    cr_assert_not_null(w, "%s", err);
    cr_assert_eq(s2.n, 100);
    cr_assert_eq(wal_insert_lsn(w), end);
    cr_assert_eq(s2.logs[0], 0, "clean log needs no message: %s", s2.logs);
    fill(w, 100, 3, 10);
    wal_close(w);
    struct seen s3 = {0};
    w = open_wal(d, &s3, 0, 0, err);
    cr_assert_eq(s3.n, 103);
    wal_close(w);
    rmrf(d);
    free(d);
}

static void poke(const char *d, uint64_t lsn, size_t delta, unsigned char v, int truncate_file)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%016" PRIx64 ".wal", d, lsn - lsn % SEG);
    int fd = open(path, O_WRONLY);
    cr_assert_geq(fd, 0);
    if (truncate_file)
        cr_assert_eq(ftruncate(fd, (off_t)(lsn % SEG + delta)), 0);
    else
        cr_assert_eq(pwrite(fd, &v, 1, (off_t)(lsn % SEG + delta)), 1);
    close(fd);
}

/* A log of first+rest records of ~50 bytes; returns the LSN where the rest begin. */
static uint64_t log_with_mark(const char *d, int first, int rest)
{
    char err[512];
    struct seen s = {0};
    struct wal *w = open_wal(d, &s, 0, 0, err);
    cr_assert_not_null(w, "%s", err);
    fill(w, 0, first, 50);
    uint64_t mark = wal_insert_lsn(w);
    fill(w, first, rest, 50);
    wal_close(w);
    return mark;
}

Test(wal, torn_tail_is_truncated_and_logged)
{
    char *d = tmpdir(), err[512];
    uint64_t before = log_with_mark(d, 9, 1);
    poke(d, before, 40, 0xAB, 0); /* garble the payload of the last record */
    struct seen s2 = {0};
    struct wal *w = open_wal(d, &s2, 0, 0, err);
    cr_assert_not_null(w, "%s", err);
    cr_assert_eq(s2.n, 9);
    cr_assert(strstr(s2.logs, "torn tail"), "%s", s2.logs);
    cr_assert(strstr(s2.logs, "CRC mismatch"), "%s", s2.logs);
    cr_assert_eq(wal_insert_lsn(w), before);
    fill(w, 9, 2, 50); /* appending goes on where the torn record was */
    wal_close(w);
    struct seen s3 = {0};
    w = open_wal(d, &s3, 0, 0, err);
    cr_assert_eq(s3.n, 11);
    wal_close(w);
    /* a file cut short (the tail of the segment never written) is a torn tail too */
    poke(d, wal_rec_size(60), 10, 0, 1);
    struct seen s4 = {0};
    w = open_wal(d, &s4, 0, 0, err);
    cr_assert_not_null(w, "%s", err);
    cr_assert_eq(s4.n, 1);
    wal_close(w);
    rmrf(d);
    free(d);
}

Test(wal, corruption_before_the_tail_refuses_naming_segment_and_offset)
{
    char *d = tmpdir(), err[512];
    uint64_t third = log_with_mark(d, 3, 7);
    poke(d, third, 35, 0x5A, 0);
    struct seen s2 = {0};
    struct wal *w = open_wal(d, &s2, 0, 0, err);
    cr_assert_null(w);
    cr_assert(strstr(err, "0000000000000000.wal at offset"), "%s", err);
    cr_assert(strstr(err, "not a torn tail"), "%s", err);
    char want[64];
    snprintf(want, sizeof(want), "offset %" PRIu64 " ", third);
    cr_assert(strstr(err, want), "%s", err);
    struct seen s3 = {0};
    w = open_wal(d, &s3, 1, 0, err); /* the operator asks to cut there */
    cr_assert_not_null(w, "%s", err);
    cr_assert_eq(s3.n, 3);
    cr_assert(strstr(s3.logs, "cut on request"), "%s", s3.logs);
    wal_close(w);
    rmrf(d);
    free(d);
}

struct gc_arg {
    struct wal *w;
    int id;
};

static void *committer(void *arg)
{
    struct gc_arg *a = arg;
    for (int i = 0; i < 50; i++) {
        char p[32] = {0};
        uint64_t l = wal_append(a->w, 9, p, sizeof(p));
        wal_flush_request(a->w, l);
        while (wal_flush_lsn(a->w) < l)
            usleep(50);
    }
    return NULL;
}

Test(wal, group_commit_shares_flushes_between_concurrent_committers)
{
    char *d = tmpdir(), err[512];
    struct wal_opts o = {.segment_size = SEG};
    struct wal *w = wal_open(d, &o, NULL, NULL, err, sizeof(err));
    cr_assert_not_null(w, "%s", err);
    pthread_t th[16];
    struct gc_arg a[16];
    for (int i = 0; i < 16; i++) {
        a[i] = (struct gc_arg){w, i};
        pthread_create(&th[i], NULL, committer, &a[i]);
    }
    for (int i = 0; i < 16; i++)
        pthread_join(th[i], NULL);
    uint64_t flushes = wal_flush_count(w);
    cr_assert(flushes >= 1 && flushes < 16 * 50, "%" PRIu64 " fdatasyncs for 800 commits", flushes);
    wal_close(w);
    rmrf(d);
    free(d);
}

static uint64_t durable_mark(const char *d)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/durable.lsn", d);
    FILE *f = fopen(path, "r");
    unsigned long long v = 0;
    if (f) {
        if (fscanf(f, "%llu", &v) != 1) v = 0;
        fclose(f);
    }
    return v;
}

/* One committer: each commit it waits for costs exactly one flush (the WAL's own
 * count, not the system calls themselves), a flush request for what is flushed already
 * costs none, and by the time an LSN is reported flushed the power-loss mark (written
 * after the fdatasync) covers it: the flush is done before anyone is told. */
Test(wal, each_waited_commit_is_one_flush_done_before_it_is_reported)
{
    char *d = tmpdir(), err[512];
    struct seen s = {0};
    struct wal *w = open_wal(d, &s, 0, WAL_SIM_CUT, err);
    cr_assert_not_null(w, "%s", err);
    cr_assert_eq(wal_flush_count(w), 0, "a fresh WAL has flushed nothing");
    char p[32] = {0};
    for (int i = 1; i <= 40; i++) {
        uint64_t l = wal_append(w, 7, p, sizeof(p));
        wal_flush_request(w, l);
        for (int k = 0; k < 200000 && wal_flush_lsn(w) < l; k++)
            usleep(20);
        cr_assert_geq(wal_flush_lsn(w), l);
        cr_assert_geq(durable_mark(d), l, "commit %d: LSN %" PRIu64 " reported before its flush", i,
                      l);
        cr_assert_eq(wal_flush_count(w), (uint64_t)i, "after %d waited commits", i);
        wal_flush_request(w, l);
        usleep(i % 10 == 0 ? 30000 : 0); /* past the writer delay: still nothing to flush */
        cr_assert_eq(wal_flush_count(w), (uint64_t)i, "a request for flushed LSNs flushed");
    }
    wal_close(w);
    rmrf(d);
    free(d);
}

static int cmp_files(const char *a, const char *b)
{
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", a, b);
    return system(cmd);
}

Test(wal, raw_append_copies_byte_identical_and_refuses_gaps)
{
    char *d1 = tmpdir(), *d2 = tmpdir(), err[512];
    struct seen s1 = {0}, s2 = {0};
    struct wal *w1 = open_wal(d1, &s1, 0, 0, err);
    uint64_t end = fill(w1, 0, 40, 100000); /* crosses segments: SWITCH records */
    struct wal *w2 = open_wal(d2, &s2, 0, 0, err);
    char *buf = malloc(4 << 20);
    uint64_t at = 0, next;
    int first = 1;
    while (at < end) {
        ssize_t n = wal_read(w1, at, end, buf, 4 << 20, &next, err, sizeof(err));
        cr_assert_geq(n, 0, "%s", err);
        for (ssize_t o = 0; o < n;) {
            struct wal_rec r;
            cr_assert_eq(wal_rec_decode(buf + o, (size_t)(n - o), &r), WAL_REC_OK);
            if (first) { /* a record out of order is refused */
                first = 0;
                if (n > (ssize_t)r.size) {
                    struct wal_rec r2;
                    wal_rec_decode(buf + r.size, (size_t)n - r.size, &r2);
                    cr_assert_eq(wal_append_raw(w2, buf + r.size, r2.size), -1);
                }
            }
            cr_assert_eq(wal_append_raw(w2, buf + o, r.size), 0, "at lsn %" PRIu64, r.lsn);
            o += (ssize_t)r.size;
        }
        at = next;
    }
    cr_assert_eq(wal_insert_lsn(w2), end);
    wal_flush_request(w2, end);
    wal_close(w1);
    wal_close(w2);
    char p1[512], p2[512];
    for (uint64_t seg = 0; seg < end; seg += SEG) {
        snprintf(p1, sizeof(p1), "%s/%016" PRIx64 ".wal", d1, seg);
        snprintf(p2, sizeof(p2), "%s/%016" PRIx64 ".wal", d2, seg);
        cr_assert_eq(cmp_files(p1, p2), 0, "segment %" PRIx64 " differs", seg);
    }
    free(buf);
    rmrf(d1);
    rmrf(d2);
    free(d1);
    free(d2);
}

Test(wal, power_loss_simulation_cuts_to_the_durable_lsn_and_tears)
{
    char *d = tmpdir(), err[512];
    struct seen s = {0};
    struct wal *w = open_wal(d, &s, 0, WAL_SIM_TEAR, err);
    cr_assert_not_null(w, "%s", err);
    uint64_t durable = fill(w, 0, 5, 100);
    fill(w, 5, 5, 100);
    wal_close(w);
    /* pretend the last fdatasync covered only the first five records */
    char path[512];
    snprintf(path, sizeof(path), "%s/durable.lsn", d);
    FILE *f = fopen(path, "w");
    fprintf(f, "%" PRIu64 "\n", durable);
    fclose(f);
    struct seen s2 = {0};
    w = open_wal(d, &s2, 0, WAL_SIM_TEAR, err);
    cr_assert_not_null(w, "%s", err);
    cr_assert_eq(s2.n, 5, "n=%d logs=%s", s2.n, s2.logs);
    cr_assert(strstr(s2.logs, "tearing"), "%s", s2.logs);
    cr_assert(strstr(s2.logs, "torn tail"), "%s", s2.logs);
    wal_close(w);
    rmrf(d);
    free(d);
}

Test(wal, bad_segment_size_and_oversized_record_are_refused)
{
    char *d = tmpdir(), err[512];
    struct wal_opts o = {.segment_size = 5000};
    cr_assert_null(wal_open(d, &o, NULL, NULL, err, sizeof(err)));
    cr_assert(strstr(err, "segment size"), "%s", err);
    o.segment_size = SEG;
    struct wal *w = wal_open(d, &o, NULL, NULL, err, sizeof(err));
    char *big = calloc(1, WAL_MAX_PAYLOAD + 1);
    cr_assert_eq(wal_append(w, 1, big, WAL_MAX_PAYLOAD + 1), 0);
    cr_assert_eq(wal_append(w, WAL_T_SWITCH, big, 1), 0);
    free(big);
    wal_close(w);
    rmrf(d);
    free(d);
}
