/* proto_impl: the hand-written protobuf decoder as a parser_impl (proto_impl.h). */
#include "parsers/proto/proto.h"
#include "parsers/proto/proto_impl.h"

#include <errno.h>

static int proto_hand_parse(const uint8_t *buf, size_t len, const struct parse_opts *opts,
                            struct parse_result *r, FILE *dump)
{
    const char *name = opts && opts->message ? opts->message : PROTO_DEFAULT_MESSAGE;
    int type = proto_type_by_name(name);
    if (type < 0) {
        snprintf(r->err, sizeof r->err,
                 "unknown message type '%s' (wirelab.OrderBatch, Order, Customer, "
                 "LineItem, Category)",
                 name);
        return 2;
    }
    struct proto_arena arena = {0};
    struct proto_error err;
    void *msg;
    int rc = proto_decode(type, buf, len, &arena, &msg, &err);
    if (rc != 0 && errno == ENOMEM) {
        snprintf(r->err, sizeof r->err, "%s", err.msg);
        rc = 2;
    } else if (rc != 0) {
        rc = parse_invalid(r, err.offset, "%s", err.msg);
    } else if (dump) {
        struct proto_stats st = {0, 0};
        proto_dump(type, msg, dump, &st);
        r->items = st.fields;
        r->depth = st.depth;
    }
    proto_arena_free(&arena);
    return rc;
}

const struct parser_impl proto_hand_impl = {"proto", "hand", proto_hand_parse};
