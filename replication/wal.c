/* wal: appending, the writer thread (group commit) and reading for the stream.
 * Contract in wal.h; the on-disk side is in wal_seg.c. */
#include "replication/wal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "replication/wal_int.h"

struct wal {
    char dir[4000];
    int dirfd;
    size_t segsize;
    struct wal_opts o;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* under mu: the append side */
    unsigned char *buf; /* encoded records not yet taken by the writer */
    size_t len, cap;
    uint64_t insert_lsn, prev_lsn, flush_req;
    int stop;
    char fail_msg[256];

    /* the writer's own */
    unsigned char *wbuf;
    size_t wcap;
    int seg_fd;
    uint64_t seg_start;
    pthread_t th;

    _Atomic uint64_t write_lsn, flush_lsn, nflush;
    _Atomic int failed;
    uint64_t oldest;

    /* wal_read's cached segment */
    int rd_fd;
    uint64_t rd_seg;
};

static void wal_fail(struct wal *w, const char *what, const char *path)
{
    pthread_mutex_lock(&w->mu);
    snprintf(w->fail_msg, sizeof(w->fail_msg), "WAL %s %s: %s", what, path, strerror(errno));
    pthread_mutex_unlock(&w->mu);
    atomic_store(&w->failed, 1);
    wal_logf(&w->o, "%s (the WAL stops accepting writes)", w->fail_msg);
}

static int fsync_dir(struct wal *w)
{
    return fsync(w->dirfd);
}

/* Opens (creating, preallocating and fsyncing it and the directory when new) the
 * segment starting at s for writing. */
static int seg_open(struct wal *w, uint64_t s)
{
    char path[4096];
    wal_seg_name(path, sizeof(path), w->dir, s);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) goto opened;
    if (errno != ENOENT) goto fail;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) goto fail;
    /* Fixed size from the start: later fdatasyncs then have no file size to update. */
    if (posix_fallocate(fd, 0, (off_t)w->segsize) != 0 && ftruncate(fd, (off_t)w->segsize) < 0)
        goto fail;
    if (fsync(fd) < 0 || fsync_dir(w) < 0) goto fail;
opened:
    if (w->seg_fd >= 0) close(w->seg_fd);
    w->seg_fd = fd;
    w->seg_start = s;
    return 0;
fail:
    wal_fail(w, "cannot create segment", path);
    if (fd >= 0) close(fd);
    return -1;
}

static int seg_sync(struct wal *w)
{
    if (w->seg_fd >= 0 && fdatasync(w->seg_fd) < 0) {
        char path[4096];
        wal_seg_name(path, sizeof(path), w->dir, w->seg_start);
        wal_fail(w, "fdatasync", path);
        return -1;
    }
    atomic_fetch_add(&w->nflush, 1);
    return 0;
}

/* Writes the records in wbuf[0..n) at their LSNs, one pwrite per contiguous run. */
static int write_records(struct wal *w, size_t n)
{
    size_t at = 0;
    while (at < n) {
        struct wal_rec r;
        int st = wal_rec_decode(w->wbuf + at, n - at, &r);
        assert(st == WAL_REC_OK);
        (void)st;
        uint64_t seg = r.lsn - r.lsn % w->segsize;
        size_t run = 0;
        while (at + run < n) { /* extend the run while records stay in this segment */
            struct wal_rec q;
            wal_rec_decode(w->wbuf + at + run, n - at - run, &q);
            if (q.lsn - q.lsn % w->segsize != seg || q.lsn != r.lsn + run) break;
            run += q.size;
        }
        if (seg != w->seg_start || w->seg_fd < 0) {
            /* the old segment must be durable before the new one holds anything */
            if (w->seg_fd >= 0 && seg_sync(w) < 0) return -1;
            if (seg_open(w, seg) < 0) return -1;
        }
        size_t done = 0;
        while (done < run) {
            ssize_t k = pwrite(w->seg_fd, w->wbuf + at + done, run - done,
                               (off_t)(r.lsn % w->segsize + done));
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0) {
                char path[4096];
                wal_seg_name(path, sizeof(path), w->dir, seg);
                wal_fail(w, "write", path);
                return -1;
            }
            done += (size_t)k;
        }
        at += run;
    }
    return 0;
}

static void sim_mark(struct wal *w, uint64_t lsn)
{
    char path[4096], tmp[64];
    snprintf(path, sizeof(path), "%s/durable.lsn", w->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return;
    int n = snprintf(tmp, sizeof(tmp), "%-20" PRIu64 "\n", lsn);
    if (pwrite(fd, tmp, (size_t)n, 0) != n) wal_logf(&w->o, "wal: cannot update %s", path);
    close(fd);
}

static void *writer_main(void *arg)
{
    struct wal *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        if (w->len == 0 && w->stop) break;
        int urgent = w->len > 0 && (w->flush_req > atomic_load(&w->write_lsn) ||
                                    w->len >= w->o.buffer_limit / 2 || w->stop);
        if (!urgent || atomic_load(&w->failed)) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            uint64_t ns = (uint64_t)ts.tv_nsec + (uint64_t)w->o.writer_delay_ms * 1000000u;
            ts.tv_sec += (time_t)(ns / 1000000000u);
            ts.tv_nsec = (long)(ns % 1000000000u);
            int r = pthread_cond_timedwait(&w->cv, &w->mu, &ts);
            if (atomic_load(&w->failed)) {
                w->len = 0;
                continue;
            }
            if (r != ETIMEDOUT || w->len == 0)
                continue; /* woken: re-check; a timeout with data falls through to flush */
        }
        /* take the whole batch: everything appended so far shares this flush */
        unsigned char *b = w->buf;
        size_t bc = w->cap, n = w->len;
        uint64_t end = w->insert_lsn;
        w->buf = w->wbuf;
        w->cap = w->wcap;
        w->wbuf = b;
        w->wcap = bc;
        w->len = 0;
        pthread_mutex_unlock(&w->mu);

        int ok = write_records(w, n) == 0;
        if (ok) {
            atomic_store(&w->write_lsn, end);
            if (w->o.on_progress && w->o.notify_write) w->o.on_progress(w->o.progress_arg);
            ok = seg_sync(w) == 0;
        }
        if (ok) {
            /* the simulated disk's durable mark first: once flush_lsn says so, a
             * commit is acknowledged, and a simulated power loss must keep it */
            if (w->o.sim_power_loss) sim_mark(w, end);
            atomic_store(&w->flush_lsn, end);
        }
        if (w->o.on_progress) w->o.on_progress(w->o.progress_arg);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

struct wal *wal_open(const char *dir, const struct wal_opts *o, wal_replay_cb replay, void *arg,
                     char *err, size_t errlen)
{
    struct wal *w = calloc(1, sizeof(*w));
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->o = *o;
    if (!w->o.segment_size) w->o.segment_size = WAL_SEGMENT_DEFAULT;
    if (!w->o.buffer_limit) w->o.buffer_limit = (size_t)64 << 20;
    if (w->o.buffer_limit < 4 * wal_rec_size(WAL_MAX_PAYLOAD))
        w->o.buffer_limit = 4 * wal_rec_size(WAL_MAX_PAYLOAD);
    if (!w->o.writer_delay_ms) w->o.writer_delay_ms = 200;
    w->seg_fd = w->rd_fd = w->dirfd = -1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (strlen(dir) >= sizeof(w->dir)) {
        snprintf(err, errlen, "WAL directory path too long");
        goto fail;
    }
    snprintf(w->dir, sizeof(w->dir), "%s", dir);
    if (w->o.segment_size % 4096 || w->o.segment_size < WAL_SEGMENT_MIN ||
        w->o.segment_size < wal_rec_size(WAL_MAX_PAYLOAD) + WAL_HDR) {
        snprintf(err, errlen, "WAL segment size %zu: must be a multiple of 4096 and >= %zu",
                 w->o.segment_size, wal_rec_size(WAL_MAX_PAYLOAD) + 4096);
        goto fail;
    }
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "mkdir %s: %s", dir, strerror(errno));
        goto fail;
    }
    w->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->dirfd < 0) {
        snprintf(err, errlen, "open %s: %s", dir, strerror(errno));
        goto fail;
    }
    struct wal_seglist sl;
    if (wal_list_segments(dir, &sl, err, errlen) < 0) goto fail;
    w->segsize = sl.n ? sl.segsize : w->o.segment_size;
    if (!sl.n && wal_write_meta(dir, w->segsize, err, errlen) < 0) goto fail;
    w->oldest = sl.n ? sl.start[0] : 0;
    free(sl.start);
    if (w->o.sim_power_loss &&
        wal_sim_cut(dir, w->segsize, w->o.sim_power_loss, err, errlen, &w->o) < 0)
        goto fail;
    struct wal_recovered rec;
    if (wal_recover(dir, w->segsize, &w->o, replay, arg, &rec, err, errlen) < 0) goto fail;
    if (rec.end > 0) {
        /* What recovery found may sit only in the page cache (a kill -9 before the
         * writer's fdatasync): make it durable before anyone is told it is flushed. */
        char path[4096];
        wal_seg_name(path, sizeof(path), dir, (rec.end - 1) - (rec.end - 1) % w->segsize);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || fdatasync(fd) < 0) {
            snprintf(err, errlen, "fdatasync %s after recovery: %s", path, strerror(errno));
            if (fd >= 0) close(fd);
            goto fail;
        }
        close(fd);
    }
    w->insert_lsn = rec.end;
    w->prev_lsn = rec.prev;
    atomic_store(&w->write_lsn, rec.end);
    atomic_store(&w->flush_lsn, rec.end);
    if (w->o.sim_power_loss) sim_mark(w, rec.end);
    if (pthread_create(&w->th, NULL, writer_main, w) != 0) {
        snprintf(err, errlen, "cannot start the WAL writer thread");
        goto fail;
    }
    return w;
fail:
    if (w->dirfd >= 0) close(w->dirfd);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
    return NULL;
}

void wal_close(struct wal *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    if (w->seg_fd >= 0) close(w->seg_fd);
    if (w->rd_fd >= 0) close(w->rd_fd);
    close(w->dirfd);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->buf);
    free(w->wbuf);
    free(w);
}

/* Makes room for a record of `size` bytes at the insert LSN (emitting a SWITCH when it
 * does not fit in the segment when `may_switch`), under mu. Returns 0 or -1/errno. */
static int reserve(struct wal *w, size_t size, int may_switch)
{
    size_t need = size + WAL_HDR;
    if (atomic_load(&w->failed)) {
        errno = EIO;
        return -1;
    }
    if (w->len + need > w->o.buffer_limit) {
        pthread_cond_signal(&w->cv);
        errno = ENOBUFS;
        return -1;
    }
    if (w->len + need > w->cap) {
        size_t cap = w->cap ? w->cap : 65536;
        while (cap < w->len + need)
            cap *= 2;
        unsigned char *b = realloc(w->buf, cap);
        if (!b) {
            errno = ENOMEM;
            return -1;
        }
        w->buf = b;
        w->cap = cap;
    }
    size_t off = (size_t)(w->insert_lsn % w->segsize);
    if (may_switch && off + size > w->segsize) {
        if (w->segsize - off >= WAL_HDR) {
            w->len +=
                wal_rec_encode(w->buf + w->len, w->insert_lsn, w->prev_lsn, WAL_T_SWITCH, NULL, 0);
            w->prev_lsn = w->insert_lsn;
        }
        w->insert_lsn += w->segsize - off;
    }
    return 0;
}

uint64_t wal_append(struct wal *w, uint16_t type, const void *p, size_t n)
{
    if (n > WAL_MAX_PAYLOAD || type == WAL_T_SWITCH || type == 0) {
        errno = E2BIG;
        return 0;
    }
    size_t size = wal_rec_size(n);
    pthread_mutex_lock(&w->mu);
    if (reserve(w, size, 1) < 0) {
        pthread_mutex_unlock(&w->mu);
        return 0;
    }
    w->len += wal_rec_encode(w->buf + w->len, w->insert_lsn, w->prev_lsn, type, p, n);
    w->prev_lsn = w->insert_lsn;
    w->insert_lsn += size;
    uint64_t end = w->insert_lsn;
    if (w->len >= w->o.buffer_limit / 2) pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return end;
}

int wal_append_raw(struct wal *w, const void *rec, size_t n)
{
    struct wal_rec r;
    if (wal_rec_decode(rec, n, &r) != WAL_REC_OK || r.size != n) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&w->mu);
    uint64_t at = w->insert_lsn;
    size_t off = (size_t)(at % w->segsize);
    if (r.lsn != at && w->segsize - off < WAL_HDR && r.lsn == at + (w->segsize - off))
        at = r.lsn; /* the implicit switch: fewer than WAL_HDR bytes were left */
    if (r.lsn != at || r.prev != w->prev_lsn || at % w->segsize + n > w->segsize) {
        pthread_mutex_unlock(&w->mu);
        errno = EINVAL;
        return -1;
    }
    w->insert_lsn = at;
    if (reserve(w, n, 0) < 0) {
        pthread_mutex_unlock(&w->mu);
        return -1;
    }
    memcpy(w->buf + w->len, rec, n);
    w->len += n;
    w->prev_lsn = r.lsn;
    w->insert_lsn = r.type == WAL_T_SWITCH ? r.lsn - r.lsn % w->segsize + w->segsize : r.lsn + n;
    pthread_mutex_unlock(&w->mu);
    return 0;
}

void wal_flush_request(struct wal *w, uint64_t lsn)
{
    pthread_mutex_lock(&w->mu);
    if (lsn > w->flush_req) {
        w->flush_req = lsn;
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
}

uint64_t wal_insert_lsn(struct wal *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t v = w->insert_lsn;
    pthread_mutex_unlock(&w->mu);
    return v;
}

uint64_t wal_write_lsn(struct wal *w)
{
    return atomic_load(&w->write_lsn);
}
uint64_t wal_flush_lsn(struct wal *w)
{
    return atomic_load(&w->flush_lsn);
}
uint64_t wal_oldest_lsn(struct wal *w)
{
    return w->oldest;
}
size_t wal_segment_size(struct wal *w)
{
    return w->segsize;
}
uint64_t wal_flush_count(struct wal *w)
{
    return atomic_load(&w->nflush);
}

int wal_failed(struct wal *w, char *err, size_t errlen)
{
    if (!atomic_load(&w->failed)) return 0;
    pthread_mutex_lock(&w->mu);
    snprintf(err, errlen, "%s", w->fail_msg);
    pthread_mutex_unlock(&w->mu);
    return 1;
}

ssize_t wal_read(struct wal *w, uint64_t from, uint64_t upto, void *buf, size_t cap, uint64_t *next,
                 char *err, size_t errlen)
{
    *next = from;
    if (from < w->oldest) {
        snprintf(err, errlen, "WAL at LSN %" PRIu64 " is gone (oldest kept: %" PRIu64 ")", from,
                 w->oldest);
        errno = ENOENT;
        return -1;
    }
    size_t off = (size_t)(from % w->segsize);
    if (w->segsize - off < WAL_HDR) {
        from += w->segsize - off;
        off = 0;
        *next = from;
    }
    if (from >= upto) return 0;
    uint64_t seg = from - off;
    if (w->rd_fd < 0 || w->rd_seg != seg) {
        char path[4096];
        wal_seg_name(path, sizeof(path), w->dir, seg);
        if (w->rd_fd >= 0) close(w->rd_fd);
        w->rd_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (w->rd_fd < 0) {
            snprintf(err, errlen, "open %s: %s", path, strerror(errno));
            return -1;
        }
        w->rd_seg = seg;
    }
    size_t want = w->segsize - off;
    if (want > upto - from) want = (size_t)(upto - from);
    if (want > cap) want = cap;
    ssize_t got = pread(w->rd_fd, buf, want, (off_t)off);
    if (got < 0) {
        snprintf(err, errlen, "read WAL: %s", strerror(errno));
        return -1;
    }
    size_t at = 0;
    while (at < (size_t)got) { /* whole records only; stop after a SWITCH */
        struct wal_rec r;
        int st = wal_rec_decode((unsigned char *)buf + at, (size_t)got - at, &r);
        if (st == WAL_REC_SHORT) break;
        if (st != WAL_REC_OK || r.lsn != from + at) {
            snprintf(err, errlen, "WAL at LSN %" PRIu64 " unreadable: %s", from + at,
                     wal_rec_status_name(st == WAL_REC_OK ? WAL_REC_BADLSN : st));
            errno = EIO;
            return -1;
        }
        at += r.size;
        if (r.type == WAL_T_SWITCH) {
            *next = seg + w->segsize;
            return (ssize_t)at;
        }
    }
    if (at == 0 && (size_t)got == cap) {
        snprintf(err, errlen, "wal_read: buffer of %zu bytes smaller than a record", cap);
        errno = E2BIG;
        return -1;
    }
    *next = from + at;
    return (ssize_t)at;
}
