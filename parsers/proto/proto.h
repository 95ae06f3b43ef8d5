/* proto: a hand-written protobuf wire-format decoder and encoder for the lab's
 * schema (parsers/proto/wirelab.proto), with plain C structs mirroring it.
 *
 * Contract
 * - proto_decode(type, buf, len, arena, &msg, err): decodes one message of the given
 *   type from exactly len bytes; 0 and *msg on success; -1 with errno EINVAL and err
 *   (message + byte offset) on invalid input or past the memory limit below; -1 with
 *   errno ENOMEM when out of memory.  Decoded strings/bytes and unknown fields point
 *   INTO buf (zero copy): keep buf alive as long as the message.  Everything else lives
 *   in the arena (proto_arena_free).
 * - Rules (proto3, as protoc reads the wire): fields may come in any order and repeat;
 *   the last scalar wins, repeated fields append, a repeated message field appends, a
 *   singular message field that repeats is merged.  Repeated scalars are accepted
 *   packed (an empty packed run included) and unpacked.  A tag is a varint of at most 5
 *   bytes holding a uint32 with a field number from 1.  Unknown fields are kept (field,
 *   wire type and the raw bytes after the tag) and written back by the encoder; an
 *   unknown group (wire type 3 up to its matching 4) is kept the same way, its end tag
 *   included.  Errors: a known field with the wrong wire type, a varint longer than 10
 *   bytes, a length past the end of its buffer, an end-group without its start,
 *   invalid UTF-8 in a string field, nesting (messages or groups) deeper than
 *   PROTO_MAX_DEPTH.
 * - Memory.  The decoded size D of a message is the bytes of the structs it is made
 *   of: one per message, plus one element per entry of each repeated field and of each
 *   message's unknown fields.  Decoding takes at most 4 * D + 64 KiB of arena, and about
 *   D in the usual case: an array doubles up to 16 elements, then the rest of its
 *   message is counted and it is allocated once at its final size; only a singular
 *   message that is merged keeps doubling; chunks waste at most a sixteenth.
 *   protobuf-c needs about D for the same message (one malloc per message and array),
 *   so nothing it accepts is refused for memory below the arena's limit: arena->limit,
 *   PROTO_MAX_ARENA when 0.  Reaching the limit is an error (-1, EINVAL), not a crash.
 * - proto_encode(type, msg, &out, &len): writes the canonical encoding (ascending
 *   field numbers, proto3 defaults omitted, repeated scalars packed except
 *   Order.adjustments, unknown fields last) into a malloc'd buffer: byte-identical
 *   to protobuf-c and `protoc --encode` (except a double -0.0, which protoc writes
 *   and protobuf-c omits; we follow protoc).  It encodes backwards from the end of
 *   the buffer, so a nested message's length is known when its prefix is written.
 * - proto_dump(type, msg, out): the text form of `parse --dump` (documented at
 *   proto_dump in proto_dump.c), identical to the protobuf-c adapter's.
 */
#ifndef WIRELAB_PARSERS_PROTO_H
#define WIRELAB_PARSERS_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PROTO_MAX_DEPTH 100
#define PROTO_MAX_ARENA ((size_t)4 << 30) /* bytes of arena a decode may take by default */

enum proto_type { PROTO_ORDER_BATCH, PROTO_ORDER, PROTO_CUSTOMER, PROTO_LINE_ITEM, PROTO_CATEGORY };

enum proto_status {
    PROTO_STATUS_UNKNOWN = 0,
    PROTO_PENDING = 1,
    PROTO_PAID = 2,
    PROTO_SHIPPED = 3,
    PROTO_CANCELLED = 4
};

struct proto_str {
    const uint8_t *p;
    size_t len;
};

struct proto_unknown {
    uint32_t field, wire_type;
    const uint8_t *p; /* the bytes after the tag (a length prefix included) */
    size_t len;
};

struct proto_unknowns {
    struct proto_unknown *v;
    size_t n, cap;
};

struct proto_customer {
    uint64_t id;
    struct proto_str name, email;
    int32_t tz_offset_min;
    bool vip;
    struct proto_unknowns unknown;
};

struct proto_line_item {
    struct proto_str sku;
    uint32_t quantity;
    int64_t price_cents;
    double weight_kg;
    float discount;
    struct proto_unknowns unknown;
};

struct proto_category {
    struct proto_str name;
    struct proto_category *sub;
    size_t n_sub, cap_sub;
    struct proto_unknowns unknown;
};

struct proto_order {
    uint64_t id;
    struct proto_customer *customer; /* NULL when absent */
    struct proto_line_item *items;
    size_t n_items, cap_items;
    int32_t status; /* enum proto_status; proto3 enums are open: other values are kept */
    uint64_t created_ms;
    int32_t zone;
    uint32_t flags;
    int64_t balance;
    int32_t priority;
    struct proto_str token;
    uint32_t *tags;
    size_t n_tags, cap_tags;
    int32_t *adjustments;
    size_t n_adjustments, cap_adjustments;
    int64_t ref;
    double *samples;
    size_t n_samples, cap_samples;
    struct proto_str note;
    struct proto_category *category; /* NULL when absent */
    struct proto_unknowns unknown;
};

struct proto_order_batch {
    struct proto_order *orders;
    size_t n_orders, cap_orders;
    struct proto_unknowns unknown;
};

/* Allocations freed together (proto_arena.c).  proto_arena_alloc returns NULL with
 * errno ENOMEM when out of memory or when limit would be passed (then over is set). */
struct proto_arena {
    struct proto_chunk *head;
    size_t used, limit; /* bytes of chunks taken / allowed (0: no limit) */
    int over;           /* an allocation was refused because of limit */
};

struct proto_error {
    size_t offset;
    char msg[120];
};

struct proto_stats {
    size_t fields, depth;
};

/* "wirelab.Order" etc. -> type; -1 when unknown. */
int proto_type_by_name(const char *name);
void *proto_arena_alloc(struct proto_arena *a, size_t size);
void proto_arena_free(struct proto_arena *a);

int proto_decode(enum proto_type type, const uint8_t *buf, size_t len, struct proto_arena *arena,
                 void **msg, struct proto_error *err);
int proto_encode(enum proto_type type, const void *msg, uint8_t **out, size_t *len);
void proto_dump(enum proto_type type, const void *msg, FILE *out, struct proto_stats *st);

/* Shared with the protobuf-c adapter so both dumps agree byte for byte. */
void proto_dump_bytes(FILE *out, const uint8_t *p, size_t len, bool is_string);
void proto_dump_unknown(FILE *out, int indent, uint32_t field, uint32_t wire_type, const uint8_t *p,
                        size_t len);

#endif
