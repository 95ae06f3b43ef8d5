/* proto_hand: the hand-written wire-format decoder for wirelab.proto (contract in
 * proto.h).  One function per message, a switch on the field number: every field is
 * decoded by the code for its exact type (no descriptor lookups, no per-field
 * callbacks) and strings are not copied.  That is where it gains on protobuf-c's
 * table-driven unpack.
 *
 * Repeated fields: an array starts small (4, 8, 16 elements, doubling); when it would
 * outgrow 16, the rest of its message is counted (pd_count_rest walks the message's own
 * fields, stepping over nested ones by their length) and the array is allocated once
 * at its final size.  Small arrays cost no counting, big ones no slack and no copies;
 * only what one count cannot see (a singular message field that occurs again and is
 * merged) keeps doubling.
 */
#include "parsers/proto/proto.h"
#include "parsers/utf8.h"

#include <errno.h>
#include <string.h>

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

/* Every failure returns -1; invalid input records its message and offset here, out of
 * memory leaves err->msg empty (proto_decode tells the two apart). */
static int pd_fail(struct pd *d, const uint8_t *at, const char *msg)
{
    d->err->offset = (size_t)(at - d->base);
    snprintf(d->err->msg, sizeof d->err->msg, "%s", msg);
    return -1;
}

/* A varint of at most 10 bytes at *pp (< end); 0, or -1 when truncated or too long. */
static inline int pd_rawvar(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    const uint8_t *p = *pp;
    if (p < end && *p < 0x80) {
        *out = *p;
        *pp = p + 1;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < 10 && p + i < end; i++) {
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (p[i] < 0x80) {
            *out = v;
            *pp = p + i + 1;
            return 0;
        }
    }
    return -1;
}

static __attribute__((noinline, cold)) void pd_bad_varint(struct pd *d, const uint8_t *p,
                                                          const uint8_t *end)
{
    size_t avail = (size_t)(end - p);
    pd_fail(d, p + (avail < 10 ? avail : 0),
            avail < 10 ? "truncated varint" : "varint longer than 10 bytes");
}

static inline int pd_varint(struct pd *d, const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    if (pd_rawvar(pp, end, out) == 0) return 0;
    pd_bad_varint(d, *pp, end);
    return -1;
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

/* A tag: a varint of at most 5 bytes (a uint32, as protoc and protobuf-c read it) whose
 * field number is not 0.  d may be NULL (pd_count: no error recorded). */
static inline int pd_tag(struct pd *d, const uint8_t **pp, const uint8_t *end, uint32_t *field,
                         uint32_t *wt)
{
    const uint8_t *p = *pp;
    if (p < end && *p < 0x80 && *p >= 8) { /* fields 1 to 15: one byte */
        *field = *p >> 3;
        *wt = *p & 7;
        *pp = p + 1;
        return 0;
    }
    uint64_t t = 0;
    int i = 0;
    for (;; i++) {
        if (p + i >= end) return d ? pd_fail(d, p + i, "truncated tag") : -1;
        t |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (p[i] < 0x80) break;
        if (i == 4) return d ? pd_fail(d, p, "tag longer than 5 bytes") : -1;
    }
    if (t >> 32 || (t >> 3) == 0) return d ? pd_fail(d, p, "invalid field number") : -1;
    *field = (uint32_t)(t >> 3);
    *wt = (uint32_t)(t & 7);
    *pp = p + i + 1;
    return 0;
}

/* Steps over a group whose start tag (field) was just read, to past its end tag:
 * nested groups included, at most PROTO_MAX_DEPTH deep.  d may be NULL. */
static int pd_skip_group(struct pd *d, const uint8_t **pp, const uint8_t *end, uint32_t field,
                         int depth)
{
    const uint8_t *start = *pp - 1;
    if (depth > PROTO_MAX_DEPTH) return d ? pd_fail(d, start, "groups nested too deep") : -1;
    const uint8_t *p = *pp;
    for (;;) {
        if (p >= end) return d ? pd_fail(d, p, "group not closed") : -1;
        const uint8_t *tagp = p;
        uint32_t f, wt;
        uint64_t v;
        size_t l;
        if (pd_tag(d, &p, end, &f, &wt)) return -1;
        switch (wt) {
        case 0:
            if (d ? pd_varint(d, &p, end, &v) : pd_rawvar(&p, end, &v)) return -1;
            break;
        case 1:
        case 5:
            if ((size_t)(end - p) < (wt == 1 ? 8u : 4u))
                return d ? pd_fail(d, p, "truncated fixed-size value") : -1;
            p += wt == 1 ? 8 : 4;
            break;
        case 2:
            if (d) {
                if (pd_len(d, &p, end, &l)) return -1;
            } else if (pd_rawvar(&p, end, &v) || v > (uint64_t)(end - p)) {
                return -1;
            } else {
                l = (size_t)v;
            }
            p += l;
            break;
        case 3:
            *pp = p;
            if (pd_skip_group(d, pp, end, f, depth + 1)) return -1;
            p = *pp;
            break;
        case 4:
            if (f != field)
                return d ? pd_fail(d, tagp, "end of group does not match its start") : -1;
            *pp = p;
            return 0;
        default:
            return d ? pd_fail(d, tagp, "invalid wire type") : -1;
        }
    }
}

/* ---- repeated fields: small arrays double, big ones are counted ---------------------- */

enum pd_rep { REP_NO, REP_MSG, REP_VARINT, REP_FIXED64 };

/* The repeated fields of a message: field number -> what an element is. */
struct pd_shape {
    uint32_t nknown; /* fields 1..nknown are known, the rest unknown */
    uint8_t rep[17];
};

static const struct pd_shape pd_batch_shape = {1, .rep = {[1] = REP_MSG}};
static const struct pd_shape pd_order_shape = {
    16, .rep = {[3] = REP_MSG, [11] = REP_VARINT, [12] = REP_VARINT, [14] = REP_FIXED64}};
static const struct pd_shape pd_category_shape = {2, .rep = {[2] = REP_MSG}};
static const struct pd_shape pd_leaf5_shape = {5, .rep = {0}}; /* Customer, LineItem */

/* Varints in a packed run: the bytes that end one. */
static size_t pd_count_varints(const uint8_t *p, const uint8_t *e)
{
    size_t n = 0;
    for (; p < e; p++)
        n += *p < 0x80;
    return n;
}

/* The elements field (0: the unknown fields) will get from the rest of a message,
 * [p, end).  It stops quietly at anything malformed: the decode pass reports it. */
static size_t pd_count_rest(const uint8_t *p, const uint8_t *end, const struct pd_shape *s,
                            uint32_t field)
{
    size_t n = 0;
    int rep = field ? s->rep[field] : REP_NO;
    while (p < end) {
        uint32_t f, wt;
        uint64_t v;
        if (pd_tag(NULL, &p, end, &f, &wt)) break;
        int hit = field ? f == field : f > s->nknown;
        switch (wt) {
        case 0:
            if (pd_rawvar(&p, end, &v)) return n;
            n += hit && (!field || rep == REP_VARINT);
            break;
        case 1:
        case 5:
            if ((size_t)(end - p) < (wt == 1 ? 8u : 4u)) return n;
            p += wt == 1 ? 8 : 4;
            n += hit && (!field || (wt == 1 && rep == REP_FIXED64));
            break;
        case 2:
            if (pd_rawvar(&p, end, &v) || v > (uint64_t)(end - p)) return n;
            if (hit)
                n += !field || rep == REP_MSG ? 1
                     : rep == REP_VARINT      ? pd_count_varints(p, p + v)
                                              : (size_t)v / 8;
            p += v;
            break;
        case 3:
            if (pd_skip_group(NULL, &p, end, f, 1)) return n;
            n += hit && !field;
            break;
        default:
            return n;
        }
    }
    return n;
}

#define PD_SMALL 16

/* Makes room for `more` elements after the n in *v (capacity *cap, elem bytes each);
 * [rest, end) is what follows them in their message (shape s, field; 0 for unknown
 * fields).  Up to PD_SMALL elements the array doubles; past that it takes its count. */
static int pd_grow(struct pd *d, void **v, size_t *cap, size_t n, size_t more, size_t elem,
                   const uint8_t *rest, const uint8_t *end, const struct pd_shape *s,
                   uint32_t field)
{
    size_t nc = n + more;
    if (nc <= PD_SMALL) {
        size_t dbl = *cap ? 2 * *cap : 4;
        if (nc < dbl) nc = dbl < PD_SMALL ? dbl : PD_SMALL;
    } else {
        nc += pd_count_rest(rest, end, s, field);
        if (*cap > PD_SMALL && nc < 2 * *cap) nc = 2 * *cap; /* counted before: a merge */
    }
    void *nv = proto_arena_alloc(d->arena, nc * elem);
    if (!nv) return -1;
    if (n) memcpy(nv, *v, n * elem);
    *v = nv;
    *cap = nc;
    return 0;
}
#define PD_ROOM(d, arr, n, cap, more, rest, end, s, field)                                         \
    ((cap) - (n) >= (more) ? 0                                                                     \
                           : pd_grow((d), (void **)&(arr), &(cap), (n), (more), sizeof *(arr),     \
                                     (rest), (end), (s), (field)))

/* One unknown field, kept raw (the bytes after its tag) for the encoder to write back;
 * an unknown group is stepped over like protoc does, its end tag included. */
static int pd_unknown(struct pd *d, const uint8_t **pp, const uint8_t *end, uint32_t field,
                      uint32_t wt, const uint8_t *tagp, struct proto_unknowns *u,
                      const struct pd_shape *s)
{
    const uint8_t *start = *pp;
    uint64_t v;
    size_t l;
    switch (wt) {
    case 0:
        if (pd_varint(d, pp, end, &v)) return -1;
        break;
    case 1:
    case 5:
        if ((size_t)(end - *pp) < (wt == 1 ? 8u : 4u))
            return pd_fail(d, *pp, wt == 1 ? "truncated fixed64" : "truncated fixed32");
        *pp += wt == 1 ? 8 : 4;
        break;
    case 2:
        if (pd_len(d, pp, end, &l)) return -1;
        *pp += l;
        break;
    case 3:
        if (pd_skip_group(d, pp, end, field, 1)) return -1;
        break;
    default:
        return pd_fail(d, tagp, wt == 4 ? "end of group without its start" : "invalid wire type");
    }
    if (PD_ROOM(d, u->v, u->n, u->cap, 1, *pp, end, s, 0)) return -1;
    u->v[u->n++] = (struct proto_unknown){field, wt, start, (size_t)(*pp - start)};
    return 0;
}

/* ---- field readers: each checks the wire type first -------------------------------- */

#define PD_WT(want)                                                                                \
    do {                                                                                           \
        if (wt != (want)) return pd_fail(d, tagp, "wrong wire type for a known field");            \
    } while (0)

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

static inline int pd_var(struct pd *d, const uint8_t **pp, const uint8_t *end, uint32_t wt,
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

/* A repeated scalar of Order (field), packed (wire type 2, possibly empty) or one
 * element (its own wire type); end is the end of the Order. */
enum pd_elem { ELEM_UINT32, ELEM_SINT32 };

static int pd_repeated_u32(struct pd *d, const uint8_t **pp, const uint8_t *end, uint32_t wt,
                           const uint8_t *tagp, uint32_t field, uint32_t **arr, size_t *n,
                           size_t *cap, enum pd_elem kind)
{
    const uint8_t *p = *pp, *e;
    size_t l;
    uint64_t v;
    if (wt == 0) {
        if (pd_varint(d, &p, end, &v) ||
            PD_ROOM(d, *arr, *n, *cap, 1, p, end, &pd_order_shape, field))
            return -1;
        (*arr)[(*n)++] = kind == ELEM_SINT32 ? (uint32_t)pd_zz32(v) : (uint32_t)v;
        *pp = p;
        return 0;
    }
    PD_WT(2);
    if (pd_len(d, &p, end, &l)) return -1;
    e = p + l;
    if (PD_ROOM(d, *arr, *n, *cap, pd_count_varints(p, e), e, end, &pd_order_shape, field))
        return -1;
    while (p < e) {
        if (pd_varint(d, &p, e, &v)) return -1;
        (*arr)[(*n)++] = kind == ELEM_SINT32 ? (uint32_t)pd_zz32(v) : (uint32_t)v;
    }
    *pp = p;
    return 0;
}

static int pd_repeated_double(struct pd *d, const uint8_t **pp, const uint8_t *end, uint32_t wt,
                              const uint8_t *tagp, uint32_t field, double **arr, size_t *n,
                              size_t *cap)
{
    const uint8_t *p = *pp;
    size_t l;
    if (wt == 1) {
        if (end - p < 8) return pd_fail(d, p, "truncated fixed64");
        if (PD_ROOM(d, *arr, *n, *cap, 1, p + 8, end, &pd_order_shape, field)) return -1;
        memcpy(*arr + (*n)++, p, 8);
        *pp = p + 8;
        return 0;
    }
    PD_WT(2);
    if (pd_len(d, &p, end, &l)) return -1;
    if (l % 8) return pd_fail(d, tagp, "packed doubles: length not a multiple of 8");
    if (PD_ROOM(d, *arr, *n, *cap, l / 8, p + l, end, &pd_order_shape, field)) return -1;
    if (l) memcpy(*arr + *n, p, l);
    *n += l / 8;
    *pp = p + l;
    return 0;
}

/* ---- messages ---------------------------------------------------------------------- */

static int pd_customer(struct pd *d, const uint8_t *p, const uint8_t *end, struct proto_customer *m)
{
    while (p < end) {
        const uint8_t *tagp = p;
        uint32_t field, wt;
        uint64_t v;
        int rc;
        if (pd_tag(d, &p, end, &field, &wt)) return -1;
        switch (field) {
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
        default:
            rc = pd_unknown(d, &p, end, field, wt, tagp, &m->unknown, &pd_leaf5_shape);
            break;
        }
        if (rc) return rc;
    }
    return 0;
}

static int pd_line_item(struct pd *d, const uint8_t *p, const uint8_t *end,
                        struct proto_line_item *m)
{
    while (p < end) {
        const uint8_t *tagp = p;
        uint32_t field, wt, u32;
        uint64_t v;
        int rc;
        if (pd_tag(d, &p, end, &field, &wt)) return -1;
        switch (field) {
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
        default:
            rc = pd_unknown(d, &p, end, field, wt, tagp, &m->unknown, &pd_leaf5_shape);
            break;
        }
        if (rc) return rc;
    }
    return 0;
}

static int pd_category(struct pd *d, const uint8_t *p, const uint8_t *end, struct proto_category *m,
                       int depth)
{
    size_t l;
    if (depth > PROTO_MAX_DEPTH) return pd_fail(d, p, "messages nested deeper than 100");
    while (p < end) {
        const uint8_t *tagp = p;
        uint32_t field, wt;
        int rc;
        if (pd_tag(d, &p, end, &field, &wt)) return -1;
        switch (field) {
        case 1:
            rc = pd_str(d, &p, end, wt, tagp, &m->name, true);
            break;
        case 2:
            PD_WT(2);
            if (pd_len(d, &p, end, &l) ||
                PD_ROOM(d, m->sub, m->n_sub, m->cap_sub, 1, p + l, end, &pd_category_shape, 2))
                return -1;
            memset(&m->sub[m->n_sub], 0, sizeof m->sub[0]);
            rc = pd_category(d, p, p + l, &m->sub[m->n_sub++], depth + 1);
            p += l;
            break;
        default:
            rc = pd_unknown(d, &p, end, field, wt, tagp, &m->unknown, &pd_category_shape);
            break;
        }
        if (rc) return rc;
    }
    return 0;
}

/* A singular message field: the first occurrence allocates it, a later one is merged
 * into it (protoc's rule). */
static void *pd_singular(struct pd *d, void **slot, size_t size)
{
    if (!*slot && (*slot = proto_arena_alloc(d->arena, size))) memset(*slot, 0, size);
    return *slot;
}

static int pd_order(struct pd *d, const uint8_t *p, const uint8_t *end, struct proto_order *m)
{
    size_t l;
    while (p < end) {
        const uint8_t *tagp = p;
        uint32_t field, wt;
        uint64_t v;
        int rc;
        if (pd_tag(d, &p, end, &field, &wt)) return -1;
        switch (field) {
        case 1:
            rc = pd_var(d, &p, end, wt, tagp, &m->id);
            break;
        case 2:
            PD_WT(2);
            if (pd_len(d, &p, end, &l) ||
                !pd_singular(d, (void **)&m->customer, sizeof *m->customer))
                return -1;
            rc = pd_customer(d, p, p + l, m->customer);
            p += l;
            break;
        case 3:
            PD_WT(2);
            if (pd_len(d, &p, end, &l) ||
                PD_ROOM(d, m->items, m->n_items, m->cap_items, 1, p + l, end, &pd_order_shape, 3))
                return -1;
            memset(&m->items[m->n_items], 0, sizeof m->items[0]);
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
            rc = pd_repeated_u32(d, &p, end, wt, tagp, 11, &m->tags, &m->n_tags, &m->cap_tags,
                                 ELEM_UINT32);
            break;
        case 12:
            rc = pd_repeated_u32(d, &p, end, wt, tagp, 12, (uint32_t **)&m->adjustments,
                                 &m->n_adjustments, &m->cap_adjustments, ELEM_SINT32);
            break;
        case 13:
            rc = pd_fixed64(d, &p, end, wt, tagp, (uint64_t *)&m->ref);
            break;
        case 14:
            rc = pd_repeated_double(d, &p, end, wt, tagp, 14, &m->samples, &m->n_samples,
                                    &m->cap_samples);
            break;
        case 15:
            rc = pd_str(d, &p, end, wt, tagp, &m->note, true);
            break;
        case 16:
            PD_WT(2);
            if (pd_len(d, &p, end, &l) ||
                !pd_singular(d, (void **)&m->category, sizeof *m->category))
                return -1;
            rc = pd_category(d, p, p + l, m->category, 3);
            p += l;
            break;
        default:
            rc = pd_unknown(d, &p, end, field, wt, tagp, &m->unknown, &pd_order_shape);
            break;
        }
        if (rc) return rc;
    }
    return 0;
}

static int pd_order_batch(struct pd *d, const uint8_t *p, const uint8_t *end,
                          struct proto_order_batch *m)
{
    size_t l;
    while (p < end) {
        const uint8_t *tagp = p;
        uint32_t field, wt;
        int rc;
        if (pd_tag(d, &p, end, &field, &wt)) return -1;
        if (field == 1) {
            PD_WT(2);
            if (pd_len(d, &p, end, &l) || PD_ROOM(d, m->orders, m->n_orders, m->cap_orders, 1,
                                                  p + l, end, &pd_batch_shape, 1))
                return -1;
            memset(&m->orders[m->n_orders], 0, sizeof m->orders[0]);
            rc = pd_order(d, p, p + l, &m->orders[m->n_orders++]);
            p += l;
        } else {
            rc = pd_unknown(d, &p, end, field, wt, tagp, &m->unknown, &pd_batch_shape);
        }
        if (rc) return rc;
    }
    return 0;
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
    if (!arena->limit) arena->limit = PROTO_MAX_ARENA;
    void *m = proto_arena_alloc(arena, sizes[type]);
    int rc = -1;
    if (m) {
        memset(m, 0, sizes[type]);
        const uint8_t *end = buf + len;
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
    }
    if (rc == 0) {
        *msg = m;
        return 0;
    }
    if (arena->over) { /* a resource limit, reported like invalid input */
        snprintf(err->msg, sizeof err->msg,
                 "decoded message needs more than %zu bytes (memory limit)", arena->limit);
        errno = EINVAL;
    } else if (!err->msg[0]) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        errno = ENOMEM;
    } else {
        errno = EINVAL;
    }
    return -1;
}
