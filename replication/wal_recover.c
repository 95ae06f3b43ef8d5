/* wal_recover: reading a WAL directory back: the walk along the segment chain, the
 * verdict on where it ends (clean end, torn tail, damage), and recovery acting on it.
 * The rules are in wal.h. */
#include "replication/wal_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct scan {
    const char *dir;
    size_t seg;
    struct wal_seglist sl;
    unsigned char *buf; /* one segment, whole */
    uint64_t buf_seg;   /* which one: valid only while buf_ok */
    int buf_ok;
    /* found by scan_log */
    uint64_t start, prev;
    int e_present;    /* E's segment file exists (and is in buf) */
    size_t tail_end;  /* in E's segment: one past its last non-zero byte at or after E */
    size_t below;     /* segment files below the start */
    int marker_found; /* durable.lsn exists */
    int refused;      /* the walk stopped at durable.lsn: a flush failed there */
};

static int scan_init(struct scan *s, const char *dir, size_t seg, char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    s->dir = dir;
    s->seg = seg;
    if (wal_list_segments(dir, &s->sl, err, errlen) < 0) return -1;
    if (s->sl.n && !(s->buf = malloc(seg))) {
        snprintf(err, errlen, "out of memory");
        free(s->sl.start);
        return -1;
    }
    return 0;
}

static void scan_free(struct scan *s)
{
    free(s->buf);
    free(s->sl.start);
}

/* Reads the segment at start into buf; a file shorter than a segment reads as zeroes. */
static int scan_load(struct scan *s, uint64_t start, char *err, size_t errlen)
{
    if (s->buf_ok && s->buf_seg == start) return 0;
    s->buf_ok = 0;
    char path[4096];
    wal_seg_name(path, sizeof(path), s->dir, start);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "open %s: %s", path, strerror(errno));
        return -1;
    }
    size_t got = 0;
    while (got < s->seg) {
        ssize_t r = pread(fd, s->buf + got, s->seg - got, (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            snprintf(err, errlen, "read %s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    memset(s->buf + got, 0, s->seg - got);
    close(fd);
    s->buf_seg = start;
    s->buf_ok = 1;
    return 0;
}

/* Index of the first segment file at or above lsn. */
static size_t scan_index(const struct scan *s, uint64_t lsn)
{
    size_t i = 0;
    while (i < s->sl.n && s->sl.start[i] < lsn)
        i++;
    return i;
}

/* One past the last non-zero byte of b[from, to), or 0 when they are all zero. */
static size_t last_nonzero(const unsigned char *b, size_t from, size_t to)
{
    size_t i = to;
    while (i > from && i % 8)
        if (b[--i]) return i + 1;
    while (i >= from + 8) {
        uint64_t w;
        memcpy(&w, b + i - 8, 8);
        if (w) break;
        i -= 8;
    }
    while (i > from)
        if (b[--i]) return i + 1;
    return 0;
}

/* The first record at or after offset from in buf that is valid where it lies; -1: none. */
static long find_valid(const struct scan *s, size_t from)
{
    for (size_t o = (from + 7) & ~(size_t)7; o + WAL_HDR <= s->seg; o += 8) {
        uint64_t lsn;
        struct wal_rec r;
        memcpy(&lsn, s->buf + o + 8, 8);
        if (lsn == s->buf_seg + o && wal_rec_decode(s->buf + o, s->seg - o, &r) == WAL_REC_OK)
            return (long)o;
    }
    return -1;
}

/* Walks the chain from the start, calling replay and walk for each record, to E, the
 * first position without a valid record (or stop_at: durable.lsn after a failed flush). */
static int scan_walk(struct scan *s, uint64_t stop_at, wal_replay_cb replay, void *rarg,
                     wal_walk_cb walk, void *warg, struct wal_verdict *v, char *err, size_t errlen)
{
    const size_t seg = s->seg;
    uint64_t pos = s->start, prev = 0;
    int prev_known = 0, st = WAL_REC_OK;
    size_t i = s->below;
    struct wal_rec r;
    memset(&r, 0, sizeof(r));
    for (;;) {
        uint64_t ss = wal_seg_of(pos, seg);
        size_t off = (size_t)(pos - ss);
        if (pos >= stop_at) {
            s->refused = 1;
            break;
        }
        if (!s->buf_ok || s->buf_seg != ss) {
            snprintf(v->segment, sizeof(v->segment), "%016" PRIx64 ".wal", ss);
            if (i >= s->sl.n || s->sl.start[i] != ss) {
                st = WAL_REC_MISSING;
                memset(&r, 0, sizeof(r));
                break;
            }
            if (scan_load(s, ss, err, errlen) < 0) return -1;
        }
        if (seg - off < WAL_HDR) { /* the implicit switch: no room for a header */
            pos = ss + seg;
            i++;
            continue;
        }
        st = wal_rec_decode(s->buf + off, seg - off, &r);
        if (st == WAL_REC_OK && (r.lsn != pos || (prev_known && r.prev != prev)))
            st = WAL_REC_BADLSN;
        if (st != WAL_REC_OK) break;
        if (r.type != WAL_T_SWITCH && replay && replay(rarg, r.lsn, r.type, r.payload, r.len)) {
            snprintf(err, errlen, "replay of the record at LSN %" PRIu64 " failed", r.lsn);
            return -1;
        }
        if (walk) walk(warg, v->segment, off, WAL_REC_OK, &r);
        v->records++;
        prev = r.lsn;
        prev_known = 1;
        if (r.type == WAL_T_SWITCH) {
            pos = ss + seg;
            i++;
        } else {
            pos += r.size;
        }
    }
    snprintf(v->segment, sizeof(v->segment), "%016" PRIx64 ".wal", wal_seg_of(pos, seg));
    v->valid_end = v->data_end = pos;
    v->offset = (size_t)(pos % seg);
    v->last_lsn = s->prev = prev;
    v->status = s->refused ? WAL_REC_OK : st;
    if (walk && !s->refused) walk(warg, v->segment, v->offset, st, &r);
    return 0;
}

/* Judges what lies from E on, E's own segment and then every later file (wal.h). */
static int scan_judge(struct scan *s, struct wal_verdict *v, char *err, size_t errlen)
{
    const size_t seg = s->seg;
    const uint64_t E = v->valid_end, es = wal_seg_of(E, seg);
    s->e_present = s->buf_ok && s->buf_seg == es;
    s->tail_end = s->e_present ? last_nonzero(s->buf, v->offset, seg) : 0;
    if (s->tail_end) v->data_end = es + s->tail_end;
    long valid_after = s->e_present && s->tail_end ? find_valid(s, v->offset + 8) : -1;
    uint64_t after_seg = es, gap = 0, expect = es + seg, data_seg = 0;
    int has_gap = 0, has_data = 0;
    for (size_t j = scan_index(s, es + 1); j < s->sl.n; j++) {
        uint64_t ls = s->sl.start[j];
        if (!has_gap && (!s->e_present || ls != expect)) {
            has_gap = 1;
            gap = s->e_present ? expect : es;
        }
        expect = ls + seg;
        if (scan_load(s, ls, err, errlen) < 0) return -1;
        size_t t = last_nonzero(s->buf, 0, seg);
        if (!t) continue;
        if (!has_data) data_seg = ls;
        has_data = 1;
        v->data_end = ls + t;
        if (valid_after < 0 && (valid_after = find_valid(s, 0)) >= 0) after_seg = ls;
    }
    /* A missing segment's bytes cannot be read: what was flushed was lost at least. */
    if (v->flushed > v->data_end) v->data_end = v->flushed;

    char where[160], follows[96] = "";
    if (v->status == WAL_REC_MISSING)
        snprintf(where, sizeof(where), "segment %s missing (LSN %" PRIu64 ")", v->segment, E);
    else
        snprintf(where, sizeof(where), "%s at segment %s offset %zu (LSN %" PRIu64 ")",
                 s->refused ? "records refused by a failed flush" : wal_rec_status_name(v->status),
                 v->segment, v->offset, E);
    if (valid_after >= 0)
        snprintf(follows, sizeof(follows),
                 "; a valid record follows at segment %016" PRIx64 ".wal offset %ld", after_seg,
                 valid_after);
    if (v->flushed > E) {
        v->end = WAL_END_DAMAGED;
        snprintf(v->why, sizeof(v->why), "%s, below the flushed LSN %" PRIu64 " (durable.lsn)%s",
                 where, v->flushed, follows);
    } else if (has_gap) {
        v->end = WAL_END_DAMAGED;
        snprintf(v->why, sizeof(v->why),
                 "%s; segment %016" PRIx64 ".wal is missing while later segments exist", where,
                 gap);
    } else if (has_data) {
        v->end = WAL_END_DAMAGED;
        snprintf(v->why, sizeof(v->why),
                 "%s, but segment %016" PRIx64 ".wal after it holds data%s (a torn write never "
                 "reaches a later segment)",
                 where, data_seg, follows);
    } else if (v->data_end > E) {
        v->end = s->refused ? WAL_END_REFUSED : WAL_END_TORN;
        snprintf(v->why, sizeof(v->why), "%s; cut LSN %" PRIu64 "..%" PRIu64 " (%" PRIu64 " bytes)",
                 where, E, v->data_end, v->data_end - E);
    } else {
        v->end = WAL_END_CLEAN;
    }
    return 0;
}

/* The whole reading: the files' sanity, the start, durable.lsn, the walk, the verdict.
 * honor_failed: stop at durable.lsn when it says a flush failed (recovery and
 * wal_check); the plain walk shows the records as they are. */
static int scan_log(struct scan *s, const struct wal_meta *m, int honor_failed,
                    wal_replay_cb replay, void *rarg, wal_walk_cb walk, void *warg,
                    struct wal_verdict *v, char *err, size_t errlen)
{
    memset(v, 0, sizeof(*v));
    for (size_t i = 0; i < s->sl.n; i++) {
        if (s->sl.start[i] % s->seg || s->sl.start[i] > UINT64_MAX - s->seg) {
            snprintf(err, errlen,
                     "%s/%016" PRIx64 ".wal is not on a segment boundary (segment size %zu): "
                     "not a segment of this log; move it away",
                     s->dir, s->sl.start[i], s->seg);
            return -1;
        }
    }
    int failed = 0, k = wal_marker_read(s->dir, &v->flushed, &failed, err, errlen);
    if (k < 0) return -1;
    s->marker_found = k;
    s->start = v->start = m->has_start ? m->start : s->sl.n ? s->sl.start[0] : 0;
    s->below = scan_index(s, s->start);
    uint64_t stop_at = honor_failed && failed ? v->flushed : UINT64_MAX;
    if (scan_walk(s, stop_at, replay, rarg, walk, warg, v, err, errlen) < 0) return -1;
    return scan_judge(s, v, err, errlen);
}

/* The read-only scans: no log yet (no wal.meta, no segment) is an empty one. */
static int scan_dir(const char *dir, int honor_failed, wal_walk_cb cb, void *arg,
                    struct wal_verdict *v, char *err, size_t errlen)
{
    struct wal_meta m;
    struct scan s;
    memset(v, 0, sizeof(*v));
    int k = wal_meta_read(dir, &m, err, errlen);
    if (k < 0) return -1;
    if (k == 0) {
        struct wal_seglist sl;
        if (wal_list_segments(dir, &sl, err, errlen) < 0) return -1;
        free(sl.start);
        if (sl.n == 0) return 0;
        snprintf(err, errlen, "%s/wal.meta missing: cannot tell the segment size", dir);
        return -1;
    }
    if (scan_init(&s, dir, m.segsize, err, errlen) < 0) return -1;
    int rc = scan_log(&s, &m, honor_failed, NULL, NULL, cb, arg, v, err, errlen);
    scan_free(&s);
    return rc;
}

int wal_walk(const char *dir, wal_walk_cb cb, void *arg, char *err, size_t errlen)
{
    struct wal_verdict v;
    return scan_dir(dir, 0, cb, arg, &v, err, errlen);
}

int wal_check(const char *dir, struct wal_verdict *v, char *err, size_t errlen)
{
    return scan_dir(dir, 1, NULL, NULL, v, err, errlen);
}

/* Cuts the log at E: zeroes the rest of E's segment and, with remove_later, removes
 * every later segment file.  Counts what it did for the log line. */
static int cut(struct scan *s, const struct wal_verdict *v, int remove_later, size_t *removed,
               char *err, size_t errlen)
{
    char path[4096];
    uint64_t es = wal_seg_of(v->valid_end, s->seg);
    *removed = 0;
    if (s->e_present && s->tail_end) {
        wal_seg_name(path, sizeof(path), s->dir, es);
        if (wal_zero_range(path, v->offset, s->tail_end, 1, err, errlen) < 0) return -1;
    }
    if (!remove_later) return 0;
    for (size_t j = scan_index(s, es + 1); j < s->sl.n; j++) {
        wal_seg_name(path, sizeof(path), s->dir, s->sl.start[j]);
        if (unlink(path) < 0) {
            snprintf(err, errlen, "cannot remove %s: %s", path, strerror(errno));
            return -1;
        }
        (*removed)++;
    }
    if (*removed && wal_fsync_dir(s->dir) < 0) {
        snprintf(err, errlen, "fsync %s: %s", s->dir, strerror(errno));
        return -1;
    }
    return 0;
}

int wal_recover(const char *dir, const struct wal_meta *m, const struct wal_opts *o,
                wal_replay_cb replay, void *arg, struct wal_recovered *out, char *err,
                size_t errlen)
{
    struct scan s;
    struct wal_verdict v;
    memset(out, 0, sizeof(*out));
    if (scan_init(&s, dir, m->segsize, err, errlen) < 0) return -1;
    int rc = -1;
    size_t removed = 0;
    if (scan_log(&s, m, 1, replay, arg, NULL, NULL, &v, err, errlen) < 0) goto done;
    uint64_t lost = v.data_end - v.valid_end;
    switch (v.end) {
    case WAL_END_CLEAN:
        break;
    case WAL_END_TORN:
        if (cut(&s, &v, 0, &removed, err, errlen) < 0) goto done;
        wal_logf(o, "wal: torn tail in %s: %s", dir, v.why);
        break;
    case WAL_END_REFUSED:
        if (cut(&s, &v, 0, &removed, err, errlen) < 0) goto done;
        wal_logf(o, "wal: a flush failed in %s, so these records were never acknowledged: %s", dir,
                 v.why);
        break;
    case WAL_END_DAMAGED:
        if (!o->truncate_corrupt) {
            snprintf(err, errlen,
                     "WAL in %s damaged: %s; refusing to open, no file changed "
                     "(--wal-truncate-damaged cuts the log at LSN %" PRIu64 ", losing LSN %" PRIu64
                     "..%" PRIu64 ", %" PRIu64 " bytes)",
                     dir, v.why, v.valid_end, v.valid_end, v.data_end, lost);
            goto done;
        }
        if (cut(&s, &v, 1, &removed, err, errlen) < 0) goto done;
        wal_logf(o,
                 "wal: damaged in %s: %s; cut on request at LSN %" PRIu64 ": LSN %" PRIu64
                 "..%" PRIu64 " (%" PRIu64 " bytes) lost: %s zeroed from offset %zu, %zu later "
                 "segment(s) removed",
                 dir, v.why, v.valid_end, v.valid_end, v.data_end, lost, v.segment, v.offset,
                 removed);
        break;
    }
    if (s.below)
        wal_logf(o,
                 "wal: %zu segment file(s) below the start LSN %" PRIu64
                 " (left by an interrupted compaction) ignored",
                 s.below, s.start);
    if (!s.marker_found && s.sl.n > s.below)
        wal_logf(o, "wal: no durable.lsn in %s: the end of the log is judged by its shape alone",
                 dir);
    out->start = s.start;
    out->end = v.valid_end;
    out->prev = s.prev;
    rc = 0;
done:
    scan_free(&s);
    return rc;
}
