/* Unit tests for io/rsrv, driven over socketpairs: replies in order behind a deferred one,
 * a gate released by the durable LSN, pause/resume, back-pressure instead of a cut, each
 * output limit closing the client (never a cut reply followed by others), protocol
 * errors, the input limit, EOF, client limits and the out-of-descriptors pause. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/net.h"
#include "io/rsrv/rsrv.h"

/* ---- a test server ---- */
static struct rsrv_slot slots[8192];
static int nslots;
static uint64_t durable;
static int ran; /* commands run, all kinds */
static struct rsrv_client *paused, *sub;

static void cmd_echo(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    ran++;
    resp_add_bulk(rsrv_reply(c), argv[1], argl[1]);
}

static void cmd_defer(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    ran++;
    slots[nslots++] = rsrv_defer(c);
}

static void cmd_gate(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    long long lsn;
    ran++;
    cr_assert_eq(rsrv_arg_ll(argv[1], argl[1], &lsn), 0);
    resp_add_simple(rsrv_reply(c), "LOGGED");
    rsrv_gate(c, (uint64_t)lsn);
}

static void cmd_block(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    ran++;
    paused = c;
    rsrv_pause(c);
}

/* BIG n: a bulk reply of n bytes */
static void cmd_big(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    long long n;
    ran++;
    cr_assert_eq(rsrv_arg_ll(argv[1], argl[1], &n), 0);
    char *p = malloc((size_t)n);
    memset(p, 'b', (size_t)n);
    resp_add_bulk(rsrv_reply(c), p, (size_t)n);
    free(p);
}

static void cmd_sub(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    ran++;
    sub = c;
    rsrv_set_pubsub(c, 1);
    resp_add_simple(rsrv_reply(c), "SUBSCRIBED");
}

/* PUB n: n bytes to the subscriber, as a publish does */
static void cmd_pub(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    long long n;
    ran++;
    cr_assert_eq(rsrv_arg_ll(argv[1], argl[1], &n), 0);
    if (sub && !rsrv_is_closing(sub)) {
        char *p = malloc((size_t)n);
        memset(p, 'm', (size_t)n);
        resp_add_bulk(rsrv_reply(sub), p, (size_t)n);
        free(p);
        rsrv_wrote(sub);
    }
    resp_add_int(rsrv_reply(c), 1);
}

static void cmd_quit(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    resp_add_simple(rsrv_reply(c), "OK");
    rsrv_close_after_reply(c);
}

static const struct rsrv_cmd cmds[] = {
    {"echo", 2, 0, cmd_echo}, {"defer", 1, 0, cmd_defer},
    {"gate", 2, 0, cmd_gate}, {"block", 1, 0, cmd_block},
    {"big", 2, 0, cmd_big},   {"sub", 1, RSRV_CMD_SUBOK, cmd_sub},
    {"pub", 2, 0, cmd_pub},   {"quit", 1, RSRV_CMD_SUBOK, cmd_quit},
};

static uint64_t get_durable(void *app)
{
    return durable;
}

static struct ev_loop *loop;

static struct rsrv *server(struct rsrv_config *cfg)
{
    nslots = 0;
    durable = 0;
    ran = 0;
    paused = sub = NULL;
    loop = ev_create();
    cr_assert_not_null(loop);
    cfg->name = "test";
    cfg->cmds = cmds;
    cfg->ncmds = sizeof(cmds) / sizeof(cmds[0]);
    cfg->durable_lsn = get_durable;
    struct rsrv *s = rsrv_create(loop, cfg);
    cr_assert_not_null(s);
    return s;
}

static void stop_cb(struct ev_loop *l, uint64_t id, void *arg)
{
    ev_stop(l);
}

/* Runs the loop for ms milliseconds (several rounds: reads, then the end-of-round flush). */
static void run_for(int ms)
{
    ev_timer_add(loop, (uint64_t)ms, stop_cb, NULL);
    ev_run(loop);
}

/* A connected client end; the other end is adopted by s. */
static int client(struct rsrv *s, int rcvbuf)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    if (rcvbuf) {
        setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
        setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &rcvbuf, sizeof(rcvbuf));
    }
    cr_assert_eq(rsrv_adopt(s, sv[1]), 0);
    net_set_nonblock(sv[0], 1);
    return sv[0];
}

static void say(int fd, const char *bytes)
{
    size_t n = strlen(bytes), off = 0;
    while (off < n) {
        ssize_t w = send(fd, bytes + off, n - off, MSG_NOSIGNAL);
        cr_assert_gt(w, 0, "write: %s", strerror(errno));
        off += (size_t)w;
    }
}

/* Reads what is there now into buf (NUL-terminated); *eof set when the server closed. */
static size_t drain(int fd, char *buf, size_t cap, int *eof)
{
    size_t n = 0;
    *eof = 0;
    for (;;) {
        if (n + 1 >= cap) break;
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r > 0) {
            n += (size_t)r;
            continue;
        }
        if (r == 0) *eof = 1;
        break;
    }
    buf[n] = 0;
    return n;
}

static void expect(int fd, const char *want, int want_eof)
{
    char buf[4096];
    int eof;
    drain(fd, buf, sizeof(buf), &eof);
    cr_assert_str_eq(buf, want);
    cr_assert_eq(eof, want_eof, "eof %d, want %d", eof, want_eof);
}

static void done(struct rsrv *s, int fd)
{
    if (fd >= 0) close(fd);
    rsrv_destroy(s);
    ev_destroy(loop);
}

/* ---- order ---- */

Test(rsrv, pipelined_replies_wait_in_order_behind_a_deferred_one)
{
    struct rsrv_config cfg = {0};
    struct rsrv *s = server(&cfg);
    int fd = client(s, 0);
    say(fd, "ECHO first\r\nDEFER\r\nECHO a\r\nDEFER\r\nECHO b\r\n");
    run_for(20);
    cr_assert_eq(ran, 5, "the pipeline runs on behind a deferred reply");
    expect(fd, "$5\r\nfirst\r\n", 0);
    cr_assert_eq(rsrv_fill(slots[1], ":2\r\n", 4), 0);
    run_for(20);
    expect(fd, "", 0); /* the second is filled, the first still holds everything */
    cr_assert_eq(rsrv_fill(slots[0], "+ONE\r\n", 6), 0);
    run_for(20);
    expect(fd, "+ONE\r\n$1\r\na\r\n:2\r\n$1\r\nb\r\n", 0);
    cr_assert_eq(rsrv_fill(slots[0], "+AGAIN\r\n", 8), -1, "a slot is filled once");
    done(s, fd);
}

/* A client that left with a reply deferred is kept until that reply is decided (its
 * write fails then); a slot of a client that is gone fills nothing. */
Test(rsrv, fill_after_the_client_left_is_a_no_op)
{
    struct rsrv_config cfg = {0};
    struct rsrv *s = server(&cfg);
    int fd = client(s, 0);
    say(fd, "DEFER\r\n");
    run_for(20);
    close(fd);
    run_for(20);
    struct rsrv_stats st;
    rsrv_stats(s, &st);
    cr_assert_eq(st.clients, 1, "kept until its deferred reply is decided");
    cr_assert_eq(rsrv_fill(slots[0], "+X\r\n", 4), 0);
    run_for(20);
    rsrv_stats(s, &st);
    cr_assert_eq(st.clients, 0, "closed once the reply could not be written");
    int fd2 = client(s, 0); /* likely the same fd number on the server side */
    cr_assert_eq(rsrv_fill(slots[0], "+X\r\n", 4), -1);
    say(fd2, "ECHO b\r\n");
    run_for(20);
    expect(fd2, "$1\r\nb\r\n", 0);
    done(s, fd2);
}

Test(rsrv, gate_holds_until_the_durable_lsn_reaches_it)
{
    struct rsrv_config cfg = {0};
    struct rsrv *s = server(&cfg);
    int fd = client(s, 0);
    say(fd, "ECHO before\r\nGATE 100\r\nECHO after\r\n");
    run_for(20);
    expect(fd, "$6\r\nbefore\r\n", 0);
    durable = 99;
    run_for(20);
    expect(fd, "", 0);
    durable = 100;
    run_for(20);
    expect(fd, "+LOGGED\r\n$5\r\nafter\r\n", 0);
    /* a gate already open lets the reply out at once */
    say(fd, "GATE 50\r\n");
    run_for(20);
    expect(fd, "+LOGGED\r\n", 0);
    done(s, fd);
}

Test(rsrv, paused_client_runs_nothing_until_resumed)
{
    struct rsrv_config cfg = {0};
    struct rsrv *s = server(&cfg);
    int fd = client(s, 0);
    say(fd, "BLOCK\r\nECHO x\r\nECHO y\r\n");
    run_for(20);
    cr_assert_eq(ran, 1, "commands behind a blocked one must wait (ran %d)", ran);
    expect(fd, "", 0);
    cr_assert_not_null(paused);
    cr_assert(rsrv_is_paused(paused));
    resp_add_null_array(rsrv_reply(paused)); /* the late reply, then resume */
    rsrv_resume(paused);
    run_for(20);
    cr_assert_eq(ran, 3);
    expect(fd, "*-1\r\n$1\r\nx\r\n$1\r\ny\r\n", 0);
    done(s, fd);
}

Test(rsrv, exec_runs_a_command_for_a_client)
{
    struct rsrv_config cfg = {0};
    struct rsrv *s = server(&cfg);
    int fd = client(s, 0);
    say(fd, "BLOCK\r\nECHO z\r\n");
    run_for(20);
    const char *argv[] = {"ECHO", "retried"};
    size_t argl[] = {4, 7};
    rsrv_exec(paused, 2, argv, argl);
    rsrv_resume(paused);
    run_for(20);
    expect(fd, "$7\r\nretried\r\n$1\r\nz\r\n", 0);
    done(s, fd);
}

/* ---- slowed down, not cut ---- */

Test(rsrv, a_pipeline_faster_than_its_reader_is_slowed_not_cut)
{
    struct rsrv_config cfg = {.out_soft = 64 << 10, .out_limit = 1 << 20};
    struct rsrv *s = server(&cfg);
    int fd = client(s, 8192);
    char *cmds100 = malloc(100 * 16 + 1);
    cmds100[0] = 0;
    for (int i = 0; i < 100; i++)
        strcat(cmds100, "BIG 60000\r\n");
    say(fd, cmds100);
    free(cmds100);
    run_for(50);
    cr_assert_lt(ran, 10, "output over out_soft: commands must wait (%d ran)", ran);
    int big = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big)); /* now read fast */
    /* read everything: every reply comes, whole, in order; nothing was cut */
    size_t want = 100 * (strlen("$60000\r\n") + 60000 + 2), got = 0;
    char *buf = malloc(1 << 20);
    for (int i = 0; i < 2000 && got < want; i++) {
        run_for(2);
        int eof;
        size_t n = drain(fd, buf, 1 << 20, &eof);
        cr_assert(!eof, "the slow reader was cut after %zu bytes", got);
        for (size_t k = 0; k < n; k++) {
            size_t at = (got + k) % (want / 100);
            char w = at < 8 ? "$60000\r\n"[at] : at < 60008 ? 'b' : at == 60008 ? '\r' : '\n';
            cr_assert_eq(buf[k], w, "byte %zu", got + k);
        }
        got += n;
    }
    cr_assert_eq(got, want);
    cr_assert_eq(ran, 100);
    struct rsrv_stats st;
    rsrv_stats(s, &st);
    cr_assert_eq(st.closed_out_limit + st.closed_total_limit, 0);
    free(buf);
    done(s, fd);
}

Test(rsrv, deferred_replies_are_bounded_per_client)
{
    struct rsrv_config cfg = {0};
    struct rsrv *s = server(&cfg);
    int fd = client(s, 0);
    char *p = malloc(5000 * 7 + 1);
    p[0] = 0;
    for (int i = 0; i < 5000; i++)
        strcat(p, "DEFER\r\n");
    say(fd, p);
    free(p);
    run_for(30);
    cr_assert_eq(ran, RSRV_MAX_DEFERRED, "ran %d", ran);
    for (int i = 0; i < RSRV_MAX_DEFERRED; i++)
        rsrv_fill(slots[i], "+\r\n", 3);
    run_for(30);
    cr_assert_eq(ran, 5000, "filled replies let the rest run (ran %d)", ran);
    done(s, fd);
}

/* ---- limits that close ---- */

/* Reads until EOF; returns the bytes.  Each complete reply must be a BIG reply of `len`
 * bytes; anything after the last whole one is a prefix of one, cut by the close. */
static size_t read_to_eof_whole_replies(int fd, size_t len, int *whole)
{
    char *buf = malloc(8 << 20);
    size_t got = 0;
    int eof = 0;
    for (int i = 0; i < 3000 && !eof; i++) {
        run_for(2);
        got += drain(fd, buf + got, (8 << 20) - got, &eof);
    }
    cr_assert(eof, "the client was not closed");
    char head[32];
    size_t hl = (size_t)snprintf(head, sizeof(head), "$%zu\r\n", len), one = hl + len + 2;
    *whole = (int)(got / one);
    for (size_t k = 0; k < got; k++) {
        size_t at = k % one;
        char w = at < hl ? head[at] : at < hl + len ? 'b' : at == hl + len ? '\r' : '\n';
        cr_assert_eq(buf[k], w, "byte %zu of the stream is not what a whole reply has", k);
    }
    free(buf);
    return got;
}

Test(rsrv, a_reply_past_the_client_limit_closes_it_uncut)
{
    struct rsrv_config cfg = {.out_soft = 4 << 20, .out_limit = 300000};
    struct rsrv *s = server(&cfg);
    int fd = client(s, 8192);
    say(fd, "BIG 100000\r\nBIG 100000\r\nBIG 100000\r\nBIG 100000\r\nBIG 100000\r\n");
    int whole;
    read_to_eof_whole_replies(fd, 100000, &whole);
    cr_assert_lt(whole, 5);
    struct rsrv_stats st;
    rsrv_stats(s, &st);
    cr_assert_eq(st.closed_out_limit, 1);
    done(s, fd);
}

Test(rsrv, a_subscriber_past_the_pubsub_hard_limit_is_closed)
{
    struct rsrv_config cfg = {.pubsub_limit = {.hard = 200000}};
    struct rsrv *s = server(&cfg);
    int subfd = client(s, 8192), pubfd = client(s, 0);
    say(subfd, "SUB\r\n");
    run_for(20);
    expect(subfd, "+SUBSCRIBED\r\n", 0);
    for (int i = 0; i < 10; i++)
        say(pubfd, "PUB 50000\r\n");
    run_for(50);
    struct rsrv_stats st;
    rsrv_stats(s, &st);
    cr_assert_eq(st.closed_pubsub_limit, 1);
    char buf[4096];
    int eof;
    drain(pubfd, buf, sizeof(buf), &eof);
    cr_assert_eq(strlen(buf), 40, "every PUB answered (%s)", buf); /* 10 x ":1\r\n" */
    cr_assert(!eof, "the publisher is never cut");
    close(subfd);
    done(s, pubfd);
}

Test(rsrv, a_subscriber_over_the_soft_limit_too_long_is_closed_by_the_cron)
{
    struct rsrv_config cfg = {.pubsub_limit = {.soft = 100000, .soft_secs = 1}};
    struct rsrv *s = server(&cfg);
    int subfd = client(s, 8192), pubfd = client(s, 0);
    say(subfd, "SUB\r\n");
    run_for(20);
    say(pubfd, "PUB 150000\r\n");
    run_for(100);
    struct rsrv_stats st;
    rsrv_stats(s, &st);
    cr_assert_eq(st.closed_pubsub_limit, 0, "over the soft limit is not a cut at once");
    run_for(3000);
    rsrv_stats(s, &st);
    cr_assert_eq(st.closed_pubsub_limit, 1, "soft limit held past its seconds");
    close(subfd);
    done(s, pubfd);
}

Test(rsrv, over_the_total_limit_the_client_holding_most_is_closed)
{
    struct rsrv_config cfg = {.out_soft = 4 << 20, .out_total_limit = 500000};
    struct rsrv *s = server(&cfg);
    int a = client(s, 8192), b = client(s, 8192), reader = client(s, 0);
    say(a, "BIG 200000\r\n");
    run_for(20);
    say(b, "BIG 400000\r\n");
    run_for(20);
    say(reader, "BIG 100000\r\n");
    run_for(20);
    struct rsrv_stats st;
    rsrv_stats(s, &st);
    cr_assert_eq(st.closed_total_limit, 1);
    int whole;
    read_to_eof_whole_replies(b, 400000, &whole);
    cr_assert_eq(whole, 0);
    char *buf = malloc(1 << 20);
    int eof;
    size_t n = 0;
    for (int i = 0; i < 500 && n < 200000 + 11; i++) {
        run_for(2);
        n += drain(a, buf + n, (1 << 20) - n, &eof);
    }
    cr_assert_eq(n, 200000 + 11, "the smaller reader keeps its reply (%zu)", n);
    free(buf);
    close(a);
    close(b);
    done(s, reader);
}

/* ---- protocol, input, EOF, client limits ---- */

Test(rsrv, protocol_error_is_answered_then_the_connection_closes)
{
    struct rsrv_config cfg = {0};
    struct rsrv *s = server(&cfg);
    int fd = client(s, 0);
    say(fd, "ECHO ok\r\n*1\r\n$x\r\nECHO never\r\n");
    run_for(20);
    expect(fd, "$2\r\nok\r\n-ERR Protocol error: invalid bulk length\r\n", 1);
    struct rsrv_stats st;
    rsrv_stats(s, &st);
    cr_assert_eq(st.protocol_errors, 1);
    done(s, fd);
}

Test(rsrv, unknown_command_arity_and_pubsub_context_in_redis_words)
{
    struct rsrv_config cfg = {0};
    struct rsrv *s = server(&cfg);
    int fd = client(s, 0);
    say(fd, "NOPE a b\r\nECHO\r\nSUB\r\nECHO x\r\nQUIT\r\nECHO never\r\n");
    run_for(20);
    expect(fd,
           "-ERR unknown command 'NOPE', with args beginning with: 'a' 'b' \r\n"
           "-ERR wrong number of arguments for 'echo' command\r\n+SUBSCRIBED\r\n"
           "-ERR Can't execute 'echo': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
           "RESET are allowed in this context\r\n+OK\r\n",
           1);
    done(s, fd);
}

Test(rsrv, a_frame_over_the_input_limit_is_refused_a_pipeline_is_not)
{
    struct rsrv_config cfg = {.in_limit = 64 << 10, .out_soft = 1024};
    struct rsrv *s = server(&cfg);
    int fd = client(s, 0);
    /* 200 KB of small commands held back by the output: never "over the input limit" */
    char *p = malloc(20000 * 12 + 1);
    for (int i = 0; i < 20000; i++)
        memcpy(p + i * 12, "ECHO 12345\r\n", 12);
    p[20000 * 12] = 0;
    size_t len = strlen(p), off = 0;
    char *buf = malloc(1 << 20);
    size_t got = 0;
    int eof = 0;
    for (int i = 0; i < 5000 && got < 20000 * 11; i++) {
        if (off < len) {
            ssize_t w = send(fd, p + off, len - off, MSG_NOSIGNAL);
            if (w > 0) off += (size_t)w;
        }
        run_for(1);
        got += drain(fd, buf, 1 << 20, &eof);
        cr_assert(!eof);
    }
    cr_assert_eq(got, 20000 * 11, "all 20000 replies (%zu bytes)", got);
    /* one frame bigger than the input limit */
    say(fd, "*2\r\n$4\r\nECHO\r\n$100000\r\n");
    char *big = malloc(100003);
    memset(big, 'x', 100000);
    strcpy(big + 100000, "\r\n");
    off = 0;
    for (int i = 0; i < 500 && !eof; i++) {
        ssize_t w = off < 100002 ? send(fd, big + off, 100002 - off, MSG_NOSIGNAL) : 0;
        if (w > 0) off += (size_t)w;
        run_for(2);
        got = drain(fd, buf, 1 << 20, &eof);
        if (got) cr_assert_str_eq(buf, "-ERR Protocol error: request over 65536 bytes\r\n");
    }
    cr_assert(eof);
    free(big);
    free(buf);
    free(p);
    done(s, fd);
}

Test(rsrv, eof_after_commands_they_are_answered_then_closed)
{
    struct rsrv_config cfg = {0};
    struct rsrv *s = server(&cfg);
    int fd = client(s, 0);
    say(fd, "ECHO a\r\nDEFER\r\nECHO b\r\n");
    shutdown(fd, SHUT_WR);
    run_for(20);
    expect(fd, "$1\r\na\r\n", 0);
    rsrv_fill(slots[0], "+LATE\r\n", 7);
    run_for(20);
    expect(fd, "+LATE\r\n$1\r\nb\r\n", 1);
    /* a paused client that leaves is closed at once */
    int fd2 = client(s, 0);
    say(fd2, "BLOCK\r\n");
    run_for(20);
    cr_assert_not_null(paused);
    shutdown(fd2, SHUT_WR);
    run_for(20);
    struct rsrv_stats st;
    rsrv_stats(s, &st);
    cr_assert_eq(st.clients, 0);
    close(fd2);
    done(s, fd);
}

Test(rsrv, max_clients_answers_the_error)
{
    struct rsrv_config cfg = {.max_clients = 1};
    struct rsrv *s = server(&cfg);
    int fd = client(s, 0);
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    cr_assert_eq(rsrv_adopt(s, sv[1]), -1);
    char buf[128];
    ssize_t n = read(sv[0], buf, sizeof(buf) - 1);
    cr_assert_gt(n, 0);
    buf[n] = 0;
    cr_assert_str_eq(buf, "-ERR max number of clients reached\r\n");
    close(sv[0]);
    done(s, fd);
}

/* ---- accept ---- */

Test(rsrv, out_of_descriptors_pauses_accepting_then_serves)
{
    struct rsrv_config cfg = {0};
    struct rsrv *s = server(&cfg);
    char err[128];
    int lfd = rsrv_listen(s, "127.0.0.1", 0, err, sizeof(err));
    cr_assert_geq(lfd, 0, "%s", err);
    int port = net_bound_port(lfd);
    int c = net_connect("127.0.0.1", port, err, sizeof(err));
    cr_assert_geq(c, 0, "%s", err);
    int spare = dup(c);
    struct rlimit old, rl;
    getrlimit(RLIMIT_NOFILE, &old);
    rl = old;
    rl.rlim_cur = (rlim_t)spare; /* every descriptor below the limit is taken */
    close(spare);
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    run_for(350);
    struct rsrv_stats st;
    rsrv_stats(s, &st);
    cr_assert_eq(st.accepted, 0);
    cr_assert(st.emfile_pauses >= 2 && st.emfile_pauses <= 6, "pauses %lu", st.emfile_pauses);
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
    say(c, "ECHO served\r\n");
    run_for(300);
    rsrv_stats(s, &st);
    cr_assert_eq(st.accepted, 1);
    net_set_nonblock(c, 1);
    expect(c, "$6\r\nserved\r\n", 0);
    done(s, c);
}
