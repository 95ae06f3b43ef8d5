/* proto_lib_protobufc: protobuf-c (Debian libprotobuf-c 1.4) behind the parser_impl interface,
 * with the code protoc-c generates from wirelab.proto at build time.
 *
 * The dump walks protobuf-c's descriptors (reflection), so it does not share code
 * with the hand decoder, only the text rules (proto_dump.c).  protobuf-c 1.4 has no
 * nesting limit and unpacks recursively: a deep enough Category chain would overflow
 * the stack.  So before unpacking, a small scan (pbc_depth) rejects inputs whose
 * Category nesting passes PROTO_MAX_DEPTH; everything else is protobuf-c's own verdict. */
#include "parsers/proto/proto.h"
#include "parsers/proto/proto_impl.h"
#include "parsers/proto/wirelab.pb-c.h"

#include <string.h>

/* Varint at *p; 0 on success. */
static int pbc_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int i = 0; i < 10 && *p < end; i++) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (b < 0x80) return 0;
    }
    return -1;
}

/* Deepest Category nesting reachable in [p, end) for a message of kind k
 * ('b' OrderBatch, 'o' Order, 'c' Category, other: no nested categories); it stops
 * at the first malformed byte (protobuf-c will reject that itself). */
static int pbc_depth(const uint8_t *p, const uint8_t *end, int k, int depth)
{
    int max = depth;
    if (depth > PROTO_MAX_DEPTH) return depth;
    while (p < end) {
        uint64_t t, l = 0;
        if (pbc_varint(&p, end, &t)) break;
        switch (t & 7) {
        case 0:
            if (pbc_varint(&p, end, &l)) return max;
            l = 0;
            break;
        case 1:
            l = 8;
            break;
        case 5:
            l = 4;
            break;
        case 2:
            if (pbc_varint(&p, end, &l)) return max;
            break;
        default:
            return max;
        }
        if (l > (uint64_t)(end - p)) return max;
        uint64_t f = t >> 3;
        int sub = (t & 7) != 2                                    ? 0
                  : k == 'b' && f == 1                            ? 'o'
                  : (k == 'o' && f == 16) || (k == 'c' && f == 2) ? 'c'
                                                                  : 0;
        if (sub) {
            int d = pbc_depth(p, p + l, sub, depth + 1);
            if (d > max) max = d;
            if (max > PROTO_MAX_DEPTH) return max;
        }
        p += l;
    }
    return max;
}

static void pbc_dump_msg(const ProtobufCMessage *m, FILE *o, int lv, struct proto_stats *st);

static void pbc_dump_value(const ProtobufCFieldDescriptor *f, const void *v, FILE *o, int lv,
                           struct proto_stats *st)
{
    st->fields++;
    if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        fprintf(o, "%*s%s {\n", lv * 2, "", f->name);
        pbc_dump_msg(*(ProtobufCMessage *const *)v, o, lv + 1, st);
        fprintf(o, "%*s}\n", lv * 2, "");
        return;
    }
    fprintf(o, "%*s%s: ", lv * 2, "", f->name);
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        fprintf(o, "%d", *(const int32_t *)v);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        fprintf(o, "%u", *(const uint32_t *)v);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        fprintf(o, "%lld", (long long)*(const int64_t *)v);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        fprintf(o, "%llu", (unsigned long long)*(const uint64_t *)v);
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        fprintf(o, "%.9g", (double)*(const float *)v);
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        fprintf(o, "%.17g", *(const double *)v);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        fputs("true", o);
        break;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumValue *ev =
            protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *)v);
        if (ev)
            fputs(ev->name, o);
        else
            fprintf(o, "%d", *(const int *)v);
        break;
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)v;
        proto_dump_bytes(o, (const uint8_t *)s, strlen(s), true);
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = v;
        proto_dump_bytes(o, b->data, b->len, false);
        break;
    }
    default:
        break;
    }
    putc('\n', o);
}

static size_t pbc_elem_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    default:
        return 4;
    }
}

/* proto3 implicit presence: a singular scalar is printed when it is not zero/empty. */
static int pbc_present(const ProtobufCFieldDescriptor *f, const void *v)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(void *const *)v != NULL;
    case PROTOBUF_C_TYPE_STRING:
        return *(char *const *)v && **(char *const *)v;
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)v)->len != 0;
    default: {
        static const uint8_t zero[8];
        return memcmp(v, zero, pbc_elem_size(f->type)) != 0;
    }
    }
}

static void pbc_dump_msg(const ProtobufCMessage *m, FILE *o, int lv, struct proto_stats *st)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    if ((size_t)lv + 1 > st->depth) st->depth = (size_t)lv + 1;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)m + f->offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)((const char *)m + f->quantifier_offset),
                   es = pbc_elem_size(f->type);
            const char *arr = *(const char *const *)base;
            for (size_t k = 0; k < n; k++)
                pbc_dump_value(f, arr + k * es, o, lv, st);
        } else if (pbc_present(f, base)) {
            pbc_dump_value(f, base, o, lv, st);
        }
    }
    for (unsigned i = 0; i < m->n_unknown_fields; i++) {
        const ProtobufCMessageUnknownField *u = &m->unknown_fields[i];
        st->fields++;
        proto_dump_unknown(o, lv, u->tag, u->wire_type, u->data, u->len);
    }
}

static const ProtobufCMessageDescriptor *pbc_descriptor(const char *name, int *kind)
{
    static const struct {
        const char *name;
        const ProtobufCMessageDescriptor *d;
        int kind;
    } types[] = {{"OrderBatch", &wirelab__order_batch__descriptor, 'b'},
                 {"Order", &wirelab__order__descriptor, 'o'},
                 {"Customer", &wirelab__customer__descriptor, 0},
                 {"LineItem", &wirelab__line_item__descriptor, 0},
                 {"Category", &wirelab__category__descriptor, 'c'}};
    if (!strncmp(name, "wirelab.", 8)) name += 8;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(name, types[i].name)) {
            *kind = types[i].kind;
            return types[i].d;
        }
    return NULL;
}

static int proto_pbc_parse(const uint8_t *buf, size_t len, const struct parse_opts *opts,
                           struct parse_result *r, FILE *dump)
{
    const char *name = opts && opts->message ? opts->message : PROTO_DEFAULT_MESSAGE;
    int kind;
    const ProtobufCMessageDescriptor *d = pbc_descriptor(name, &kind);
    if (!d) {
        snprintf(r->err, sizeof r->err, "unknown message type '%s'", name);
        return 2;
    }
    if (kind && pbc_depth(buf, buf + len, kind,
                          kind == 'c'   ? 1
                          : kind == 'o' ? 2
                                        : 1) > PROTO_MAX_DEPTH) {
        return parse_invalid(r, 0, "messages nested deeper than 100 (checked before protobuf-c)");
    }
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, buf);
    if (!m) {
        /* protobuf-c reports only failure (details go to stderr): no offset. */
        return parse_invalid(r, 0, "protobuf-c: unpack failed");
    }
    if (dump) {
        struct proto_stats st = {0, 0};
        pbc_dump_msg(m, dump, 0, &st);
        r->items = st.fields;
        r->depth = st.depth;
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

const struct parser_impl proto_protobufc_impl = {"proto", "protobuf-c", proto_pbc_parse};
