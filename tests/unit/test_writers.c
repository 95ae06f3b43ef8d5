/* test_writers: the JSON and XML writers (parsers/json/json_write.h,
 * parsers/xml/xml_write.h): escaping of every special byte, UTF-8 passthrough,
 * number formatting that reads back exactly, and refusals; each output is parsed back
 * with the hand parsers and compared to what was written. */
#include "parsers/json/json.h"
#include "parsers/json/json_write.h"
#include "parsers/xml/xml.h"
#include "parsers/xml/xml_write.h"

#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* every byte 0x01..0x7f, quotes, backslash, and non-ASCII UTF-8 */
static const char tricky[] = "\x01\x02\x08\x0c\x1f \"q\" \\ / <a> & ]]> \t\n\r caf\xc3\xa9 "
                             "\xe2\x86\x92 \xf0\x9f\x98\x80 \x7f";

Test(json_write, string_escapes_and_round_trips)
{
    struct jw w = JW_INIT;
    jw_str(&w, tricky, sizeof tricky - 1);
    jw_str(&w, "a\0b", 3); /* an embedded NUL is \u0000 */
    cr_assert_eq(w.err, JW_OK);
    char *nl = memchr(w.p, '"', w.len);
    cr_assert_not_null(nl);
    /* the first string alone, then checks on the text */
    size_t first = 0;
    for (size_t i = 1; i < w.len; i++)
        if (w.p[i] == '"' && w.p[i - 1] != '\\') {
            first = i + 1;
            break;
        }
    struct json_doc d = JSON_DOC_INIT;
    struct json_error e;
    cr_assert_eq(json_parse(&d, w.p, first, NULL, &e), 0, "%s", e.msg);
    size_t len;
    const char *s = json_get_str(json_root(&d), &len);
    cr_assert_eq(len, sizeof tricky - 1);
    cr_assert_eq(memcmp(s, tricky, len), 0);
    cr_assert_not_null(
        memmem(w.p, first,
               "\\u0001\\u0002\\b\\f\\u001f \\\"q\\\" \\\\ / <a> & ]]> \\t\\n\\r caf\xc3\xa9", 54));
    cr_assert_eq(json_parse(&d, w.p + first, w.len - first, NULL, &e), 0, "%s", e.msg);
    s = json_get_str(json_root(&d), &len);
    cr_assert_eq(len, 3);
    cr_assert_eq(memcmp(s, "a\0b", 3), 0);
    json_doc_free(&d);
    jw_free(&w);
}

static void check_double(double v, const char *want)
{
    struct jw w = JW_INIT;
    jw_double(&w, v);
    cr_assert_eq(w.err, JW_OK);
    jw_ch(&w, 0);
    if (want) cr_assert_str_eq(w.p, want);
    double back = strtod(w.p, NULL);
    cr_assert(back == v && signbit(back) == signbit(v), "%s does not read back as %.17g", w.p, v);
    jw_free(&w);
}

Test(json_write, numbers)
{
    check_double(0, "0");
    check_double(-0.0, "-0");
    check_double(0.1, "0.1");
    check_double(11.851, "11.851");
    check_double(0.125, "0.125");
    check_double(-2.5, "-2.5");
    check_double(0.30000000000000004, "0.30000000000000004");
    check_double(1e300, "1e+300");
    check_double(5e-324, NULL);
    check_double(DBL_MAX, NULL);
    check_double(123456.789, "123456.789");
    check_double(9007199254740993.0, NULL);
    check_double(1.0 / 3, NULL);
    struct jw w = JW_INIT;
    jw_i64(&w, INT64_MIN);
    jw_ch(&w, ' ');
    jw_u64(&w, UINT64_MAX);
    jw_ch(&w, ' ');
    jw_i64(&w, 0);
    jw_ch(&w, ' ');
    jw_i64(&w, -7);
    jw_ch(&w, 0);
    cr_assert_str_eq(w.p, "-9223372036854775808 18446744073709551615 0 -7");
    jw_reset(&w);
    jw_double(&w, NAN);
    cr_assert_eq(w.err, JW_ERANGE);
    jw_free(&w);
}

Test(json_write, growth_from_empty)
{
    struct jw w = JW_INIT;
    for (int i = 0; i < 100000; i++)
        jw_lit(&w, "0123456789");
    cr_assert_eq(w.err, JW_OK);
    cr_assert_eq(w.len, 1000000);
    jw_free(&w);
}

/* Parses doc with the hand XML parser and returns its --dump (malloc'd). */
static char *xml_dump_of(const char *doc, size_t n)
{
    char *out = NULL;
    size_t olen = 0;
    FILE *f = open_memstream(&out, &olen);
    struct parse_result r = {0};
    int rc = xml_hand_impl.parse((const uint8_t *)doc, n, NULL, &r, f);
    fclose(f);
    cr_assert_eq(rc, 0, "hand XML parser refuses the writer's output: %s", r.err);
    return out;
}

Test(xml_write, text_and_attribute_escapes_round_trip)
{
    /* XML 1.0 has no form for the control characters: the writable part of tricky */
    const char *t = tricky + 5;
    size_t tn = sizeof tricky - 1 - 5;
    struct jw w = JW_INIT;
    jw_lit(&w, "<r");
    xw_attr(&w, "a", t, tn);
    jw_lit(&w, ">");
    size_t text_at = w.len;
    xw_text(&w, t, tn);
    jw_lit(&w, "</r>");
    cr_assert_eq(w.err, JW_OK);
    /* (a raw '>' is fine in an attribute value) */
    cr_assert_null(memmem(w.p + text_at, w.len - text_at, "]]>", 3),
                   "]]> must not appear in character data");
    char *dump = xml_dump_of(w.p, w.len);
    /* the dump escapes \ " LF TAB CR and 0x7f; everything else is as written */
    const char *want = "start r\n"
                       "attr a=\" \\\"q\\\" \\\\ / <a> & ]]> \\t\\n\\r caf\xc3\xa9 \xe2\x86\x92 "
                       "\xf0\x9f\x98\x80 \\x7f\"\n"
                       "text \" \\\"q\\\" \\\\ / <a> & ]]> \\t\\n\\r caf\xc3\xa9 \xe2\x86\x92 "
                       "\xf0\x9f\x98\x80 \\x7f\"\n"
                       "end r\n";
    cr_assert_str_eq(dump, want);
    free(dump);
    jw_free(&w);
}

Test(xml_write, numbers_and_control_chars)
{
    struct jw w = JW_INIT;
    jw_lit(&w, "<r");
    xw_attr_u64(&w, "u", UINT64_MAX);
    xw_attr_i64(&w, "i", INT64_MIN);
    xw_attr_double(&w, "d", 0.125);
    jw_lit(&w, "/>");
    cr_assert_eq(w.err, JW_OK);
    char *dump = xml_dump_of(w.p, w.len);
    cr_assert_str_eq(dump,
                     "start r\nattr u=\"18446744073709551615\"\nattr i=\"-9223372036854775808\"\n"
                     "attr d=\"0.125\"\nend r\n");
    free(dump);
    jw_reset(&w);
    xw_text(&w,
            "a\x01"
            "b",
            3);
    cr_assert_eq(w.err, JW_EINVAL, "a control character has no XML 1.0 form: refused");
    jw_reset(&w);
    xw_attr(&w, "a", "\x1f", 1);
    cr_assert_eq(w.err, JW_EINVAL);
    jw_reset(&w);
    xw_text(&w, "\xef\xbf\xbf", 3); /* U+FFFF: not an XML character */
    cr_assert_eq(w.err, JW_EINVAL);
    jw_reset(&w);
    xw_text(&w, "\xef\xbc\x81\xef", 4); /* U+FF01 passes; a lone trailing 0xEF is copied */
    cr_assert_eq(w.err, JW_OK);
    cr_assert_eq(w.len, 4);
    jw_free(&w);
}
