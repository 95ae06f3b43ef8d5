/* json_lib_cjson: cJSON (Debian libcjson 1.7) behind the parser_impl interface.
 *
 * cJSON keeps numbers only as a double, so integers past 2^53 come back rounded
 * (the hand parser keeps them exact), strings are C strings (a "\u0000" ends them
 * early), and it does not check UTF-8, raw control characters or leading zeros:
 * the conformance table in labs/02-parsers/NOTES.md shows the consequences.
 * Its recursion is bounded by CJSON_NESTING_LIMIT (1000), so the walk below is too. */
#include "parsers/json/json.h"
#include "parsers/json/json_impl.h"

#include <cjson/cJSON.h>
#include <string.h>

struct jc_stats {
    size_t values, depth;
};

static void jc_walk(const cJSON *v, size_t depth, FILE *dump, struct jc_stats *st)
{
    st->values++;
    if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
        if (depth + 1 > st->depth) st->depth = depth + 1;
        int obj = cJSON_IsObject(v);
        if (dump) putc(obj ? '{' : '[', dump);
        for (const cJSON *c = v->child; c; c = c->next) {
            if (dump && c != v->child) putc(',', dump);
            if (obj && dump) {
                json_dump_string(dump, c->string, strlen(c->string));
                putc(':', dump);
            }
            jc_walk(c, depth + 1, dump, st);
        }
        if (dump) putc(obj ? '}' : ']', dump);
        return;
    }
    if (!dump) return;
    if (cJSON_IsNull(v))
        fputs("null", dump);
    else if (cJSON_IsTrue(v))
        fputs("true", dump);
    else if (cJSON_IsFalse(v))
        fputs("false", dump);
    else if (cJSON_IsNumber(v))
        json_dump_double(dump, v->valuedouble);
    else if (cJSON_IsString(v))
        json_dump_string(dump, v->valuestring, strlen(v->valuestring));
}

static int json_cjson_parse(const uint8_t *buf, size_t len, const struct parse_opts *opts,
                            struct parse_result *r, FILE *dump)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts((const char *)buf, len, &end, 0);
    if (!root) {
        size_t at = end ? (size_t)(end - (const char *)buf) : 0;
        return parse_invalid(r, at > len ? len : at, "cJSON: parse error");
    }
    /* cJSON stops after the first value; RFC 8259 allows only whitespace after it. */
    size_t off = (size_t)(end - (const char *)buf);
    while (off < len &&
           (buf[off] == ' ' || buf[off] == '\t' || buf[off] == '\n' || buf[off] == '\r'))
        off++;
    if (off < len) {
        cJSON_Delete(root);
        return parse_invalid(r, off, "cJSON: unexpected data after the top-level value");
    }
    struct jc_stats st = {0, 0};
    jc_walk(root, 0, dump, &st);
    if (dump) putc('\n', dump);
    r->items = st.values;
    r->depth = st.depth;
    cJSON_Delete(root);
    return 0;
}

const struct parser_impl json_cjson_impl = {"json", "cjson", json_cjson_parse};
