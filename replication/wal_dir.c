/* wal_dir: a running WAL's directory: opening it (a new log, or recovery and what
 * follows it), closing, compaction, and reading segments for the stream.  Contract in
 * wal.h. */
#include "replication/wal_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A new log: durable.lsn first, then wal.meta (a crash between them leaves no meta and
 * no segment: a new log again). */
static int create_log(struct wal *w, struct wal_meta *m, char *err, size_t errlen)
{
    struct wal_seglist sl;
    if (wal_list_segments(w->dir, &sl, err, errlen) < 0) return -1;
    free(sl.start);
    if (sl.n) {
        snprintf(err, errlen, "%s/wal.meta missing: cannot tell the segment size", w->dir);
        return -1;
    }
    int fd = wal_marker_open(w->dir);
    if (fd < 0 || wal_marker_put(fd, 0, 0, 1) < 0) {
        snprintf(err, errlen, "cannot write %s/durable.lsn: %s", w->dir, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    close(fd);
    *m = (struct wal_meta){.segsize = w->o.segment_size, .has_start = 1};
    if (wal_meta_create(w->dir, w->dirfd, m, err, errlen) < 0) return -1;
    m->seq = 1;
    return 0;
}

/* What recovery found may sit only in the page cache (a kill -9 before the writer's
 * fdatasync): make it durable, then durable.lsn, before anyone is told it is flushed. */
static int settle(struct wal *w, const struct wal_recovered *rec, char *err, size_t errlen)
{
    if (rec->end > rec->start) {
        char path[4096];
        wal_seg_name(path, sizeof(path), w->dir, wal_seg_of(rec->end - 1, w->segsize));
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || fdatasync(fd) < 0) {
            snprintf(err, errlen, "fdatasync %s after recovery: %s", path, strerror(errno));
            if (fd >= 0) close(fd);
            return -1;
        }
        close(fd);
    }
    /* Synced: after a cut on request it goes down, and must not come back up. */
    w->marker_fd = wal_marker_open(w->dir);
    if (w->marker_fd < 0 || wal_marker_put(w->marker_fd, rec->end, 0, 1) < 0) {
        wal_logf(&w->o, "wal: cannot write %s/durable.lsn: %s (the end of the log is not checked)",
                 w->dir, strerror(errno));
        if (w->marker_fd >= 0) close(w->marker_fd);
        w->marker_fd = -1;
    }
    if (!w->meta.has_start) { /* the first format: record the start from now on */
        struct wal_meta m = {.segsize = w->segsize, .start = rec->start, .has_start = 1};
        char e2[256];
        if (wal_meta_create(w->dir, w->dirfd, &m, e2, sizeof(e2)) == 0) {
            m.seq = 1;
            w->meta = m;
        } else {
            wal_logf(&w->o, "wal: %s (kept the first format)", e2);
        }
    }
    return 0;
}

size_t wal_segment_min(void)
{
    size_t m = wal_rec_size(WAL_MAX_PAYLOAD) + WAL_HDR; /* the largest record and a SWITCH */
    if (m < WAL_SEGMENT_MIN) m = WAL_SEGMENT_MIN;
    return (m + 4095) / 4096 * 4096;
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
    w->seg_fd = w->rd_fd = w->dirfd = w->marker_fd = -1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_mutex_init(&w->cmu, NULL);
    pthread_cond_init(&w->cv, NULL);
    pthread_cond_init(&w->seg_cv, NULL);
    if (strlen(dir) >= sizeof(w->dir)) {
        snprintf(err, errlen, "WAL directory path too long");
        goto fail;
    }
    snprintf(w->dir, sizeof(w->dir), "%s", dir);
    if (w->o.segment_size % 4096 || w->o.segment_size < wal_segment_min() ||
        w->o.segment_size > ((size_t)1 << 40)) {
        snprintf(err, errlen, "WAL segment size %zu: must be a multiple of 4096 and >= %zu",
                 w->o.segment_size, wal_segment_min());
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
    int k = wal_meta_read(dir, &w->meta, err, errlen);
    if (k < 0 || (k == 0 && create_log(w, &w->meta, err, errlen) < 0)) goto fail;
    w->segsize = w->meta.segsize;
    if (w->o.sim_power_loss &&
        wal_sim_cut(dir, w->segsize, w->o.sim_power_loss, err, errlen, &w->o) < 0)
        goto fail;
    struct wal_recovered rec;
    if (wal_recover(dir, &w->meta, &w->o, replay, arg, &rec, err, errlen) < 0) goto fail;
    if (settle(w, &rec, err, errlen) < 0) goto fail;
    atomic_store(&w->oldest, rec.start);
    w->insert_lsn = rec.end;
    w->prev_lsn = rec.prev;
    /* Inside a segment, that segment is whole (records go only into created ones); at a
     * boundary, the writer (re)creates the next, idempotently. */
    w->ready_end = rec.end % w->segsize ? wal_seg_of(rec.end, w->segsize) + w->segsize : rec.end;
    atomic_store(&w->write_lsn, rec.end);
    atomic_store(&w->flush_lsn, rec.end);
    if (pthread_create(&w->th, NULL, wal_writer_main, w) != 0) {
        snprintf(err, errlen, "cannot start the WAL writer thread");
        goto fail;
    }
    return w;
fail:
    if (w->dirfd >= 0) close(w->dirfd);
    if (w->marker_fd >= 0) close(w->marker_fd);
    pthread_mutex_destroy(&w->mu);
    pthread_mutex_destroy(&w->cmu);
    pthread_cond_destroy(&w->cv);
    pthread_cond_destroy(&w->seg_cv);
    free(w);
    return NULL;
}

void wal_close(struct wal *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cv);
    pthread_cond_broadcast(&w->seg_cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    if (w->seg_fd >= 0) close(w->seg_fd);
    if (w->rd_fd >= 0) close(w->rd_fd);
    if (w->marker_fd >= 0) close(w->marker_fd);
    close(w->dirfd);
    pthread_mutex_destroy(&w->mu);
    pthread_mutex_destroy(&w->cmu);
    pthread_cond_destroy(&w->cv);
    pthread_cond_destroy(&w->seg_cv);
    free(w->buf);
    free(w->wbuf);
    free(w);
}

static void compact_step(struct wal *w, int step)
{
    if (w->o.compact_step) w->o.compact_step(w->o.compact_arg, step);
}

int wal_compact(struct wal *w, uint64_t lsn, char *err, size_t errlen)
{
    pthread_mutex_lock(&w->cmu);
    uint64_t flush = atomic_load(&w->flush_lsn), keep = wal_seg_of(lsn, w->segsize);
    if (flush == 0) keep = 0;
    if (flush > 0 && keep > wal_seg_of(flush - 1, w->segsize))
        keep = wal_seg_of(flush - 1, w->segsize); /* it holds the last record */
    int removed = 0;
    if (keep > w->meta.start) {
        struct wal_meta m = w->meta;
        m.start = keep;
        m.has_start = 1;
        /* in place; a wal.meta still in the first format (its upgrade at open failed:
         * a full disk) needs the new file */
        int rc = w->meta.has_start ? wal_meta_update(w->dir, &m, err, errlen)
                                   : wal_meta_create(w->dir, w->dirfd, &m, err, errlen);
        if (rc == 0 && !w->meta.has_start) m.seq = 1;
        if (rc < 0) {
            removed = -1;
            goto out;
        }
        w->meta = m;
        atomic_store(&w->oldest, keep);
        compact_step(w, WAL_COMPACT_META);
    }
    struct wal_seglist sl; /* every file below the start, leftovers of an earlier run too */
    if (wal_list_segments(w->dir, &sl, err, errlen) < 0) {
        removed = -1;
        goto out;
    }
    for (size_t i = 0; i < sl.n && sl.start[i] < w->meta.start; i++) {
        char path[4096];
        wal_seg_name(path, sizeof(path), w->dir, sl.start[i]);
        if (unlink(path) < 0) {
            if (errno == ENOENT) continue;
            snprintf(err, errlen, "cannot remove %s: %s", path, strerror(errno));
            removed = -1;
            break;
        }
        removed++;
        compact_step(w, WAL_COMPACT_UNLINK);
    }
    free(sl.start);
    if (removed > 0) {
        if (fsync(w->dirfd) < 0) {
            snprintf(err, errlen, "fsync %s: %s", w->dir, strerror(errno));
            removed = -1;
            goto out;
        }
        compact_step(w, WAL_COMPACT_DIRSYNC);
    }
out:
    pthread_mutex_unlock(&w->cmu);
    return removed;
}

ssize_t wal_read(struct wal *w, uint64_t from, uint64_t upto, void *buf, size_t cap, uint64_t *next,
                 char *err, size_t errlen)
{
    *next = from;
    uint64_t oldest = atomic_load(&w->oldest);
    if (from < oldest) {
        snprintf(err, errlen, "WAL at LSN %" PRIu64 " is gone (oldest kept: %" PRIu64 ")", from,
                 oldest);
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
