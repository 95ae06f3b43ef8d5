/* wal_seg: the on-disk pieces of the WAL: record encoding, segment files, wal.meta,
 * durable.lsn, and the power-loss simulation.  Contract in wal.h; recovery is in
 * wal_recover.c. */
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
    char msg[1024];
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
    case WAL_REC_MISSING:
        return "segment file missing";
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

/* "%016x.wal" exactly, lower-case hex (the name wal_seg_name gives back). */
static int seg_name_parse(const char *name, uint64_t *start)
{
    if (strlen(name) != 20 || strcmp(name + 16, ".wal") != 0) return -1;
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        char c = name[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return -1;
        v = v << 4 | (uint64_t)d;
    }
    *start = v;
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
        uint64_t s;
        if (seg_name_parse(e->d_name, &s) < 0) continue;
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
    if (rc < 0) {
        free(l->start);
        l->start = NULL;
        l->n = 0;
        return -1;
    }
    if (l->n) qsort(l->start, l->n, sizeof(*l->start), cmp_u64);
    return 0;
}

int wal_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

/* ---- wal.meta ------------------------------------------------------------------ */

static void meta_slot(char *slot, const struct wal_meta *m)
{
    char line[WAL_META_SLOT];
    int n =
        snprintf(line, sizeof(line), "wal-meta seq=%" PRIu64 " segment_size=%zu start_lsn=%" PRIu64,
                 m->seq, m->segsize, m->start);
    uint32_t crc = crc32c(0, line, (size_t)n);
    memset(slot, ' ', WAL_META_SLOT);
    int k = snprintf(slot, WAL_META_SLOT, "%s crc=%08x", line, crc);
    slot[k] = ' '; /* snprintf's NUL: padding, then the newline */
    slot[WAL_META_SLOT - 1] = '\n';
}

static int meta_sane(size_t segsize, uint64_t start)
{
    return segsize >= WAL_SEGMENT_MIN && segsize % 4096 == 0 && segsize <= ((size_t)1 << 40) &&
           start % segsize == 0;
}

/* One slot: 1 valid (m filled), 0 not. */
static int meta_slot_parse(const char *slot, struct wal_meta *m)
{
    char tmp[WAL_META_SLOT + 1];
    memcpy(tmp, slot, WAL_META_SLOT);
    tmp[WAL_META_SLOT] = 0;
    unsigned long long seq, size, start;
    unsigned crc;
    int at = -1;
    if (sscanf(tmp, "wal-meta seq=%llu segment_size=%llu start_lsn=%llu%n crc=%8x", &seq, &size,
               &start, &at, &crc) != 4 ||
        at < 0)
        return 0;
    if (crc32c(0, tmp, (size_t)at) != crc || !meta_sane((size_t)size, start)) return 0;
    *m = (struct wal_meta){.segsize = (size_t)size, .start = start, .seq = seq, .has_start = 1};
    return 1;
}

int wal_meta_read(const char *dir, struct wal_meta *m, char *err, size_t errlen)
{
    char path[4096], buf[2 * WAL_META_SLOT + 1];
    snprintf(path, sizeof(path), "%s/wal.meta", dir);
    memset(m, 0, sizeof(*m));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) return 0;
    ssize_t n = fd < 0 ? -1 : pread(fd, buf, sizeof(buf) - 1, 0);
    int e = errno;
    if (fd >= 0) close(fd);
    if (n < 0) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(e));
        return -1;
    }
    buf[n] = 0;
    unsigned long long sz = 0;
    if (strncmp(buf, "segment_size ", 13) == 0) { /* the first format: no start LSN */
        if (sscanf(buf, "segment_size %llu", &sz) == 1 && meta_sane((size_t)sz, 0)) {
            m->segsize = (size_t)sz;
            return 1;
        }
    } else if (n == (ssize_t)sizeof(buf) - 1) {
        struct wal_meta a, b;
        int va = meta_slot_parse(buf, &a), vb = meta_slot_parse(buf + WAL_META_SLOT, &b);
        if (va || vb) {
            *m = va && (!vb || a.seq > b.seq) ? a : b;
            return 1;
        }
    }
    snprintf(err, errlen, "%s damaged (no readable slot): cannot tell the segment size", path);
    return -1;
}

int wal_meta_create(const char *dir, int dirfd, const struct wal_meta *m, char *err, size_t errlen)
{
    char path[4096], tmp[4096], buf[2 * WAL_META_SLOT];
    snprintf(path, sizeof(path), "%s/wal.meta", dir);
    snprintf(tmp, sizeof(tmp), "%s/wal.meta.tmp", dir);
    struct wal_meta s = *m;
    s.seq = 0;
    meta_slot(buf, &s);
    s.seq = 1;
    meta_slot(buf + WAL_META_SLOT, &s);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf) || fsync(fd) < 0 ||
        rename(tmp, path) < 0 || fsync(dirfd) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    return 0;
}

int wal_meta_update(const char *dir, struct wal_meta *m, char *err, size_t errlen)
{
    char path[4096], slot[WAL_META_SLOT];
    snprintf(path, sizeof(path), "%s/wal.meta", dir);
    struct wal_meta s = *m;
    s.seq++;
    meta_slot(slot, &s);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    /* the slot the older seq lives in: an interrupted write leaves the newer one */
    if (fd < 0 ||
        pwrite(fd, slot, sizeof(slot), (off_t)(s.seq % 2) * WAL_META_SLOT) !=
            (ssize_t)sizeof(slot) ||
        fdatasync(fd) < 0) {
        snprintf(err, errlen, "cannot update %s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    close(fd);
    *m = s;
    return 0;
}

/* ---- durable.lsn ---------------------------------------------------------------- */

int wal_marker_read(const char *dir, uint64_t *lsn, int *failed, char *err, size_t errlen)
{
    char path[4096], buf[64], word[16] = "";
    snprintf(path, sizeof(path), "%s/durable.lsn", dir);
    *lsn = 0;
    *failed = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) return 0;
    ssize_t n = fd < 0 ? -1 : pread(fd, buf, sizeof(buf) - 1, 0);
    if (fd >= 0) close(fd);
    if (n == 0) return 0; /* created, never written: a crash inside the first wal_open() */
    unsigned long long v;
    if (n > 0) buf[n] = 0;
    int k = n > 0 ? sscanf(buf, "%llu %15s", &v, word) : 0;
    if (k < 1 || buf[0] < '0' || buf[0] > '9' || (k == 2 && strcmp(word, "failed"))) {
        snprintf(err, errlen,
                 "%s unreadable: cannot tell how far the log was flushed (remove it to open "
                 "without that check)",
                 path);
        return -1;
    }
    *lsn = v;
    *failed = k == 2;
    return 1;
}

int wal_marker_open(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/durable.lsn", dir);
    return open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
}

int wal_marker_put(int fd, uint64_t lsn, int failed, int sync)
{
    char line[64];
    /* fixed width: each write covers the previous one whole */
    int n = snprintf(line, sizeof(line), "%-20" PRIu64 " %-6s\n", lsn, failed ? "failed" : "");
    if (pwrite(fd, line, (size_t)n, 0) != n) return -1;
    return sync ? fdatasync(fd) : 0;
}

/* ---- segment files ------------------------------------------------------------- */

int wal_seg_create(const char *dir, int dirfd, uint64_t start, size_t segsize)
{
    char path[4096];
    wal_seg_name(path, sizeof(path), dir, start);
    int created = 1;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST) {
        created = 0; /* left by an earlier run past the end of the log: all zeroes */
        fd = open(path, O_WRONLY | O_CLOEXEC);
    }
    if (fd < 0) return -1;
    /* Allocated now, so writing records never needs space: a full disk shows here. */
    int e;
    while ((e = posix_fallocate(fd, 0, (off_t)segsize)) == EINTR)
        ;
    if (e == 0 && fsync(fd) < 0) e = errno;
    if (e == 0 && fsync(dirfd) < 0) e = errno;
    close(fd);
    if (e) {
        if (created) unlink(path);
        errno = e;
        return -1;
    }
    return 0;
}

int wal_zero_range(const char *path, size_t from, size_t to, int sync, char *err, size_t errlen)
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
        if (w < 0 && errno == EINTR) continue;
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

int wal_sim_cut(const char *dir, size_t segsize, int mode, char *err, size_t errlen,
                const struct wal_opts *o)
{
    uint64_t durable;
    int failed;
    int k = wal_marker_read(dir, &durable, &failed, err, errlen);
    if (k < 0) return -1;
    if (k == 0) {
        wal_logf(o, "wal: power-loss simulation: no durable.lsn yet, nothing to cut");
        return 0;
    }
    struct wal_seglist sl;
    if (wal_list_segments(dir, &sl, err, errlen) < 0) return -1;
    char path[4096];
    int rc = 0;
    for (size_t i = 0; i < sl.n && rc == 0; i++) {
        uint64_t s = sl.start[i];
        if (s + segsize <= durable) continue;
        size_t from = durable > s ? (size_t)(durable - s) : 0;
        wal_seg_name(path, sizeof(path), dir, s);
        if (mode == WAL_SIM_TEAR && durable >= s && from + WAL_HDR <= segsize) {
            unsigned char hdr[WAL_HDR];
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd >= 0 && pread(fd, hdr, WAL_HDR, (off_t)from) == WAL_HDR) {
                uint32_t len;
                memcpy(&len, hdr + 4, 4);
                if (len <= WAL_MAX_PAYLOAD && from + wal_rec_size(len) <= segsize) {
                    from += wal_rec_size(len) / 2; /* half of the record made it */
                    wal_logf(o, "wal: power-loss simulation: tearing the record at LSN %" PRIu64,
                             durable);
                }
            }
            if (fd >= 0) close(fd);
        }
        rc = wal_zero_range(path, from, segsize, 0, err, errlen);
        if (rc == 0)
            wal_logf(o,
                     "wal: power-loss simulation: segment %016" PRIx64 ".wal cut back to %zu bytes",
                     s, from);
    }
    free(sl.start);
    return rc;
}
