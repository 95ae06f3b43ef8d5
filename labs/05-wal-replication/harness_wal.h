/* harness_wal: what the crash harness reads from WAL directories (hw_ prefix).
 *
 * Contract
 * - hw_prefix() returns 0 when the records of rdir are a prefix of pdir's (same LSNs,
 *   same CRCs), else -1; msg says how many records each has and how many agree.
 * - hw_find_writes() walks dir (read-only; a killed process's WAL is fine) and, for
 *   every SET of a harness key "tT:cC:K" with T == trial, C < nclients, K < n[C], sets
 *   lsn[C][K] to the record's LSN (entries of keys not found are left alone).  *end is
 *   the end LSN of the last valid record.  -1 with err when dir cannot be read.
 */
#ifndef WIRELAB_LABS_HARNESS_WAL_H
#define WIRELAB_LABS_HARNESS_WAL_H

#include <stddef.h>
#include <stdint.h>

int hw_prefix(const char *pdir, const char *rdir, char *msg, size_t cap);
int hw_find_writes(const char *dir, int trial, int nclients, const int *n, uint64_t **lsn,
                   uint64_t *end, char *err, size_t errlen);

#endif
