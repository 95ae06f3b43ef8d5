/* proto_encode: the hand-written encoder for wirelab.proto (contract in proto.h).
 *
 * It writes backwards, from the end of the buffer towards its start: fields in
 * descending field-number order, a message's fields before its length prefix and
 * tag.  So every length is known when it is written, without protobuf-c's extra
 * get_packed_size() pass over the whole tree. */
#include "parsers/proto/proto.h"

#include <stdlib.h>
#include <string.h>

struct pe {
    uint8_t *buf;
    size_t cap, pos; /* the output so far is buf[pos, cap) */
};

static int pe_grow(struct pe *e, size_t n)
{
    size_t used = e->cap - e->pos,
           nc = e->cap ? e->cap * 4 : 65536; /* x4: copies stay under a third of the output */
    while (nc - used < n)
        nc *= 4;
    uint8_t *nb = malloc(nc);
    if (!nb) return -1;
    if (used) memcpy(nb + nc - used, e->buf + e->pos, used);
    free(e->buf);
    e->buf = nb;
    e->cap = nc;
    e->pos = nc - used;
    return 0;
}

static inline size_t pe_len(const struct pe *e)
{
    return e->cap - e->pos;
}

/* The fast path of every write: room for n more bytes in front of the output. */
static inline int pe_room(struct pe *e, size_t n)
{
    return e->pos >= n ? 0 : pe_grow(e, n);
}

static inline int pe_varint(struct pe *e, uint64_t v)
{
    if (pe_room(e, 10)) return -1;
    if (v < 0x80) {
        e->buf[--e->pos] = (uint8_t)v;
        return 0;
    }
    size_t k = 1;
    for (uint64_t t = v >> 7; t; t >>= 7)
        k++;
    uint8_t *o = e->buf + (e->pos -= k);
    for (size_t i = 0; i < k - 1; i++, v >>= 7)
        o[i] = (uint8_t)(v | 0x80);
    o[k - 1] = (uint8_t)v;
    return 0;
}

static inline int pe_raw(struct pe *e, const void *p, size_t n)
{
    if (pe_room(e, n)) return -1;
    e->pos -= n;
    uint8_t *o = e->buf + e->pos;
    const uint8_t *src = p;
    /* Most strings here are short (SKUs, names): two overlapping 8-byte moves beat a
     * call to memcpy. */
    if (n >= 8 && n <= 16) {
        uint64_t x, y;
        memcpy(&x, src, 8);
        memcpy(&y, src + n - 8, 8);
        memcpy(o, &x, 8);
        memcpy(o + n - 8, &y, 8);
    } else if (n < 8) {
        for (size_t i = 0; i < n; i++)
            o[i] = src[i];
    } else {
        memcpy(o, src, n);
    }
    return 0;
}

static inline int pe_tag(struct pe *e, uint32_t field, uint32_t wt)
{
    return pe_varint(e, (uint64_t)field << 3 | wt);
}

/* A length-delimited field whose payload was written since mark. */
static int pe_close(struct pe *e, size_t mark, uint32_t field)
{
    return pe_varint(e, pe_len(e) - mark) || pe_tag(e, field, 2);
}

static int pe_uvar(struct pe *e, uint32_t f, uint64_t v)
{
    return v ? pe_varint(e, v) || pe_tag(e, f, 0) : 0;
}
static int pe_f64(struct pe *e, uint32_t f, uint64_t v)
{
    return v ? pe_raw(e, &v, 8) || pe_tag(e, f, 1) : 0;
}
static int pe_f32(struct pe *e, uint32_t f, uint32_t v)
{
    return v ? pe_raw(e, &v, 4) || pe_tag(e, f, 5) : 0;
}
static int pe_str(struct pe *e, uint32_t f, struct proto_str s)
{
    return s.len ? pe_raw(e, s.p, s.len) || pe_varint(e, s.len) || pe_tag(e, f, 2) : 0;
}
static inline uint64_t pe_zz32(int32_t v)
{
    return (uint32_t)(((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}
static inline uint64_t pe_zz64(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int pe_unknowns(struct pe *e, const struct proto_unknowns *u)
{
    for (size_t i = u->n; i-- > 0;)
        if (pe_raw(e, u->v[i].p, u->v[i].len) || pe_tag(e, u->v[i].field, u->v[i].wire_type))
            return -1;
    return 0;
}

static int pe_customer(struct pe *e, const struct proto_customer *m)
{
    return pe_unknowns(e, &m->unknown) || pe_uvar(e, 5, m->vip) ||
           pe_uvar(e, 4, pe_zz32(m->tz_offset_min)) || pe_str(e, 3, m->email) ||
           pe_str(e, 2, m->name) || pe_uvar(e, 1, m->id);
}

static int pe_line_item(struct pe *e, const struct proto_line_item *m)
{
    uint64_t w;
    uint32_t disc;
    memcpy(&w, &m->weight_kg, 8);
    memcpy(&disc, &m->discount, 4);
    return pe_unknowns(e, &m->unknown) || pe_f32(e, 5, disc) || pe_f64(e, 4, w) ||
           pe_uvar(e, 3, (uint64_t)m->price_cents) || pe_uvar(e, 2, m->quantity) ||
           pe_str(e, 1, m->sku);
}

static int pe_category(struct pe *e, const struct proto_category *m, int depth)
{
    if (depth > PROTO_MAX_DEPTH || pe_unknowns(e, &m->unknown)) return -1;
    for (size_t i = m->n_sub; i-- > 0;) {
        size_t mark = pe_len(e);
        if (pe_category(e, &m->sub[i], depth + 1) || pe_close(e, mark, 2)) return -1;
    }
    return pe_str(e, 1, m->name);
}

static int pe_order(struct pe *e, const struct proto_order *m)
{
    size_t mark;
    if (pe_unknowns(e, &m->unknown)) return -1;
    if (m->category) {
        mark = pe_len(e);
        if (pe_category(e, m->category, 3) || pe_close(e, mark, 16)) return -1;
    }
    if (pe_str(e, 15, m->note)) return -1;
    if (m->n_samples) {
        mark = pe_len(e);
        if (pe_raw(e, m->samples, m->n_samples * 8) || pe_close(e, mark, 14)) return -1;
    }
    if (pe_f64(e, 13, (uint64_t)m->ref)) return -1;
    for (size_t i = m->n_adjustments; i-- > 0;) /* [packed = false]: one tag per element */
        if (pe_varint(e, pe_zz32(m->adjustments[i])) || pe_tag(e, 12, 0)) return -1;
    if (m->n_tags) {
        mark = pe_len(e);
        for (size_t i = m->n_tags; i-- > 0;)
            if (pe_varint(e, m->tags[i])) return -1;
        if (pe_close(e, mark, 11)) return -1;
    }
    if (pe_str(e, 10, m->token) || pe_uvar(e, 9, (uint64_t)(int64_t)m->priority) ||
        pe_uvar(e, 8, pe_zz64(m->balance)) || pe_f32(e, 7, m->flags) ||
        pe_f32(e, 6, (uint32_t)m->zone) || pe_f64(e, 5, m->created_ms) ||
        pe_uvar(e, 4, (uint64_t)(int64_t)m->status))
        return -1;
    for (size_t i = m->n_items; i-- > 0;) {
        mark = pe_len(e);
        if (pe_line_item(e, &m->items[i]) || pe_close(e, mark, 3)) return -1;
    }
    if (m->customer) {
        mark = pe_len(e);
        if (pe_customer(e, m->customer) || pe_close(e, mark, 2)) return -1;
    }
    return pe_uvar(e, 1, m->id);
}

static int pe_order_batch(struct pe *e, const struct proto_order_batch *m)
{
    if (pe_unknowns(e, &m->unknown)) return -1;
    for (size_t i = m->n_orders; i-- > 0;) {
        size_t mark = pe_len(e);
        if (pe_order(e, &m->orders[i]) || pe_close(e, mark, 1)) return -1;
    }
    return 0;
}

int proto_encode(enum proto_type type, const void *msg, uint8_t **out, size_t *len)
{
    struct pe e = {NULL, 0, 0};
    int rc;
    if (pe_room(&e, 1)) return -1;
    switch (type) {
    case PROTO_ORDER_BATCH:
        rc = pe_order_batch(&e, msg);
        break;
    case PROTO_ORDER:
        rc = pe_order(&e, msg);
        break;
    case PROTO_CUSTOMER:
        rc = pe_customer(&e, msg);
        break;
    case PROTO_LINE_ITEM:
        rc = pe_line_item(&e, msg);
        break;
    default:
        rc = pe_category(&e, msg, 1);
        break;
    }
    if (rc) {
        free(e.buf);
        return -1;
    }
    *len = pe_len(&e);
    memmove(e.buf, e.buf + e.pos, *len);
    *out = e.buf;
    return 0;
}
