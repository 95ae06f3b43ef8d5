/* server-uring: HTTP/1.1 on io_uring (liburing): the kernel does the I/O and
 * posts completions; the program only reacts to them.
 *
 * - One multishot accept: one submission, a completion per new connection.
 * - One multishot recv per connection into a provided buffer ring: the kernel
 *   picks a buffer when data arrives, so 10,000 idle connections hold no buffer.
 *   Data is copied into the connection's hconn and the buffer goes straight back.
 * - One send per connection at a time, of everything hconn has queued (all the
 *   responses to the requests read in one go).
 * - GET /delay is an IORING_OP_TIMEOUT; the idle timeout is a periodic tick that
 *   sweeps the connections.
 * - Submissions are batched: the loop makes one io_uring_enter() per round, which
 *   submits everything queued and waits for the next completions.  With
 *   IORING_SETUP_SINGLE_ISSUER|DEFER_TASKRUN (Linux 6.1) completion work runs
 *   only then, in this thread, instead of interrupting it.
 *
 * Needs Linux >= 6.0 (multishot recv; multishot accept and buffer rings are
 * 5.19); DEFER_TASKRUN is used when the kernel has it (6.1).
 */
#include <errno.h>
#include <liburing.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "io/ev.h"
#include "io/http/hconn.h"
#include "io/net.h"
#include "labs/03-io-models/iom.h"

enum { OP_ACCEPT = 1, OP_RECV, OP_SEND, OP_DELAY, OP_TICK };
#define UD(op, fd, gen) ((uint64_t)(gen) << 40 | (uint64_t)(uint32_t)(fd) << 8 | (op))
#define UD_OP(u)        ((int)((u)&0xff))
#define UD_FD(u)        ((int)(((u) >> 8) & 0xffffffff))
#define UD_GEN(u)       ((uint32_t)((u) >> 40))

#define RING_ENTRIES 4096
#define CQ_ENTRIES   65536
#define BGID         1
#define NBUFS        2048 /* power of two */
#define BUFSZ        4096

/* One slot per fd number, allocated once and reused, so the memory a pending
 * operation points at (delay_ts) stays valid; gen tells stale completions apart. */
struct conn {
    uint32_t gen;
    int live;          /* an open connection */
    int closing;       /* shut down, waiting for its send to complete */
    int send_inflight; /* hconn's output block is being sent: do not touch it */
    int delay_pending; /* the delay fired while a send was in flight */
    long delay_ms;
    uint64_t last_ms;
    struct hconn *h;
    struct __kernel_timespec delay_ts;
};

static struct io_uring ring;
static struct io_uring_buf_ring *bufring;
static uint8_t *bufs;
static struct conn **conns;
static int nconns, maxfd, lfd;
static struct iom_opts opts;
static struct __kernel_timespec tick_ts;
static volatile sig_atomic_t stopping;
/* ev_now_ms() read once per loop round, after the wait: reading it per completion
 * was ~1% of the server's time at 1000 connections (perf, clock_gettime in the
 * vDSO); idle bookkeeping only needs the round's time. */
static uint64_t round_ms;
static int accept_paused; /* out of fds: the next tick re-arms the accept */

static void on_stop(int sig)
{
    (void)sig;
    stopping = 1;
}

static struct io_uring_sqe *sqe_get(void)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    if (!sqe) { /* the submission queue is full: submit what is there */
        io_uring_submit(&ring);
        sqe = io_uring_get_sqe(&ring);
    }
    if (!sqe) {
        fprintf(stderr, "server-uring: submission queue full\n");
        exit(1);
    }
    return sqe;
}

static void arm_accept(void)
{
    struct io_uring_sqe *sqe = sqe_get();
    io_uring_prep_multishot_accept(sqe, lfd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, UD(OP_ACCEPT, lfd, 0));
}

static void arm_recv(int fd, struct conn *c)
{
    struct io_uring_sqe *sqe = sqe_get();
    io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BGID;
    io_uring_sqe_set_data64(sqe, UD(OP_RECV, fd, c->gen));
}

static void arm_tick(void)
{
    struct io_uring_sqe *sqe = sqe_get();
    io_uring_prep_timeout(sqe, &tick_ts, 0, 0);
    io_uring_sqe_set_data64(sqe, UD(OP_TICK, 0, 0));
}

static void buf_recycle(unsigned bid)
{
    io_uring_buf_ring_add(bufring, bufs + (size_t)bid * BUFSZ, BUFSZ, (unsigned short)bid,
                          io_uring_buf_ring_mask(NBUFS), 0);
    io_uring_buf_ring_advance(bufring, 1);
}

static void conn_finish_close(int fd, struct conn *c)
{
    close(fd);
    hconn_free(c->h);
    c->h = NULL;
    c->closing = 0;
}

static void conn_close(int fd, struct conn *c)
{
    if (!c->live) return;
    c->live = 0;
    shutdown(fd, SHUT_RDWR); /* ends the armed multishot recv and a blocked send */
    if (c->send_inflight)
        c->closing = 1; /* the kernel may still read hconn's output: wait for it */
    else
        conn_finish_close(fd, c);
}

/* Runs the core and sends what it queued; one send in flight per connection. */
static void pump(int fd, struct conn *c)
{
    if (c->send_inflight || !c->live) return;
    if (hconn_process(c->h) > 0) c->last_ms = round_ms;
    const uint8_t *p;
    size_t n = hconn_out(c->h, &p);
    if (n > 0) {
        struct io_uring_sqe *sqe = sqe_get();
        io_uring_prep_send(sqe, fd, p, n, MSG_NOSIGNAL);
        io_uring_sqe_set_data64(sqe, UD(OP_SEND, fd, c->gen));
        c->send_inflight = 1;
    } else if (hconn_should_close(c->h)) {
        conn_close(fd, c);
    }
}

/* Set as hconn's handler through cfg.app = the fd. */
static void on_request(struct hconn *h, const struct hconn_req *r, void *app)
{
    int fd = (int)(intptr_t)app;
    struct conn *c = conns[fd];
    long ms = iom_route(h, r);
    if (ms < 0) return;
    c->delay_ms = ms;
    c->delay_ts.tv_sec = ms / 1000;
    c->delay_ts.tv_nsec = (ms % 1000) * 1000000L;
    struct io_uring_sqe *sqe = sqe_get();
    io_uring_prep_timeout(sqe, &c->delay_ts, 0, 0);
    io_uring_sqe_set_data64(sqe, UD(OP_DELAY, fd, c->gen));
}

static void on_accept(int fd)
{
    if (fd >= nconns) {
        fprintf(stderr, "server-uring: fd %d over the table (%d)\n", fd, nconns);
        close(fd);
        return;
    }
    struct conn *c = conns[fd];
    if (!c && !(c = conns[fd] = calloc(1, sizeof *c))) {
        close(fd);
        return;
    }
    struct hconn_config cfg = iom_hconn_config();
    cfg.on_request = on_request;
    cfg.app = (void *)(intptr_t)fd;
    if (!(c->h = hconn_new(&cfg))) {
        close(fd);
        return;
    }
    net_set_nodelay(fd);
    c->gen++;
    c->live = 1;
    c->send_inflight = c->delay_pending = c->closing = 0;
    c->last_ms = round_ms;
    if (fd > maxfd) maxfd = fd;
    arm_recv(fd, c);
}

static void need_kernel(const char *what, const char *version, int err)
{
    fprintf(stderr, "server-uring: %s failed (%s): needs Linux >= %s\n", what, strerror(err),
            version);
    exit(1);
}

static void on_cqe(const struct io_uring_cqe *cqe)
{
    uint64_t ud = io_uring_cqe_get_data64(cqe);
    int fd = UD_FD(ud), res = cqe->res;
    struct conn *c = UD_OP(ud) == OP_ACCEPT || UD_OP(ud) == OP_TICK ? NULL : conns[fd];
    int current = c && c->gen == UD_GEN(ud);

    switch (UD_OP(ud)) {
    case OP_ACCEPT:
        if (res >= 0)
            on_accept(res);
        else if (res == -EINVAL)
            need_kernel("multishot accept", "5.19", -res);
        else if (res == -EMFILE || res == -ENFILE) {
            /* re-arming at once fails at once: a busy loop that floods the log
             * (hostile.sh); the tick re-arms it */
            fprintf(stderr, "server-uring: accept: %s: pausing until the next tick\n",
                    strerror(-res));
            if (!(cqe->flags & IORING_CQE_F_MORE)) accept_paused = 1;
        } else if (res != -EINTR && res != -ECONNABORTED)
            fprintf(stderr, "server-uring: accept: %s\n", strerror(-res));
        if (!(cqe->flags & IORING_CQE_F_MORE) && !stopping && !accept_paused) arm_accept();
        break;
    case OP_RECV: {
        int more = cqe->flags & IORING_CQE_F_MORE;
        if (cqe->flags & IORING_CQE_F_BUFFER) {
            unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
            if (current && c->live && res > 0 &&
                hconn_feed(c->h, bufs + (size_t)bid * BUFSZ, (size_t)res) < 0)
                conn_close(fd, c); /* input bound reached */
            buf_recycle(bid);
        }
        if (!current || !c->live) break;
        if (res == -EINVAL) need_kernel("multishot recv", "6.0", -res);
        if (res == 0 || (res < 0 && res != -ENOBUFS)) {
            conn_close(fd, c); /* EOF or error: the peer is gone */
            break;
        }
        if (!more) /* ENOBUFS or the kernel ended the multishot: re-arm */
            arm_recv(fd, c);
        pump(fd, c);
        break;
    }
    case OP_SEND:
        if (!c || c->gen != UD_GEN(ud)) break;
        c->send_inflight = 0;
        if (c->closing) {
            conn_finish_close(fd, c);
            break;
        }
        if (!c->live) break;
        if (res <= 0) {
            conn_close(fd, c);
            break;
        }
        hconn_out_done(c->h, (size_t)res);
        c->last_ms = round_ms; /* progress: a slow but reading client is not idle */
        if (c->delay_pending) {
            c->delay_pending = 0;
            iom_delay_done(c->h, c->delay_ms);
        }
        pump(fd, c);
        break;
    case OP_DELAY:
        if (!current || !c->live) break;
        c->last_ms = round_ms;
        if (c->send_inflight) { /* hconn's output is in the kernel's hands */
            c->delay_pending = 1;
            break;
        }
        iom_delay_done(c->h, c->delay_ms);
        pump(fd, c);
        break;
    case OP_TICK: {
        uint64_t now = round_ms;
        for (int i = 0; i <= maxfd; i++) {
            struct conn *x = conns[i];
            /* a send that made no progress for a whole timeout is a peer that
               does not read: shutdown() cancels it */
            if (x && x->live && (x->send_inflight || !hconn_busy(x->h)) &&
                now - x->last_ms >= opts.idle_ms) {
                iom_cut_off(i);
                conn_close(i, x);
            }
        }
        if (accept_paused && !stopping) {
            accept_paused = 0;
            arm_accept();
        }
        if (!stopping) arm_tick();
        break;
    }
    }
}

static int setup_ring(void)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    p.cq_entries = CQ_ENTRIES;
    int rc = io_uring_queue_init_params(RING_ENTRIES, &ring, &p);
    if (rc == -EINVAL) {
        fprintf(stderr,
                "server-uring: no SINGLE_ISSUER|DEFER_TASKRUN (Linux >= 6.1), going on without\n");
        memset(&p, 0, sizeof p);
        p.flags = IORING_SETUP_CQSIZE;
        p.cq_entries = CQ_ENTRIES;
        rc = io_uring_queue_init_params(RING_ENTRIES, &ring, &p);
    }
    if (rc < 0) {
        fprintf(stderr,
                "server-uring: io_uring_setup: %s: needs Linux >= 6.0 with io_uring enabled "
                "(sysctl kernel.io_uring_disabled=0)\n",
                strerror(-rc));
        return -1;
    }
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof reg);
    if (posix_memalign((void **)&bufring, 4096, NBUFS * sizeof(struct io_uring_buf)) ||
        !(bufs = malloc((size_t)NBUFS * BUFSZ)))
        return -1;
    reg.ring_addr = (unsigned long)bufring;
    reg.ring_entries = NBUFS;
    reg.bgid = BGID;
    if ((rc = io_uring_register_buf_ring(&ring, &reg, 0)) < 0)
        need_kernel("registering a provided buffer ring", "5.19", -rc);
    io_uring_buf_ring_init(bufring);
    for (unsigned i = 0; i < NBUFS; i++)
        io_uring_buf_ring_add(bufring, bufs + (size_t)i * BUFSZ, BUFSZ, (unsigned short)i,
                              io_uring_buf_ring_mask(NBUFS), (int)i);
    io_uring_buf_ring_advance(bufring, NBUFS);
    return 0;
}

int main(int argc, char **argv)
{
    char err[256];
    struct utsname u;
    int major = 0, minor = 0;
    iom_parse_args(argc, argv, "server-uring",
                   "HTTP/1.1 server: io_uring with multishot accept and recv", 0, &opts);
    if (uname(&u) == 0 && sscanf(u.release, "%d.%d", &major, &minor) == 2 && (major < 6)) {
        fprintf(stderr, "server-uring: needs Linux >= 6.0 (multishot recv); this is %s\n",
                u.release);
        return 1;
    }
    long nofile = iom_setup_process(on_stop);
    nconns = (int)(nofile > 1048576 ? 1048576 : nofile);
    if (!(conns = calloc((size_t)nconns, sizeof *conns)) || setup_ring() < 0) return 1;
    if ((lfd = net_listen(opts.host, opts.port, 4096, 0, err, sizeof err)) < 0) {
        fprintf(stderr, "server-uring: %s\n", err);
        return 1;
    }
    uint64_t tick = opts.idle_ms / 4 < 250 ? opts.idle_ms / 4 : 250;
    tick_ts.tv_sec = (long long)(tick / 1000);
    tick_ts.tv_nsec = (long long)(tick % 1000) * 1000000;
    arm_accept();
    arm_tick();
    net_announce("listening", lfd);
    while (!stopping) {
        int rc = io_uring_submit_and_wait(&ring, 1); /* the one syscall of a round */
        round_ms = ev_now_ms();
        if (rc < 0 && rc != -EINTR && rc != -ETIME && rc != -EBUSY) {
            fprintf(stderr, "server-uring: io_uring_enter: %s\n", strerror(-rc));
            break;
        }
        unsigned head, seen = 0;
        struct io_uring_cqe *cqe;
        io_uring_for_each_cqe(&ring, head, cqe)
        {
            on_cqe(cqe);
            seen++;
        }
        io_uring_cq_advance(&ring, seen);
    }
    close(lfd);
    io_uring_queue_exit(&ring);
    fprintf(stderr, "server-uring: stopped\n");
    return 0;
}
