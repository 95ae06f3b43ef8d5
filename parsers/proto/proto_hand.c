/* proto_hand: the hand-written wire-format decoder for wirelab.proto (contract
 * in proto.h).  One function per message, a switch on the field number: the
 * compiler turns it into a jump table, and every field is decoded with the code
 * for its exact type (no descriptor lookups, no per-field callbacks, strings are
 * not copied).  That is where it gains on protobuf-c's table-driven unpack. */
#include "parsers/utf8.h"
#include "parsers/proto/proto.h"

#include <stdlib.h>
#include <string.h>

struct proto_chunk {
    struct proto_chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
};

void *proto_arena_alloc(struct proto_arena *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    struct proto_chunk *c = a->head;
    if (!c || c->size - c->used < size) {
        size_t cs = size > 32768 ? size : 32768;
        if (a->limit && a->used + cs > a->limit) {
            a->over = 1;
            return NULL;
        }
        c = malloc(sizeof *c + cs);
        if (!c) return NULL;
        c->next = a->head;
        c->size = cs;
        c->used = 0;
        a->head = c;
        a->used += cs;
    }
    void *p = c->data + c->used;
    c->used += size;
    return p;
}

void proto_arena_free(struct proto_arena *a)
{
    struct proto_chunk *c = a->head;
    while (c) {
        struct proto_chunk *n = c->next;
        free(c);
        c = n;
    }
    a->head = NULL;
    a->used = 0;
}

int proto_type_by_name(const char *name)
{
    static const char *const names[] = {"wirelab.OrderBatch", "wirelab.Order", "wirelab.Customer",
                                        "wirelab.LineItem", "wirelab.Category"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(name, names[i]) || !strcmp(name, names[i] + 8)) return i;
    return -1;
}

struct pd {
    const uint8_t *base;
    struct proto_arena *arena;
    struct proto_error *err;
};

static int pd_fail(struct pd *d, const uint8_t *at, const char *msg)
{
    d->err->offset = (size_t)(at - d->base);
    snprintf(d->err->msg, sizeof d->err->msg, "%s", msg);
    return -1;
}

/* Reads a varint at *pp (< end); 0 on success. */
static inline int pd_varint(struct pd *d, const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    const uint8_t *p = *pp;
    if (p < end && *p < 0x80) {
        *out = *p;
        *pp = p + 1;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (p + i >= end) return pd_fail(d, p + i, "truncated varint");
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (p[i] < 0x80) {
            *out = v;
            *pp = p + i + 1;
            return 0;
        }
    }
    return pd_fail(d, p, "varint longer than 10 bytes");
}

static inline int pd_len(struct pd *d, const uint8_t **pp, const uint8_t *end, size_t *len)
{
    const uint8_t *at = *pp;
    uint64_t v;
    if (pd_varint(d, pp, end, &v)) return -1;
    if (v > (uint64_t)(end - *pp)) return pd_fail(d, at, "length past the end of the buffer");
    *len = (size_t)v;
    return 0;
}

/* Grows a repeated field's array (in the arena) so one more element fits; the new
 * slots are not zeroed (PD_PUSH_MSG zeroes the one message it hands out). */
static int pd_grow(struct pd *d, void **v, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) return 0;
    size_t nc = *cap ? *cap * 2 : 4;
    void *nv = proto_arena_alloc(d->arena, nc * elem);
    if (!nv) return -2;
    if (n) memcpy(nv, *v, n * elem);
    *v = nv;
    *cap = nc;
    return 0;
}
#define PD_PUSH(d, arr, n, cap) pd_grow((d), (void **)&(arr), &(cap), (n), sizeof *(arr))
#define PD_PUSH_MSG(d, arr, n, cap)                                                                \
    (PD_PUSH(d, arr, n, cap) ? -2 : (memset(&(arr)[n], 0, sizeof *(arr)), 0))

static int pd_skip(struct pd *d, const uint8_t **pp, const uint8_t *end, uint32_t field,
                   uint32_t wt, struct proto_unknowns *u)
{
    const uint8_t *start = *pp;
    uint64_t v;
    size_t l;
    switch (wt) {
    case 0:
        if (pd_varint(d, pp, end, &v)) return -1;
        break;
    case 1:
        if (end - *pp < 8) return pd_fail(d, *pp, "truncated fixed64");
        *pp += 8;
        break;
    case 5:
        if (end - *pp < 4) return pd_fail(d, *pp, "truncated fixed32");
        *pp += 4;
        break;
    case 2:
        if (pd_len(d, pp, end, &l)) return -1;
        *pp += l;
        break;
    default:
        return pd_fail(d, start - 1,
                       wt == 3 || wt == 4 ? "groups (wire types 3/4) are not supported"
                                          : "invalid wire type");
    }
    int rc = PD_PUSH(d, u->v, u->n, u->cap);
    if (rc) return rc;
    u->v[u->n++] = (struct proto_unknown){field, wt, start, (size_t)(*pp - start)};
    return 0;
}

#define PD_WT(want)                                                                                \
    do {                                                                                           \
        if (wt != (want)) return pd_fail(d, tagp, "wrong wire type for a known field");            \
    } while (0)

/* Common field readers; each checks the wire type first. */
static int pd_str(struct pd *d, const uint8_t **pp, const uint8_t *end, uint32_t wt,
                  const uint8_t *tagp, struct proto_str *s, bool utf8)
{
    size_t l;
    PD_WT(2);
    if (pd_len(d, pp, end, &l)) return -1;
    if (utf8 && !utf8_valid(*pp, l)) return pd_fail(d, *pp, "invalid UTF-8 in a string field");
    s->p = *pp;
    s->len = l;
    *pp += l;
    return 0;
}

static inline uint64_t pd_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8); /* x86_64 and the wire are both little-endian */
    return v;
}
static inline uint32_t pd_le32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static int pd_fixed64(struct pd *d, const uint8_t **pp, const uint8_t *end, uint32_t wt,
                      const uint8_t *tagp, uint64_t *v)
{
    PD_WT(1);
    if (end - *pp < 8) return pd_fail(d, *pp, "truncated fixed64");
    *v = pd_le64(*pp);
    *pp += 8;
    return 0;
}

static int pd_fixed32(struct pd *d, const uint8_t **pp, const uint8_t *end, uint32_t wt,
                      const uint8_t *tagp, uint32_t *v)
{
    PD_WT(5);
    if (end - *pp < 4) return pd_fail(d, *pp, "truncated fixed32");
    *v = pd_le32(*pp);
    *pp += 4;
    return 0;
}

static int pd_var(struct pd *d, const uint8_t **pp, const uint8_t *end, uint32_t wt,
                  const uint8_t *tagp, uint64_t *v)
{
    PD_WT(0);
    return pd_varint(d, pp, end, v);
}

static inline int32_t pd_zz32(uint64_t v)
{
    return (int32_t)((uint32_t)v >> 1) ^ -(int32_t)(v & 1);
}
static inline int64_t pd_zz64(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Reads the tag at *pp: field number and wire type. */
static inline int pd_tag(struct pd *d, const uint8_t **pp, const uint8_t *end, uint32_t *field,
                         uint32_t *wt)
{
    const uint8_t *at = *pp;
    uint64_t t;
    if (pd_varint(d, pp, end, &t)) return -1;
    if (t >> 32 || (t >> 3) == 0) return pd_fail(d, at, "invalid field number");
    *field = (uint32_t)(t >> 3);
    *wt = (uint32_t)(t & 7);
    return 0;
}

#define PD_LOOP_BEGIN                                                                              \
    while (p < end) {                                                                              \
        const uint8_t *tagp = p;                                                                   \
        uint32_t field, wt;                                                                        \
        uint64_t v;                                                                                \
        int rc = 0;                                                                                \
        if (pd_tag(d, &p, end, &field, &wt)) return -1;                                            \
        switch (field) {
#define PD_LOOP_END(u)                                                                             \
    default:                                                                                       \
        rc = pd_skip(d, &p, end, field, wt, (u));                                                  \
        break;                                                                                     \
        }                                                                                          \
        if (rc) return rc;                                                                         \
        (void)v;                                                                                   \
        }                                                                                          \
        return 0;

static int pd_customer(struct pd *d, const uint8_t *p, const uint8_t *end, struct proto_customer *m)
{
    PD_LOOP_BEGIN
case 1:
    rc = pd_var(d, &p, end, wt, tagp, &m->id);
    break;
case 2:
    rc = pd_str(d, &p, end, wt, tagp, &m->name, true);
    break;
case 3:
    rc = pd_str(d, &p, end, wt, tagp, &m->email, true);
    break;
case 4:
    if (!(rc = pd_var(d, &p, end, wt, tagp, &v))) m->tz_offset_min = pd_zz32(v);
    break;
case 5:
    if (!(rc = pd_var(d, &p, end, wt, tagp, &v))) m->vip = v != 0;
    break;
    PD_LOOP_END(&m->unknown)
}

static int pd_line_item(struct pd *d, const uint8_t *p, const uint8_t *end,
                        struct proto_line_item *m)
{
    uint32_t u32;
    PD_LOOP_BEGIN
case 1:
    rc = pd_str(d, &p, end, wt, tagp, &m->sku, true);
    break;
case 2:
    if (!(rc = pd_var(d, &p, end, wt, tagp, &v))) m->quantity = (uint32_t)v;
    break;
case 3:
    if (!(rc = pd_var(d, &p, end, wt, tagp, &v))) m->price_cents = (int64_t)v;
    break;
case 4:
    if (!(rc = pd_fixed64(d, &p, end, wt, tagp, &v))) memcpy(&m->weight_kg, &v, 8);
    break;
case 5:
    if (!(rc = pd_fixed32(d, &p, end, wt, tagp, &u32))) memcpy(&m->discount, &u32, 4);
    break;
    PD_LOOP_END(&m->unknown)
}

static int pd_category(struct pd *d, const uint8_t *p, const uint8_t *end, struct proto_category *m,
                       int depth)
{
    size_t l;
    if (depth > PROTO_MAX_DEPTH) return pd_fail(d, p, "messages nested deeper than 100");
    PD_LOOP_BEGIN
case 1:
    rc = pd_str(d, &p, end, wt, tagp, &m->name, true);
    break;
case 2:
    PD_WT(2);
    if (pd_len(d, &p, end, &l)) return -1;
    if ((rc = PD_PUSH_MSG(d, m->sub, m->n_sub, m->cap_sub))) return rc;
    rc = pd_category(d, p, p + l, &m->sub[m->n_sub++], depth + 1);
    p += l;
    break;
    PD_LOOP_END(&m->unknown)
}

/* A repeated scalar, packed (wire type 2) or one element (elem_wt). kind: 'u' uint32
 * varint, 'z' sint32 zigzag varint, 'd' double. */
static int pd_repeated(struct pd *d, const uint8_t **pp, const uint8_t *end, uint32_t wt,
                       const uint8_t *tagp, void **arr, size_t *n, size_t *cap, int kind)
{
    uint32_t elem_wt = kind == 'd' ? 1 : 0;
    size_t esz = kind == 'd' ? 8 : 4;
    const uint8_t *p = *pp, *e = end;
    if (wt == 2) {
        size_t l;
        if (pd_len(d, &p, end, &l)) return -1;
        e = p + l;
        if (kind == 'd' && l % 8)
            return pd_fail(d, tagp, "packed doubles: length not a multiple of 8");
    } else if (wt != elem_wt) {
        return pd_fail(d, tagp, "wrong wire type for a known field");
    }
    do {
        int rc = pd_grow(d, arr, cap, *n, esz);
        if (rc) return rc;
        if (kind == 'd') {
            if (e - p < 8) return pd_fail(d, p, "truncated fixed64");
            memcpy((double *)*arr + *n, p, 8);
            p += 8;
        } else {
            uint64_t v;
            if (pd_varint(d, &p, e, &v)) return -1;
            ((uint32_t *)*arr)[*n] = kind == 'z' ? (uint32_t)pd_zz32(v) : (uint32_t)v;
        }
        (*n)++;
    } while (wt == 2 && p < e);
    *pp = p;
    return 0;
}

static int pd_order(struct pd *d, const uint8_t *p, const uint8_t *end, struct proto_order *m)
{
    size_t l;
    PD_LOOP_BEGIN
case 1:
    rc = pd_var(d, &p, end, wt, tagp, &m->id);
    break;
case 2:
    PD_WT(2);
    if (pd_len(d, &p, end, &l)) return -1;
    if (!m->customer) { /* a repeated singular message merges into the first */
        if (!(m->customer = proto_arena_alloc(d->arena, sizeof *m->customer))) return -2;
        memset(m->customer, 0, sizeof *m->customer);
    }
    rc = pd_customer(d, p, p + l, m->customer);
    p += l;
    break;
case 3:
    PD_WT(2);
    if (pd_len(d, &p, end, &l)) return -1;
    if ((rc = PD_PUSH_MSG(d, m->items, m->n_items, m->cap_items))) return rc;
    rc = pd_line_item(d, p, p + l, &m->items[m->n_items++]);
    p += l;
    break;
case 4:
    if (!(rc = pd_var(d, &p, end, wt, tagp, &v))) m->status = (int32_t)v;
    break;
case 5:
    rc = pd_fixed64(d, &p, end, wt, tagp, &m->created_ms);
    break;
case 6:
    rc = pd_fixed32(d, &p, end, wt, tagp, (uint32_t *)&m->zone);
    break;
case 7:
    rc = pd_fixed32(d, &p, end, wt, tagp, &m->flags);
    break;
case 8:
    if (!(rc = pd_var(d, &p, end, wt, tagp, &v))) m->balance = pd_zz64(v);
    break;
case 9:
    if (!(rc = pd_var(d, &p, end, wt, tagp, &v))) m->priority = (int32_t)v;
    break;
case 10:
    rc = pd_str(d, &p, end, wt, tagp, &m->token, false);
    break;
case 11:
    rc = pd_repeated(d, &p, end, wt, tagp, (void **)&m->tags, &m->n_tags, &m->cap_tags, 'u');
    break;
case 12:
    rc = pd_repeated(d, &p, end, wt, tagp, (void **)&m->adjustments, &m->n_adjustments,
                     &m->cap_adjustments, 'z');
    break;
case 13:
    rc = pd_fixed64(d, &p, end, wt, tagp, (uint64_t *)&m->ref);
    break;
case 14:
    rc = pd_repeated(d, &p, end, wt, tagp, (void **)&m->samples, &m->n_samples, &m->cap_samples,
                     'd');
    break;
case 15:
    rc = pd_str(d, &p, end, wt, tagp, &m->note, true);
    break;
case 16:
    PD_WT(2);
    if (pd_len(d, &p, end, &l)) return -1;
    if (!m->category) {
        if (!(m->category = proto_arena_alloc(d->arena, sizeof *m->category))) return -2;
        memset(m->category, 0, sizeof *m->category);
    }
    rc = pd_category(d, p, p + l, m->category, 3);
    p += l;
    break;
    PD_LOOP_END(&m->unknown)
}

static int pd_order_batch(struct pd *d, const uint8_t *p, const uint8_t *end,
                          struct proto_order_batch *m)
{
    size_t l;
    PD_LOOP_BEGIN
case 1:
    PD_WT(2);
    if (pd_len(d, &p, end, &l)) return -1;
    if ((rc = PD_PUSH_MSG(d, m->orders, m->n_orders, m->cap_orders))) return rc;
    rc = pd_order(d, p, p + l, &m->orders[m->n_orders++]);
    p += l;
    break;
    PD_LOOP_END(&m->unknown)
}

int proto_decode(enum proto_type type, const uint8_t *buf, size_t len, struct proto_arena *arena,
                 void **msg, struct proto_error *err)
{
    static const size_t sizes[] = {sizeof(struct proto_order_batch), sizeof(struct proto_order),
                                   sizeof(struct proto_customer), sizeof(struct proto_line_item),
                                   sizeof(struct proto_category)};
    struct pd d = {buf, arena, err};
    err->offset = 0;
    err->msg[0] = 0;
    if (!arena->limit) {
        arena->limit = len * 160 + 65536;
        if (len > PROTO_MAX_ARENA / 160 || arena->limit > PROTO_MAX_ARENA)
            arena->limit = PROTO_MAX_ARENA;
    }
    void *m = proto_arena_alloc(arena, sizes[type]);
    if (!m) return -2;
    memset(m, 0, sizes[type]);
    const uint8_t *end = buf + len;
    int rc;
    switch (type) {
    case PROTO_ORDER_BATCH:
        rc = pd_order_batch(&d, buf, end, m);
        break;
    case PROTO_ORDER:
        rc = pd_order(&d, buf, end, m);
        break;
    case PROTO_CUSTOMER:
        rc = pd_customer(&d, buf, end, m);
        break;
    case PROTO_LINE_ITEM:
        rc = pd_line_item(&d, buf, end, m);
        break;
    default:
        rc = pd_category(&d, buf, end, m, 1);
        break;
    }
    if (rc == -2 && arena->over) {
        rc = -1; /* a resource limit, reported like any other invalid input */
        snprintf(err->msg, sizeof err->msg,
                 "decoded message needs more than %zu bytes (memory limit)", arena->limit);
    } else if (rc == -2 && !err->msg[0]) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
    }
    if (rc == 0) *msg = m;
    return rc;
}
