/* wal_seg: the on-disk side of the WAL: record encoding, segment files, the read-only
 * walk (wal-dump), recovery with tail truncation, and the power-loss simulation. */
#include "replication/wal_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "replication/crc32c.h"

void wal_logf(const struct wal_opts *o, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (o && o->log)
        o->log(o->log_arg, msg);
    else
        fprintf(stderr, "%s\n", msg);
}

size_t wal_rec_size(size_t payload)
{
    return (WAL_HDR + payload + 7u) & ~(size_t)7u;
}

static void put32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, 4);
}
static void put64(unsigned char *p, uint64_t v)
{
    memcpy(p, &v, 8);
}
static uint32_t get32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static uint64_t get64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

size_t wal_rec_encode(void *dst, uint64_t lsn, uint64_t prev, uint16_t type, const void *p,
                      size_t n)
{
    unsigned char *d = dst;
    size_t size = wal_rec_size(n);
    memset(d, 0, WAL_HDR);
    put32(d + 4, (uint32_t)n);
    put64(d + 8, lsn);
    put64(d + 16, prev);
    memcpy(d + 24, &type, 2);
    if (n) memcpy(d + WAL_HDR, p, n);
    memset(d + WAL_HDR + n, 0, size - WAL_HDR - n);
    put32(d, crc32c(0, d + 4, WAL_HDR - 4 + n));
    return size;
}

int wal_rec_decode(const void *p, size_t avail, struct wal_rec *r)
{
    const unsigned char *d = p;
    memset(r, 0, sizeof(*r));
    if (avail < WAL_HDR) return WAL_REC_SHORT;
    static const unsigned char zero[WAL_HDR];
    if (memcmp(d, zero, WAL_HDR) == 0) return WAL_REC_ZERO;
    r->crc_stored = get32(d);
    r->len = get32(d + 4);
    r->lsn = get64(d + 8);
    r->prev = get64(d + 16);
    memcpy(&r->type, d + 24, 2);
    if (r->len > WAL_MAX_PAYLOAD || get32(d + 28) != 0) return WAL_REC_BADLEN;
    r->size = wal_rec_size(r->len);
    if (avail < r->size) return WAL_REC_SHORT;
    r->payload = d + WAL_HDR;
    r->crc_computed = crc32c(0, d + 4, WAL_HDR - 4 + r->len);
    return r->crc_computed == r->crc_stored ? WAL_REC_OK : WAL_REC_BADCRC;
}

const char *wal_rec_status_name(int st)
{
    switch (st) {
    case WAL_REC_OK:
        return "ok";
    case WAL_REC_ZERO:
        return "zeroed header";
    case WAL_REC_SHORT:
        return "record runs past the segment end";
    case WAL_REC_BADLEN:
        return "impossible length";
    case WAL_REC_BADCRC:
        return "CRC mismatch";
    case WAL_REC_BADLSN:
        return "LSN does not chain";
    }
    return "?";
}

void wal_seg_name(char *out, size_t cap, const char *dir, uint64_t start)
{
    snprintf(out, cap, "%s/%016" PRIx64 ".wal", dir, start);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int wal_write_meta(const char *dir, size_t segsize, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/wal.meta", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    char line[64];
    int n = snprintf(line, sizeof(line), "segment_size %zu\n", segsize);
    if (fd < 0 || write(fd, line, (size_t)n) != n || fsync(fd) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

int wal_list_segments(const char *dir, struct wal_seglist *l, char *err, size_t errlen)
{
    memset(l, 0, sizeof(*l));
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "cannot open WAL directory %s: %s", dir, strerror(errno));
        return -1;
    }
    size_t cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        char *end;
        if (strlen(e->d_name) != 20 || strcmp(e->d_name + 16, ".wal") != 0) continue;
        uint64_t s = strtoull(e->d_name, &end, 16);
        if (end != e->d_name + 16) continue;
        if (l->n == WAL_MAX_SEGMENTS) {
            snprintf(err, errlen, "more than %d WAL segments in %s", WAL_MAX_SEGMENTS, dir);
            rc = -1;
            break;
        }
        if (l->n == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *n = realloc(l->start, cap * sizeof(*n));
            if (!n) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
                break;
            }
            l->start = n;
        }
        l->start[l->n++] = s;
    }
    closedir(d);
    if (rc == 0 && l->n) {
        qsort(l->start, l->n, sizeof(*l->start), cmp_u64);
        /* The segment size is recorded at creation; a segment file cut short (torn at
         * the file level) must not change it. */
        char path[4096];
        snprintf(path, sizeof(path), "%s/wal.meta", dir);
        FILE *f = fopen(path, "r");
        unsigned long long sz = 0;
        if (!f || fscanf(f, "segment_size %llu", &sz) != 1 || sz < WAL_SEGMENT_MIN || sz % 4096) {
            snprintf(err, errlen, "%s missing or unreadable: cannot tell the segment size", path);
            rc = -1;
        } else {
            l->segsize = (size_t)sz;
        }
        if (f) fclose(f);
    }
    if (rc < 0) {
        free(l->start);
        l->start = NULL;
    }
    return rc;
}

/* A cursor over the records of a directory, segment by segment. */
struct wal_cursor {
    const char *dir;
    struct wal_seglist sl;
    unsigned char *buf; /* the current segment, whole */
    size_t i, off;      /* segment index, offset in it */
    uint64_t prev;
    int prev_known;
    int loaded;
};

static int cursor_load(struct wal_cursor *c, size_t i, unsigned char *buf, char *err, size_t errlen)
{
    char path[4096];
    wal_seg_name(path, sizeof(path), c->dir, c->sl.start[i]);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "open %s: %s", path, strerror(errno));
        return -1;
    }
    size_t got = 0;
    while (got < c->sl.segsize) {
        ssize_t r = pread(fd, buf + got, c->sl.segsize - got, (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            snprintf(err, errlen, "read %s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    memset(buf + got, 0, c->sl.segsize - got); /* a short file reads as zeroes */
    close(fd);
    return 0;
}

/* Next record: 1 with *r (OK, possibly SWITCH), 0 at a clean end (segment boundary
 * with no further segment), -1 at a bad record (*st, c->i, c->off name it), -2 on I/O
 * error (err). */
static int cursor_next(struct wal_cursor *c, struct wal_rec *r, int *st, char *err, size_t errlen)
{
    size_t seg = c->sl.segsize;
    for (;;) {
        if (c->i >= c->sl.n) return 0;
        if (!c->loaded) {
            if (c->i > 0 && c->sl.start[c->i] != c->sl.start[c->i - 1] + seg) {
                *st = WAL_REC_BADLSN; /* a missing segment */
                c->off = 0;
                return -1;
            }
            if (cursor_load(c, c->i, c->buf, err, errlen) < 0) return -2;
            c->loaded = 1;
        }
        if (seg - c->off < WAL_HDR) {
            c->i++;
            c->off = 0;
            c->loaded = 0;
            continue;
        }
        *st = wal_rec_decode(c->buf + c->off, seg - c->off, r);
        if (*st == WAL_REC_OK &&
            (r->lsn != c->sl.start[c->i] + c->off || (c->prev_known && r->prev != c->prev)))
            *st = WAL_REC_BADLSN;
        if (*st != WAL_REC_OK) return -1;
        c->prev = r->lsn;
        c->prev_known = 1;
        if (r->type == WAL_T_SWITCH) {
            c->i++;
            c->off = 0;
            c->loaded = 0;
        } else {
            c->off += r->size;
        }
        return 1;
    }
}

static int cursor_init(struct wal_cursor *c, const char *dir, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    c->dir = dir;
    if (wal_list_segments(dir, &c->sl, err, errlen) < 0) return -1;
    if (c->sl.n && !(c->buf = malloc(c->sl.segsize))) {
        snprintf(err, errlen, "out of memory");
        free(c->sl.start);
        return -1;
    }
    return 0;
}

static void cursor_free(struct wal_cursor *c)
{
    free(c->buf);
    free(c->sl.start);
}

int wal_walk(const char *dir, wal_walk_cb cb, void *arg, char *err, size_t errlen)
{
    struct wal_cursor c;
    if (cursor_init(&c, dir, err, errlen) < 0) return -1;
    int rc = 0;
    for (;;) {
        struct wal_rec r;
        int st = 0;
        size_t i = c.i, off = c.off;
        int k = cursor_next(&c, &r, &st, err, errlen);
        char name[32];
        if (k == -2) {
            rc = -1;
            break;
        }
        if (k == 0) break;
        if (k == -1) {
            i = c.i;
            off = c.off;
        }
        snprintf(name, sizeof(name), "%016" PRIx64 ".wal", c.sl.start[i]);
        cb(arg, name, off, st, &r);
        if (k == -1) break;
    }
    cursor_free(&c);
    return rc;
}

/* Is there a record that chains by position after the bad one at (i, off)? */
static int valid_after(struct wal_cursor *c, size_t *fi, size_t *foff, char *err, size_t errlen)
{
    size_t seg = c->sl.segsize;
    unsigned char *tmp = NULL;
    for (size_t i = c->i; i < c->sl.n; i++) {
        unsigned char *b = c->buf;
        if (i != c->i) {
            if (!tmp && !(tmp = malloc(seg))) return -1;
            if (cursor_load(c, i, tmp, err, errlen) < 0) {
                free(tmp);
                return -1;
            }
            b = tmp;
        }
        for (size_t o = (i == c->i ? c->off + 8 : 0); o + WAL_HDR <= seg; o += 8) {
            uint64_t lsn;
            memcpy(&lsn, b + o + 8, 8);
            struct wal_rec r;
            if (lsn == c->sl.start[i] + o && wal_rec_decode(b + o, seg - o, &r) == WAL_REC_OK) {
                *fi = i;
                *foff = o;
                free(tmp);
                return 1;
            }
        }
    }
    free(tmp);
    return 0;
}

static int zero_range(const char *path, size_t from, size_t to, int sync, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "open %s: %s", path, strerror(errno));
        return -1;
    }
    static const char zeros[65536];
    size_t at = from;
    while (at < to) {
        size_t n = to - at < sizeof(zeros) ? to - at : sizeof(zeros);
        ssize_t w = pwrite(fd, zeros, n, (off_t)at);
        if (w <= 0) {
            snprintf(err, errlen, "write %s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        at += (size_t)w;
    }
    if (sync && fdatasync(fd) < 0) {
        snprintf(err, errlen, "fdatasync %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

int wal_recover(const char *dir, size_t segsize, const struct wal_opts *o, wal_replay_cb replay,
                void *arg, struct wal_recovered *out, char *err, size_t errlen)
{
    struct wal_cursor c;
    memset(out, 0, sizeof(*out));
    if (cursor_init(&c, dir, err, errlen) < 0) return -1;
    int rc = -1;
    if (c.sl.n == 0) {
        rc = 0;
        goto done;
    }
    for (;;) {
        struct wal_rec r;
        int st = 0;
        int k = cursor_next(&c, &r, &st, err, errlen);
        if (k == -2) goto done;
        if (k == 0) { /* the log ends exactly at a segment boundary */
            out->end = c.sl.start[c.sl.n - 1] + c.sl.segsize;
            out->prev = c.prev;
            rc = 0;
            goto done;
        }
        if (k == 1) {
            if (r.type != WAL_T_SWITCH && replay && replay(arg, r.lsn, r.type, r.payload, r.len)) {
                snprintf(err, errlen, "replay of the record at LSN %" PRIu64 " failed", r.lsn);
                goto done;
            }
            continue;
        }
        /* a bad record at (c.i, c.off): a torn tail, or corruption before the tail? */
        char path[4096];
        wal_seg_name(path, sizeof(path), dir, c.sl.start[c.i]);
        size_t fi = 0, foff = 0;
        int after = valid_after(&c, &fi, &foff, err, errlen);
        if (after < 0) goto done;
        if (after && !o->truncate_corrupt) {
            snprintf(err, errlen,
                     "WAL corruption in segment %s at offset %zu (LSN %" PRIu64 "): %s, and a "
                     "valid record follows (segment %016" PRIx64 ".wal offset %zu), so this is "
                     "not a torn tail; refusing to start (--wal-truncate-corrupt cuts the log "
                     "there and loses what follows)",
                     path, c.off, c.sl.start[c.i] + c.off, wal_rec_status_name(st), c.sl.start[fi],
                     foff);
            goto done;
        }
        int dirty = c.i + 1 < c.sl.n;
        for (size_t b = c.off; b < c.sl.segsize && !dirty; b++)
            dirty = c.buf[b] != 0;
        if (dirty) {
            if (zero_range(path, c.off, c.sl.segsize, 1, err, errlen) < 0) goto done;
            size_t removed = 0;
            for (size_t j = c.i + 1; j < c.sl.n; j++) {
                char p2[4096];
                wal_seg_name(p2, sizeof(p2), dir, c.sl.start[j]);
                if (unlink(p2) == 0) removed++;
            }
            int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dfd >= 0) {
                fsync(dfd);
                close(dfd);
            }
            wal_logf(o,
                     "wal: %s at segment %s offset %zu (LSN %" PRIu64 "): %s; truncated "
                     "there (%zu bytes zeroed, %zu later segment(s) removed)",
                     after ? "corruption (cut on request)" : "torn tail", path, c.off,
                     c.sl.start[c.i] + c.off, wal_rec_status_name(st), c.sl.segsize - c.off,
                     removed);
        }
        out->end = c.sl.start[c.i] + c.off;
        out->prev = c.prev;
        rc = 0;
        goto done;
    }
done:
    (void)segsize;
    cursor_free(&c);
    return rc;
}

int wal_sim_cut(const char *dir, size_t segsize, int mode, char *err, size_t errlen,
                const struct wal_opts *o)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/durable.lsn", dir);
    FILE *f = fopen(path, "r");
    unsigned long long durable = 0;
    if (!f) {
        wal_logf(o, "wal: power-loss simulation: no %s yet, nothing to cut", path);
        return 0;
    }
    int ok = fscanf(f, "%llu", &durable) == 1;
    fclose(f);
    if (!ok) return 0;
    struct wal_seglist sl;
    if (wal_list_segments(dir, &sl, err, errlen) < 0) return -1;
    int rc = 0;
    for (size_t i = 0; i < sl.n && rc == 0; i++) {
        uint64_t s = sl.start[i];
        if (s + sl.segsize <= durable) continue;
        size_t from = durable > s ? (size_t)(durable - s) : 0;
        wal_seg_name(path, sizeof(path), dir, s);
        if (mode == WAL_SIM_TEAR && durable >= s && from + WAL_HDR <= sl.segsize) {
            unsigned char hdr[WAL_HDR];
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd >= 0 && pread(fd, hdr, WAL_HDR, (off_t)from) == WAL_HDR) {
                uint32_t len;
                memcpy(&len, hdr + 4, 4);
                if (len <= WAL_MAX_PAYLOAD && from + wal_rec_size(len) <= sl.segsize) {
                    from += wal_rec_size(len) / 2; /* half of the record made it */
                    wal_logf(o, "wal: power-loss simulation: tearing the record at LSN %llu",
                             durable);
                }
            }
            if (fd >= 0) close(fd);
        }
        rc = zero_range(path, from, sl.segsize, 0, err, errlen);
        if (rc == 0)
            wal_logf(o,
                     "wal: power-loss simulation: segment %016" PRIx64 ".wal cut back to %zu bytes",
                     s, from);
    }
    (void)segsize;
    free(sl.start);
    return rc;
}
