/* Helpers shared by the WAL tests: a log of numbered records, its replay checked in
 * order, the log lines kept, and a directory's files fingerprinted. */
#ifndef WIRELAB_TEST_WAL_UTIL_H
#define WIRELAB_TEST_WAL_UTIL_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "replication/crc32c.h"
#include "replication/wal.h"

#define SEG      ((size_t)2 << 20)
#define SMALLSEG ((size_t)1052672) /* the smallest a 1 MiB record allows */

struct seen {
    int n;
    uint64_t last_lsn;
    size_t bytes;
    char logs[8192];
};

/* Every record is type 7 and carries its index: replay must give 0, 1, 2, ... */
static inline int on_rec(void *arg, uint64_t lsn, uint16_t type, const void *p, size_t n)
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

static inline void on_log(void *arg, const char *msg)
{
    struct seen *s = arg;
    strncat(s->logs, msg, sizeof(s->logs) - strlen(s->logs) - 2);
    strcat(s->logs, "\n");
}

static inline char *tmpdir(void)
{
    char *d = strdup("/tmp/test_wal.XXXXXX"); /* freed by each test; not on a failed assert */
    cr_assert_not_null(mkdtemp(d));
    return d;
}

static inline void rmrf(const char *d)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
    cr_assert_eq(system(cmd), 0);
}

static inline struct wal *open_wal_seg(const char *d, struct seen *s, int trunc, int sim,
                                       size_t seg, char *err)
{
    struct wal_opts o = {.segment_size = seg,
                         .truncate_corrupt = trunc,
                         .sim_power_loss = sim,
                         .log = on_log,
                         .log_arg = s,
                         .writer_delay_ms = 10};
    return wal_open(d, &o, on_rec, s, err, 512);
}

static inline struct wal *open_wal(const char *d, struct seen *s, int trunc, int sim, char *err)
{
    return open_wal_seg(d, s, trunc, sim, SEG, err);
}

static inline void wait_flushed(struct wal *w, uint64_t end)
{
    wal_flush_request(w, end);
    for (int k = 0; k < 5000 && wal_flush_lsn(w) < end; k++)
        usleep(1000);
    cr_assert_geq(wal_flush_lsn(w), end);
}

/* Appends records from..from+n-1 carrying their index (payload size varies), flushes. */
static inline uint64_t fill(struct wal *w, int from, int n, size_t size)
{
    char *p = malloc(size + 64);
    memset(p, 0x5c, size + 64); /* non-zero, so a torn (zeroed) half always shows */
    uint64_t end = 0;
    for (int i = from; i < from + n; i++) {
        memcpy(p, &i, sizeof(i));
        end = wal_append(w, 7, p, size + (size_t)(i % 13));
        cr_assert_gt(end, 0, "append %d: %s", i, strerror(errno));
    }
    wait_flushed(w, end);
    free(p);
    return end;
}

static inline void seg_path(char *out, size_t cap, const char *d, uint64_t start)
{
    snprintf(out, cap, "%s/%016" PRIx64 ".wal", d, start);
}

/* Writes len bytes at a segment offset (or cuts the file there with len == 0). */
static inline void poke_at(const char *d, size_t seg, uint64_t lsn, const void *b, size_t len)
{
    char path[512];
    seg_path(path, sizeof(path), d, lsn - lsn % seg);
    int fd = open(path, O_WRONLY);
    cr_assert_geq(fd, 0, "%s", path);
    if (len)
        cr_assert_eq(pwrite(fd, b, len, (off_t)(lsn % seg)), (ssize_t)len);
    else
        cr_assert_eq(ftruncate(fd, (off_t)(lsn % seg)), 0);
    close(fd);
}

/* Fingerprint of every file in a directory: "name size crc32c" lines, sorted by name. */
static inline void dir_print(const char *d, char *out, size_t cap)
{
    struct dirent **names;
    int n = scandir(d, &names, NULL, alphasort);
    cr_assert_geq(n, 0);
    out[0] = 0;
    for (int i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", d, names[i]->d_name);
        struct stat st;
        if (names[i]->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            FILE *f = fopen(path, "rb");
            cr_assert_not_null(f);
            uint32_t crc = 0;
            char buf[65536];
            size_t k;
            while ((k = fread(buf, 1, sizeof(buf), f)) > 0)
                crc = crc32c(crc, buf, k);
            fclose(f);
            size_t used = strlen(out);
            snprintf(out + used, cap - used, "%s %lld %08x\n", names[i]->d_name,
                     (long long)st.st_size, crc);
        }
        free(names[i]);
    }
    free(names);
}

/* The LSNs of a log's records (wal_walk), to say where a record lies. */
#define NREC 3500 /* ~1 KB each on SMALLSEG: data in segments 0..3, segment 4 preallocated */
struct walked {
    uint64_t lsn[NREC + 16];
    int n;
};

static inline void collect(void *arg, const char *seg, size_t off, int st, const struct wal_rec *r)
{
    struct walked *k = arg;
    (void)seg;
    (void)off;
    if (st == WAL_REC_OK && r->type == 7 && k->n < NREC + 16) k->lsn[k->n++] = r->lsn;
}

/* How many records begin below lsn. */
static inline int records_below(const struct walked *k, uint64_t lsn)
{
    int i = 0;
    while (i < k->n && k->lsn[i] < lsn)
        i++;
    return i;
}

/* A log of NREC records of ~1 KB on SMALLSEG segments, closed; fills k. */
static inline uint64_t build_log(const char *d, struct walked *k)
{
    char err[512];
    struct seen s = {0};
    struct wal *w = open_wal_seg(d, &s, 0, 0, SMALLSEG, err);
    cr_assert_not_null(w, "%s", err);
    uint64_t end = fill(w, 0, NREC, 1000);
    wal_close(w);
    k->n = 0;
    cr_assert_eq(wal_walk(d, collect, k, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(k->n, NREC);
    return end;
}

static inline void copy_dir(const char *from, const char *to)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp -a '%s' '%s'", to, from, to);
    cr_assert_eq(system(cmd), 0);
}

#endif
