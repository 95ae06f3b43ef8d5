/* Unit tests for io/http/hconn_io: hconn output to a real socket (a socketpair):
 * everything out, a full socket buffer reported as bytes left and resumed later,
 * a gone peer reported as -1. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/http/hconn_io.h"

#define BIG (1024 * 1024)

static void handler(struct hconn *c, const struct hconn_req *r, void *arg)
{
    (void)arg;
    static char body[BIG];
    size_t n = r->path_len == 4 && memcmp(r->path, "/big", 4) == 0 ? sizeof body : 5;
    memset(body, 'x', n);
    hconn_respond(c, 200, NULL, body, n);
}

static struct hconn *mk(const char *req)
{
    struct hconn_config cfg = {.on_request = handler, .max_out = 2 * BIG};
    struct hconn *c = hconn_new(&cfg);
    cr_assert_not_null(c);
    cr_assert_eq(hconn_feed(c, req, strlen(req)), 0);
    cr_assert_eq(hconn_process(c), 1);
    return c;
}

static void pair(int sv[2])
{
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    cr_assert_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
    cr_assert_eq(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
}

Test(hconn_io, small_response_all_out)
{
    int sv[2];
    pair(sv);
    struct hconn *c = mk("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    cr_assert_eq(hconn_io_send(c, sv[0]), 0);
    const uint8_t *p;
    cr_assert_eq(hconn_out(c, &p), 0);
    char buf[512];
    ssize_t n = read(sv[1], buf, sizeof buf - 1);
    cr_assert_gt(n, 0);
    buf[n] = 0;
    cr_assert(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0, "got %s", buf);
    cr_assert(strstr(buf, "\r\n\r\nxxxxx") != NULL);
    hconn_free(c);
    close(sv[0]);
    close(sv[1]);
}

Test(hconn_io, full_socket_leaves_the_rest_then_resumes)
{
    int sv[2];
    pair(sv);
    struct hconn *c = mk("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    const uint8_t *p;
    size_t total = hconn_out(c, &p);
    ssize_t left = hconn_io_send(c, sv[0]);
    cr_assert_gt(left, 0, "a 1 MiB response fits no socketpair buffer");
    cr_assert_eq((size_t)left, hconn_out(c, &p));
    size_t got = 0;
    static char buf[65536];
    for (int rounds = 0; left != 0 && rounds < 10000; rounds++) {
        ssize_t n = read(sv[1], buf, sizeof buf);
        if (n > 0) got += (size_t)n;
        left = hconn_io_send(c, sv[0]);
        cr_assert_geq(left, 0);
    }
    cr_assert_eq(left, 0);
    for (ssize_t n; (n = read(sv[1], buf, sizeof buf)) > 0;)
        got += (size_t)n;
    cr_assert_eq(got, total);
    hconn_free(c);
    close(sv[0]);
    close(sv[1]);
}

Test(hconn_io, gone_peer_is_an_error)
{
    int sv[2];
    pair(sv);
    close(sv[1]);
    struct hconn *c = mk("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    errno = 0;
    cr_assert_eq(hconn_io_send(c, sv[0]), -1);
    cr_assert_eq(errno, EPIPE); /* MSG_NOSIGNAL: an error, no SIGPIPE */
    hconn_free(c);
    close(sv[0]);
}
