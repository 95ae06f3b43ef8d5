/* acceptor: accept loop with the out-of-descriptors pause.  Contract in acceptor.h. */
#include "io/acceptor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/net.h"

struct acceptor {
    struct ev_loop *loop;
    int lfd;
    char name[32];
    acceptor_cb cb;
    void *arg;
    int watching;
    int user_paused;
    uint64_t timer; /* the descriptor pause's resume timer, 0 when none */
    struct acceptor_log log;
};

static void on_listen(struct ev_loop *loop, int lfd, unsigned mask, void *arg);

static void set_watch(struct acceptor *a, int on)
{
    if (on == a->watching) return;
    if (on) {
        if (ev_watch(a->loop, a->lfd, EV_READ, on_listen, a) < 0) {
            fprintf(stderr, "%s: cannot watch the listener: %s\n", a->name, strerror(errno));
            return;
        }
    } else {
        ev_unwatch(a->loop, a->lfd);
    }
    a->watching = on;
}

static void on_resume_timer(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct acceptor *a = arg;
    a->timer = 0;
    if (!a->user_paused) set_watch(a, 1);
}

int acceptor_log_pause(struct acceptor_log *log, const char *name, int err, uint64_t now_ms)
{
    log->pauses++;
    log->unlogged++;
    if (log->logged_ms != 0 && now_ms - log->logged_ms < ACCEPTOR_LOG_MS) return 0;
    if (log->logged_ms == 0)
        fprintf(stderr, "%s: accept: %s: pausing accepts until descriptors are free\n", name,
                strerror(err));
    else
        fprintf(stderr, "%s: accept: %s: pausing accepts (%lu times in %llu s)\n", name,
                strerror(err), log->unlogged, (unsigned long long)(now_ms - log->logged_ms) / 1000);
    log->logged_ms = now_ms ? now_ms : 1;
    log->unlogged = 0;
    return 1;
}

static void pause_for_fds(struct acceptor *a, int err)
{
    acceptor_log_pause(&a->log, a->name, err, ev_now_ms());
    set_watch(a, 0);
    if (!a->timer) a->timer = ev_timer_add(a->loop, ACCEPTOR_PAUSE_MS, on_resume_timer, a);
    if (!a->timer) /* no timer slot: stay watching rather than never accept again */
        set_watch(a, !a->user_paused);
}

static void on_listen(struct ev_loop *loop, int lfd, unsigned mask, void *arg)
{
    struct acceptor *a = arg;
    for (int i = 0; i < ACCEPTOR_BATCH && a->watching; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                pause_for_fds(a, errno);
            else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                fprintf(stderr, "%s: accept: %s\n", a->name, strerror(errno));
            return;
        }
        net_set_nodelay(fd);
        a->cb(loop, fd, a->arg); /* may pause or stop accepting: re-check a->watching */
    }
}

struct acceptor *acceptor_start(struct ev_loop *loop, int lfd, const char *name, acceptor_cb cb,
                                void *arg)
{
    struct acceptor *a = calloc(1, sizeof(*a));
    if (!a) return NULL;
    a->loop = loop;
    a->lfd = lfd;
    snprintf(a->name, sizeof(a->name), "%s", name);
    a->cb = cb;
    a->arg = arg;
    if (ev_watch(loop, lfd, EV_READ, on_listen, a) < 0) {
        int e = errno;
        free(a);
        errno = e;
        return NULL;
    }
    a->watching = 1;
    return a;
}

void acceptor_pause(struct acceptor *a)
{
    a->user_paused = 1;
    set_watch(a, 0);
}

void acceptor_resume(struct acceptor *a)
{
    a->user_paused = 0;
    if (!a->timer) set_watch(a, 1);
}

void acceptor_stop(struct acceptor *a)
{
    if (!a) return;
    set_watch(a, 0);
    if (a->timer) ev_timer_cancel(a->loop, a->timer);
    free(a);
}

unsigned long acceptor_emfile_pauses(const struct acceptor *a)
{
    return a->log.pauses;
}
