/* dict: a small chained hash table from binary-safe byte-string keys to pointers, for
 * the Redis-protocol servers: rsrv's command table, kv-server's map, the broker's
 * keyspace, channel table and per-client subscription sets.
 *
 * Contract
 * - Keys are copied in (any bytes, klen may be 0); values are the caller's pointers.
 * - dict_put returns 1 when the key was added, 0 when it existed (the value is
 *   replaced), -1 when memory ran out (the dict is unchanged).
 * - dict_del returns the removed entry's value, or NULL when the key was absent.
 * - Iteration: for (e = dict_first(d, &it); e; e = dict_next(d, &it)); the entry just
 *   returned may be deleted during iteration; no other change is allowed meanwhile.
 * - dict_scan(d, cursor, count, cb, arg) is Redis's SCAN: it calls cb for every entry of
 *   the buckets from `cursor` on until at least `count` entries were seen (or the table
 *   ends) and returns the cursor to continue from, 0 when done.  The table only ever
 *   doubles, so an entry's bucket can only move to a higher index: an entry present for
 *   the whole scan is seen at least once (perhaps twice).  cb must not change d.
 * - The table doubles when the load passes 1 and never shrinks; the size is bounded by
 *   memory only, so callers bound what they insert.
 */
#ifndef WIRELAB_IO_RSRV_DICT_H
#define WIRELAB_IO_RSRV_DICT_H

#include <stddef.h>
#include <stdint.h>

struct dict_entry {
    struct dict_entry *next;
    uint64_t hash;
    void *val;
    size_t klen;
    char key[]; /* klen bytes, then a NUL for convenience */
};

struct dict {
    struct dict_entry **tab;
    size_t mask; /* buckets - 1 (0 with no table yet) */
    size_t n;
};

struct dict_iter {
    size_t bucket;
    struct dict_entry *next;
};

void dict_init(struct dict *d);
void dict_free(struct dict *d, void (*free_val)(void *));
struct dict_entry *dict_find(const struct dict *d, const char *k, size_t klen);
void *dict_get(const struct dict *d, const char *k, size_t klen);
int dict_put(struct dict *d, const char *k, size_t klen, void *val);
void *dict_del(struct dict *d, const char *k, size_t klen);
struct dict_entry *dict_first(const struct dict *d, struct dict_iter *it);
struct dict_entry *dict_next(const struct dict *d, struct dict_iter *it);
typedef void (*dict_scan_cb)(void *arg, const struct dict_entry *e);
uint64_t dict_scan(const struct dict *d, uint64_t cursor, size_t count, dict_scan_cb cb, void *arg);

#endif
