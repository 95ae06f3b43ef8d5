/* Unit tests for parsers/resp: every byte split, malformed frames, limits, encoders. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "parsers/resp/resp.h"

/* Feeds `in` to a parser in chunks whose sizes come from `split` (0 = all at once,
 * 1 = byte by byte, k = first chunk of k bytes then the rest) the way a server does:
 * append, parse until 0, drop consumed bytes.  Writes one line per command to out:
 * args joined by '|', or "E:<err>" for a delimited error. Returns -1 on fatal error. */
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
            if (r == 0) break;
            if (r < 0) {
                snprintf(fatal, 200, "%s", p->err);
                rc = -1;
                goto out;
            }
            if (p->err[0]) {
                o += (size_t)snprintf(out + o, outcap - o, "E:%s\n", p->err);
            } else if (p->argc > 0) {
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

Test(resp, mixed_inline_and_multibulk_and_empty_frames)
{
    every_split("*0\r\n*-1\r\nPING\r\n*1\r\n$4\r\nPING\r\n", "PING\nPING\n");
}

static void fatal_case(const char *in, const char *errsub)
{
    char out[1024], fatal[200] = "";
    size_t n = strlen(in);
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        cr_assert_eq(feed(in, n, 0, bytewise, out, sizeof(out), NULL, fatal), -1, "input %s", in);
        cr_assert(strstr(fatal, errsub), "want '%s' got '%s'", errsub, fatal);
        cr_assert(strncmp(fatal, "ERR ", 4) == 0);
    }
}

Test(resp, malformed_frames_are_fatal_with_redis_wording)
{
    fatal_case("*2\r\n$3\r\nGET\r\n:5\r\n", "expected '$', got ':'");
    fatal_case("*abc\r\n", "invalid multibulk length");
    fatal_case("*1\r\n$-5\r\n", "invalid bulk length");
    fatal_case("*1\r\n$x\r\n", "invalid bulk length");
    fatal_case("*1\r\n$3\r\nGETxx", "not followed by CRLF");
    fatal_case("*1\r\n$3\r\nGET\rX", "not followed by CRLF");
    fatal_case("*1\rX", "invalid multibulk length");
    fatal_case("*11111111111111111111111111111111111111111\r\n", "too big mbulk count");
    fatal_case("*1\r\n$111111111111111111111111111111111111111\r\n", "too big bulk count");
}

Test(resp, limits_name_the_limit)
{
    struct resp_limits lim = {.max_args = 3, .max_bulk = 10, .max_inline = 16};
    char out[1024], fatal[200];
    const char *a = "*4\r\n";
    cr_assert_eq(feed(a, strlen(a), 0, 0, out, sizeof(out), &lim, fatal), -1);
    cr_assert(strstr(fatal, "4 arguments over the limit of 3"), "%s", fatal);
    const char *b = "*1\r\n$11\r\n";
    cr_assert_eq(feed(b, strlen(b), 0, 0, out, sizeof(out), &lim, fatal), -1);
    cr_assert(strstr(fatal, "over the limit of 10"), "%s", fatal);
    const char *c = "SET aaaaaaaaaaaaaaaaaaaaaaaa";
    cr_assert_eq(feed(c, strlen(c), 0, 1, out, sizeof(out), &lim, fatal), -1);
    cr_assert(strstr(fatal, "too big inline request"), "%s", fatal);
    const char *d = "a b c d\r\nPING\r\n"; /* too many inline args: delimited, not fatal */
    cr_assert_eq(feed(d, strlen(d), 0, 0, out, sizeof(out), &lim, fatal), 0);
    cr_assert(strstr(out, "E:ERR Protocol error: too many arguments") == out, "%s", out);
    cr_assert(strstr(out, "\nPING\n"), "%s", out);
    /* exactly at the limits is fine */
    const char *e = "*3\r\n$10\r\n0123456789\r\n$0\r\n\r\n$1\r\nx\r\n";
    cr_assert_eq(feed(e, strlen(e), 0, 1, out, sizeof(out), &lim, fatal), 0);
    cr_assert_str_eq(out, "0123456789||x\n");
}

Test(resp, unbalanced_quotes_are_delimited_and_connection_goes_on)
{
    every_split("SET \"abc\r\nSET 'x\r\nGET \"a\"b\r\nPING\r\n",
                "E:ERR Protocol error: unbalanced quotes in request\n"
                "E:ERR Protocol error: unbalanced quotes in request\n"
                "E:ERR Protocol error: unbalanced quotes in request\nPING\n");
}

Test(resp, incomplete_returns_zero_and_resumes_after_buffer_move)
{
    struct resp_parser p;
    resp_init(&p, NULL);
    char a[64] = "*2\r\n$3\r\nGET\r\n$2\r\nk";
    cr_assert_eq(resp_parse(&p, a, strlen(a)), 0);
    char *b = malloc(64); /* the caller's buffer moved (realloc) */
    strcpy(b, a);
    strcat(b, "k\r\nrest");
    ssize_t r = resp_parse(&p, b, strlen(b));
    cr_assert_eq(r, (ssize_t)strlen(b) - 4);
    cr_assert_eq(p.argc, 2);
    cr_assert(p.argv[1] >= b && p.argv[1] < b + 64);
    cr_assert_eq(memcmp(p.argv[1], "kk", 2), 0);
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
