/* ev: epoll event loop with a binary-heap of timers.  Contract in ev.h. */
#include "io/ev.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

struct ev_file {
    ev_file_cb cb;
    void *arg;
    unsigned mask;
    uint32_t gen; /* bumped on unwatch: stale events in the current batch are skipped */
};

struct ev_timer {
    uint64_t when_ms;
    uint64_t id;
    ev_timer_cb cb;
    void *arg;
};

struct ev_loop {
    int epfd;
    int wakefd;
    volatile sig_atomic_t stop;
    struct ev_file *files; /* indexed by fd, EV_MAX_FDS entries */
    struct ev_timer *heap; /* min-heap on (when_ms, id) */
    size_t nheap, capheap;
    uint64_t next_id;
    ev_wake_cb wake_cb;
    void *wake_arg;
};

uint64_t ev_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t ev_now_ms(void)
{
    return ev_now_ns() / 1000000u;
}

struct ev_loop *ev_create(void)
{
    struct ev_loop *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    l->files = calloc(EV_MAX_FDS, sizeof(*l->files));
    if (l->epfd < 0 || l->wakefd < 0 || !l->files)
        goto fail;
    struct epoll_event ee = {.events = EPOLLIN, .data.fd = l->wakefd};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wakefd, &ee) < 0)
        goto fail;
    l->next_id = 1;
    return l;
fail:
    ev_destroy(l);
    return NULL;
}

void ev_destroy(struct ev_loop *l)
{
    if (!l)
        return;
    if (l->epfd >= 0)
        close(l->epfd);
    if (l->wakefd >= 0)
        close(l->wakefd);
    free(l->files);
    free(l->heap);
    free(l);
}

int ev_watch(struct ev_loop *l, int fd, unsigned mask, ev_file_cb cb, void *arg)
{
    if (fd < 0 || fd >= EV_MAX_FDS) {
        errno = EMFILE;
        return -1;
    }
    if (mask == 0) {
        ev_unwatch(l, fd);
        return 0;
    }
    struct ev_file *f = &l->files[fd];
    struct epoll_event ee = {.data.fd = fd};
    if (mask & EV_READ)
        ee.events |= EPOLLIN | EPOLLRDHUP;
    if (mask & EV_WRITE)
        ee.events |= EPOLLOUT;
    int op = f->mask ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (f->mask != mask && epoll_ctl(l->epfd, op, fd, &ee) < 0)
        return -1;
    f->mask = mask;
    f->cb = cb;
    f->arg = arg;
    return 0;
}

void ev_unwatch(struct ev_loop *l, int fd)
{
    if (fd < 0 || fd >= EV_MAX_FDS || l->files[fd].mask == 0)
        return;
    /* The fd may already be closed (and so gone from epoll): ignore the error. */
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
    l->files[fd].mask = 0;
    l->files[fd].cb = NULL;
    l->files[fd].gen++;
}

/* ---- timers: a min-heap ordered by (when, id) so equal deadlines fire in order ---- */

static int timer_less(const struct ev_timer *a, const struct ev_timer *b)
{
    return a->when_ms < b->when_ms || (a->when_ms == b->when_ms && a->id < b->id);
}

static void heap_swap(struct ev_timer *h, size_t i, size_t j)
{
    struct ev_timer t = h[i];
    h[i] = h[j];
    h[j] = t;
}

static void heap_up(struct ev_timer *h, size_t i)
{
    while (i > 0 && timer_less(&h[i], &h[(i - 1) / 2])) {
        heap_swap(h, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void heap_down(struct ev_timer *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && timer_less(&h[l], &h[m]))
            m = l;
        if (r < n && timer_less(&h[r], &h[m]))
            m = r;
        if (m == i)
            return;
        heap_swap(h, i, m);
        i = m;
    }
}

static void heap_remove_at(struct ev_loop *l, size_t i)
{
    l->nheap--;
    if (i == l->nheap)
        return;
    l->heap[i] = l->heap[l->nheap];
    heap_up(l->heap, i);
    heap_down(l->heap, l->nheap, i);
}

uint64_t ev_timer_add(struct ev_loop *l, uint64_t ms, ev_timer_cb cb, void *arg)
{
    if (l->nheap == l->capheap) {
        if (l->capheap >= EV_MAX_TIMERS)
            return 0;
        size_t cap = l->capheap ? l->capheap * 2 : 64;
        struct ev_timer *h = realloc(l->heap, cap * sizeof(*h));
        if (!h)
            return 0;
        l->heap = h;
        l->capheap = cap;
    }
    struct ev_timer *t = &l->heap[l->nheap];
    t->when_ms = ev_now_ms() + ms;
    t->id = l->next_id++;
    t->cb = cb;
    t->arg = arg;
    uint64_t id = t->id; /* t moves as the heap reorders */
    heap_up(l->heap, l->nheap++);
    return id;
}

void ev_timer_cancel(struct ev_loop *l, uint64_t id)
{
    /* Linear search: cancels are rare next to fires, and the heap stays simple. */
    for (size_t i = 0; i < l->nheap; i++) {
        if (l->heap[i].id == id) {
            heap_remove_at(l, i);
            return;
        }
    }
}

static void run_timers(struct ev_loop *l)
{
    uint64_t now = ev_now_ms();
    while (l->nheap > 0 && l->heap[0].when_ms <= now && !l->stop) {
        struct ev_timer t = l->heap[0];
        heap_remove_at(l, 0);
        t.cb(l, t.id, t.arg);
    }
}

static int next_timeout(struct ev_loop *l)
{
    if (l->nheap == 0)
        return -1;
    uint64_t now = ev_now_ms();
    if (l->heap[0].when_ms <= now)
        return 0;
    uint64_t d = l->heap[0].when_ms - now;
    return d > 60000 ? 60000 : (int)d;
}

int ev_run(struct ev_loop *l)
{
    enum { BATCH = 256 };
    struct epoll_event evs[BATCH];
    uint32_t gens[BATCH];
    l->stop = 0;
    while (!l->stop) {
        int n = epoll_wait(l->epfd, evs, BATCH, next_timeout(l));
        if (n < 0) {
            if (errno == EINTR) {
                if (l->wake_cb)
                    l->wake_cb(l, l->wake_arg);
                continue;
            }
            return -1;
        }
        for (int i = 0; i < n; i++)
            gens[i] = l->files[evs[i].data.fd].gen;
        for (int i = 0; i < n && !l->stop; i++) {
            int fd = evs[i].data.fd;
            if (fd == l->wakefd) {
                uint64_t v;
                while (read(l->wakefd, &v, sizeof(v)) > 0)
                    ;
                if (l->wake_cb)
                    l->wake_cb(l, l->wake_arg);
                continue;
            }
            struct ev_file *f = &l->files[fd];
            if (f->gen != gens[i] || f->mask == 0 || !f->cb)
                continue; /* unwatched (and maybe reused) during this round */
            unsigned m = 0;
            if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))
                m |= EV_READ;
            if (evs[i].events & EPOLLOUT)
                m |= EV_WRITE;
            if (evs[i].events & (EPOLLERR | EPOLLHUP))
                m |= EV_ERROR;
            f->cb(l, fd, m & (f->mask | EV_ERROR), f->arg);
        }
        run_timers(l);
    }
    return 0;
}

void ev_stop(struct ev_loop *l)
{
    l->stop = 1;
}

void ev_wake(struct ev_loop *l)
{
    uint64_t one = 1;
    ssize_t r = write(l->wakefd, &one, sizeof(one));
    (void)r; /* a full counter already means "wake up" */
}

void ev_on_wake(struct ev_loop *l, ev_wake_cb cb, void *arg)
{
    l->wake_cb = cb;
    l->wake_arg = arg;
}
