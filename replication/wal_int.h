/* wal_int: what wal.c and wal_seg.c share; not part of the public contract. */
#ifndef WIRELAB_REPLICATION_WAL_INT_H
#define WIRELAB_REPLICATION_WAL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "replication/wal.h"

#define WAL_MAX_SEGMENTS 65536

struct wal_seglist {
    uint64_t *start; /* sorted start LSNs */
    size_t n;
    size_t segsize; /* from the files' size; 0 when there are none */
};

size_t wal_rec_encode(void *dst, uint64_t lsn, uint64_t prev, uint16_t type, const void *p,
                      size_t n);
int wal_list_segments(const char *dir, struct wal_seglist *l, char *err, size_t errlen);
int wal_write_meta(const char *dir, size_t segsize, char *err, size_t errlen);
void wal_seg_name(char *out, size_t cap, const char *dir, uint64_t start);

/* Recovery result: where appending continues. */
struct wal_recovered {
    uint64_t end;  /* insert LSN */
    uint64_t prev; /* LSN of the last record */
};
int wal_recover(const char *dir, size_t segsize, const struct wal_opts *o, wal_replay_cb replay,
                void *arg, struct wal_recovered *out, char *err, size_t errlen);
int wal_sim_cut(const char *dir, size_t segsize, int mode, char *err, size_t errlen,
                const struct wal_opts *o);
void wal_logf(const struct wal_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
