/* server-epoll: HTTP/1.1 on non-blocking sockets and one epoll loop (io/ev).
 *
 * One thread waits for every connection at once in epoll_wait(); a readable
 * socket gets one recv() into its hconn, every complete request in it is
 * answered, and all the responses leave in one send().  When the socket buffer
 * is full, the rest waits for EPOLLOUT.  GET /delay arms a timer instead of
 * blocking, so the loop keeps serving everyone else (the async lesson).
 *
 * Deadlines (idle, a request trickling in, a peer that does not read) are
 * hconn's: one lazy timer per connection is armed for hconn_deadline() and only
 * moved when the deadline comes earlier, so a busy connection costs no timer
 * work per request.  A connection that ends after an error lingers: our side
 * shut down, its input read and dropped until EOF or a bound (hconn_io.h).
 */
#include <errno.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/acceptor.h"
#include "io/ev.h"
#include "io/http/hconn.h"
#include "io/http/hconn_io.h"
#include "io/net.h"
#include "labs/03-io-models/iom.h"

struct conn {
    int fd;
    unsigned mask; /* what ev watches now */
    struct hconn *h;
    uint64_t timer, timer_at; /* the deadline timer, and the deadline (ns) it is for */
    uint64_t delay_timer;
    long delay_ms;
    size_t linger_left; /* lingering close: input still to drop (h is gone then) */
};

static struct ev_loop *loop;
static struct iom_opts opts;
static struct hconn_budget budget;
static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
    (void)sig;
    stopping = 1;
    ev_wake(loop);
}

static void on_wake(struct ev_loop *l, void *arg)
{
    if (stopping) ev_stop(l);
}

static void conn_close(struct conn *c)
{
    if (c->timer) ev_timer_cancel(loop, c->timer);
    if (c->delay_timer) ev_timer_cancel(loop, c->delay_timer);
    ev_unwatch(loop, c->fd);
    close(c->fd);
    hconn_free(c->h);
    free(c);
}

static void on_io(struct ev_loop *l, int fd, unsigned mask, void *arg);
static void on_deadline(struct ev_loop *l, uint64_t id, void *arg);

static int watch(struct conn *c, unsigned want)
{
    if (want != c->mask && ev_watch(loop, c->fd, want, on_io, c) < 0) {
        conn_close(c);
        return -1;
    }
    c->mask = want;
    return 0;
}

/* The connection is over: close it, cut it, or linger (hconn_should_close says
 * which, hconn_io.h says how). */
static int conn_end(struct conn *c, int how)
{
    if (!hconn_io_end(c->fd, how)) {
        conn_close(c);
        return -1;
    }
    hconn_free(c->h); /* gives its body budget back */
    c->h = NULL;
    c->linger_left = HCONN_IO_LINGER_BYTES;
    if (c->timer) ev_timer_cancel(loop, c->timer);
    c->timer = ev_timer_add(loop, HCONN_IO_LINGER_MS, on_deadline, c);
    if (!c->timer) { /* no timer to bound it: no linger */
        conn_close(c);
        return -1;
    }
    return watch(c, EV_READ);
}

/* Runs the core and writes its output until it has nothing more to do; then
 * watches for what the connection waits for.  Returns -1 when c is gone. */
static int pump(struct conn *c)
{
    ssize_t left;
    for (;;) {
        const uint8_t *p;
        int done = hconn_process(c->h);
        size_t had = hconn_out(c->h, &p);
        if ((left = hconn_io_send(c->h, c->fd)) < 0) {
            conn_close(c);
            return -1;
        }
        /* Done when the socket is full, or the core has nothing more: a write that
           drained the output lets it go on with requests it held back
           (hconn_process stops dispatching above out_high). */
        if (left > 0 || (done == 0 && had == 0)) break;
    }
    int how = hconn_should_close(c->h);
    if (how) return conn_end(c, how);
    uint64_t d = hconn_deadline(c->h);
    if (d && (!c->timer || d < c->timer_at)) { /* lazy: moved only when it comes earlier */
        uint64_t now = ev_now_ns();
        if (c->timer) ev_timer_cancel(loop, c->timer);
        c->timer = ev_timer_add(loop, d > now ? (d - now + 999999) / 1000000 : 0, on_deadline, c);
        c->timer_at = d;
    }
    return watch(c, (hconn_want_read(c->h) ? EV_READ : 0) | (left > 0 ? EV_WRITE : 0));
}

static void on_deadline(struct ev_loop *l, uint64_t id, void *arg)
{
    struct conn *c = arg;
    c->timer = 0;
    if (!c->h) { /* the linger's time is up */
        conn_close(c);
        return;
    }
    hconn_expire(c->h, ev_now_ns()); /* 408, a cut or an idle close; or it moved */
    pump(c);
}

static void on_io(struct ev_loop *l, int fd, unsigned mask, void *arg)
{
    struct conn *c = arg;
    if (!c->h) { /* lingering: drop what the peer still sends, close at EOF */
        if (hconn_io_linger_drain(fd, &c->linger_left)) conn_close(c);
        return;
    }
    if (mask & (EV_READ | EV_ERROR)) {
        for (int i = 0; i < 4; i++) { /* at most a few reads, then let others run */
            size_t room;
            uint8_t *buf = hconn_in_space(c->h, &room);
            if (room == 0) break;
            ssize_t r = recv(fd, buf, room, 0);
            if (r < 0 && (errno == EAGAIN || errno == EINTR)) break;
            if (r < 0) { /* reset: the peer is gone */
                conn_close(c);
                return;
            }
            if (r == 0) { /* the peer is done sending: answer what it sent */
                hconn_in_eof(c->h);
                break;
            }
            hconn_in_commit(c->h, (size_t)r);
            if ((size_t)r < room) break;
        }
    }
    pump(c);
}

static void on_delay(struct ev_loop *l, uint64_t id, void *arg)
{
    struct conn *c = arg;
    c->delay_timer = 0;
    iom_delay_done(c->h, c->delay_ms);
    pump(c);
}

/* The epoll server's handler: a delay is a timer; the loop goes on meanwhile. */
static void on_request(struct hconn *h, const struct hconn_req *r, void *app)
{
    struct conn *c = app;
    long ms = iom_route(h, r);
    if (ms < 0) return;
    c->delay_ms = ms;
    c->delay_timer = ev_timer_add(loop, (uint64_t)ms, on_delay, c);
    if (c->delay_timer == 0)
        hconn_respond(h, 503, "Content-Type: text/plain\r\n", "too many timers\n", 16);
}

/* A new connection (io/acceptor: accept4 with the out-of-descriptors pause). */
static void on_accept(struct ev_loop *l, int fd, void *arg)
{
    struct conn *c = calloc(1, sizeof *c);
    struct hconn_config cfg = iom_hconn_config(&opts, &budget);
    cfg.on_request = on_request;
    cfg.app = c;
    if (!c || !(c->h = hconn_new(&cfg)) || ev_watch(loop, fd, EV_READ, on_io, c) < 0) {
        fprintf(stderr, "server-epoll: cannot take connection fd %d: %s\n", fd, strerror(errno));
        if (c) hconn_free(c->h);
        free(c);
        close(fd);
        return;
    }
    c->fd = fd;
    c->mask = EV_READ;
    c->timer_at = hconn_deadline(c->h);
    c->timer = ev_timer_add(loop, opts.idle_ms, on_deadline, c);
}

int main(int argc, char **argv)
{
    char err[256];
    iom_parse_args(argc, argv, "server-epoll",
                   "HTTP/1.1 server: non-blocking sockets on one epoll loop", 0, &opts);
    if (!(loop = ev_create())) {
        perror("server-epoll: epoll");
        return 1;
    }
    iom_setup_process(on_stop);
    ev_on_wake(loop, on_wake, NULL);
    int lfd = net_listen(opts.host, opts.port, 4096, 1, err, sizeof err);
    if (lfd < 0) {
        fprintf(stderr, "server-epoll: error: %s\n", err);
        return 1;
    }
    struct acceptor *acc = acceptor_start(loop, lfd, "server-epoll", on_accept, NULL);
    if (!acc) {
        perror("server-epoll: watch the listener");
        return 1;
    }
    net_announce("listening", lfd);
    if (ev_run(loop) < 0) perror("server-epoll: epoll_wait");
    acceptor_stop(acc);
    close(lfd);
    ev_destroy(loop);
    fprintf(stderr, "server-epoll: stopped\n");
    return 0;
}
