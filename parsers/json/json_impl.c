/* json_impl: the hand-written JSON parser as a parser_impl (see json_impl.h). */
#include "parsers/json/json_impl.h"
#include "parsers/json/json.h"

#include <errno.h>

static int json_hand_parse(const uint8_t *buf, size_t len, const struct parse_opts *opts,
                           struct parse_result *r, FILE *dump)
{
    struct json_doc doc = JSON_DOC_INIT;
    struct json_error err;
    int rc = json_parse(&doc, (const char *)buf, len, NULL, &err);
    if (rc != 0 && errno == ENOMEM) {
        snprintf(r->err, sizeof r->err, "out of memory");
        rc = 2;
    } else if (rc != 0) {
        rc = parse_invalid(r, err.offset, "%s", err.msg);
    } else {
        r->items = doc.values;
        r->depth = doc.depth;
        if (dump && json_dump(&doc, dump) != 0) rc = 2;
    }
    json_doc_free(&doc);
    return rc;
}

const struct parser_impl json_hand_impl = {"json", "hand", json_hand_parse};
