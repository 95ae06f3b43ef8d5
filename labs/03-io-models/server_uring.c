/* server-uring: HTTP/1.1 on io_uring (liburing): the kernel does the I/O and
 * posts completions; the program only reacts to them.
 *
 * - One multishot accept: one submission, a completion per new connection.
 * - One multishot recv per connection into a provided buffer ring: the kernel
 *   picks a buffer when data arrives, so 10,000 idle connections hold no buffer.
 *   Data is copied into the connection's hconn and the buffer goes straight back.
 *   When hconn's input is full (a client pipelining faster than it reads its
 *   answers) the recv is cancelled and what still arrives is held in its ring
 *   buffers until hconn has room: the client is slowed down by TCP, not cut off.
 * - One send per connection at a time, of everything hconn has queued (all the
 *   responses to the requests read in one go).
 * - GET /delay is an IORING_OP_TIMEOUT; hconn's deadlines (idle, a request
 *   trickling in, a peer that does not read) are checked by a periodic tick that
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

#include "io/acceptor.h"
#include "io/ev.h"
#include "io/http/hconn.h"
#include "io/http/hconn_io.h"
#include "io/net.h"
#include "labs/03-io-models/iom.h"

enum { OP_ACCEPT = 1, OP_RECV, OP_SEND, OP_DELAY, OP_TICK, OP_CANCEL };
enum { RECV_OFF, RECV_ARMED, RECV_CANCELLING };
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
    int live;                 /* an open connection */
    int closing;              /* shut down, waiting for its send to complete */
    int send_inflight;        /* hconn's output block is being sent: do not touch it */
    int delay_pending;        /* the delay fired while a send was in flight */
    int recv;                 /* RECV_*: the multishot recv's state */
    int peer_eof;             /* recv saw EOF; hconn hears of it once the held input is in */
    int held_head, held_tail; /* ring buffers received but not yet fed, in order */
    unsigned held_off;        /* bytes of the head one already fed */
    long delay_ms;
    size_t linger_left; /* lingering close (h is gone then): input still to drop */
    uint64_t linger_end;
    struct hconn *h;
    struct __kernel_timespec delay_ts;
};

static struct io_uring ring;
static struct io_uring_buf_ring *bufring;
static uint8_t *bufs;
static int held_next[NBUFS]; /* the held lists' links, by buffer id */
static unsigned held_len[NBUFS];
static struct conn **conns;
static int nconns, maxfd, lfd;
static struct iom_opts opts;
static struct hconn_budget budget;
static struct __kernel_timespec tick_ts;
static volatile sig_atomic_t stopping;
/* ev_now_ns() read once per loop round, after the wait: reading it per completion
 * was ~1% of the server's time at 1000 connections (perf, clock_gettime in the
 * vDSO); hconn's deadlines only need the round's time, so its clock is this. */
static uint64_t round_ns;
static int accept_paused; /* out of fds: the next tick re-arms the accept */
static struct acceptor_log emfile_log;

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
    c->recv = RECV_ARMED;
}

/* Stop reading (hconn is full): the recv ends with -ECANCELED after whatever it
 * still completes, and is armed again once the held input is in. */
static void cancel_recv(int fd, struct conn *c)
{
    struct io_uring_sqe *sqe = sqe_get();
    io_uring_prep_cancel64(sqe, UD(OP_RECV, fd, c->gen), 0);
    io_uring_sqe_set_data64(sqe, UD(OP_CANCEL, fd, c->gen));
    c->recv = RECV_CANCELLING;
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

/* Ring buffers received while hconn had no room: fed in order as room appears. */
static void hold(struct conn *c, unsigned bid, unsigned len)
{
    held_next[bid] = -1;
    held_len[bid] = len;
    if (c->held_tail >= 0)
        held_next[c->held_tail] = (int)bid;
    else
        c->held_head = (int)bid;
    c->held_tail = (int)bid;
}

static void feed_held(struct conn *c)
{
    while (c->held_head >= 0) {
        unsigned bid = (unsigned)c->held_head;
        size_t room, n = held_len[bid] - c->held_off;
        uint8_t *p = c->h ? hconn_in_space(c->h, &room) : NULL;
        if (!c->h) room = n; /* lingering or closed: drop it */
        if (n > room) n = room;
        if (n == 0) return;
        if (p) {
            memcpy(p, bufs + (size_t)bid * BUFSZ + c->held_off, n);
            hconn_in_commit(c->h, n);
        }
        if ((c->held_off += (unsigned)n) < held_len[bid]) return;
        c->held_off = 0;
        c->held_head = held_next[bid];
        if (c->held_head < 0) c->held_tail = -1;
        buf_recycle(bid);
    }
}

static void conn_finish_close(int fd, struct conn *c)
{
    close(fd);
    hconn_free(c->h);
    c->h = NULL;
    feed_held(c); /* recycles what it held */
    c->closing = 0;
}

/* cut: a dead connection, reset when bytes are unsent (hconn_io.h). */
static void conn_close(int fd, struct conn *c, int cut)
{
    if (!c->live) return;
    c->live = 0;
    if (cut) hconn_io_end(fd, HCONN_CLOSE_CUT);
    shutdown(fd, cut ? SHUT_RDWR : SHUT_RD); /* ends the armed recv (and a blocked send) */
    if (c->send_inflight)
        c->closing = 1; /* the kernel may still read hconn's output: wait for it */
    else
        conn_finish_close(fd, c);
}

/* The end of an HTTP connection: cut now, or linger (hconn_io.h) with our side
 * shut down, dropping what still arrives until EOF, a byte bound or the tick
 * sees its time is up. */
static void conn_end(int fd, struct conn *c, int how)
{
    if (how != HCONN_CLOSE_LINGER || !hconn_io_end(fd, how)) {
        conn_close(fd, c, how == HCONN_CLOSE_CUT);
        return;
    }
    hconn_free(c->h); /* gives its body budget back */
    c->h = NULL;
    feed_held(c);
    c->linger_left = HCONN_IO_LINGER_BYTES;
    c->linger_end = round_ns + HCONN_IO_LINGER_MS * 1000000ull;
    if (c->recv == RECV_OFF) arm_recv(fd, c);
}

/* Feeds held input, runs the core and sends what it queued; one send in flight
 * per connection; reads again once hconn has room. */
static void pump(int fd, struct conn *c)
{
    if (c->send_inflight || !c->live || !c->h) return;
    do
        feed_held(c);
    while (hconn_process(c->h) > 0 && c->held_head >= 0);
    if (c->peer_eof && c->held_head < 0 && hconn_want_read(c->h)) {
        hconn_in_eof(c->h); /* all it sent is in: answer it, then close */
        hconn_process(c->h);
    }
    const uint8_t *p;
    size_t n = hconn_out(c->h, &p);
    int how;
    if (n > 0) {
        struct io_uring_sqe *sqe = sqe_get();
        io_uring_prep_send(sqe, fd, p, n, MSG_NOSIGNAL);
        io_uring_sqe_set_data64(sqe, UD(OP_SEND, fd, c->gen));
        c->send_inflight = 1;
    } else if ((how = hconn_should_close(c->h))) {
        conn_end(fd, c, how);
        return;
    }
    if (c->recv == RECV_OFF && c->held_head < 0 && !c->peer_eof && hconn_want_read(c->h))
        arm_recv(fd, c);
}

static uint64_t round_clock(void *app)
{
    (void)app;
    return round_ns;
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
    struct hconn_config cfg = iom_hconn_config(&opts, &budget);
    cfg.on_request = on_request;
    cfg.app = (void *)(intptr_t)fd;
    cfg.clock_ns = round_clock;
    if (!(c->h = hconn_new(&cfg))) {
        close(fd);
        return;
    }
    net_set_nodelay(fd);
    c->gen++;
    c->live = 1;
    c->send_inflight = c->delay_pending = c->closing = c->peer_eof = 0;
    c->held_head = c->held_tail = -1;
    c->held_off = 0;
    if (fd > maxfd) maxfd = fd;
    arm_recv(fd, c);
}

static void need_kernel(const char *what, const char *version, int err)
{
    fprintf(stderr, "server-uring: %s failed (%s): needs Linux >= %s\n", what, strerror(err),
            version);
    exit(1);
}

/* A completion of the connection's recv carrying data: into hconn as far as it
 * has room; the rest is held and the recv stops until hconn has room again. */
static void on_data(int fd, struct conn *c, unsigned bid, unsigned len)
{
    hold(c, bid, len);
    feed_held(c); /* input only, safe with a send in flight; dropped when lingering */
    if (c->held_head >= 0 && c->recv == RECV_ARMED) cancel_recv(fd, c);
}

static void on_cqe(const struct io_uring_cqe *cqe)
{
    uint64_t ud = io_uring_cqe_get_data64(cqe);
    int fd = UD_FD(ud), res = cqe->res, op = UD_OP(ud);
    struct conn *c = op == OP_ACCEPT || op == OP_TICK ? NULL : conns[fd];
    int current = c && c->gen == UD_GEN(ud) && c->live;

    switch (op) {
    case OP_ACCEPT:
        if (res >= 0)
            on_accept(res);
        else if (res == -EINVAL)
            need_kernel("multishot accept", "5.19", -res);
        else if (res == -EMFILE || res == -ENFILE) {
            /* re-arming at once fails at once (a busy loop): the tick re-arms it */
            acceptor_log_pause(&emfile_log, "server-uring", -res, round_ns / 1000000);
            if (!(cqe->flags & IORING_CQE_F_MORE)) accept_paused = 1;
        } else if (res != -EINTR && res != -ECONNABORTED && !stopping)
            fprintf(stderr, "server-uring: accept: %s\n", strerror(-res));
        if (!(cqe->flags & IORING_CQE_F_MORE) && !stopping && !accept_paused) arm_accept();
        break;
    case OP_RECV: {
        if (current && !(cqe->flags & IORING_CQE_F_MORE)) c->recv = RECV_OFF; /* it ended */
        if (cqe->flags & IORING_CQE_F_BUFFER) {
            unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
            if (current && res > 0)
                on_data(fd, c, bid, (unsigned)res);
            else
                buf_recycle(bid);
        }
        if (!current) break;
        if (res == -EINVAL) need_kernel("multishot recv", "6.0", -res);
        if (!c->h) { /* lingering: EOF, an error or the byte bound end it */
            if (res > 0)
                c->linger_left -= (size_t)res < c->linger_left ? (size_t)res : c->linger_left;
            if ((res <= 0 && res != -ENOBUFS && res != -ECANCELED) || c->linger_left == 0)
                conn_close(fd, c, 0);
            else if (c->recv == RECV_OFF)
                arm_recv(fd, c);
            break;
        }
        if (res == 0)
            c->peer_eof = 1; /* it sent all it will: answer that, then close */
        else if (res < 0 && res != -ENOBUFS && res != -ECANCELED) {
            conn_close(fd, c, 1); /* reset or error: the peer is gone */
            break;
        }
        pump(fd, c); /* re-arms an ended recv (ENOBUFS, cancelled) when there is room */
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
            conn_close(fd, c, 1);
            break;
        }
        hconn_out_done(c->h, (size_t)res); /* progress: hconn's slow-reader clock */
        if (c->delay_pending) {
            c->delay_pending = 0;
            iom_delay_done(c->h, c->delay_ms);
        }
        pump(fd, c);
        break;
    case OP_DELAY:
        if (!current || !c->h) break;
        if (c->send_inflight) { /* hconn's output is in the kernel's hands */
            c->delay_pending = 1;
            break;
        }
        iom_delay_done(c->h, c->delay_ms);
        pump(fd, c);
        break;
    case OP_TICK:
        for (int i = 0; i <= maxfd; i++) {
            struct conn *x = conns[i];
            if (!x || !x->live) continue;
            if (!x->h) { /* lingering */
                if (round_ns >= x->linger_end) conn_close(i, x, 0);
                continue;
            }
            /* hconn's deadlines: a 408, an idle close, or a peer that does not read
               (its send in flight made no progress: shutdown() cancels it) */
            if (!hconn_expire(x->h, round_ns)) continue;
            if (x->send_inflight)
                conn_close(i, x, 1);
            else
                pump(i, x);
        }
        if (accept_paused && !stopping) {
            accept_paused = 0;
            arm_accept();
        }
        if (!stopping) arm_tick();
        break;
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
        fprintf(stderr, "server-uring: error: %s\n", err);
        return 1;
    }
    uint32_t shortest = opts.idle_ms < opts.request_ms ? opts.idle_ms : opts.request_ms;
    uint64_t tick = shortest / 4 < 250 ? shortest / 4 : 250;
    tick_ts.tv_sec = (long long)(tick / 1000);
    tick_ts.tv_nsec = (long long)(tick % 1000) * 1000000;
    round_ns = ev_now_ns();
    arm_accept();
    arm_tick();
    net_announce("listening", lfd);
    while (!stopping) {
        int rc = io_uring_submit_and_wait(&ring, 1); /* the one syscall of a round */
        round_ns = ev_now_ns();
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
    /* Stop: every operation in flight holds a reference to its socket, and the
     * ring would drop them only after the process is gone, the listener still
     * bound: a server started right after would find the port in use.  Cancel
     * them all, let the cancellations complete, then close every socket. */
    shutdown(lfd, SHUT_RDWR);
    struct io_uring_sync_cancel_reg cancel = {.flags = IORING_ASYNC_CANCEL_ANY,
                                              .timeout = {.tv_sec = -1, .tv_nsec = -1}};
    io_uring_register_sync_cancel(&ring, &cancel);
    io_uring_get_events(&ring);
    close(lfd);
    for (int i = 0; i <= maxfd; i++)
        if (conns[i] && (conns[i]->live || conns[i]->closing)) close(i);
    io_uring_queue_exit(&ring);
    fprintf(stderr, "server-uring: stopped\n");
    return 0;
}
