/* Unit tests for io/acceptor: connections reach the callback; out of descriptors the
 * acceptor pauses on a timer instead of spinning, and accepts again once it can; the
 * out-of-descriptors log writes its first line and then one per period. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/acceptor.h"
#include "io/net.h"

static int accepted[16];
static int naccepted;

static void on_conn(struct ev_loop *l, int fd, void *arg)
{
    int one = 0;
    socklen_t len = sizeof(one);
    getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, &len);
    cr_assert(one, "TCP_NODELAY not set");
    cr_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
    cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    accepted[naccepted++] = fd;
}

static void stop_cb(struct ev_loop *l, uint64_t id, void *arg)
{
    ev_stop(l);
}

static int listen_any(int *port)
{
    char err[128];
    int lfd = net_listen("127.0.0.1", 0, 16, 1, err, sizeof(err));
    cr_assert_geq(lfd, 0, "%s", err);
    *port = net_bound_port(lfd);
    return lfd;
}

Test(acceptor, hands_each_connection_to_the_callback)
{
    struct ev_loop *l = ev_create();
    int port, lfd = listen_any(&port);
    char err[128];
    naccepted = 0;
    struct acceptor *a = acceptor_start(l, lfd, "t", on_conn, NULL);
    cr_assert_not_null(a);
    int c1 = net_connect("127.0.0.1", port, err, sizeof(err));
    int c2 = net_connect("127.0.0.1", port, err, sizeof(err));
    cr_assert(c1 >= 0 && c2 >= 0);
    ev_timer_add(l, 100, stop_cb, NULL);
    ev_run(l);
    cr_assert_eq(naccepted, 2);
    /* Paused by the program: a new client waits in the backlog until resume. */
    acceptor_pause(a);
    int c3 = net_connect("127.0.0.1", port, err, sizeof(err));
    ev_timer_add(l, 100, stop_cb, NULL);
    ev_run(l);
    cr_assert_eq(naccepted, 2);
    acceptor_resume(a);
    ev_timer_add(l, 100, stop_cb, NULL);
    ev_run(l);
    cr_assert_eq(naccepted, 3);
    acceptor_stop(a);
    close(c1), close(c2), close(c3), close(lfd);
    ev_destroy(l);
}

Test(acceptor, out_of_descriptors_pauses_on_a_timer_then_accepts)
{
    struct ev_loop *l = ev_create();
    int port, lfd = listen_any(&port);
    char err[128];
    naccepted = 0;
    struct acceptor *a = acceptor_start(l, lfd, "t", on_conn, NULL);
    int c = net_connect("127.0.0.1", port, err, sizeof(err));
    cr_assert_geq(c, 0, "%s", err);
    /* No descriptor left: the limit is the next free fd. */
    int spare = dup(c);
    cr_assert_geq(spare, 0);
    struct rlimit old, rl;
    getrlimit(RLIMIT_NOFILE, &old);
    rl = old;
    rl.rlim_cur = (rlim_t)spare; /* fds 0..spare-1 usable: all taken */
    close(spare);
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    ev_timer_add(l, 350, stop_cb, NULL);
    ev_run(l);
    unsigned long pauses = acceptor_emfile_pauses(a);
    cr_assert_eq(naccepted, 0);
    /* 350 ms at one pause per 100 ms: a few, never a busy loop's thousands. */
    cr_assert(pauses >= 2 && pauses <= 6, "pauses %lu", pauses);
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
    ev_timer_add(l, 250, stop_cb, NULL);
    ev_run(l);
    cr_assert_eq(naccepted, 1, "the client waiting in the backlog is accepted once fds free up");
    acceptor_stop(a);
    close(c), close(lfd);
    ev_destroy(l);
}

Test(acceptor, pause_log_writes_the_first_line_then_one_per_period)
{
    struct acceptor_log log = {0};
    cr_assert_eq(acceptor_log_pause(&log, "t", EMFILE, 5000), 1, "the first pause is logged");
    for (uint64_t ms = 5100; ms < 5000 + ACCEPTOR_LOG_MS; ms += 100)
        cr_assert_eq(acceptor_log_pause(&log, "t", EMFILE, ms), 0, "at %llu ms",
                     (unsigned long long)ms);
    cr_assert_eq(acceptor_log_pause(&log, "t", EMFILE, 5000 + ACCEPTOR_LOG_MS), 1);
    cr_assert_eq(log.pauses, 101);
    cr_assert_eq(log.unlogged, 0);
}
