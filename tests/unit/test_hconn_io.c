/* Unit tests for io/http/hconn_io: hconn output to a real socket (a socketpair):
 * everything out, a full socket buffer reported as bytes left and resumed later,
 * a gone peer reported as -1; closing on TCP loopback: unread input makes close()
 * reset, the linger ends with a FIN within its bounds, an abort resets only when
 * bytes are unsent. */
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

/* ---- closing: a TCP pair on loopback, where resets are real ------------------ */

#include <netinet/in.h>
#include <time.h>

/* sv[0]: the server's accepted socket, sv[1]: the client, both blocking. */
static void tcp_pair(int sv[2])
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    cr_assert_eq(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
    cr_assert_eq(listen(l, 1), 0);
    cr_assert_eq(getsockname(l, (struct sockaddr *)&sa, &len), 0);
    sv[1] = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_eq(connect(sv[1], (struct sockaddr *)&sa, sizeof sa), 0);
    sv[0] = accept(l, NULL, NULL);
    cr_assert_geq(sv[0], 0);
    close(l);
}

/* The client sent 64 KiB the server read only 1 KiB of; the server answers and
 * ends the connection with how(fd); returns what the client's read after the
 * answer got: 0 for EOF, -ECONNRESET for a reset. */
static int client_end(void (*how)(int))
{
    int sv[2];
    tcp_pair(sv);
    static char junk[65536];
    cr_assert_eq(write(sv[1], junk, sizeof junk), (ssize_t)sizeof junk);
    char buf[1024];
    cr_assert_eq(read(sv[0], buf, sizeof buf), (ssize_t)sizeof buf);
    cr_assert_eq(write(sv[0], "HTTP/1.1 431 x\r\n\r\n", 18), 18);
    how(sv[0]);
    close(sv[0]);
    struct timeval tv = {2, 0};
    setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    cr_assert_eq(read(sv[1], buf, 18), 18, "the answer arrives");
    ssize_t n = read(sv[1], buf, sizeof buf);
    int e = errno;
    close(sv[1]);
    return n == 0 ? 0 : n < 0 ? -e : (int)n;
}

static void plain(int fd)
{
    (void)fd;
}

static void linger(int fd)
{
    if (hconn_io_end(fd, HCONN_CLOSE_LINGER)) hconn_io_linger(fd);
}

Test(hconn_io, closing_on_unread_input_resets_and_linger_does_not)
{
    cr_assert_eq(client_end(plain), -ECONNRESET, "the reason lingering exists");
    /* With the linger the client sees the answer and then EOF; it does not close
       its side, so the linger returns after its time bound: the test takes 2 s. */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(client_end(linger), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    cr_assert_geq(ms, HCONN_IO_LINGER_MS - 50, "bounded in time, not cut short (%ld ms)", ms);
    cr_assert_lt(ms, HCONN_IO_LINGER_MS + 1500);
}

Test(hconn_io, linger_drain_stops_at_eof_and_at_its_byte_bound)
{
    int sv[2];
    pair(sv);
    cr_assert_eq(hconn_io_end(sv[0], HCONN_CLOSE_LINGER), 1);
    char buf[8];
    cr_assert_eq(read(sv[1], buf, sizeof buf), 0, "the peer sees our EOF");
    static char junk[3000];
    size_t left = 10000;
    cr_assert_eq(write(sv[1], junk, sizeof junk), (ssize_t)sizeof junk);
    cr_assert_eq(hconn_io_linger_drain(sv[0], &left), 0, "more may come");
    cr_assert_eq(left, 7000);
    cr_assert_eq(write(sv[1], junk, sizeof junk), (ssize_t)sizeof junk);
    cr_assert_eq(write(sv[1], junk, sizeof junk), (ssize_t)sizeof junk);
    cr_assert_eq(write(sv[1], junk, sizeof junk), (ssize_t)sizeof junk);
    cr_assert_eq(hconn_io_linger_drain(sv[0], &left), 1, "the bound is spent");
    cr_assert_eq(left, 0);
    left = 10000;
    close(sv[1]);
    cr_assert_eq(hconn_io_linger_drain(sv[0], &left), 1, "EOF ends it");
    close(sv[0]);
}

Test(hconn_io, abort_resets_only_when_bytes_are_unsent)
{
    int sp[2];
    tcp_pair(sp); /* nothing unsent: a plain FIN */
    cr_assert_eq(hconn_io_end(sp[0], HCONN_CLOSE_CUT), 0);
    close(sp[0]);
    char b1[8];
    cr_assert_eq(read(sp[1], b1, sizeof b1), 0);
    close(sp[1]);

    int sv[2];
    tcp_pair(sv);
    int small = 4096;
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    static char big[1 << 20];
    struct timeval tv = {0, 200000};
    setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ssize_t w = write(sv[0], big, sizeof big); /* the client does not read: it blocks */
    cr_assert_lt(w, (ssize_t)sizeof big);
    cr_assert_gt(w, 0);
    hconn_io_abort(sv[0]);
    close(sv[0]);
    char buf[65536];
    ssize_t n;
    while ((n = read(sv[1], buf, sizeof buf)) > 0)
        ;
    cr_assert_eq(n, -1);
    cr_assert_eq(errno, ECONNRESET);
    close(sv[1]);
}
