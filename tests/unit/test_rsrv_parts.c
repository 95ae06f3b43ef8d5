/* Unit tests for the parts of io/rsrv both Redis-protocol servers use: glob (Redis's
 * stringmatchlen semantics, binary-safe, any length), dict (with SCAN), oblimit. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "io/rsrv/dict.h"
#include "io/rsrv/glob.h"
#include "io/rsrv/oblimit.h"

static int m(const char *p, const char *s)
{
    return glob_match(p, strlen(p), s, strlen(s));
}

Test(glob, literals_and_question_mark)
{
    cr_assert(m("news", "news"));
    cr_assert(!m("news", "new"));
    cr_assert(!m("new", "news"));
    cr_assert(m("n?ws", "news"));
    cr_assert(!m("n?ws", "nws"));
    cr_assert(m("", ""));
    cr_assert(!m("", "a"));
}

Test(glob, stars)
{
    cr_assert(m("*", ""));
    cr_assert(m("*", "anything"));
    cr_assert(m("n*", "news"));
    cr_assert(m("n*s", "news"));
    cr_assert(m("*s", "news"));
    cr_assert(!m("*x", "news"));
    cr_assert(m("a*b*c", "aXXbYYc"));
    cr_assert(!m("a*b*c", "aXXbYY"));
    cr_assert(m("***a", "a"));
    cr_assert(m("a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaab"));
    cr_assert(!m("a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

Test(glob, bracket_sets)
{
    cr_assert(m("[abc]x", "bx"));
    cr_assert(!m("[abc]x", "dx"));
    cr_assert(m("[^abc]x", "dx"));
    cr_assert(!m("[^abc]x", "ax"));
    cr_assert(m("h[a-e]llo", "hello"));
    cr_assert(!m("h[a-e]llo", "hxllo"));
    cr_assert(m("h[e-a]llo", "hello"), "reversed ranges work as in Redis");
    cr_assert(m("[\\]]", "]"));
    cr_assert(m("[abc", "a"), "an unterminated set ends at the end of the pattern");
}

Test(glob, escapes)
{
    cr_assert(m("h\\*llo", "h*llo"));
    cr_assert(!m("h\\*llo", "hello"));
    cr_assert(m("a\\?", "a?"));
    cr_assert(!m("a\\?", "ab"));
    cr_assert(m("ab\\", "ab\\"), "a trailing backslash is literal");
}

Test(glob, binary_safe)
{
    cr_assert(glob_match("a\0*", 3, "a\0zz", 4));
    cr_assert(!glob_match("a\0*", 3, "a\1zz", 4));
}

/* KEYS with a long pattern: a 600-byte pattern and key, no copy into a fixed buffer. */
Test(glob, long_patterns_and_keys)
{
    char key[700], pat[700];
    memset(key, 'k', 650);
    memcpy(key + 300, "MID", 3);
    memset(pat, 'k', 600);
    memcpy(pat + 300, "M?D", 3);
    pat[599] = '*';
    cr_assert(glob_match(pat, 600, key, 650));
    pat[0] = 'x';
    cr_assert(!glob_match(pat, 600, key, 650));
}

Test(oblimit, hard_limit_cuts_at_once)
{
    struct oblimit l = {1000, 100, 60};
    uint64_t since = 0;
    cr_assert(!oblimit_over(&l, 999, &since, 5000));
    cr_assert(oblimit_over(&l, 1000, &since, 5000));
}

Test(oblimit, soft_limit_needs_to_last)
{
    struct oblimit l = {0, 100, 2};
    uint64_t since = 0;
    cr_assert(!oblimit_over(&l, 150, &since, 10000), "first time above soft starts the clock");
    cr_assert_eq(since, 10000);
    cr_assert(!oblimit_over(&l, 150, &since, 12000), "2 s is not more than 2 s");
    cr_assert(oblimit_over(&l, 150, &since, 12001));
    since = 0;
    cr_assert(!oblimit_over(&l, 150, &since, 20000));
    cr_assert(!oblimit_over(&l, 50, &since, 21000), "dropping below soft resets the clock");
    cr_assert_eq(since, 0);
    cr_assert(!oblimit_over(&l, 150, &since, 23000));
}

Test(oblimit, zero_disables)
{
    struct oblimit l = {0, 0, 0};
    uint64_t since = 0;
    cr_assert(!oblimit_over(&l, (size_t)1 << 40, &since, 1));
}

Test(oblimit, parse_redis_sizes)
{
    struct oblimit l;
    cr_assert_eq(oblimit_parse("32mb", "8mb", "60", &l), 0);
    cr_assert_eq(l.hard, 32u << 20);
    cr_assert_eq(l.soft, 8u << 20);
    cr_assert_eq(l.soft_secs, 60);
    size_t v;
    cr_assert_eq(oblimit_parse_size("1k", &v), 0);
    cr_assert_eq(v, 1000);
    cr_assert_eq(oblimit_parse_size("1KB", &v), 0);
    cr_assert_eq(v, 1024);
    cr_assert_eq(oblimit_parse_size("1gb", &v), 0);
    cr_assert_eq(v, 1u << 30);
    cr_assert_lt(oblimit_parse_size("12x", &v), 0);
    cr_assert_lt(oblimit_parse_size("-1", &v), 0);
    cr_assert_lt(oblimit_parse("1mb", "1mb", "x", &l), 0);
}

static void count_entry(void *arg, const struct dict_entry *e)
{
    int *seen = arg;
    seen[atoi(e->key)]++;
}

/* SCAN's promise: a key present for the whole scan is returned, whatever the table does
 * meanwhile (here it doubles twice between calls). */
Test(dict, scan_sees_every_key_across_growth)
{
    struct dict d;
    dict_init(&d);
    static int seen[4000];
    char k[16];
    for (int i = 0; i < 1000; i++)
        dict_put(&d, k, (size_t)snprintf(k, sizeof(k), "%d", i), NULL);
    uint64_t cur = 0;
    int calls = 0, grown = 0;
    do {
        cur = dict_scan(&d, cur, 10, count_entry, seen);
        calls++;
        if (calls == 5 && !grown) { /* keys 1000.. are added mid-scan: the table doubles */
            for (int i = 1000; i < 4000; i++)
                dict_put(&d, k, (size_t)snprintf(k, sizeof(k), "%d", i), NULL);
            grown = 1;
        }
    } while (cur != 0);
    for (int i = 0; i < 1000; i++)
        cr_assert_geq(seen[i], 1, "key %d never returned", i);
    cr_assert_gt(calls, 10, "a count of 10 must take many calls (%d)", calls);
    dict_free(&d, NULL);
}

Test(dict, put_get_del_binary_keys)
{
    struct dict d;
    dict_init(&d);
    int v1, v2;
    cr_assert_eq(dict_put(&d, "a\0b", 3, &v1), 1);
    cr_assert_eq(dict_put(&d, "a\0c", 3, &v2), 1);
    cr_assert_eq(dict_put(&d, "a\0b", 3, &v2), 0, "replaced");
    cr_assert_eq(dict_get(&d, "a\0b", 3), &v2);
    cr_assert_null(dict_get(&d, "a", 1));
    cr_assert_eq(dict_del(&d, "a\0c", 3), &v2);
    cr_assert_eq(d.n, 1);
    dict_free(&d, NULL);
}
