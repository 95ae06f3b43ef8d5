/* wal_int: what the WAL's files (wal.c, wal_dir.c, wal_seg.c, wal_recover.c) share; not
 * part of the public contract. */
#ifndef WIRELAB_REPLICATION_WAL_INT_H
#define WIRELAB_REPLICATION_WAL_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "replication/wal.h"

#define WAL_MAX_SEGMENTS 65536
#define WAL_META_SLOT    128 /* wal.meta: two slots of this many bytes */

struct wal_seglist {
    uint64_t *start; /* sorted start LSNs of the segment files present */
    size_t n;
};

/* wal.meta.  A slot is one line, "wal-meta seq=N segment_size=N start_lsn=N crc=X",
 * padded to WAL_META_SLOT bytes; the valid slot with the higher seq wins.  An update
 * rewrites the other slot in place (no allocation: it works on a full disk).  The
 * first format, one line "segment_size N", has no start LSN (has_start = 0). */
struct wal_meta {
    size_t segsize;
    uint64_t start, seq;
    int has_start;
};
int wal_meta_read(const char *dir, struct wal_meta *m, char *err,
                  size_t errlen); /* 1, 0 absent, -1 */
int wal_meta_create(const char *dir, int dirfd, const struct wal_meta *m, char *err, size_t errlen);
int wal_meta_update(const char *dir, struct wal_meta *m, char *err, size_t errlen); /* seq + 1 */

/* A running WAL: wal.c appends and writes, wal_dir.c opens, closes, compacts, reads. */
struct wal {
    char dir[4000];
    int dirfd;
    size_t segsize;
    struct wal_opts o;

    pthread_mutex_t mu;
    pthread_cond_t cv;     /* wakes the writer */
    pthread_cond_t seg_cv; /* wakes appenders waiting for a segment */
    /* under mu: the append side */
    unsigned char *buf; /* encoded records not yet taken by the writer */
    size_t len, cap;
    uint64_t insert_lsn, prev_lsn, flush_req;
    int stop;
    char fail_msg[256];
    uint64_t ready_end;    /* segment files exist, allocated, up to this LSN */
    int seg_err;           /* errno of the last failed segment creation; 0: none */
    uint64_t seg_retry_ms; /* when the writer tries that creation again */

    /* the writer's own */
    unsigned char *wbuf;
    size_t wcap;
    int seg_fd;
    uint64_t seg_start;
    int marker_fd; /* durable.lsn */
    pthread_t th;

    _Atomic uint64_t write_lsn, flush_lsn, nflush, oldest;
    _Atomic int failed;

    /* wal_compact's, under cmu */
    pthread_mutex_t cmu;
    struct wal_meta meta;

    /* wal_read's cached segment */
    int rd_fd;
    uint64_t rd_seg;
};

void *wal_writer_main(void *arg); /* the writer thread (wal.c) */

/* durable.lsn: "LSN\n", or "LSN failed\n" once a flush failed (records past it refused). */
int wal_marker_read(const char *dir, uint64_t *lsn, int *failed, char *err, size_t errlen);
int wal_marker_open(const char *dir); /* creating it; -1 with errno */
int wal_marker_put(int fd, uint64_t lsn, int failed, int sync);

size_t wal_rec_encode(void *dst, uint64_t lsn, uint64_t prev, uint16_t type, const void *p,
                      size_t n);
void wal_seg_name(char *out, size_t cap, const char *dir, uint64_t start);
int wal_list_segments(const char *dir, struct wal_seglist *l, char *err, size_t errlen);
/* Creates (or completes) the segment at start: allocated, fsynced, directory fsynced.
 * -1 with errno; a file it created and could not complete is removed. */
int wal_seg_create(const char *dir, int dirfd, uint64_t start, size_t segsize);
int wal_zero_range(const char *path, size_t from, size_t to, int sync, char *err, size_t errlen);
int wal_fsync_dir(const char *dir);

/* Recovery result: where appending continues. */
struct wal_recovered {
    uint64_t start; /* the log's start LSN */
    uint64_t end;   /* insert LSN */
    uint64_t prev;  /* LSN of the last record */
};
int wal_recover(const char *dir, const struct wal_meta *m, const struct wal_opts *o,
                wal_replay_cb replay, void *arg, struct wal_recovered *out, char *err,
                size_t errlen);
int wal_sim_cut(const char *dir, size_t segsize, int mode, char *err, size_t errlen,
                const struct wal_opts *o);
void wal_logf(const struct wal_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline uint64_t wal_seg_of(uint64_t lsn, size_t segsize)
{
    return lsn - lsn % segsize;
}

#endif
