/* json_lib_jansson: jansson (Debian libjansson 2.14) behind the parser_impl interface.
 *
 * Loaded with JSON_DECODE_ANY (any top-level value, as RFC 8259 allows) and
 * JSON_ALLOW_NUL ("\u0000" inside strings).  jansson refuses integers outside
 * int64 ("too big integer"), keeps only the last of duplicate keys, and limits
 * nesting to 2048 (JSON_PARSER_MAX_DEPTH), which also bounds the walk below. */
#include "parsers/json/json.h"
#include "parsers/json/json_impl.h"

#include <jansson.h>
#include <string.h>

struct jj_stats {
    size_t values, depth;
};

static void jj_walk(json_t *v, size_t depth, FILE *dump, struct jj_stats *st)
{
    st->values++;
    if (json_is_array(v)) {
        if (depth + 1 > st->depth) st->depth = depth + 1;
        if (dump) putc('[', dump);
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c)
        {
            if (dump && i) putc(',', dump);
            jj_walk(c, depth + 1, dump, st);
        }
        if (dump) putc(']', dump);
        return;
    }
    if (json_is_object(v)) {
        if (depth + 1 > st->depth) st->depth = depth + 1;
        if (dump) putc('{', dump);
        const char *k;
        json_t *c;
        int first = 1;
        json_object_foreach(v, k, c)
        {
            if (dump) {
                if (!first) putc(',', dump);
                json_dump_string(dump, k, strlen(k));
                putc(':', dump);
            }
            first = 0;
            jj_walk(c, depth + 1, dump, st);
        }
        if (dump) putc('}', dump);
        return;
    }
    if (!dump) return;
    if (json_is_null(v))
        fputs("null", dump);
    else if (json_is_true(v))
        fputs("true", dump);
    else if (json_is_false(v))
        fputs("false", dump);
    else if (json_is_integer(v))
        fprintf(dump, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        json_dump_double(dump, json_real_value(v));
    else if (json_is_string(v))
        json_dump_string(dump, json_string_value(v), json_string_length(v));
}

static int json_jansson_parse(const uint8_t *buf, size_t len, const struct parse_opts *opts,
                              struct parse_result *r, FILE *dump)
{
    json_error_t e;
    json_t *root = json_loadb((const char *)buf, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (!root) {
        if (json_error_code(&e) == json_error_out_of_memory) {
            snprintf(r->err, sizeof r->err, "jansson: out of memory");
            return 2;
        }
        /* jansson's position is the number of bytes it had read: one past the culprit. */
        size_t at = e.position > 0 ? (size_t)e.position - 1 : 0;
        return parse_invalid(r, at > len ? len : at, "jansson: %s", e.text);
    }
    struct jj_stats st = {0, 0};
    jj_walk(root, 0, dump, &st);
    if (dump) putc('\n', dump);
    r->items = st.values;
    r->depth = st.depth;
    json_decref(root);
    return 0;
}

const struct parser_impl json_jansson_impl = {"json", "jansson", json_jansson_parse};
