/* Unit tests for replication/wal: recovery, what a crash leaves (a torn tail, a zero-
 * filled preallocated tail) against damage (a segment missing, a zeroed tail, a flipped
 * byte, a file cut short), segment switches, group commit, byte-identical replication,
 * power-loss simulation.  Full disk, compaction and writer failure: test_wal_disk.c. */
#include <pthread.h>

#include "tests/unit/test_wal_util.h"

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
    /* the zero-filled preallocated rest of the segment is a clean end: nothing to say */
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

static void set_marker(const char *d, uint64_t lsn, const char *word)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/durable.lsn", d);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "%" PRIu64 " %s\n", lsn, word);
    fclose(f);
}

/* A log of first+rest records of ~50 bytes whose last `rest` were written but their
 * fdatasync never returned (durable.lsn still below them).  Returns where they begin. */
static uint64_t log_with_unflushed(const char *d, int first, int rest)
{
    char err[512];
    struct seen s = {0};
    struct wal *w = open_wal(d, &s, 0, 0, err);
    cr_assert_not_null(w, "%s", err);
    uint64_t mark = fill(w, 0, first, 50);
    fill(w, first, rest, 50);
    wal_close(w);
    set_marker(d, mark, "");
    return mark;
}

Test(wal, torn_tail_a_partial_last_record_is_cut_and_logged)
{
    char *d = tmpdir(), err[512];
    uint64_t mark = log_with_unflushed(d, 9, 1);
    static const unsigned char zero[40];
    poke_at(d, SEG, mark + 48, zero, sizeof(zero)); /* a kill -9 in the pwrite: half made it */
    struct seen s = {0};
    struct wal *w = open_wal(d, &s, 0, 0, err);
    cr_assert_not_null(w, "%s", err);
    cr_assert_eq(s.n, 9);
    char want[160];
    snprintf(want, sizeof(want),
             "torn tail in %s: CRC mismatch at segment 0000000000000000.wal offset %" PRIu64
             " (LSN %" PRIu64 "); cut LSN %" PRIu64 "..%" PRIu64 " (%d bytes)",
             d, mark, mark, mark, mark + 32 + 59, 32 + 59); /* to the last byte written */
    cr_assert(strstr(s.logs, want), "want [%s] in:\n%s", want, s.logs);
    cr_assert_eq(wal_insert_lsn(w), mark);
    fill(w, 9, 2, 50); /* appending goes on where the torn record was */
    wal_close(w);
    struct seen s2 = {0};
    w = open_wal(d, &s2, 0, 0, err);
    cr_assert_eq(s2.n, 11);
    cr_assert_eq(s2.logs[0], 0, "%s", s2.logs);
    wal_close(w);
    rmrf(d);
    free(d);
}

Test(wal, torn_tail_sectors_out_of_order_past_durable_lsn_are_cut)
{
    /* A power loss keeps any of the unflushed sectors: a record lost, later ones kept. */
    char *d = tmpdir(), err[512];
    uint64_t mark = log_with_unflushed(d, 9, 4);
    static const unsigned char zero[WAL_HDR];
    uint64_t tenth = mark + wal_rec_size(50 + 9 % 13);
    poke_at(d, SEG, tenth, zero, sizeof(zero));
    struct seen s = {0};
    struct wal *w = open_wal(d, &s, 0, 0, err);
    cr_assert_not_null(w, "%s", err);
    cr_assert_eq(s.n, 10);
    cr_assert(strstr(s.logs, "torn tail"), "%s", s.logs);
    cr_assert(strstr(s.logs, "zeroed header at segment 0000000000000000.wal"), "%s", s.logs);
    cr_assert_eq(wal_insert_lsn(w), tenth);
    wal_close(w);
    rmrf(d);
    free(d);
}

Test(wal, records_past_a_failed_flush_are_cut_never_replayed)
{
    char *d = tmpdir(), err[512];
    uint64_t mark = log_with_unflushed(d, 9, 4);
    set_marker(d, mark, "failed");
    struct seen s = {0};
    struct wal *w = open_wal(d, &s, 0, 0, err);
    cr_assert_not_null(w, "%s", err);
    cr_assert_eq(s.n, 9, "records the failed flush refused were replayed: %d", s.n);
    cr_assert(strstr(s.logs, "never acknowledged"), "%s", s.logs);
    cr_assert_eq(wal_insert_lsn(w), mark);
    wal_close(w);
    struct seen s2 = {0};
    w = open_wal(d, &s2, 0, 0, err);
    cr_assert_eq(s2.n, 9);
    cr_assert_eq(s2.logs[0], 0, "%s", s2.logs);
    wal_close(w);
    rmrf(d);
    free(d);
}

/* ---- damage: refuse, naming segment and offset, and change no file ---------------- */

#define SEG1  "0000000000101000.wal"
#define SEG2  "0000000000202000.wal"
#define SEG3  "0000000000303000.wal"
#define SEG4  "0000000000404000.wal"
#define KiB64 65536

static void rm_file(const char *d, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", d, name);
    cr_assert_eq(unlink(path), 0, "%s", path);
}

struct dmg {
    void (*apply)(const char *d, const struct walked *k, uint64_t end);
    const char *want[3]; /* in the error */
    uint64_t cut_at;     /* where a cut on request ends the log (set by apply) */
    int opens;           /* not damage after all: opens with every record */
};

static void check_damage(struct dmg *c)
{
    char *d = tmpdir(), orig[600], err[512];
    static struct walked k;
    uint64_t end = build_log(d, &k);
    struct wal *w;
    snprintf(orig, sizeof(orig), "%s.orig", d);
    copy_dir(d, orig);

    c->apply(d, &k, end);
    static char before[4096], after[4096];
    dir_print(d, before, sizeof(before));
    struct seen s2 = {0};
    w = open_wal_seg(d, &s2, 0, 0, SMALLSEG, err);
    if (c->opens) {
        cr_assert_not_null(w, "%s", err);
        cr_assert_eq(s2.n, NREC);
        wal_close(w);
        goto out;
    }
    cr_assert_null(w, "a damaged log opened with %d of %d records; log: %s", s2.n, NREC, s2.logs);
    cr_assert(strstr(err, "damaged"), "%s", err);
    for (int i = 0; i < 3 && c->want[i]; i++)
        cr_assert(strstr(err, c->want[i]), "want [%s] in: %s", c->want[i], err);
    char lsn[40];
    snprintf(lsn, sizeof(lsn), "(LSN %" PRIu64 ")", c->cut_at); /* where it ends, exactly */
    cr_assert(strstr(err, lsn), "want [%s] in: %s", lsn, err);
    dir_print(d, after, sizeof(after));
    cr_assert_str_eq(before, after, "a refused open changed files");
    struct wal_verdict v;
    cr_assert_eq(wal_check(d, &v, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(v.end, WAL_END_DAMAGED, "wal_check agrees: %d", v.end);

    /* put the damaged files back from the copy: everything is there */
    copy_dir(orig, d);
    struct seen s3 = {0};
    w = open_wal_seg(d, &s3, 0, 0, SMALLSEG, err);
    cr_assert_not_null(w, "%s", err);
    cr_assert_eq(s3.n, NREC);
    cr_assert_eq(wal_insert_lsn(w), end);
    wal_close(w);

    /* the operator asks for the cut: the longest valid prefix, and the log says what went */
    copy_dir(orig, d);
    c->apply(d, &k, end);
    struct seen s4 = {0};
    w = open_wal_seg(d, &s4, 1, 0, SMALLSEG, err);
    cr_assert_not_null(w, "%s", err);
    cr_assert_eq(s4.n, records_below(&k, c->cut_at));
    char want[200];
    snprintf(want, sizeof(want), "cut on request at LSN %" PRIu64 ": LSN %" PRIu64 "..", c->cut_at,
             c->cut_at);
    cr_assert(strstr(s4.logs, want), "want [%s] in: %s", want, s4.logs);
    cr_assert(strstr(s4.logs, " bytes) lost: "), "%s", s4.logs);
    cr_assert_eq(wal_insert_lsn(w), c->cut_at);
    wal_close(w);
    struct seen s5 = {0}; /* cut for good: the next open needs no option */
    w = open_wal_seg(d, &s5, 0, 0, SMALLSEG, err);
    cr_assert_not_null(w, "%s", err);
    cr_assert_eq(s5.n, s4.n);
    wal_close(w);
out:
    rmrf(orig);
    rmrf(d);
    free(d);
}

static struct dmg *cur; /* the case being applied: apply() records where the cut falls */

static void first_missing(const char *d, const struct walked *k, uint64_t end)
{
    (void)k, (void)end;
    rm_file(d, "0000000000000000.wal");
    cur->cut_at = 0;
}

Test(wal_damage, first_segment_missing_refuses)
{
    struct dmg c = {.apply = first_missing,
                    .want = {"segment 0000000000000000.wal missing (LSN 0)",
                             "below the flushed LSN", "no file changed"}};
    cur = &c;
    check_damage(&c);
}

static void middle_missing(const char *d, const struct walked *k, uint64_t end)
{
    (void)k, (void)end;
    rm_file(d, SEG2);
    cur->cut_at = 2 * SMALLSEG;
}

Test(wal_damage, middle_segment_missing_refuses_and_zeroes_nothing)
{
    /* the second-to-last data segment: recovery once took the gap for a torn tail and
     * zeroed the whole last segment */
    struct dmg c = {.apply = middle_missing,
                    .want = {"segment " SEG2 " missing", "below the flushed LSN",
                             "a valid record follows at segment " SEG3 " offset 0"}};
    cur = &c;
    check_damage(&c);
}

static void last_missing(const char *d, const struct walked *k, uint64_t end)
{
    (void)k, (void)end;
    rm_file(d, SEG3);
    cur->cut_at = 3 * SMALLSEG;
}

Test(wal_damage, last_segment_with_records_missing_refuses)
{
    struct dmg c = {.apply = last_missing,
                    .want = {"segment " SEG3 " missing", "below the flushed LSN"}};
    cur = &c;
    check_damage(&c);
}

static void spare_missing(const char *d, const struct walked *k, uint64_t end)
{
    (void)k, (void)end;
    rm_file(d, SEG4);
}

Test(wal_damage, preallocated_empty_segment_missing_loses_nothing_and_opens)
{
    struct dmg c = {.apply = spare_missing, .opens = 1};
    cur = &c;
    check_damage(&c);
}

static void zero_tail(const char *d, const struct walked *k, uint64_t end)
{
    static unsigned char zero[KiB64];
    poke_at(d, SMALLSEG, end - KiB64, zero, KiB64); /* the last 64 KiB of acknowledged records */
    cur->cut_at = k->lsn[records_below(k, end - KiB64 + 1) - 1];
}

Test(wal_damage, zeroed_tail_refuses)
{
    struct dmg c = {.apply = zero_tail,
                    .want = {"at segment " SEG3 " offset", "below the flushed LSN"}};
    cur = &c;
    check_damage(&c);
}

/* The payload of the record holding byte at (padding is not under the CRC). */
static uint64_t flip_record_at(const char *d, const struct walked *k, uint64_t at)
{
    uint64_t lsn = k->lsn[records_below(k, at + 1) - 1];
    unsigned char b = 0x01;
    poke_at(d, SMALLSEG, lsn + 40, &b, 1);
    return lsn;
}

static void flip_mid(const char *d, const struct walked *k, uint64_t end)
{
    (void)end;
    cur->cut_at = flip_record_at(d, k, SMALLSEG + SMALLSEG / 2);
}

Test(wal_damage, byte_flipped_mid_segment_refuses_naming_segment_and_offset)
{
    struct dmg c = {.apply = flip_mid,
                    .want = {"CRC mismatch at segment " SEG1 " offset", "below the flushed LSN"}};
    cur = &c;
    check_damage(&c);
}

static void flip_last_record(const char *d, const struct walked *k, uint64_t end)
{
    (void)end;
    unsigned char b = 0xAB;
    poke_at(d, SMALLSEG, k->lsn[NREC - 1] + 40, &b, 1);
    cur->cut_at = k->lsn[NREC - 1];
}

Test(wal_damage, flipped_byte_in_the_last_acknowledged_record_is_not_a_torn_tail)
{
    struct dmg c = {.apply = flip_last_record,
                    .want = {"CRC mismatch at segment " SEG3, "below the flushed LSN"}};
    cur = &c;
    check_damage(&c);
}

static void cut_short(const char *d, const struct walked *k, uint64_t end)
{
    (void)end;
    poke_at(d, SMALLSEG, 2 * SMALLSEG + SMALLSEG / 2, NULL, 0); /* the file ends mid-segment */
    cur->cut_at = k->lsn[records_below(k, 2 * SMALLSEG + SMALLSEG / 2 + 1) - 1];
}

Test(wal_damage, segment_file_cut_short_refuses)
{
    struct dmg c = {.apply = cut_short,
                    .want = {"at segment " SEG2 " offset", "below the flushed LSN"}};
    cur = &c;
    check_damage(&c);
}

static void no_marker_later_data(const char *d, const struct walked *k, uint64_t end)
{
    (void)end;
    rm_file(d, "durable.lsn");
    cur->cut_at = flip_record_at(d, k, SMALLSEG + 1000);
}

Test(wal_damage, without_durable_lsn_data_in_a_later_segment_still_refuses)
{
    struct dmg c = {.apply = no_marker_later_data,
                    .want = {"at segment " SEG1 " offset", "segment " SEG2 " after it holds data"}};
    cur = &c;
    check_damage(&c);
}

static void no_marker_gap(const char *d, const struct walked *k, uint64_t end)
{
    (void)k, (void)end;
    rm_file(d, "durable.lsn");
    rm_file(d, SEG1);
    cur->cut_at = SMALLSEG;
}

Test(wal_damage, without_durable_lsn_a_gap_still_refuses)
{
    struct dmg c = {.apply = no_marker_gap,
                    .want = {"segment " SEG1 " missing", "while later segments exist"}};
    cur = &c;
    check_damage(&c);
}

/* ---- wal.meta, durable.lsn, a new log ------------------------------------------------- */

Test(wal, only_segment_deleted_is_damage_not_a_new_log)
{
    char *d = tmpdir(), err[512];
    struct seen s = {0};
    struct wal *w = open_wal(d, &s, 0, 0, err);
    fill(w, 0, 5, 100);
    wal_close(w);
    char path[512];
    for (uint64_t seg = 0; seg < 2 * SEG; seg += SEG) {
        seg_path(path, sizeof(path), d, seg);
        cr_assert_eq(unlink(path), 0);
    }
    struct seen s2 = {0};
    cr_assert_null(open_wal(d, &s2, 0, 0, err), "opened as an empty log");
    cr_assert(strstr(err, "segment 0000000000000000.wal missing (LSN 0), below the flushed LSN"),
              "%s", err);
    rmrf(d);
    free(d);
}

Test(wal, interrupted_creation_of_a_new_log_opens_as_new)
{
    char *d = tmpdir(), err[512];
    set_marker(d, 0, ""); /* durable.lsn made, wal.meta not yet */
    struct seen s = {0};
    struct wal *w = open_wal(d, &s, 0, 0, err);
    cr_assert_not_null(w, "%s", err);
    fill(w, 0, 3, 10);
    wal_close(w);
    char path[512];
    snprintf(path, sizeof(path), "%s/durable.lsn", d);
    cr_assert_eq(truncate(path, 0), 0); /* created, never written */
    struct seen s2 = {0};
    w = open_wal(d, &s2, 0, 0, err);
    cr_assert_not_null(w, "%s", err);
    cr_assert_eq(s2.n, 3);
    wal_close(w);
    rmrf(d);
    free(d);
}

Test(wal, meta_slot_torn_mid_update_leaves_the_previous_one)
{
    char *d = tmpdir(), err[512], path[512];
    struct seen s = {0};
    struct wal *w = open_wal(d, &s, 0, 0, err);
    fill(w, 0, 4, 10);
    wal_close(w);
    snprintf(path, sizeof(path), "%s/wal.meta", d);
    int fd = open(path, O_WRONLY);
    cr_assert_geq(fd, 0);
    cr_assert_eq(pwrite(fd, "wal-meta seq=2 segm", 19, 0), 19); /* slot 0: an update cut short */
    close(fd);
    struct seen s2 = {0};
    w = open_wal(d, &s2, 0, 0, err);
    cr_assert_not_null(w, "%s", err);
    cr_assert_eq(s2.n, 4);
    wal_close(w);
    fd = open(path, O_WRONLY);                     /* both slots gone: refused, not guessed */
    cr_assert_eq(pwrite(fd, "7", 1, 128 + 30), 1); /* a digit of the size */
    close(fd);
    struct seen s3 = {0};
    cr_assert_null(open_wal(d, &s3, 0, 0, err));
    cr_assert(strstr(err, "wal.meta damaged"), "%s", err);
    rmrf(d);
    free(d);
}

Test(wal, unreadable_durable_lsn_refuses)
{
    char *d = tmpdir(), err[512];
    struct seen s = {0};
    struct wal *w = open_wal(d, &s, 0, 0, err);
    fill(w, 0, 2, 10);
    wal_close(w);
    set_marker(d, 12, "garbage");
    cr_assert_null(open_wal(d, &s, 0, 0, err));
    cr_assert(strstr(err, "durable.lsn unreadable"), "%s", err);
    rmrf(d);
    free(d);
}

/* ---- group commit, replication, power loss, limits ---------------------------------- */

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
        seg_path(p1, sizeof(p1), d1, seg);
        seg_path(p2, sizeof(p2), d2, seg);
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
    set_marker(d, durable, ""); /* the last fdatasync covered only the first five */
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
