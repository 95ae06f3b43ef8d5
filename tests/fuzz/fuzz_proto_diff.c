/* fuzz_proto_diff: differential libFuzzer target, hand-written protobuf decoder vs
 * protobuf-c, for wirelab.OrderBatch.  Either may refuse what the other accepts (the
 * hand decoder checks UTF-8 in string fields, protobuf-c does not), but when both
 * accept, their dumps must be identical and so must their re-encodings.  Two known
 * differences are skipped: protobuf-c keeps strings as C strings, so a string field
 * holding a NUL byte is cut short there; and when a singular message field (an
 * Order's customer or category) occurs twice, protobuf-c 1.4 does not merge the
 * proto3 scalars of the first occurrence into the second, as the encoding spec says
 * (the hand decoder does, like protoc). */
#include "parsers/proto/proto.h"
#include "parsers/proto/proto_impl.h"
#include "parsers/proto/wirelab.pb-c.h"

#include "tests/fuzz/fuzz_dump.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL inside a string field (anything but the bytes field "token" and unknown fields). */
static int nul_in_string(const char *dump)
{
    for (const char *l = dump; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        const char *e = strchr(l, '\n'), *s = l;
        while (*s == ' ')
            s++;
        if (!strncmp(s, "token:", 6) || strstr(s, ": unknown wire type") == strchr(s, ':'))
            continue;
        const char *z = strstr(s, "\\000");
        if (z && (!e || z < e)) return 1;
    }
    return 0;
}

static int rd_varint(const uint8_t **p, const uint8_t *e, uint64_t *v)
{
    *v = 0;
    for (int i = 0; i < 10 && *p < e; i++) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (b < 0x80) return 0;
    }
    return -1;
}

/* Does [p, e) (an Order when order, else an OrderBatch) hold a singular message field twice? */
static int dup_singular(const uint8_t *p, const uint8_t *e, int order)
{
    int seen2 = 0, seen16 = 0;
    while (p < e) {
        uint64_t t, l = 0;
        if (rd_varint(&p, e, &t)) return 0;
        switch (t & 7) {
        case 0:
            if (rd_varint(&p, e, &l)) return 0;
            l = 0;
            break;
        case 1:
            l = 8;
            break;
        case 5:
            l = 4;
            break;
        case 2:
            if (rd_varint(&p, e, &l)) return 0;
            break;
        default:
            return 0;
        }
        if (l > (uint64_t)(e - p)) return 0;
        if ((t & 7) == 2) {
            if (!order && t >> 3 == 1 && dup_singular(p, p + l, 1)) return 1;
            if (order && t >> 3 == 2 && seen2++) return 1;
            if (order && t >> 3 == 16 && seen16++) return 1;
        }
        p += l;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *a = NULL, *b = NULL;
    size_t la = 0, lb = 0;
    int ra = fuzz_dump(&proto_hand_impl, data, size, &a, &la);
    int rb = fuzz_dump(&proto_protobufc_impl, data, size, &b, &lb);
    if (ra == 0 && rb == 0 && !nul_in_string(a) && !dup_singular(data, data + size, 0)) {
        if (la != lb || memcmp(a, b, la)) {
            fprintf(stderr, "hand:\n%s\nprotobuf-c:\n%s\n", a, b);
            abort();
        }
        struct proto_arena ar = {0};
        struct proto_error e;
        void *m;
        uint8_t *e1;
        size_t l1;
        if (proto_decode(PROTO_ORDER_BATCH, data, size, &ar, &m, &e) ||
            proto_encode(PROTO_ORDER_BATCH, m, &e1, &l1))
            abort();
        ProtobufCMessage *pm =
            protobuf_c_message_unpack(&wirelab__order_batch__descriptor, NULL, size, data);
        if (!pm) abort();
        size_t l2 = protobuf_c_message_get_packed_size(pm);
        uint8_t *e2 = malloc(l2 ? l2 : 1);
        protobuf_c_message_pack(pm, e2);
        if (l1 != l2 || memcmp(e1, e2, l1)) abort();
        free(e1);
        free(e2);
        protobuf_c_message_free_unpacked(pm, NULL);
        proto_arena_free(&ar);
    }
    free(a);
    free(b);
    return 0;
}
