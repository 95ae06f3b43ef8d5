/* Unit tests for replication/wal on the disk's bad days: a full file system (a private
 * size-limited tmpfs), a write the writer cannot make, and compaction with a crash at
 * each of its steps. */
#include <sched.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

#include "tests/unit/test_wal_util.h"

static void write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY);
    cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text), "%s", path);
    close(fd);
}

/* A tmpfs of `size` on dir, in a mount namespace of this test process alone: it goes
 * away with the process, whatever happens.  Root, or else a user namespace. */
static void private_tmpfs(const char *dir, const char *size)
{
    if (unshare(CLONE_NEWNS) < 0) {
        char map[64];
        uid_t uid = getuid();
        gid_t gid = getgid();
        cr_assert_eq(unshare(CLONE_NEWUSER | CLONE_NEWNS), 0,
                     "cannot make a mount namespace for a small tmpfs (needs root or user "
                     "namespaces): %s",
                     strerror(errno));
        write_file("/proc/self/setgroups", "deny");
        snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
        write_file("/proc/self/uid_map", map);
        snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
        write_file("/proc/self/gid_map", map);
    }
    cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0, "%s", strerror(errno));
    cr_assert_eq(mount("tmpfs", dir, "tmpfs", 0, size), 0, "mount tmpfs: %s", strerror(errno));
}

static void wait_file_size(const char *path, off_t size)
{
    struct stat st;
    for (int i = 0; i < 5000 && (stat(path, &st) < 0 || st.st_size != size); i++)
        usleep(1000);
    cr_assert_eq(stat(path, &st), 0, "%s never made", path);
    cr_assert_eq(st.st_size, size, "%s", path);
}

/* Takes every free block of the file system holding dir. */
static void fill_disk(const char *dir, const char *filler)
{
    struct statvfs v;
    cr_assert_eq(statvfs(dir, &v), 0);
    int fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert_geq(fd, 0);
    cr_assert_eq(posix_fallocate(fd, 0, (off_t)(v.f_bavail * v.f_frsize)), 0);
    close(fd);
    cr_assert_eq(statvfs(dir, &v), 0);
    cr_assert_eq(v.f_bavail, 0, "%lu blocks still free", (unsigned long)v.f_bavail);
}

static uint64_t append_index(struct wal *w, int i)
{
    char p[1000];
    memset(p, 0x5c, sizeof(p));
    memcpy(p, &i, sizeof(i));
    return wal_append(w, 7, p, sizeof(p));
}

Test(wal_disk, full_disk_refuses_appends_with_enospc_starts_and_resumes_once_space_is_freed)
{
    char *mnt = tmpdir(), dir[600], filler[600], seg1[700], err[512];
    private_tmpfs(mnt, "size=6m");
    snprintf(dir, sizeof(dir), "%s/w", mnt);
    snprintf(filler, sizeof(filler), "%s/filler", mnt);
    struct seen s = {0};
    struct wal *w = open_wal_seg(dir, &s, 0, 0, SMALLSEG, err);
    cr_assert_not_null(w, "%s", err);
    seg_path(seg1, sizeof(seg1), dir, SMALLSEG);
    wait_file_size(seg1, (off_t)SMALLSEG); /* the writer made segments 0 and 1 ahead */
    fill_disk(mnt, filler);

    /* Appends go on in the space already allocated, then are refused: never accepted and
     * lost later, never a final failure. */
    int acked = 0;
    uint64_t end = 0, lsn;
    while ((lsn = append_index(w, acked)) != 0 && acked < 5000) {
        end = lsn;
        acked++;
    }
    cr_assert_eq(lsn, 0, "%d appends on a full disk, none refused", acked);
    cr_assert_eq(errno, ENOSPC, "refused with %s", strerror(errno));
    cr_assert_gt(acked, 1000, "only %d records before the disk was full", acked);
    cr_assert_eq(append_index(w, 999999), 0, "a refused append must stay refused");
    wait_flushed(w, end);
    cr_assert_eq(wal_failed(w, err, sizeof(err)), 0, "ENOSPC made the WAL fail: %s", err);
    cr_assert(strstr(s.logs, "cannot create segment") && strstr(s.logs, "No space left on device"),
              "%s", s.logs);
    wal_close(w);

    /* recovery and start on the full disk: every acknowledged record, appends refused */
    struct seen s2 = {0};
    w = open_wal_seg(dir, &s2, 0, 0, SMALLSEG, err);
    cr_assert_not_null(w, "no start on a full disk: %s", err);
    cr_assert_eq(s2.n, acked);
    cr_assert_eq(append_index(w, 999999), 0);
    cr_assert_eq(errno, ENOSPC);

    /* space freed: accepted again within a few writer delays, no restart */
    cr_assert_eq(unlink(filler), 0);
    int k = 0;
    while ((lsn = append_index(w, acked)) == 0 && k++ < 500) {
        cr_assert_eq(errno, ENOSPC, "%s", strerror(errno));
        usleep(10000);
    }
    cr_assert_gt(lsn, 0, "appends still refused 5 s after space was freed");
    cr_assert(strstr(s2.logs, "appends accepted again"), "%s", s2.logs);
    fill(w, acked + 1, 1500, 1000); /* into segments made now */
    wal_close(w);
    struct seen s3 = {0}; /* continuity: record 999999 would break it */
    w = open_wal_seg(dir, &s3, 0, 0, SMALLSEG, err);
    cr_assert_not_null(w, "%s", err);
    cr_assert_eq(s3.n, acked + 1 + 1500);
    wal_close(w);
    cr_assert_eq(umount(mnt), 0);
    rmrf(mnt);
    free(mnt);
}

Test(wal_disk, a_failed_write_is_final_and_its_records_are_cut_at_the_next_open)
{
    char *d = tmpdir(), err[512], path[600];
    struct seen s = {0};
    struct wal *w = open_wal(d, &s, 0, 0, err);
    cr_assert_not_null(w, "%s", err);
    fill(w, 0, 10, 100);
    seg_path(path, sizeof(path), d, SEG);
    wait_file_size(path, (off_t)SEG);
    cr_assert_eq(unlink(path), 0); /* the segment the writer goes to next: gone */
    uint64_t ends[40];
    char *p = calloc(1, 100000);
    int n = 0;
    for (int i = 10; i < 40; i++) { /* 3 MB: into the missing segment */
        memcpy(p, &i, sizeof(i));
        ends[n] = wal_append(w, 7, p, 100000);
        if (!ends[n]) break;
        n++;
    }
    cr_assert_gt(n, 20);
    wal_flush_request(w, ends[n - 1]);
    for (int k = 0; k < 5000 && !wal_failed(w, err, sizeof(err)); k++)
        usleep(1000);
    cr_assert(wal_failed(w, err, sizeof(err)), "the writer did not fail");
    cr_assert(strstr(err, "cannot open segment"), "%s", err);
    uint64_t flushed = wal_flush_lsn(w);
    cr_assert_lt(flushed, ends[n - 1]);
    cr_assert_eq(wal_append(w, 7, p, 10), 0);
    cr_assert_eq(errno, EIO);
    wal_close(w);
    /* the disk mended: the segment back as it was made, zeroes (the writer may have made
     * the one after it meanwhile: a gap would be damage) */
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    cr_assert(fd >= 0 && ftruncate(fd, (off_t)SEG) == 0);
    close(fd);
    int kept = 10;
    while (kept - 10 < n && ends[kept - 10] <= flushed)
        kept++;
    struct seen s2 = {0};
    w = open_wal(d, &s2, 0, 0, err);
    cr_assert_not_null(w, "%s", err);
    cr_assert_eq(s2.n, kept, "replayed %d, flushed before the failure %d", s2.n, kept);
    cr_assert(strstr(s2.logs, "never acknowledged"), "%s", s2.logs);
    cr_assert_eq(wal_insert_lsn(w), flushed);
    fill(w, kept, 5, 100); /* and it goes on from there */
    wal_close(w);
    free(p);
    rmrf(d);
    free(d);
}

/* ---- compaction ------------------------------------------------------------------- */

static void no_replay_before(struct seen *s, const struct walked *k, uint64_t start)
{
    memset(s, 0, sizeof(*s));
    s->n = records_below(k, start); /* replay then starts at that record's index */
}

Test(wal_compact, drops_whole_segments_below_the_lsn_and_replay_starts_there)
{
    char *d = tmpdir(), err[512], path[600];
    static struct walked k;
    build_log(d, &k);
    struct seen s;
    no_replay_before(&s, &k, 0);
    struct wal *w = open_wal_seg(d, &s, 0, 0, SMALLSEG, err);
    cr_assert_not_null(w, "%s", err);
    cr_assert_eq(wal_compact(w, 0, err, sizeof(err)), 0, "nothing lies wholly before LSN 0");
    cr_assert_eq(wal_compact(w, 2 * SMALLSEG + 100, err, sizeof(err)), 2, "%s", err);
    cr_assert_eq(wal_oldest_lsn(w), 2 * SMALLSEG);
    for (uint64_t seg = 0; seg < 2 * SMALLSEG; seg += SMALLSEG) {
        seg_path(path, sizeof(path), d, seg);
        cr_assert_eq(access(path, F_OK), -1, "%s still there", path);
    }
    char buf[4096];
    uint64_t next;
    cr_assert_eq(wal_read(w, 0, wal_flush_lsn(w), buf, sizeof(buf), &next, err, sizeof(err)), -1);
    cr_assert_eq(errno, ENOENT);
    /* past the flush LSN: the segment holding the last record stays */
    cr_assert_eq(wal_compact(w, UINT64_MAX, err, sizeof(err)), 1, "%s", err);
    cr_assert_eq(wal_oldest_lsn(w), 3 * SMALLSEG);
    fill(w, NREC, 10, 1000);
    wal_close(w);
    no_replay_before(&s, &k, 3 * SMALLSEG);
    w = open_wal_seg(d, &s, 0, 0, SMALLSEG, err);
    cr_assert_not_null(w, "%s", err);
    cr_assert_eq(s.n, NREC + 10);
    cr_assert_eq(s.logs[0], 0, "%s", s.logs);
    cr_assert_eq(wal_oldest_lsn(w), 3 * SMALLSEG);
    wal_close(w);
    rmrf(d);
    free(d);
}

static void crash_at(void *arg, int step)
{
    int *left = arg;
    (void)step;
    if (--*left == 0) _exit(0); /* a kill -9 right after this step */
}

Test(wal_compact, a_crash_after_each_step_leaves_a_log_that_opens)
{
    char *d = tmpdir(), orig[600], err[512];
    static struct walked k;
    build_log(d, &k);
    snprintf(orig, sizeof(orig), "%s.orig", d);
    copy_dir(d, orig);
    /* dropping two segments: meta, unlink, unlink, directory fsync */
    static const int leftovers[] = {0, 2, 1, 0, 0};
    for (int step = 1; step <= 4; step++) {
        copy_dir(orig, d);
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
            struct seen cs;
            no_replay_before(&cs, &k, 0);
            int left = step;
            struct wal_opts o = {.segment_size = SMALLSEG,
                                 .log = on_log,
                                 .log_arg = &cs,
                                 .compact_step = crash_at,
                                 .compact_arg = &left};
            struct wal *w = wal_open(d, &o, on_rec, &cs, err, sizeof(err));
            if (!w) _exit(2);
            wal_compact(w, 2 * SMALLSEG, err, sizeof(err));
            _exit(3); /* the step never came */
        }
        int status;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "step %d: child status %d", step,
                  status);
        struct seen s;
        no_replay_before(&s, &k, 2 * SMALLSEG);
        struct wal *w = open_wal_seg(d, &s, 0, 0, SMALLSEG, err);
        cr_assert_not_null(w, "crash after step %d: %s", step, err);
        cr_assert_eq(s.n, NREC, "crash after step %d", step);
        cr_assert_eq(wal_oldest_lsn(w), 2 * SMALLSEG);
        if (leftovers[step])
            cr_assert(strstr(s.logs, "left by an interrupted compaction"), "step %d: %s", step,
                      s.logs);
        /* the next compaction finishes the job */
        cr_assert_eq(wal_compact(w, 2 * SMALLSEG, err, sizeof(err)), leftovers[step], "step %d",
                     step);
        wal_close(w);
        struct wal_verdict v;
        cr_assert_eq(wal_check(d, &v, err, sizeof(err)), 0, "%s", err);
        cr_assert_eq(v.end, WAL_END_CLEAN, "step %d: %s", step, v.why);
        cr_assert_eq(v.start, 2 * SMALLSEG);
    }
    rmrf(orig);
    rmrf(d);
    free(d);
}
