/* orders: the serialization comparison's records (wirelab.Order in memory,
 * parsers/proto/proto.h structs) and every writer that serializes them, shared by
 * `dataset` (the files) and `parse-bench --op write` (the encode timings).
 *
 * Contract
 * - orders_gen(a, seed, n, batch): n orders, deterministic from seed (xorshift64*: the
 *   same seed gives the same records on any machine), allocated in arena a.  0 or -1
 *   (out of memory).
 * - orders_write(format, impl, batch, w, out): serializes the whole batch.
 *     json hand     parsers/json/json_write.h into w (no DOM, no stdio)
 *     json cjson    a cJSON tree built from the records, cJSON_PrintUnformatted
 *     json jansson  a jansson tree built from the records, json_dumps(JSON_COMPACT)
 *     xml  hand     parsers/xml/xml_write.h into w
 *     xml  libxml2-writer  xmlTextWriter into an xmlBuffer
 *   (expat has no writer.)  The library rows include building their tree: that is
 *   what serializing application records with those libraries costs.  Returns 0 and
 *   out->p/len (valid until orders_out_free; for hand, until w is written again),
 *   -1 when the writer failed (out of memory, an unrepresentable value), -3 when the
 *   pair is unknown.
 * - JSON uses the protobuf field names, the enum by name and bytes as hex; XML puts
 *   scalars in attributes and repeated values in child elements.  Both writers of a
 *   format print numbers identically (jw_double), so the documents differ only in
 *   layout and escaping, and their `parse --dump` forms are equal.
 */
#ifndef WIRELAB_LABS_PARSERS_ORDERS_H
#define WIRELAB_LABS_PARSERS_ORDERS_H

#include "parsers/json/json_write.h"
#include "parsers/proto/proto.h"

struct orders_out {
    const char *p;
    size_t len;
    void *owner; /* library object holding p, or NULL */
    int kind;
};

int orders_gen(struct proto_arena *a, uint64_t seed, size_t n, struct proto_order_batch *batch);
int orders_write(const char *format, const char *impl, const struct proto_order_batch *batch,
                 struct jw *w, struct orders_out *out);
void orders_out_free(struct orders_out *out);
/* The enum value's name ("PAID"); "STATUS_UNKNOWN" for values out of range. */
const char *orders_status_name(int32_t status);

/* Internal to orders.c and orders_lib.c: the library writers (NULL on failure).
 * orders_libxml2 returns an xmlBufferPtr. */
char *orders_cjson(const struct proto_order_batch *b);
char *orders_jansson(const struct proto_order_batch *b);
void *orders_libxml2(const struct proto_order_batch *b);

#endif
