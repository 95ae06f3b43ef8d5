/* server-blocking: HTTP/1.1 with blocking sockets and one thread per connection.
 *
 * The simplest I/O model: accept() blocks until a client comes, then a thread
 * (small stack) does recv() -> hconn -> send() in a loop, blocking in each call.
 * The kernel's scheduler is the event loop: every waiting connection costs a
 * thread, its stack and a context switch.  GET /delay?ms=N blocks its thread
 * (the sync lesson); with --iterative one thread serves one connection at a time,
 * so a slow client delays everyone behind it (head-of-line blocking).
 *
 * Idle timeout: SO_RCVTIMEO bounds each recv(); a client that trickles a header
 * gets the time left until its deadline, not a fresh timeout per byte.
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

/* Writes all pending output; -1 when the peer is gone or does not read (a send
 * blocked for the whole SO_SNDTIMEO leaves bytes behind). */
static int flush(int fd, struct hconn *c)
{
    return hconn_io_send(c, fd) == 0 ? 0 : -1;
}

/* One connection, start to end: read, process, write, until it closes. */
static void serve(int fd)
{
    struct hconn_config cfg = iom_hconn_config();
    cfg.on_request = on_request;
    struct hconn *c = hconn_new(&cfg);
    if (!c) goto out;
    struct timeval tv = {(time_t)(opts.idle_ms / 1000), (suseconds_t)(opts.idle_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv); /* a peer that never reads */
    set_rcvtimeo(fd, opts.idle_ms);
    uint64_t timeo = opts.idle_ms;
    uint64_t deadline = ev_now_ms() + opts.idle_ms;
    while (!stopping && !hconn_should_close(c) && hconn_want_read(c)) {
        /* a trickling client gets what is left of its deadline, not a fresh one */
        uint64_t now = ev_now_ms();
        if (now >= deadline) {
            iom_cut_off(fd);
            goto out;
        }
        if (deadline - now + 20 < timeo) {
            timeo = deadline - now;
            set_rcvtimeo(fd, timeo);
        }
        size_t room;
        uint8_t *buf = hconn_in_space(c, &room);
        ssize_t n = recv(fd, buf, room, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            iom_cut_off(fd); /* the receive timeout: idle, perhaps not reading either */
        if (n <= 0) goto out;
        hconn_in_commit(c, (size_t)n);
        for (;;) { /* all the responses to this read leave in one send() */
            int done = hconn_process(c);
            if (flush(fd, c) < 0) { /* gone, or not reading for a whole timeout */
                iom_cut_off(fd);
                goto out;
            }
            if (done == 0) break;
            deadline = ev_now_ms() + opts.idle_ms;
            if (timeo != opts.idle_ms) set_rcvtimeo(fd, timeo = opts.idle_ms);
        }
    }
    if (flush(fd, c) < 0) iom_cut_off(fd);
out:
    hconn_free(c);
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
        fprintf(stderr, "server-blocking: %s\n", err);
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
            if (errno != EINTR && errno != ECONNABORTED) {
                perror("server-blocking: accept");
                if (errno == EMFILE || errno == ENFILE)
                    usleep(
                        100000); /* out of fds: let connections finish (10 log lines/s at most) */
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
