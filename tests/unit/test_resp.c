/* Unit tests for parsers/resp: every byte split, malformed frames with Redis 7's words, limits,
 * more arguments than 1,024, the reply parser, encoders. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "parsers/resp/resp.h"

/* Feeds `in` to a parser in chunks whose sizes come from `split` (0 = all at once,
 * 1 = byte by byte, k = first chunk of k bytes then the rest) the way a server does:
 * append, parse until -2, drop consumed bytes.  Writes one line per command to out:
 * args joined by '|'.  Returns -1 on a protocol error (its text in fatal), 1 when bytes
 * of an incomplete frame are left. */
static int feed(const char *in, size_t n, size_t split, int bytewise, char *out, size_t outcap,
                const struct resp_limits *lim, char *fatal)
{
    struct resp_parser *p = malloc(sizeof(*p));
    resp_init(p, lim);
    char *buf = malloc(n + 1);
    size_t have = 0, given = 0, o = 0;
    int rc = 0;
    out[0] = 0;
    while (given < n) {
        size_t chunk = bytewise ? 1 : (split && given == 0 ? split : n - given);
        if (chunk > n - given) chunk = n - given;
        memcpy(buf + have, in + given, chunk);
        have += chunk;
        given += chunk;
        for (;;) {
            ssize_t r = resp_parse(p, buf, have);
            if (r == -2) break;
            if (r < 0) {
                snprintf(fatal, 200, "%s", p->err);
                rc = -1;
                goto out;
            }
            if (p->argc > 0) {
                for (int i = 0; i < p->argc; i++)
                    o += (size_t)snprintf(out + o, outcap - o, "%s%.*s", i ? "|" : "",
                                          (int)p->argl[i], p->argv[i]);
                o += (size_t)snprintf(out + o, outcap - o, "\n");
            }
            memmove(buf, buf + r, have - (size_t)r);
            have -= (size_t)r;
        }
    }
    if (have) rc = 1; /* leftover incomplete bytes */
out:
    free(buf);
    resp_free(p);
    free(p);
    return rc;
}

static void every_split(const char *in, const char *want)
{
    size_t n = strlen(in);
    char out[4096], fatal[200];
    for (size_t k = 0; k <= n; k++) {
        cr_assert_eq(feed(in, n, k, 0, out, sizeof(out), NULL, fatal), 0, "split %zu", k);
        cr_assert_str_eq(out, want, "split at %zu", k);
    }
    cr_assert_eq(feed(in, n, 0, 1, out, sizeof(out), NULL, fatal), 0);
    cr_assert_str_eq(out, want, "byte by byte");
}

Test(resp, multibulk_pipeline_every_split)
{
    every_split("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nv\r\nxy\r\n*1\r\n$4\r\nPING\r\n"
                "*2\r\n$3\r\nGET\r\n$0\r\n\r\n",
                "SET|k|v\r\nxy\nPING\nGET|\n");
}

Test(resp, inline_every_split)
{
    every_split("PING\r\nSET  k \"a b\\n\\x41\"\nGET 'it\\'s'\r\n\r\n\n",
                "PING\nSET|k|a b\nA\nGET|it's\n");
}

/* As redis-server 7 splits: \v and \f are skipped between words and after a quote, but
 * do not end an unquoted word. */
Test(resp, inline_vertical_tab_and_form_feed_as_redis)
{
    every_split("\vPING\r\nPING\vx\r\nECHO \fa\r\nECHO \"a\"\v\r\n",
                "PING\nPING\vx\nECHO|a\nECHO|a\n");
}

Test(resp, mixed_inline_and_multibulk_and_empty_frames)
{
    every_split("*0\r\n*-1\r\nPING\r\n*1\r\n$4\r\nPING\r\n", "PING\nPING\n");
}

static void fatal_case(const char *in, const char *want)
{
    char out[1024], fatal[200] = "";
    size_t n = strlen(in);
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        cr_assert_eq(feed(in, n, 0, bytewise, out, sizeof(out), NULL, fatal), -1, "input %s", in);
        cr_assert_str_eq(fatal, want, "input %s", in);
    }
}

/* Each input below was sent to redis-server 7.0.15; the error is the one it answers. */
Test(resp, malformed_frames_are_fatal_with_redis_wording)
{
    fatal_case("*2\r\n$3\r\nGET\r\n:5\r\n", "ERR Protocol error: expected '$', got ':'");
    fatal_case("*1\r\nX\r\n", "ERR Protocol error: expected '$', got 'X'");
    fatal_case("*1\r\n\n\r\n", "ERR Protocol error: expected '$', got ' '");
    fatal_case("*abc\r\n", "ERR Protocol error: invalid multibulk length");
    fatal_case("*01\r\n", "ERR Protocol error: invalid multibulk length");
    fatal_case("*-0\r\n", "ERR Protocol error: invalid multibulk length");
    fatal_case("*+1\r\n", "ERR Protocol error: invalid multibulk length");
    fatal_case("*2147483648\r\n", "ERR Protocol error: invalid multibulk length");
    fatal_case("*11111111111111111111111111111111111111111\r\n",
               "ERR Protocol error: invalid multibulk length");
    fatal_case("*1\r\n$-5\r\n", "ERR Protocol error: invalid bulk length");
    fatal_case("*1\r\n$-1\r\n", "ERR Protocol error: invalid bulk length");
    fatal_case("*1\r\n$04\r\n", "ERR Protocol error: invalid bulk length");
    fatal_case("*1\r\n$+4\r\n", "ERR Protocol error: invalid bulk length");
    fatal_case("*1\r\n$x\r\n", "ERR Protocol error: invalid bulk length");
    fatal_case("*1\r\n$111111111111111111111111111111111111111\r\n",
               "ERR Protocol error: invalid bulk length");
    fatal_case("SET \"abc\r\nPING\r\n", "ERR Protocol error: unbalanced quotes in request");
    fatal_case("SET a \"b\"c\r\n", "ERR Protocol error: unbalanced quotes in request");
    fatal_case("SET 'x\r\n", "ERR Protocol error: unbalanced quotes in request");
    /* stricter than Redis (which skips whatever two bytes follow): */
    fatal_case("*1\r\n$3\r\nGETxx", "ERR Protocol error: bulk string not followed by CRLF");
    fatal_case("*1\r\n$3\r\nGET\rX", "ERR Protocol error: bulk string not followed by CRLF");
    fatal_case("*1\rX", "ERR Protocol error: invalid multibulk length");
}

/* Redis waits, as here, until a count line has its CR (up to 64 KiB) and the byte after
 * it; only then is a bulk header's first byte checked. */
Test(resp, count_lines_wait_for_their_cr_then_name_the_limit)
{
    char out[256], fatal[200];
    const char *wait[] = {"*1111111111111111111111111111111111111111", "*1\r\nX", "*1\r\nX\r",
                          "*1\r"};
    for (size_t i = 0; i < sizeof(wait) / sizeof(wait[0]); i++)
        cr_assert_eq(feed(wait[i], strlen(wait[i]), 0, 1, out, sizeof(out), NULL, fatal), 1, "%s",
                     wait[i]);
    char *big = malloc(70000);
    big[0] = '*';
    memset(big + 1, '1', 69999);
    cr_assert_eq(feed(big, 70000, 0, 0, out, sizeof(out), NULL, fatal), -1);
    cr_assert_str_eq(fatal, "ERR Protocol error: too big mbulk count string");
    memcpy(big, "*1\r\n$", 5);
    cr_assert_eq(feed(big, 70000, 0, 0, out, sizeof(out), NULL, fatal), -1);
    cr_assert_str_eq(fatal, "ERR Protocol error: too big bulk count string");
    memset(big, 'a', 70000);
    cr_assert_eq(feed(big, 70000, 0, 0, out, sizeof(out), NULL, fatal), -1);
    cr_assert_str_eq(fatal, "ERR Protocol error: too big inline request");
    free(big);
}

Test(resp, limits_name_the_limit)
{
    struct resp_limits lim = {.max_args = 3, .max_bulk = 10, .max_inline = 16};
    char out[1024], fatal[200];
    const char *a = "*4\r\n";
    cr_assert_eq(feed(a, strlen(a), 0, 0, out, sizeof(out), &lim, fatal), -1);
    cr_assert_str_eq(fatal, "ERR Protocol error: 4 arguments over the limit of 3");
    const char *b = "*1\r\n$11\r\n";
    cr_assert_eq(feed(b, strlen(b), 0, 0, out, sizeof(out), &lim, fatal), -1);
    cr_assert_str_eq(fatal, "ERR Protocol error: invalid bulk length");
    const char *c = "SET aaaaaaaaaaaaaaaaaaaaaaaa";
    cr_assert_eq(feed(c, strlen(c), 0, 1, out, sizeof(out), &lim, fatal), -1);
    cr_assert_str_eq(fatal, "ERR Protocol error: too big inline request");
    const char *d = "a b c d\r\n";
    cr_assert_eq(feed(d, strlen(d), 0, 0, out, sizeof(out), &lim, fatal), -1);
    cr_assert_str_eq(fatal, "ERR Protocol error: too many arguments in inline request (limit 3)");
    /* exactly at the limits is fine */
    const char *e = "*3\r\n$10\r\n0123456789\r\n$0\r\n\r\n$1\r\nx\r\n";
    cr_assert_eq(feed(e, strlen(e), 0, 1, out, sizeof(out), &lim, fatal), 0);
    cr_assert_str_eq(out, "0123456789||x\n");
}

/* Redis takes commands of up to INT_MAX arguments; this parser up to RESP_ARGS_MAX, with
 * arrays that grow as arguments arrive (a declared count allocates nothing). */
Test(resp, far_more_than_1024_arguments)
{
    const int n = 70000;
    size_t cap = (size_t)n * 16 + 32, len = 0;
    char *in = malloc(cap);
    len += (size_t)snprintf(in + len, cap - len, "*%d\r\n", n);
    for (int i = 0; i < n; i++) {
        char num[16];
        int k = snprintf(num, sizeof(num), "%d", i);
        len += (size_t)snprintf(in + len, cap - len, "$%d\r\n%s\r\n", k, num);
    }
    struct resp_parser p;
    resp_init(&p, NULL);
    cr_assert_eq(resp_parse(&p, in, len), (ssize_t)len);
    cr_assert_eq(p.argc, n);
    cr_assert_eq(p.argl[n - 1], 5);
    cr_assert_eq(memcmp(p.argv[n - 1], "69999", 5), 0);
    cr_assert_eq(memcmp(p.argv[1024], "1024", 4), 0);
    resp_free(&p);
    resp_init(&p, NULL);
    char declared[] = "*1048576\r\n$1\r\na\r\n";
    cr_assert_eq(resp_parse(&p, declared, strlen(declared)), -2);
    cr_assert_leq(p.cap, 16, "a declared count must not allocate (cap %zu)", p.cap);
    resp_free(&p);
    resp_init(&p, NULL);
    char over[] = "*1048577\r\n";
    cr_assert_eq(resp_parse(&p, over, strlen(over)), -1);
    cr_assert_str_eq(p.err, "ERR Protocol error: 1048577 arguments over the limit of 1048576");
    resp_free(&p);
    free(in);
}

Test(resp, incomplete_returns_minus_two_and_resumes_after_buffer_move)
{
    struct resp_parser p;
    resp_init(&p, NULL);
    char a[64] = "*2\r\n$3\r\nGET\r\n$2\r\nk";
    cr_assert_eq(resp_parse(&p, a, strlen(a)), -2);
    char *b = malloc(64); /* the caller's buffer moved (realloc) */
    strcpy(b, a);
    strcat(b, "k\r\nrest");
    ssize_t r = resp_parse(&p, b, strlen(b));
    cr_assert_eq(r, (ssize_t)strlen(b) - 4);
    cr_assert_eq(p.argc, 2);
    cr_assert(p.argv[1] >= b && p.argv[1] < b + 64);
    cr_assert_eq(memcmp(p.argv[1], "kk", 2), 0);
    resp_free(&p);
    free(b);
}

/* The last byte of the frame sits right before a PROT_NONE page: any over-read faults. */
Test(resp, guard_page_no_over_read)
{
    long pg = sysconf(_SC_PAGESIZE);
    char *m =
        mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(m, MAP_FAILED);
    cr_assert_eq(mprotect(m + pg, (size_t)pg, PROT_NONE), 0);
    const char *frames[] = {"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
                            "GET \"k",
                            "*1\r\n$3\r\nGET\r",
                            "*1\r\n$3\r\nGE",
                            "*1",
                            "GET k\r\n",
                            "*1\r\n$3\r\nGETX"};
    for (size_t f = 0; f < sizeof(frames) / sizeof(frames[0]); f++) {
        size_t n = strlen(frames[f]);
        for (size_t k = 1; k <= n; k++) {
            char *at = m + pg - k;
            memcpy(at, frames[f], k);
            struct resp_parser p;
            resp_init(&p, NULL);
            (void)resp_parse(&p, at, k);
            resp_free(&p);
        }
    }
    munmap(m, (size_t)pg * 2);
}

Test(resp, encoders)
{
    struct resp_out o;
    resp_out_init(&o, 0);
    cr_assert_eq(resp_add_simple(&o, "OK"), 0);
    resp_add_error(&o, "ERR bad\r\ninjected");
    resp_add_int(&o, -42);
    resp_add_bulk(&o, "a\0b", 3);
    resp_add_null(&o);
    resp_add_array(&o, 2);
    resp_add_cstr(&o, "");
    resp_add_null_array(&o);
    resp_add_errorf(&o, "ERR %d", 7);
    const char want[] =
        "+OK\r\n-ERR bad\r\n:-42\r\n$3\r\na\0b\r\n$-1\r\n*2\r\n$0\r\n\r\n*-1\r\n-ERR 7\r\n";
    cr_assert_eq(o.len, sizeof(want) - 1);
    cr_assert_eq(memcmp(o.data, want, o.len), 0);
    resp_out_consume(&o, 5);
    cr_assert_eq(memcmp(o.data, "-ERR bad", 8), 0);
    resp_out_free(&o);
}

Test(resp, encoder_limit_sets_overflow_and_appends_nothing)
{
    struct resp_out o;
    resp_out_init(&o, 16);
    cr_assert_eq(resp_add_simple(&o, "0123456789"), 0); /* 13 bytes */
    cr_assert_eq(resp_add_bulk(&o, "xy", 2), -1);
    cr_assert(o.overflow);
    cr_assert_eq(o.len, 13);
    resp_out_free(&o);
}

Test(resp, add_argv_writes_a_whole_command_or_nothing)
{
    struct resp_out o;
    resp_out_init(&o, 0);
    const char *argv[] = {"SET", "k", "v\r\n"};
    cr_assert_eq(resp_add_argv(&o, 3, argv, NULL), 0);
    const char want[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nv\r\n\r\n";
    cr_assert_eq(o.len, sizeof(want) - 1);
    cr_assert_eq(memcmp(o.data, want, o.len), 0);
    resp_out_free(&o);
    resp_out_init(&o, 20);
    cr_assert_eq(resp_add_argv(&o, 3, argv, NULL), -1);
    cr_assert_eq(o.len, 0, "a partial command was left (%zu bytes)", o.len);
    cr_assert(o.overflow);
    resp_out_free(&o);
}

/* ---- the reply parser ---- */

/* Parses `in` fed in chunks as feed() does; prints the elements in pre-order. */
static int reply_feed(const char *in, size_t n, size_t split, int bytewise, char *out,
                      size_t outcap, char *err)
{
    struct resp_reply r;
    resp_reply_init(&r, 0, 0);
    char *buf = malloc(n + 1);
    size_t have = 0, given = 0, o = 0;
    int rc = 0;
    out[0] = 0;
    while (given < n) {
        size_t chunk = bytewise ? 1 : (split && given == 0 ? split : n - given);
        if (chunk > n - given) chunk = n - given;
        memcpy(buf + have, in + given, chunk);
        have += chunk;
        given += chunk;
        for (;;) {
            ssize_t k = resp_reply_parse(&r, buf, have);
            if (k == -2) break;
            if (k < 0) {
                snprintf(err, 128, "%s", r.err);
                rc = -1;
                goto out;
            }
            for (size_t i = 0; i < r.nelem; i++) {
                const struct resp_elem *e = &r.elem[i];
                if (e->null)
                    o += (size_t)snprintf(out + o, outcap - o, "%cnil ", e->type);
                else if (e->type == ':' || e->type == '*')
                    o += (size_t)snprintf(out + o, outcap - o, "%c%lld ", e->type, e->n);
                else
                    o += (size_t)snprintf(out + o, outcap - o, "%c%.*s ", e->type, (int)e->n, e->p);
            }
            o += (size_t)snprintf(out + o, outcap - o, "|");
            memmove(buf, buf + k, have - (size_t)k);
            have -= (size_t)k;
        }
    }
    if (have) rc = 1;
out:
    resp_reply_free(&r);
    free(buf);
    return rc;
}

Test(resp, reply_parser_every_split)
{
    const char *in = "+OK\r\n-ERR no\r\n:-42\r\n$5\r\nhe\r\no\r\n$-1\r\n*-1\r\n*0\r\n"
                     "*2\r\n*2\r\n$1\r\na\r\n:1\r\n*1\r\n$0\r\n\r\n:7\r\n";
    const char *want = "+OK |-ERR no |:-42 |$he\r\no |$nil |*nil |*0 |"
                       "*2 *2 $a :1 *1 $ |:7 |";
    size_t n = strlen(in);
    char out[1024], err[128];
    for (size_t k = 0; k <= n; k++) {
        cr_assert_eq(reply_feed(in, n, k, 0, out, sizeof(out), err), 0, "split %zu", k);
        cr_assert_str_eq(out, want, "split %zu", k);
    }
    cr_assert_eq(reply_feed(in, n, 0, 1, out, sizeof(out), err), 0);
    cr_assert_str_eq(out, want, "byte by byte");
}

Test(resp, reply_parser_walks_siblings)
{
    /* XREADGROUP's shape: [[key, [[id, [f, v]], [id, [f, v]]]]] */
    const char in[] = "*1\r\n*2\r\n$1\r\nq\r\n*2\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
                      "*2\r\n$3\r\n2-0\r\n*2\r\n$1\r\nf\r\n$1\r\nw\r\n";
    struct resp_reply r;
    resp_reply_init(&r, 0, 0);
    cr_assert_eq(resp_reply_parse(&r, in, sizeof(in) - 1), (ssize_t)sizeof(in) - 1);
    cr_assert_eq(r.nelem, 14);
    cr_assert_eq(resp_reply_skip(&r, 0), 14);
    size_t entries = 3; /* [[id, fields], ...] */
    cr_assert_eq(r.elem[entries].type, '*');
    size_t e1 = entries + 1, e2 = resp_reply_skip(&r, e1);
    cr_assert_eq(memcmp(r.elem[e1 + 1].p, "1-0", 3), 0);
    cr_assert_eq(memcmp(r.elem[e2 + 1].p, "2-0", 3), 0);
    cr_assert_eq(e2, 9);
    cr_assert_eq(resp_reply_skip(&r, e2), 14);
    resp_reply_free(&r);
}

Test(resp, reply_parser_refuses_bad_replies)
{
    const char *bad[] = {"?x\r\n", "$3\r\nabcd\r\n",           ":12a\r\n", "$-2\r\n", "*-3\r\n",
                         "+OK\rX", "$99999999999999999999\r\n"};
    char out[256], err[128];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(reply_feed(bad[i], strlen(bad[i]), 0, 0, out, sizeof(out), err), -1, "%s",
                     bad[i]);
        cr_assert_neq(err[0], 0);
    }
    /* bounds: elements and depth */
    struct resp_reply r;
    resp_reply_init(&r, 3, 0);
    const char four[] = "*4\r\n:1\r\n:2\r\n:3\r\n:4\r\n";
    cr_assert_eq(resp_reply_parse(&r, four, sizeof(four) - 1), -1);
    resp_reply_free(&r);
    resp_reply_init(&r, 0, 0);
    char deep[200] = "";
    for (int i = 0; i <= RESP_REPLY_DEPTH; i++)
        strcat(deep, "*1\r\n");
    strcat(deep, ":1\r\n");
    cr_assert_eq(resp_reply_parse(&r, deep, strlen(deep)), -1);
    cr_assert(strstr(r.err, "nested"), "%s", r.err);
    resp_reply_free(&r);
}

/* Every prefix of a reply ending right before a PROT_NONE page: no over-read. */
Test(resp, reply_parser_guard_page)
{
    long pg = sysconf(_SC_PAGESIZE);
    char *m =
        mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(m, MAP_FAILED);
    cr_assert_eq(mprotect(m + pg, (size_t)pg, PROT_NONE), 0);
    const char *replies[] = {"*2\r\n$3\r\nabc\r\n:12\r\n", "+OK\r\n", "-ERR x\r\n", "$-1\r\n"};
    for (size_t f = 0; f < sizeof(replies) / sizeof(replies[0]); f++) {
        size_t n = strlen(replies[f]);
        for (size_t k = 1; k <= n; k++) {
            char *at = m + pg - k;
            memcpy(at, replies[f], k);
            struct resp_reply r;
            resp_reply_init(&r, 0, 0);
            ssize_t got = resp_reply_parse(&r, at, k);
            cr_assert_eq(got, k == n ? (ssize_t)n : -2, "reply %zu prefix %zu", f, k);
            resp_reply_free(&r);
        }
    }
    munmap(m, (size_t)pg * 2);
}
