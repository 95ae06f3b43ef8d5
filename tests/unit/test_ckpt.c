/* Checkpoints (replication/ckpt.h): a snapshot written by a forked child replaces the
 * old one only once the WAL is flushed to its LSN, then the WAL before it is compacted;
 * loading checks the frame and refuses a damaged file; a leftover .tmp is removed. */
#include "replication/ckpt.h"

#include "tests/unit/test_wal_util.h"

struct body {
    char text[64];
};

static int write_body(void *arg, struct ckpt_out *o)
{
    const struct body *b = arg;
    return ckpt_put(o, b->text, strlen(b->text));
}

static int read_body(void *arg, struct ckpt_in *in, uint64_t lsn)
{
    struct body *b = arg;
    size_t n = (size_t)ckpt_left(in);
    if (n >= sizeof(b->text)) return -1;
    memset(b->text, 0, sizeof(b->text));
    return ckpt_get(in, b->text, n);
}

/* Polls until the checkpoint ends; its result. */
static int run(struct ckpt *k, uint64_t keep_from, char *msg, size_t n)
{
    int r;
    for (int i = 0; i < 10000 && (r = ckpt_poll(k, keep_from, msg, n)) == 0; i++)
        usleep(1000);
    return r;
}

Test(ckpt, a_snapshot_replaces_the_old_one_and_the_wal_before_it_goes)
{
    char *d = tmpdir(), err[512], msg[700], path[600];
    struct seen s = {0};
    struct wal *w = open_wal_seg(d, &s, 0, 0, SMALLSEG, err);
    cr_assert_not_null(w, "%s", err);
    uint64_t end = fill(w, 0, 40, 100000); /* 4 MB: segments 0..3 */
    wait_flushed(w, end);
    struct body b = {"the state at the end"};
    struct ckpt *k = ckpt_start(d, w, end, write_body, &b);
    cr_assert_not_null(k);
    cr_assert_eq(run(k, UINT64_MAX, msg, sizeof(msg)), 1, "%s", msg);
    cr_assert(strstr(msg, "WAL segments removed"), "%s", msg);
    cr_assert_eq(wal_oldest_lsn(w), end - end % SMALLSEG, "the WAL still starts at %" PRIu64,
                 wal_oldest_lsn(w));
    wal_close(w);
    struct body got = {{0}};
    uint64_t lsn = 0;
    cr_assert_eq(ckpt_load(d, read_body, &got, &lsn, err, sizeof(err)), 1, "%s", err);
    cr_assert_eq(lsn, end);
    cr_assert_str_eq(got.text, b.text);
    /* a replica that still needs the WAL keeps it */
    /* (replay now starts at the segment that held end: no numbering check) */
    struct wal_opts o = {.writer_delay_ms = 10};
    w = wal_open(d, &o, NULL, NULL, err, sizeof(err));
    cr_assert_not_null(w, "%s", err);
    uint64_t oldest = wal_oldest_lsn(w);
    uint64_t end2 = fill(w, 40, 30, 100000);
    wait_flushed(w, end2);
    k = ckpt_start(d, w, end2, write_body, &b);
    cr_assert_not_null(k);
    cr_assert_eq(run(k, oldest, msg, sizeof(msg)), 1, "%s", msg);
    cr_assert_eq(wal_oldest_lsn(w), oldest, "compacted past what a replica needs: %s", msg);
    wal_close(w);
    /* damage: refused, the file named; a leftover .tmp removed */
    snprintf(path, sizeof(path), "%s/snapshot", d);
    FILE *f = fopen(path, "r+b");
    cr_assert_not_null(f);
    fseek(f, 20, SEEK_SET);
    fputc('X', f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/snapshot.tmp", d);
    f = fopen(path, "wb");
    cr_assert_not_null(f);
    fclose(f);
    cr_assert_eq(ckpt_load(d, read_body, &got, &lsn, err, sizeof(err)), -1);
    cr_assert(strstr(err, "/snapshot: checksum mismatch"), "%s", err);
    cr_assert_eq(access(path, F_OK), -1, "snapshot.tmp left behind");
    rmrf(d);
    free(d);
}

Test(ckpt, a_snapshot_waits_for_the_wal_to_be_flushed_to_its_lsn)
{
    char *d = tmpdir(), err[512], msg[700], path[600];
    struct seen s = {0};
    struct wal_opts o = {.segment_size = SMALLSEG, .writer_delay_ms = 3000};
    struct wal *w = wal_open(d, &o, on_rec, &s, err, sizeof(err));
    cr_assert_not_null(w, "%s", err);
    char rec[1000] = {0};
    uint64_t end = 0;
    for (int i = 0; i < 3; i++) /* buffered: the writer waits 3 s, nobody asks it to flush */
        cr_assert_gt(end = wal_append(w, 7, rec, sizeof(rec)), 0);
    struct body b = {"ahead of the log"};
    struct ckpt *k = ckpt_start(d, w, end, write_body, &b);
    cr_assert_not_null(k);
    for (int i = 0; i < 500; i++) {
        cr_assert_eq(ckpt_poll(k, UINT64_MAX, msg, sizeof(msg)), 0,
                     "finished before the WAL was flushed: %s", msg);
        usleep(1000);
    }
    snprintf(path, sizeof(path), "%s/snapshot", d);
    cr_assert_eq(access(path, F_OK), -1, "a snapshot in place before its WAL is flushed");
    wal_flush_request(w, end);
    cr_assert_eq(run(k, UINT64_MAX, msg, sizeof(msg)), 1, "%s", msg);
    cr_assert_eq(access(path, F_OK), 0);
    wal_close(w);
    rmrf(d);
    free(d);
}

Test(ckpt, a_child_that_fails_leaves_the_old_snapshot)
{
    char *d = tmpdir(), err[512], msg[700];
    struct seen s = {0};
    struct wal *w = open_wal_seg(d, &s, 0, 0, SMALLSEG, err);
    cr_assert_not_null(w, "%s", err);
    uint64_t end = fill(w, 0, 2, 1000);
    wait_flushed(w, end);
    struct body b = {"first"};
    cr_assert_eq(run(ckpt_start(d, w, end, write_body, &b), UINT64_MAX, msg, sizeof(msg)), 1, "%s",
                 msg);
    struct body big;
    memset(big.text, 'x', sizeof(big.text) - 1);
    big.text[sizeof(big.text) - 1] = 0;
    char dir2[600];
    snprintf(dir2, sizeof(dir2), "%s/no/such/dir", d); /* the child cannot open its file */
    cr_assert_eq(run(ckpt_start(dir2, w, end, write_body, &big), UINT64_MAX, msg, sizeof(msg)), -1);
    cr_assert(strstr(msg, "not written: No such file or directory"), "%s", msg);
    wal_close(w);
    struct body got = {{0}};
    uint64_t lsn;
    cr_assert_eq(ckpt_load(d, read_body, &got, &lsn, err, sizeof(err)), 1, "%s", err);
    cr_assert_str_eq(got.text, "first");
    rmrf(d);
    free(d);
}
