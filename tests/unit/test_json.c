/* test_json: the hand-written JSON parser's API and edge cases (parsers/json/json.h). */
#include "parsers/json/json.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int parse(struct json_doc *d, const char *s, struct json_error *e)
{
    return json_parse(d, s, strlen(s), NULL, e);
}

Test(json, request_body_accessors)
{
    struct json_doc d = JSON_DOC_INIT;
    struct json_error e;
    cr_assert_eq(
        parse(&d, "{\"work_ms\": 500, \"callback\": \"http://127.0.0.1:9/x\", \"tags\": [1, 2, 3]}",
              &e),
        0);
    int64_t ms = 0;
    cr_assert_eq(json_get_int(json_get(json_root(&d), "work_ms"), &ms), 0);
    cr_assert_eq(ms, 500);
    size_t len;
    const char *cb = json_get_str(json_get(json_root(&d), "callback"), &len);
    cr_assert_str_eq(cb, "http://127.0.0.1:9/x");
    cr_assert_eq(len, 20);
    cr_assert_null(json_get(json_root(&d), "missing"));
    cr_assert_null(json_get_str(json_get(json_root(&d), "work_ms"), NULL));
    const struct json_node *tags = json_get(json_root(&d), "tags");
    cr_assert_eq(tags->len, 3);
    int64_t v;
    cr_assert_eq(json_get_int(json_at(tags, 2), &v), 0);
    cr_assert_eq(v, 3);
    cr_assert_null(json_at(tags, 3));
    json_doc_free(&d);
}

Test(json, iteration_skips_subtrees)
{
    struct json_doc d = JSON_DOC_INIT;
    struct json_error e;
    cr_assert_eq(parse(&d, "[[1,[2]],{\"a\":{\"b\":1}},3]", &e), 0);
    const struct json_node *r = json_root(&d), *c;
    int n = 0;
    for (c = json_first(r); c; c = json_next(r, c))
        n++;
    cr_assert_eq(n, 3);
    cr_assert_eq(r->len, 3);
    cr_assert_eq(d.depth, 3);
    json_doc_free(&d);
}

Test(json, numbers_exact_or_flagged)
{
    struct json_doc d = JSON_DOC_INIT;
    struct json_error e;
    cr_assert_eq(
        parse(&d, "[9223372036854775807,-9223372036854775808,9223372036854775808,0.1,-0,1e2]", &e),
        0);
    const struct json_node *a = json_root(&d);
    cr_assert_eq(json_at(a, 0)->num_kind, JSON_NUM_INT);
    cr_assert_eq(json_at(a, 0)->v.i, INT64_MAX);
    cr_assert_eq(json_at(a, 1)->v.i, INT64_MIN);
    cr_assert_eq(json_at(a, 2)->num_kind, JSON_NUM_BIG);
    cr_assert_eq(json_at(a, 2)->len, 19);
    cr_assert(!memcmp(json_at(a, 2)->s, "9223372036854775808", 19));
    cr_assert_eq(json_at(a, 3)->v.d, 0.1);
    cr_assert_eq(json_at(a, 4)->num_kind, JSON_NUM_DOUBLE);
    cr_assert(signbit(json_at(a, 4)->v.d));
    int64_t i;
    cr_assert_eq(json_get_int(json_at(a, 5), &i), 0);
    cr_assert_eq(i, 100);
    cr_assert_eq(parse(&d, "[1e400]", &e), -1);
    cr_assert_eq(e.offset, 1);
    json_doc_free(&d);
}

Test(json, fast_path_matches_strtod)
{
    static const char *const nums[] = {"0.1",
                                       "1.5e-7",
                                       "123456789.123456789",
                                       "9007199254740993.0",
                                       "2.2250738585072014e-308",
                                       "-65.613616999999977",
                                       "1e22",
                                       "1e23",
                                       "0.30000000000000004",
                                       "179769313486231570000000000000e279",
                                       "-65.613616999999977",
                                       "1.2345678901234567e-20",
                                       "9.999999999999999e26",
                                       "0.1000000000000000055511151231257827",
                                       "4.35413e-20",
                                       "123456789012345678e9"};
    struct json_doc d = JSON_DOC_INIT;
    struct json_error e;
    for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++) {
        cr_assert_eq(parse(&d, nums[k], &e), 0, "%s", nums[k]);
        cr_assert_eq(json_root(&d)->v.d, strtod(nums[k], NULL), "%s", nums[k]);
    }
    /* Random decimals of 1..19 digits with exponents around the fast paths' edges. */
    uint64_t seed = 88172645463325252ull;
    char b[64];
    for (int k = 0; k < 200000; k++) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        int digits = 1 + (int)(seed % 19), ex = (int)((seed >> 8) % 61) - 30;
        unsigned long long mant = (seed >> 3) % 10000000000000000000ull;
        snprintf(b, sizeof b, "%llu.%de%d", mant, (int)(seed >> 40) % 10, ex);
        (void)digits;
        cr_assert_eq(parse(&d, b, &e), 0, "%s", b);
        cr_assert_eq(json_root(&d)->v.d, strtod(b, NULL), "%s", b);
    }
    json_doc_free(&d);
}

/* Every vector path gives the scalar path's answers: the same verdict, error offset
 * and message, the same decoded strings, on a generated set of documents (strings of
 * ASCII, 2-, 3- and 4-byte UTF-8, escapes, and now and then an invalid or truncated
 * sequence, a control character or a stray continuation byte, at every length up to
 * 300 and every alignment). */
Test(json, every_simd_path_gives_the_same_answers)
{
    static const char *const pieces[] = {
        "a",       "ab c",           "\xc3\xa9", "\xe4\xb8\xad", "\xf0\x9f\x98\x80", "\\n",
        "\\u00e9", "\\ud83d\\ude00", " ",        "xyz0123456789"};
    static const char *const bad[] = {"\xc3",     "\xe4\xb8",     "\xf0\x9f\x98",     "\x80",
                                      "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x01",
                                      "\xff",     "\xe0\x80\x80"};
    const enum json_simd paths[] = {JSON_SIMD_NONE, JSON_SIMD_SSE2, JSON_SIMD_BEST};
    struct json_doc d[3] = {JSON_DOC_INIT, JSON_DOC_INIT, JSON_DOC_INIT};
    uint64_t seed = 12345;
    char b[1024];
    for (int t = 0; t < 20000; t++) {
        size_t n = 0;
        int pad = (int)(t % 33);
        b[n++] = '[';
        for (int k = 0; k < pad; k++)
            b[n++] = ' ';
        b[n++] = '"';
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        size_t want = seed % 300;
        while (n < want + (size_t)pad + 2) {
            seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
            const char *piece = seed % 97 == 0 ? bad[(seed >> 8) % 10] : pieces[(seed >> 8) % 10];
            size_t pl = strlen(piece);
            memcpy(b + n, piece, pl);
            n += pl;
        }
        b[n++] = '"';
        b[n++] = ']';
        struct json_error e[3];
        int rc[3];
        for (int k = 0; k < 3; k++) {
            struct json_limits lim = {.simd = paths[k]};
            rc[k] = json_parse(&d[k], b, n, &lim, &e[k]);
        }
        for (int k = 1; k < 3; k++) {
            cr_assert_eq(rc[k], rc[0], "doc %d path %d", t, k);
            if (rc[0]) {
                cr_assert_eq(e[k].offset, e[0].offset, "doc %d path %d", t, k);
                cr_assert_str_eq(e[k].msg, e[0].msg, "doc %d path %d", t, k);
            } else {
                const struct json_node *x = json_at(json_root(&d[0]), 0),
                                       *y = json_at(json_root(&d[k]), 0);
                cr_assert_eq(x->len, y->len, "doc %d path %d", t, k);
                cr_assert(!memcmp(x->s, y->s, x->len), "doc %d path %d", t, k);
            }
        }
    }
    for (int k = 0; k < 3; k++)
        json_doc_free(&d[k]);
}

/* The x87 path past Clinger's: exponents across the whole double range and 20-40 digit
 * mantissas (the first 19 digits and the next integer bound the value), against strtod;
 * and the halfway points it must hand to strtod. */
Test(json, extended_path_matches_strtod)
{
    struct json_doc d = JSON_DOC_INIT;
    struct json_error e;
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    char b[96];
    for (int k = 0; k < 300000; k++) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        int ex = (int)(seed % 640) - 330, digits = 1 + (int)((seed >> 10) % 40);
        uint64_t r = seed;
        int n = 0;
        b[n++] = (char)('1' + (r >> 20) % 9);
        if (digits > 1) b[n++] = '.';
        for (int i = 1; i < digits; i++) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            b[n++] = (char)('0' + r % 10);
        }
        snprintf(b + n, sizeof b - (size_t)n, "e%d", ex);
        double want = strtod(b, NULL);
        if (want > 1.7976931348623157e308) continue; /* out of range: an error, tested apart */
        cr_assert_eq(parse(&d, b, &e), 0, "%s: %s", b, e.msg);
        cr_assert_eq(json_root(&d)->v.d, want, "%s", b);
    }
    /* exact halfway points between two doubles, and just either side of them */
    static const char *const half[] = {"9007199254740993.0",
                                       "9007199254740993.00000000001",
                                       "9007199254740992.99999999999",
                                       "2.2250738585072011e-308",
                                       "4.9406564584124654e-324",
                                       "1.7976931348623158e308",
                                       "5e-324",
                                       "123456789012345678901234"};
    for (size_t k = 0; k < sizeof half / sizeof half[0]; k++) {
        cr_assert_eq(parse(&d, half[k], &e), 0, "%s", half[k]);
        cr_assert_eq(json_root(&d)->v.d, strtod(half[k], NULL), "%s", half[k]);
    }
    json_doc_free(&d);
}

/* The 8-digits-per-step number path, the 16-byte string/whitespace scans and the
 * one-word 3-byte UTF-8 check: hits at every offset inside a vector, and the input's
 * end right after the token. */
Test(json, vector_paths_edges)
{
    struct json_doc d = JSON_DOC_INIT;
    struct json_error e;
    char b[256];
    for (int nd = 1; nd <= 21; nd++) {
        char num[32];
        for (int k = 0; k < nd; k++)
            num[k] = (char)('1' + (k * 7) % 9);
        num[nd] = 0;
        for (int tail = 0; tail < 3; tail++) {
            snprintf(b, sizeof b, tail == 0 ? "%s" : tail == 1 ? "[%s]" : "[%s ,0.5]", num);
            cr_assert_eq(parse(&d, b, &e), 0, "%s", b);
            const struct json_node *n = tail ? json_at(json_root(&d), 0) : json_root(&d);
            if (nd <= 19) { /* the 19-digit one is below INT64_MAX */
                cr_assert_eq(n->num_kind, JSON_NUM_INT, "%s", b);
                cr_assert_eq(n->v.i, strtoll(num, NULL, 10), "%s", b);
            } else {
                cr_assert_eq(n->len, (uint32_t)nd, "%s", b);
                cr_assert_eq(n->v.d, strtod(num, NULL), "%s", b);
            }
            snprintf(b, sizeof b, tail ? "[0.000%s]" : "-0.000%s", num);
            cr_assert_eq(parse(&d, b, &e), 0, "%s", b);
            n = tail ? json_at(json_root(&d), 0) : json_root(&d);
            cr_assert_eq(n->v.d, strtod(b + (tail ? 1 : 0), NULL), "%s", b);
            snprintf(b, sizeof b, "%s.%s%se-7", num, num, num);
            cr_assert_eq(parse(&d, b, &e), 0, "%s", b);
            cr_assert_eq(json_root(&d)->v.d, strtod(b, NULL), "%s", b);
        }
    }
    cr_assert_eq(parse(&d, "[12345678a]", &e), -1);
    cr_assert_eq(parse(&d, "[1.12345678.5]", &e), -1);
    for (int at = 0; at < 40; at++) {
        /* A control character inside a string or a whitespace run is an error at its offset. */
        memset(b, 'x', sizeof b);
        b[0] = '"';
        b[1 + at] = 0x1f;
        b[60] = '"';
        b[61] = 0;
        cr_assert_eq(parse(&d, b, &e), -1);
        cr_assert_eq(e.offset, (size_t)(1 + at));
        memset(b, ' ', 60);
        b[0] = '[';
        b[1 + at] = 0x01;
        b[60] = ']';
        b[61] = 0;
        cr_assert_eq(parse(&d, b, &e), -1);
        cr_assert_eq(e.offset, (size_t)(1 + at));
        b[1 + at] = '\n';
        cr_assert_eq(parse(&d, b, &e), 0); /* an empty array across a newline */
        cr_assert_eq(json_root(&d)->len, 0);
        memset(b, ' ', 60);
        b[0] = '[';
        b[1 + at] = '7';
        b[60] = ']';
        cr_assert_eq(parse(&d, b, &e), 0, "at %d", at);
        cr_assert_eq(json_at(json_root(&d), 0)->v.i, 7);
    }
    /* 3-byte sequences: the one-word check must reject what RFC 3629 rejects. */
    static const char *const bad[] = {"\"\xe0\x80\x80xx\"", "\"\xed\xa0\x80xx\"", "\"\xe3\x81xxx\"",
                                      "\"\xe3\xc1\x82xx\"", "\"\xe3\x81\x02xx\""};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        cr_assert_eq(parse(&d, bad[k], &e), -1, "bad[%zu]", k);
    cr_assert_eq(parse(&d,
                       "\"\xe3\x81\x82\xe3\x81\x84\xef\xbf\xbd\xe0\xa0\x80\xed\x9f\xbf"
                       "a\"",
                       &e),
                 0);
    cr_assert_eq(json_root(&d)->len, 16);
    json_doc_free(&d);
}

Test(json, strings_decoded)
{
    struct json_doc d = JSON_DOC_INIT;
    struct json_error e;
    cr_assert_eq(parse(&d, "\"a\\u0000b\\ud83d\\ude00\\n\"", &e), 0);
    size_t len;
    const char *s = json_get_str(json_root(&d), &len);
    cr_assert_eq(len, 8);
    cr_assert(!memcmp(s, "a\0b\xf0\x9f\x98\x80\n", 8));
    cr_assert_eq(parse(&d, "\"\\ud800x\"", &e), -1);
    cr_assert_eq(parse(&d, "\"\xed\xa0\x80\"", &e), -1);
    cr_assert_eq(e.offset, 1);
    json_doc_free(&d);
}

/* A trailing comma (JSON5, JavaScript) is not JSON: refused at the bracket or brace that
 * follows it, in arrays and objects, nested, after whitespace, and after runs of values
 * long enough to take the parser's vector paths. */
Test(json, trailing_comma_refused_where_it_ends)
{
    static const struct {
        const char *in;
        size_t offset;
        const char *msg;
    } bad[] = {
        {"[1,]", 3, "value expected"},
        {"[1,2,]", 5, "value expected"},
        {"[ 1 , ]", 6, "value expected"},
        {"[1,\n]", 4, "value expected"},
        {"[[1,],2]", 4, "value expected"},
        {"[\"a\",]", 5, "value expected"},
        {"[,]", 1, "value expected"},
        {"[1,,2]", 3, "value expected"},
        {"{\"a\":1,}", 7, "key"},
        {"{\"a\":1 , }", 9, "key"},
        {"{\"a\":{\"b\":[],},\"c\":1}", 13, "key"},
        {"{,}", 1, "key"},
        {"{\"a\":1,,\"b\":2}", 7, "key"},
        {"[{\"a\":1,}]", 8, "key"},
        {"{\"a\":[1,],\"b\":2}", 8, "value expected"},
    };
    struct json_doc d = JSON_DOC_INIT;
    struct json_error e;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(parse(&d, bad[i].in, &e), -1, "%s accepted", bad[i].in);
        cr_assert_eq(e.offset, bad[i].offset, "%s: offset %zu", bad[i].in, e.offset);
        cr_assert(strstr(e.msg, bad[i].msg), "%s: %s", bad[i].in, e.msg);
    }
    /* the same without the comma is valid */
    cr_assert_eq(parse(&d, "[1,2]", &e), 0);
    cr_assert_eq(parse(&d, "{\"a\":1 }", &e), 0);
    char buf[512];
    for (int n = 1; n <= 60; n++) { /* [0,0,...,0,] and {"k0":0,...,"kN":0,} */
        size_t at = 0;
        buf[at++] = '[';
        for (int i = 0; i < n; i++)
            at += (size_t)snprintf(buf + at, sizeof(buf) - at, "%d,", i * 7919);
        buf[at++] = ']';
        cr_assert_eq(json_parse(&d, buf, at, NULL, &e), -1, "%d values, then ',]' accepted", n);
        cr_assert_eq(e.offset, at - 1, "%d values: offset %zu of %zu", n, e.offset, at);
        at = 0;
        buf[at++] = '{';
        for (int i = 0; i < n && at < sizeof(buf) - 16; i++)
            at += (size_t)snprintf(buf + at, sizeof(buf) - at, "\"k%d\":%d,", i, i);
        buf[at++] = '}';
        cr_assert_eq(json_parse(&d, buf, at, NULL, &e), -1, "%d members, then ',}' accepted", n);
        cr_assert_eq(e.offset, at - 1, "%d members: offset %zu of %zu", n, e.offset, at);
    }
    json_doc_free(&d);
}

Test(json, depth_limit_fast_clear_error)
{
    size_t n = 1000000;
    char *s = malloc(n);
    memset(s, '[', n);
    struct json_doc d = JSON_DOC_INIT;
    struct json_error e;
    cr_assert_eq(json_parse(&d, s, n, NULL, &e), -1);
    cr_assert_eq(e.offset, JSON_DEFAULT_MAX_DEPTH);
    cr_assert(strstr(e.msg, "deep"));
    struct json_limits lim = {.max_depth = 3};
    cr_assert_eq(json_parse(&d, "[[[]]]", 6, &lim, &e), 0);
    cr_assert_eq(json_parse(&d, "[[[[]]]]", 8, &lim, &e), -1);
    free(s);
    json_doc_free(&d);
}

/* Every prefix of a valid document, placed right against a PROT_NONE page, must
 * be rejected without reading past its end. */
Test(json, prefixes_against_guard_page)
{
    const char *doc = "{\"a\":[1,-2.5e3,\"x\\u00e9\xc3\xa9\",true,false,null],\"b\":{}}";
    size_t n = strlen(doc), pg = (size_t)sysconf(_SC_PAGESIZE);
    uint8_t *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(m, MAP_FAILED);
    mprotect(m + pg, pg, PROT_NONE);
    struct json_doc d = JSON_DOC_INIT;
    struct json_error e;
    for (size_t k = 0; k <= n; k++) {
        char *at = (char *)m + pg - k;
        memcpy(at, doc, k);
        int rc = json_parse(&d, at, k, NULL, &e);
        cr_assert_eq(rc, k == n ? 0 : -1, "prefix %zu", k);
    }
    json_doc_free(&d);
    munmap(m, 2 * pg);
}

Test(json, dump_canonical)
{
    struct json_doc d = JSON_DOC_INIT;
    struct json_error e;
    cr_assert_eq(parse(&d, " { \"b\" : [ 1.50 , 1e2, \"\\u0001\\\"\" ] , \"a\" : { } } ", &e), 0);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    json_dump(&d, f);
    fclose(f);
    cr_assert_str_eq(out, "{\"b\":[1.5,100,\"\\u0001\\\"\"],\"a\":{}}\n");
    free(out);
    json_doc_free(&d);
}
