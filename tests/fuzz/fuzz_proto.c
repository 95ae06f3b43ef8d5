/* fuzz_proto: libFuzzer target for the hand-written protobuf codec (parsers/proto).
 * Any input decodes or fails cleanly (every message type); an accepted one must
 * re-encode to bytes that decode and re-encode to the very same bytes. */
#include "parsers/proto/proto.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int t = PROTO_ORDER_BATCH; t <= PROTO_CATEGORY; t++) {
        struct proto_arena a = {0}, a2 = {0};
        struct proto_error e;
        void *m, *m2;
        int rc = proto_decode(t, data, size, &a, &m, &e);
        if (rc == 0) {
            uint8_t *b1, *b2;
            size_t l1, l2;
            if (proto_encode(t, m, &b1, &l1)) abort();
            if (proto_decode(t, b1, l1, &a2, &m2, &e)) abort();
            if (proto_encode(t, m2, &b2, &l2)) abort();
            if (l1 != l2 || memcmp(b1, b2, l1)) abort();
            free(b1);
            free(b2);
        } else if (rc == -1 && e.offset > size) {
            abort();
        }
        proto_arena_free(&a);
        proto_arena_free(&a2);
    }
    return 0;
}
