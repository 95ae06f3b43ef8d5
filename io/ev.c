/* ev: epoll event loop with a binary-heap of timers.  Contract in ev.h. */
#include "io/ev.h"

#include <assert.h>
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

/* A timer lives in a slot whose index never changes while it is pending; the
 * heap holds slot indices and each slot knows its heap position, so cancel is
 * O(log n).  A timer's id is (generation << EV_SLOT_BITS) | slot: the
 * generation is bumped when a slot is freed, so a stale id never cancels the
 * slot's next occupant. */
#define EV_SLOT_BITS 17
_Static_assert((1u << EV_SLOT_BITS) >= EV_MAX_TIMERS, "slot index must fit in the id");

struct ev_timer {
    uint64_t when_ns;
    uint64_t seq; /* FIFO among equal deadlines */
    uint64_t gen;
    ev_timer_cb cb;
    void *arg;
    uint32_t heap_pos;
    int pending;
};

struct ev_loop {
    int epfd;
    int wakefd;
    volatile sig_atomic_t stop;
    struct ev_file *files;  /* indexed by fd, EV_MAX_FDS entries */
    struct ev_timer *slots; /* capslots entries; a pending timer's slot is stable */
    uint32_t *heap;         /* min-heap of slot indices on (when_ns, seq) */
    uint32_t *free;         /* free slot indices */
    size_t nheap, nfree, capslots;
    uint64_t next_seq;
    ev_wake_cb wake_cb;
    void *wake_arg;
    struct {
        ev_wake_cb cb;
        void *arg;
    } hooks[EV_MAX_HOOKS];
    int nhooks;
    int in_hooks;  /* removal during run_hooks only clears cb; compacted after */
    int no_pwait2; /* the kernel has no epoll_pwait2: millisecond waits */
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
    if (!l) return NULL;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    l->files = calloc(EV_MAX_FDS, sizeof(*l->files));
    if (l->epfd < 0 || l->wakefd < 0 || !l->files) goto fail;
    struct epoll_event ee = {.events = EPOLLIN, .data.fd = l->wakefd};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wakefd, &ee) < 0) goto fail;
    return l;
fail:
    ev_destroy(l);
    return NULL;
}

void ev_destroy(struct ev_loop *l)
{
    if (!l) return;
    if (l->epfd >= 0) close(l->epfd);
    if (l->wakefd >= 0) close(l->wakefd);
    free(l->files);
    free(l->slots);
    free(l->heap);
    free(l->free);
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
    if (mask & EV_READ) ee.events |= EPOLLIN | EPOLLRDHUP;
    if (mask & EV_WRITE) ee.events |= EPOLLOUT;
    int op = f->mask ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (f->mask != mask && epoll_ctl(l->epfd, op, fd, &ee) < 0) return -1;
    f->mask = mask;
    f->cb = cb;
    f->arg = arg;
    return 0;
}

void ev_unwatch(struct ev_loop *l, int fd)
{
    if (fd < 0 || fd >= EV_MAX_FDS || l->files[fd].mask == 0) return;
    /* The fd may already be closed (and so gone from epoll): ignore the error. */
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
    l->files[fd].mask = 0;
    l->files[fd].cb = NULL;
    l->files[fd].gen++;
}

/* ---- timers: a min-heap of slots ordered by (when, seq) ---- */

static int timer_less(const struct ev_loop *l, uint32_t a, uint32_t b)
{
    const struct ev_timer *x = &l->slots[a], *y = &l->slots[b];
    return x->when_ns < y->when_ns || (x->when_ns == y->when_ns && x->seq < y->seq);
}

static void heap_set(struct ev_loop *l, size_t i, uint32_t slot)
{
    l->heap[i] = slot;
    l->slots[slot].heap_pos = (uint32_t)i;
}

static void heap_up(struct ev_loop *l, size_t i)
{
    uint32_t slot = l->heap[i];
    while (i > 0 && timer_less(l, slot, l->heap[(i - 1) / 2])) {
        heap_set(l, i, l->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(l, i, slot);
}

static void heap_down(struct ev_loop *l, size_t i)
{
    uint32_t slot = l->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= l->nheap) break;
        if (c + 1 < l->nheap && timer_less(l, l->heap[c + 1], l->heap[c])) c++;
        if (!timer_less(l, l->heap[c], slot)) break;
        heap_set(l, i, l->heap[c]);
        i = c;
    }
    heap_set(l, i, slot);
}

/* Takes the timer in slot out of the heap and frees the slot. */
static void timer_remove(struct ev_loop *l, uint32_t slot)
{
    struct ev_timer *t = &l->slots[slot];
    size_t i = t->heap_pos;
    assert(t->pending && i < l->nheap && l->heap[i] == slot);
    l->nheap--;
    if (i < l->nheap) {
        uint32_t moved = l->heap[l->nheap];
        heap_set(l, i, moved);
        heap_up(l, i);
        if (l->slots[moved].heap_pos == i) /* did not move up: maybe down */
            heap_down(l, i);
    }
    t->pending = 0;
    t->gen++;
    l->free[l->nfree++] = slot;
}

static int timer_grow(struct ev_loop *l)
{
    if (l->capslots >= EV_MAX_TIMERS) return -1;
    size_t cap = l->capslots ? l->capslots * 2 : 64;
    if (cap > EV_MAX_TIMERS) cap = EV_MAX_TIMERS;
    struct ev_timer *slots = realloc(l->slots, cap * sizeof(*slots));
    if (!slots) return -1;
    l->slots = slots;
    uint32_t *heap = realloc(l->heap, cap * sizeof(*heap));
    if (!heap) return -1;
    l->heap = heap;
    uint32_t *fr = realloc(l->free, cap * sizeof(*fr));
    if (!fr) return -1;
    l->free = fr;
    for (size_t i = cap; i > l->capslots; i--) {
        memset(&l->slots[i - 1], 0, sizeof(l->slots[i - 1]));
        l->slots[i - 1].gen = 1;
        l->free[l->nfree++] = (uint32_t)(i - 1);
    }
    l->capslots = cap;
    return 0;
}

uint64_t ev_timer_at_ns(struct ev_loop *l, uint64_t when_ns, ev_timer_cb cb, void *arg)
{
    if (l->nfree == 0 && timer_grow(l) < 0) return 0;
    uint32_t slot = l->free[--l->nfree];
    struct ev_timer *t = &l->slots[slot];
    t->when_ns = when_ns;
    t->seq = l->next_seq++;
    t->cb = cb;
    t->arg = arg;
    t->pending = 1;
    l->heap[l->nheap] = slot;
    t->heap_pos = (uint32_t)l->nheap++;
    heap_up(l, t->heap_pos);
    return (t->gen << EV_SLOT_BITS) | slot;
}

uint64_t ev_timer_add(struct ev_loop *l, uint64_t ms, ev_timer_cb cb, void *arg)
{
    /* Beyond ~584 years the deadline would wrap: clamp to "never in practice". */
    uint64_t ns = ms > UINT64_MAX / 2000000u ? UINT64_MAX / 2 : ms * 1000000u;
    return ev_timer_at_ns(l, ev_now_ns() + ns, cb, arg);
}

void ev_timer_cancel(struct ev_loop *l, uint64_t id)
{
    uint32_t slot = (uint32_t)(id & ((1u << EV_SLOT_BITS) - 1));
    if (id == 0 || slot >= l->capslots) return;
    struct ev_timer *t = &l->slots[slot];
    if (!t->pending || t->gen != id >> EV_SLOT_BITS)
        return; /* fired, cancelled, or the slot holds a newer timer */
    timer_remove(l, slot);
}

static void run_timers(struct ev_loop *l)
{
    uint64_t now = ev_now_ns();
    while (l->nheap > 0 && l->slots[l->heap[0]].when_ns <= now && !l->stop) {
        uint32_t slot = l->heap[0];
        struct ev_timer t = l->slots[slot];
        uint64_t id = (t.gen << EV_SLOT_BITS) | slot;
        timer_remove(l, slot); /* before the callback: it may add timers */
        t.cb(l, id, t.arg);
    }
}

/* How long the wait may sleep: until the earliest deadline, at most 60 s (then the
 * loop just goes round); -1 = no timer, sleep until an fd is ready. */
static int64_t next_timeout_ns(struct ev_loop *l)
{
    if (l->nheap == 0) return -1;
    uint64_t now = ev_now_ns();
    uint64_t when = l->slots[l->heap[0]].when_ns;
    if (when <= now) return 0;
    uint64_t d = when - now;
    return d > 60000000000u ? 60000000000 : (int64_t)d;
}

static int wait_events(struct ev_loop *l, struct epoll_event *evs, int max)
{
    int64_t ns = next_timeout_ns(l);
    if (!l->no_pwait2) {
        struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
        int n = epoll_pwait2(l->epfd, evs, max, ns < 0 ? NULL : &ts, NULL);
        if (n >= 0 || errno != ENOSYS) return n;
        l->no_pwait2 = 1;
    }
    /* rounded up: a timer may fire late, never early */
    int ms = ns < 0 ? -1 : (int)((ns + 999999) / 1000000);
    return epoll_wait(l->epfd, evs, max, ms);
}

static void run_hooks(struct ev_loop *l)
{
    /* By index, re-reading nhooks: a hook may add another (it runs in this iteration) or
     * remove any (its cb is cleared now, the slot compacted below). */
    l->in_hooks = 1;
    for (int i = 0; i < l->nhooks && !l->stop; i++)
        if (l->hooks[i].cb) l->hooks[i].cb(l, l->hooks[i].arg);
    l->in_hooks = 0;
    int n = 0;
    for (int i = 0; i < l->nhooks; i++)
        if (l->hooks[i].cb) l->hooks[n++] = l->hooks[i];
    l->nhooks = n;
}

int ev_run(struct ev_loop *l)
{
    enum { BATCH = 256 };
    struct epoll_event evs[BATCH];
    uint32_t gens[BATCH];
    l->stop = 0;
    while (!l->stop) {
        run_hooks(l);
        if (l->stop) break;
        int n = wait_events(l, evs, BATCH);
        if (n < 0) {
            if (errno == EINTR) {
                if (l->wake_cb) l->wake_cb(l, l->wake_arg);
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
                if (l->wake_cb) l->wake_cb(l, l->wake_arg);
                continue;
            }
            struct ev_file *f = &l->files[fd];
            if (f->gen != gens[i] || f->mask == 0 || !f->cb)
                continue; /* unwatched (and maybe reused) during this iteration */
            unsigned m = 0;
            if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) m |= EV_READ;
            if (evs[i].events & EPOLLOUT) m |= EV_WRITE;
            if (evs[i].events & (EPOLLERR | EPOLLHUP)) m |= EV_ERROR;
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

int ev_before_sleep(struct ev_loop *l, ev_wake_cb cb, void *arg)
{
    if (l->nhooks == EV_MAX_HOOKS) {
        errno = ENOSPC;
        return -1;
    }
    l->hooks[l->nhooks].cb = cb;
    l->hooks[l->nhooks].arg = arg;
    l->nhooks++;
    return 0;
}

void ev_before_sleep_remove(struct ev_loop *l, ev_wake_cb cb, void *arg)
{
    for (int i = 0; i < l->nhooks; i++) {
        if (l->hooks[i].cb != cb || l->hooks[i].arg != arg) continue;
        if (l->in_hooks) {
            l->hooks[i].cb = NULL;
        } else {
            memmove(&l->hooks[i], &l->hooks[i + 1],
                    (size_t)(l->nhooks - i - 1) * sizeof(l->hooks[0]));
            l->nhooks--;
        }
        return;
    }
}
