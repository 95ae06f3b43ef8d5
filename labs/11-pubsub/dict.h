/* dict: a small chained hash table from binary-safe byte-string keys to pointers, for
 * the broker's keyspace, channel table and per-client subscription sets.
 *
 * Contract
 * - Keys are copied in (any bytes, klen may be 0); values are the caller's pointers.
 * - dict_put returns 1 when the key was added, 0 when it existed (the value is
 *   replaced), -1 when memory ran out (the dict is unchanged).
 * - dict_del returns the removed entry's value, or NULL when the key was absent.
 * - Iteration: for (e = dict_first(d, &it); e; e = dict_next(d, &it)); the entry just
 *   returned may be deleted during iteration; no other change is allowed meanwhile.
 * - The table doubles when the load passes 1 and never shrinks below 16 buckets;
 *   the size is bounded by memory only, so callers bound what they insert.
 */
#ifndef WIRELAB_LABS_PUBSUB_DICT_H
#define WIRELAB_LABS_PUBSUB_DICT_H

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

#endif
