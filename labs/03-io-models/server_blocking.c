/* server-blocking: HTTP/1.1 with blocking sockets and one thread per connection.
 *
 * The simplest I/O model: accept() blocks until a client comes, then a thread
 * (small stack) does recv() -> hconn -> send() in a loop, blocking in each call.
 * The kernel's scheduler is the event loop: every waiting connection costs a
 * thread, its stack and a context switch.  GET /delay?ms=N blocks its thread
 * (the sync lesson); with --iterative one thread serves one connection at a time,
 * so a slow client delays everyone behind it (head-of-line blocking).
 *
 * Deadlines are hconn's (idle, a request trickling in): SO_RCVTIMEO bounds each
 * recv() by the time left until hconn_deadline(), so a client that trickles a
 * header gets what is left, not a fresh timeout per byte; SO_SNDTIMEO cuts off a
 * peer that does not read.  A connection that ends after an error lingers
 * (hconn_io_linger) so the peer reads the answer instead of a reset.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "io/acceptor.h"
#include "io/ev.h"
#include "io/http/hconn.h"
#include "io/http/hconn_io.h"
#include "io/net.h"
#include "labs/03-io-models/iom.h"

#if defined(__SANITIZE_ADDRESS__)
#define THREAD_STACK (512 * 1024) /* ASan's instrumentation needs more stack */
#else
#define THREAD_STACK (64 * 1024)
#endif

static volatile sig_atomic_t stopping;
static struct iom_opts opts;
static struct hconn_budget budget; /* shared by the threads: atomic inside */
static struct acceptor_log emfile_log;

static void on_stop(int sig)
{
    (void)sig;
    stopping = 1;
}

/* The blocking server's handler: a delay simply sleeps in this thread. */
static void on_request(struct hconn *c, const struct hconn_req *r, void *app)
{
    long ms = iom_route(c, r);
    if (ms >= 0) {
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
        iom_delay_done(c, ms);
    }
}

static void set_rcvtimeo(int fd, uint64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

/* One connection, start to end: read, process, write, until it closes. */
static void serve(int fd)
{
    struct hconn_config cfg = iom_hconn_config(&opts, &budget);
    cfg.on_request = on_request;
    struct hconn *c = hconn_new(&cfg);
    int how = HCONN_CLOSE_CUT;
    if (!c) goto out;
    struct timeval tv = {(time_t)(opts.idle_ms / 1000), (suseconds_t)(opts.idle_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv); /* a peer that never reads */
    uint64_t timeo = 0;                                      /* the SO_RCVTIMEO in force, ms */
    while (!stopping && !(how = hconn_should_close(c))) {
        /* hconn's deadline bounds each wait: a client trickling a request gets what
           is left of its time, not a fresh timeout per byte */
        uint64_t now = ev_now_ns(), d = hconn_deadline(c);
        if (d && now >= d) {
            hconn_expire(c, now); /* 408 for a request not in yet, else an idle close */
        } else {
            uint64_t want = d ? (d - now) / 1000000 + 1 : 0;
            if (want + 20 < timeo || timeo + 20 < want || !want != !timeo)
                set_rcvtimeo(fd, timeo = want); /* only when it must move: one syscall less */
            size_t room;
            uint8_t *buf = hconn_in_space(c, &room);
            if (room == 0) break;
            ssize_t n = recv(fd, buf, room, 0);
            if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
                continue; /* a signal, or the timeout: the deadline is checked above */
            if (n < 0) break;
            if (n == 0)
                hconn_in_eof(c); /* the peer is done sending: answer what it sent */
            else
                hconn_in_commit(c, (size_t)n);
        }
        for (;;) { /* all the responses to this read leave in one send() */
            int done = hconn_process(c);
            if (hconn_io_send(c, fd) != 0) { /* gone, or not reading for a whole timeout */
                how = HCONN_CLOSE_CUT;
                goto out;
            }
            if (done == 0) break;
        }
    }
out:
    hconn_free(c); /* gives its body budget back */
    if (hconn_io_end(fd, how))
        hconn_io_linger(fd); /* refused mid-request: let the peer read the answer */
    close(fd);
}

static void *conn_thread(void *arg)
{
    serve((int)(intptr_t)arg);
    return NULL;
}

int main(int argc, char **argv)
{
    char err[256];
    iom_parse_args(argc, argv, "server-blocking",
                   "HTTP/1.1 server: blocking sockets, one thread per connection", 1, &opts);
    iom_setup_process(on_stop);
    int lfd = net_listen(opts.host, opts.port, 4096, 0, err, sizeof err);
    if (lfd < 0) {
        fprintf(stderr, "server-blocking: error: %s\n", err);
        return 1;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, THREAD_STACK);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    net_announce("listening", lfd);
    while (!stopping) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) { /* out of fds: let connections finish */
                acceptor_log_pause(&emfile_log, "server-blocking", errno, ev_now_ms());
                usleep(ACCEPTOR_PAUSE_MS * 1000);
            } else if (errno != EINTR && errno != ECONNABORTED) {
                perror("server-blocking: accept");
            }
            continue;
        }
        net_set_nodelay(fd);
        if (opts.iterative) {
            serve(fd);
            continue;
        }
        /* the thread starts with SIGINT/SIGTERM blocked, so they reach main's accept() */
        pthread_t t;
        sigset_t all, old;
        sigemptyset(&all);
        sigaddset(&all, SIGINT);
        sigaddset(&all, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        int rc = pthread_create(&t, &attr, conn_thread, (void *)(intptr_t)fd);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (rc != 0) {
            fprintf(stderr, "server-blocking: no thread for a connection: %s\n", strerror(rc));
            close(fd);
        }
    }
    pthread_attr_destroy(&attr);
    close(lfd);
    fprintf(stderr, "server-blocking: stopped\n");
    return 0;
}
