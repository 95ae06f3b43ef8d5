/* wal: appending and the writer thread (group commit, segments created ahead).
 * Contract in wal.h; opening, compaction and reading are in wal_dir.c, the on-disk side
 * in wal_seg.c, recovery in wal_recover.c. */
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

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Writer thread only.  Final: the records past the flush LSN are refused, and
 * durable.lsn says so, so that the next wal_open() cuts them instead of replaying. */
static void wal_fail(struct wal *w, const char *what, const char *path)
{
    int e = errno;
    pthread_mutex_lock(&w->mu);
    snprintf(w->fail_msg, sizeof(w->fail_msg), "WAL %s %s: %s", what, path, strerror(e));
    atomic_store(&w->failed, 1);
    pthread_cond_broadcast(&w->seg_cv);
    pthread_mutex_unlock(&w->mu);
    if (w->marker_fd >= 0) wal_marker_put(w->marker_fd, atomic_load(&w->flush_lsn), 1, 1);
    wal_logf(&w->o, "%s (the WAL stops accepting writes; records past LSN %" PRIu64 " are refused)",
             w->fail_msg, atomic_load(&w->flush_lsn));
}

/* Opens the segment starting at s for writing; the writer created it ahead. */
static int seg_open(struct wal *w, uint64_t s)
{
    char path[4096];
    wal_seg_name(path, sizeof(path), w->dir, s);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        wal_fail(w, "cannot open segment", path);
        return -1;
    }
    if (w->seg_fd >= 0) close(w->seg_fd);
    w->seg_fd = fd;
    w->seg_start = s;
    return 0;
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
        uint64_t seg = wal_seg_of(r.lsn, w->segsize);
        size_t run = 0;
        while (at + run < n) { /* extend the run while records stay in this segment */
            struct wal_rec q;
            wal_rec_decode(w->wbuf + at + run, n - at - run, &q);
            if (wal_seg_of(q.lsn, w->segsize) != seg || q.lsn != r.lsn + run) break;
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
                if (k == 0) errno = EIO;
                wal_fail(w, "write", path);
                return -1;
            }
            done += (size_t)k;
        }
        at += run;
    }
    return 0;
}

/* Under mu: the segment being filled and the next one must exist. */
static int seg_wanted(struct wal *w)
{
    if (w->stop || atomic_load(&w->failed)) return 0;
    if (w->ready_end >= wal_seg_of(w->insert_lsn, w->segsize) + 2 * w->segsize) return 0;
    return !w->seg_err || mono_ms() >= w->seg_retry_ms;
}

/* Under mu, unlocked around the I/O: creates the segment at ready_end. */
static void seg_make(struct wal *w)
{
    uint64_t s = w->ready_end;
    int had = w->seg_err; /* written by this thread only */
    pthread_mutex_unlock(&w->mu);
    int rc = wal_seg_create(w->dir, w->dirfd, s, w->segsize);
    int e = errno;
    if (rc < 0 && !had)
        wal_logf(&w->o,
                 "wal: cannot create segment %s/%016" PRIx64 ".wal: %s; appends that need it fail "
                 "with that error until it can be made (retried every %u ms)",
                 w->dir, s, strerror(e), w->o.writer_delay_ms);
    if (rc == 0 && had)
        wal_logf(&w->o, "wal: segment %s/%016" PRIx64 ".wal created: appends accepted again",
                 w->dir, s);
    pthread_mutex_lock(&w->mu);
    if (rc == 0) {
        w->ready_end = s + w->segsize;
        w->seg_err = 0;
    } else {
        w->seg_err = e ? e : EIO;
        w->seg_retry_ms = mono_ms() + w->o.writer_delay_ms;
    }
    pthread_cond_broadcast(&w->seg_cv);
}

void *wal_writer_main(void *arg)
{
    struct wal *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        if (w->len == 0 && w->stop) break;
        if (seg_wanted(w)) {
            seg_make(w);
            continue;
        }
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
            /* before the flush LSN moves: whatever is acknowledged is below durable.lsn */
            if (w->marker_fd >= 0) wal_marker_put(w->marker_fd, end, 0, 0);
            atomic_store(&w->flush_lsn, end);
        }
        if (w->o.on_progress) w->o.on_progress(w->o.progress_arg);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Makes room for a record of `size` bytes at the insert LSN (emitting a SWITCH when it
 * does not fit in the segment when `may_switch`), under mu: buffer space, and a segment
 * file that exists for it (waiting for the writer to create it, or failing with the
 * errno its creation failed with).  Returns 0 or -1/errno. */
static int reserve(struct wal *w, size_t size, int may_switch)
{
    size_t need = size + WAL_HDR, off;
    for (;;) {
        if (atomic_load(&w->failed) || w->stop) {
            errno = EIO;
            return -1;
        }
        if (w->len + need > w->o.buffer_limit) {
            pthread_cond_signal(&w->cv);
            errno = ENOBUFS;
            return -1;
        }
        off = (size_t)(w->insert_lsn % w->segsize);
        uint64_t at = w->insert_lsn;
        if (may_switch && off + size > w->segsize) at += w->segsize - off;
        if (w->ready_end >= at + size) break;
        if (w->seg_err) {
            errno = w->seg_err;
            return -1;
        }
        pthread_cond_signal(&w->cv);
        pthread_cond_wait(&w->seg_cv, &w->mu); /* then everything again: others appended */
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

int wal_can_append(struct wal *w, size_t bytes, size_t largest)
{
    int e = 0;
    pthread_mutex_lock(&w->mu);
    /* the last record may need a SWITCH first: up to one record's size is skipped */
    uint64_t end = w->insert_lsn + bytes + largest;
    if (atomic_load(&w->failed) || w->stop)
        e = EIO;
    else if (w->len + bytes > w->o.buffer_limit)
        e = ENOBUFS;
    else if (w->ready_end < end && w->seg_err)
        e = w->seg_err;
    pthread_mutex_unlock(&w->mu);
    if (e) errno = e;
    return e ? -1 : 0;
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
    w->insert_lsn = r.type == WAL_T_SWITCH ? wal_seg_of(r.lsn, w->segsize) + w->segsize : r.lsn + n;
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
    return atomic_load(&w->oldest);
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
