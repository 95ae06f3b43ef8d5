/* stream: the data structure behind the broker's Redis-compatible streams: entries
 * ordered by ID (ms-seq), consumer groups, their consumers and the pending entries
 * list (PEL) with owners, delivery times and delivery counts.  No I/O, no RESP parsing:
 * the commands in xcmd.c drive it.
 *
 * Contract
 * - IDs strictly increase: stream_append() accepts only an id > s->last (callers
 *   check and reply the Redis error); stream_auto_id() returns the next ID for `*`
 *   (max(now_ms, last.ms), seq 0 or last.seq + 1) and stream_auto_seq() for `ms-*`;
 *   both return -1 when no ID can follow s->last (the Redis error case).
 * - An entry keeps its fields pre-encoded as the RESP array that every read replies
 *   ("*2n\r\n$..\r\nfield\r\n..."): encode once, copy on every delivery.
 * - stream_seek(s, id) is the index of the first entry with ID >= id (n when none),
 *   stream_find() the index of exactly id or -1.  O(log n).
 * - Groups and consumers are kept sorted by name (XPENDING lists consumers in that
 *   order, as Redis's radix tree does); the PEL is kept sorted by ID.
 * - Times are wall-clock milliseconds supplied by the caller (delivery times survive
 *   a restart, as in Redis).
 * - Every function that allocates returns NULL/-1 when memory runs out, or a bound above
 *   is reached, and leaves the structure unchanged.
 */
#ifndef WIRELAB_LABS_PUBSUB_STREAM_H
#define WIRELAB_LABS_PUBSUB_STREAM_H

#include <stddef.h>
#include <stdint.h>

/* Bounds: past them creation fails (NULL) as if memory ran out, and the broker says so. */
#define STREAM_MAX_GROUPS    10000 /* per stream */
#define STREAM_MAX_CONSUMERS 10000 /* per group (sorted array: inserts are O(n)) */

struct stream_id {
    uint64_t ms, seq;
};

struct stream_entry {
    struct stream_id id;
    char *enc; /* the fields as one RESP array */
    size_t enclen;
};

struct stream_consumer {
    char *name;
    size_t namelen;
    size_t pending;
    uint64_t seen_ms;
};

struct stream_pel {
    struct stream_id id;
    struct stream_consumer *owner;
    uint64_t delivery_ms;
    uint64_t count;
};

struct stream_group {
    char *name;
    size_t namelen;
    struct stream_id last; /* last delivered ID */
    struct stream_pel *pel;
    size_t npel, cappel;
    struct stream_consumer **cons;
    size_t ncons, capcons;
};

struct stream {
    struct stream_entry *e;
    size_t n, cap;
    struct stream_id last; /* top ID ever added (0-0 when none) */
    struct stream_group **groups;
    size_t ngroups, capgroups;
    size_t bytes; /* encoded entry bytes, for the memory bound */
};

int stream_id_cmp(struct stream_id a, struct stream_id b);
/* Parses "ms" or "ms-seq" (decimal, no sign); a missing seq becomes missing_seq.
 * Returns 0, or -1 when s is not such an ID.  *had_seq says whether seq was given. */
int stream_id_parse(const char *s, size_t n, uint64_t missing_seq, struct stream_id *id,
                    int *had_seq);
/* Writes "ms-seq" and a NUL into buf (at least STREAM_ID_MAX bytes); returns the length. */
#define STREAM_ID_MAX 44
int stream_id_fmt(struct stream_id id, char *buf);
/* The ID just after/before id; returns -1 on overflow/underflow. */
int stream_id_incr(struct stream_id *id);
int stream_id_decr(struct stream_id *id);

struct stream *stream_new(void);
void stream_free(struct stream *s);
int stream_auto_id(const struct stream *s, uint64_t now_ms, struct stream_id *id);
int stream_auto_seq(const struct stream *s, uint64_t ms, struct stream_id *id);
int stream_append(struct stream *s, struct stream_id id, char *enc, size_t enclen);
size_t stream_seek(const struct stream *s, struct stream_id id);
long stream_find(const struct stream *s, struct stream_id id);

struct stream_group *stream_group_find(const struct stream *s, const char *name, size_t n);
struct stream_group *stream_group_create(struct stream *s, const char *name, size_t n,
                                         struct stream_id last);
int stream_group_destroy(struct stream *s, const char *name, size_t n);

struct stream_consumer *stream_consumer_find(const struct stream_group *g, const char *name,
                                             size_t n);
/* Finds or creates; *created (may be NULL) says which. */
struct stream_consumer *stream_consumer_get(struct stream_group *g, const char *name, size_t n,
                                            uint64_t now_ms, int *created);
/* Deletes a consumer and its pending entries; returns how many were pending, -1 if absent. */
long stream_consumer_delete(struct stream_group *g, const char *name, size_t n);

long stream_pel_find(const struct stream_group *g, struct stream_id id);
size_t stream_pel_seek(const struct stream_group *g, struct stream_id id);
/* Records a delivery of id to c: a new PEL entry (count 1) or, when id is pending
 * already, a change of owner with count + 1 (as a re-read by XREADGROUP does).
 * Returns the entry or NULL when out of memory. */
struct stream_pel *stream_pel_deliver(struct stream_group *g, struct stream_id id,
                                      struct stream_consumer *c, uint64_t now_ms);
void stream_pel_set_owner(struct stream_group *g, struct stream_pel *p, struct stream_consumer *c);
void stream_pel_remove(struct stream_group *g, size_t idx);

#endif
