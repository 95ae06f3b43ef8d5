/* kv_store: the in-memory key-value map the WAL rebuilds (binary-safe keys and values).
 *
 * Contract
 * - kvs_set copies key and value (replacing an old value); kvs_del returns 1 when the
 *   key existed.  kvs_get returns the value (length in *vlen) or NULL; the pointer is
 *   valid until the next change of that key.
 * - kvs_scan walks buckets from cursor, calling cb for up to about `count` keys, and
 *   returns the next cursor (0 when done), like Redis SCAN: keys present for the whole
 *   scan are returned at least once.
 * - At most KVS_MAX_KEYS keys: kvs_set returns -1 beyond (and on out of memory).
 */
#ifndef WIRELAB_LABS_KV_STORE_H
#define WIRELAB_LABS_KV_STORE_H

#include <stddef.h>
#include <stdint.h>

#define KVS_MAX_KEYS (16u << 20)

struct kvs;
typedef void (*kvs_key_cb)(void *arg, const char *key, size_t klen);

struct kvs *kvs_create(void);
void kvs_destroy(struct kvs *s);
int kvs_set(struct kvs *s, const char *k, size_t kl, const char *v, size_t vl);
const char *kvs_get(struct kvs *s, const char *k, size_t kl, size_t *vlen);
int kvs_del(struct kvs *s, const char *k, size_t kl);
size_t kvs_count(const struct kvs *s);
uint64_t kvs_scan(struct kvs *s, uint64_t cursor, size_t count, kvs_key_cb cb, void *arg);

#endif
