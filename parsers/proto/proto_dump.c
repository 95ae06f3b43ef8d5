/* proto_dump: the text form of a decoded message for `parse --dump`.
 *
 * One present field per line, in field-number order, indented two spaces per level:
 *   name: value        a scalar (proto3: omitted when zero / empty; floats by bit pattern)
 *   name {  ...  }     a message field (printed even when empty: presence is kept)
 *   name: value        once per element of a repeated scalar
 * Enums print by name (the number when unknown), doubles as %.17g, floats as %.9g,
 * strings and bytes in double quotes with \" \\ \n \r \t and \ooo for other bytes
 * below 0x20, 0x7f and (bytes fields only) above 0x7f.  Unknown fields follow the
 * known ones, in wire order: "N: unknown wire type W, HEX" where HEX is the raw bytes
 * after the tag.  The protobuf-c adapter prints the same through its descriptors. */
#include "parsers/proto/proto.h"

#include <string.h>

void proto_dump_bytes(FILE *out, const uint8_t *p, size_t len, bool is_string)
{
    putc('"', out);
    for (size_t i = 0; i < len; i++) {
        unsigned c = p[i];
        if (c == '"')
            fputs("\\\"", out);
        else if (c == '\\')
            fputs("\\\\", out);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c == '\r')
            fputs("\\r", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c < 0x20 || c == 0x7f || (c >= 0x80 && !is_string))
            fprintf(out, "\\%03o", c);
        else
            putc((int)c, out);
    }
    putc('"', out);
}

void proto_dump_unknown(FILE *out, int indent, uint32_t field, uint32_t wire_type, const uint8_t *p,
                        size_t len)
{
    fprintf(out, "%*s%u: unknown wire type %u, ", indent * 2, "", field, wire_type);
    for (size_t i = 0; i < len; i++)
        fprintf(out, "%02x", p[i]);
    putc('\n', out);
}

struct pdp {
    FILE *out;
    struct proto_stats *st;
};

#define IND(lv) (lv) * 2, ""

static void pdp_str(struct pdp *d, int lv, const char *name, struct proto_str s, bool is_string)
{
    if (!s.len) return;
    d->st->fields++;
    fprintf(d->out, "%*s%s: ", IND(lv), name);
    proto_dump_bytes(d->out, s.p, s.len, is_string);
    putc('\n', d->out);
}

static void pdp_unknowns(struct pdp *d, int lv, const struct proto_unknowns *u)
{
    for (size_t i = 0; i < u->n; i++) {
        d->st->fields++;
        proto_dump_unknown(d->out, lv, u->v[i].field, u->v[i].wire_type, u->v[i].p, u->v[i].len);
    }
}

static void pdp_u(struct pdp *d, int lv, const char *name, uint64_t v)
{
    if (!v) return;
    d->st->fields++;
    fprintf(d->out, "%*s%s: %llu\n", IND(lv), name, (unsigned long long)v);
}

static void pdp_i(struct pdp *d, int lv, const char *name, int64_t v)
{
    if (!v) return;
    d->st->fields++;
    fprintf(d->out, "%*s%s: %lld\n", IND(lv), name, (long long)v);
}

static void pdp_depth(struct pdp *d, int lv)
{
    if ((size_t)lv + 1 > d->st->depth) d->st->depth = (size_t)lv + 1;
}

static void pdp_customer(struct pdp *d, int lv, const struct proto_customer *m)
{
    pdp_depth(d, lv);
    pdp_u(d, lv, "id", m->id);
    pdp_str(d, lv, "name", m->name, true);
    pdp_str(d, lv, "email", m->email, true);
    pdp_i(d, lv, "tz_offset_min", m->tz_offset_min);
    if (m->vip) d->st->fields++, fprintf(d->out, "%*svip: true\n", IND(lv));
    pdp_unknowns(d, lv, &m->unknown);
}

static void pdp_line_item(struct pdp *d, int lv, const struct proto_line_item *m)
{
    uint64_t w;
    uint32_t f;
    memcpy(&w, &m->weight_kg, 8);
    memcpy(&f, &m->discount, 4);
    pdp_depth(d, lv);
    pdp_str(d, lv, "sku", m->sku, true);
    pdp_u(d, lv, "quantity", m->quantity);
    pdp_i(d, lv, "price_cents", m->price_cents);
    if (w) d->st->fields++, fprintf(d->out, "%*sweight_kg: %.17g\n", IND(lv), m->weight_kg);
    if (f) d->st->fields++, fprintf(d->out, "%*sdiscount: %.9g\n", IND(lv), (double)m->discount);
    pdp_unknowns(d, lv, &m->unknown);
}

static void pdp_category(struct pdp *d, int lv, const struct proto_category *m)
{
    pdp_depth(d, lv);
    pdp_str(d, lv, "name", m->name, true);
    for (size_t i = 0; i < m->n_sub; i++) {
        d->st->fields++;
        fprintf(d->out, "%*ssub {\n", IND(lv));
        pdp_category(d, lv + 1, &m->sub[i]);
        fprintf(d->out, "%*s}\n", IND(lv));
    }
    pdp_unknowns(d, lv, &m->unknown);
}

static const char *const pdp_status[] = {"STATUS_UNKNOWN", "PENDING", "PAID", "SHIPPED",
                                         "CANCELLED"};

static void pdp_order(struct pdp *d, int lv, const struct proto_order *m)
{
    FILE *o = d->out;
    pdp_depth(d, lv);
    pdp_u(d, lv, "id", m->id);
    if (m->customer) {
        d->st->fields++;
        fprintf(o, "%*scustomer {\n", IND(lv));
        pdp_customer(d, lv + 1, m->customer);
        fprintf(o, "%*s}\n", IND(lv));
    }
    for (size_t i = 0; i < m->n_items; i++) {
        d->st->fields++;
        fprintf(o, "%*sitems {\n", IND(lv));
        pdp_line_item(d, lv + 1, &m->items[i]);
        fprintf(o, "%*s}\n", IND(lv));
    }
    if (m->status) {
        d->st->fields++;
        if (m->status >= 0 && m->status <= 4)
            fprintf(o, "%*sstatus: %s\n", IND(lv), pdp_status[m->status]);
        else
            fprintf(o, "%*sstatus: %d\n", IND(lv), m->status);
    }
    pdp_u(d, lv, "created_ms", m->created_ms);
    pdp_i(d, lv, "zone", m->zone);
    pdp_u(d, lv, "flags", m->flags);
    pdp_i(d, lv, "balance", m->balance);
    pdp_i(d, lv, "priority", m->priority);
    pdp_str(d, lv, "token", m->token, false);
    for (size_t i = 0; i < m->n_tags; i++, d->st->fields++)
        fprintf(o, "%*stags: %u\n", IND(lv), m->tags[i]);
    for (size_t i = 0; i < m->n_adjustments; i++, d->st->fields++)
        fprintf(o, "%*sadjustments: %d\n", IND(lv), m->adjustments[i]);
    pdp_i(d, lv, "ref", m->ref);
    for (size_t i = 0; i < m->n_samples; i++, d->st->fields++)
        fprintf(o, "%*ssamples: %.17g\n", IND(lv), m->samples[i]);
    pdp_str(d, lv, "note", m->note, true);
    if (m->category) {
        d->st->fields++;
        fprintf(o, "%*scategory {\n", IND(lv));
        pdp_category(d, lv + 1, m->category);
        fprintf(o, "%*s}\n", IND(lv));
    }
    pdp_unknowns(d, lv, &m->unknown);
}

void proto_dump(enum proto_type type, const void *msg, FILE *out, struct proto_stats *st)
{
    struct pdp d = {out, st};
    switch (type) {
    case PROTO_ORDER_BATCH: {
        const struct proto_order_batch *b = msg;
        pdp_depth(&d, 0);
        for (size_t i = 0; i < b->n_orders; i++) {
            st->fields++;
            fputs("orders {\n", out);
            pdp_order(&d, 1, &b->orders[i]);
            fputs("}\n", out);
        }
        pdp_unknowns(&d, 0, &b->unknown);
        break;
    }
    case PROTO_ORDER:
        pdp_order(&d, 0, msg);
        break;
    case PROTO_CUSTOMER:
        pdp_customer(&d, 0, msg);
        break;
    case PROTO_LINE_ITEM:
        pdp_line_item(&d, 0, msg);
        break;
    default:
        pdp_category(&d, 0, msg);
        break;
    }
}
