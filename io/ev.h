/* ev: a small epoll event loop with millisecond (and nanosecond-deadline) timers, in the
 * spirit of Redis's ae.
 *
 * Contract
 * - One loop per thread; nothing here is thread-safe except ev_wake().
 * - File events: ev_watch(loop, fd, mask, cb, arg) registers or changes interest in
 *   EV_READ and/or EV_WRITE for fd (level-triggered); mask 0 or ev_unwatch() removes
 *   it.  fds up to EV_MAX_FDS-1 are accepted; a larger fd is refused with -1/EMFILE.
 *   The callback receives the mask of what is ready (EV_READ, EV_WRITE, EV_ERROR).
 *   A callback may unwatch or close any fd, its own included, and add or cancel
 *   timers: the loop notices and skips events for an fd that was unwatched during
 *   the current round.
 * - Timers: ev_timer_add(loop, ms, cb, arg) fires cb once, no earlier than ms from
 *   now (CLOCK_MONOTONIC), and returns an id > 0 (0 when the timer heap is full,
 *   EV_MAX_TIMERS). ev_timer_cancel(loop, id) cancels a pending timer; cancelling a
 *   fired or unknown id is a no-op. Timers are kept in a binary heap of stable
 *   slots: add, cancel and fire are O(log n).
 * - ev_timer_at_ns(loop, when_ns, cb, arg) is the same timer with an absolute deadline
 *   on ev_now_ns()'s clock, for schedulers that compute release times below a
 *   millisecond (io/link).  Deadlines are kept in nanoseconds for both kinds, and the
 *   wait sleeps until the earliest one to the nanosecond (epoll_pwait2; where the
 *   kernel lacks it, epoll_wait with the timeout rounded up to the next millisecond,
 *   so a timer is late by up to 1 ms but never early).  Timers with equal deadlines
 *   fire in the order they were added, whichever call added them.  How late a timer
 *   fires is up to the scheduler: a program that needs microseconds lowers its
 *   PR_SET_TIMERSLACK.
 * - ev_run() waits and dispatches until ev_stop() is called; it returns 0, or -1
 *   with errno when epoll_wait fails for a reason other than EINTR.
 * - ev_wake() may be called from any thread or a signal handler: it interrupts the
 *   wait (through an eventfd) so the loop can look at state set by others, e.g. a
 *   stop flag. ev_on_wake() sets the callback run on the loop when that happens.
 * - Before-sleep hooks (Redis's aeSetBeforeSleepProc): ev_before_sleep(loop, cb, arg)
 *   adds cb, run once per loop round after the round's file events, timers and wake
 *   callback, just before epoll_wait (and once before the first wait), in the order
 *   they were added.  This is where "at the end of the round" work goes: flushing the
 *   replies a round produced, asking the WAL for one group commit.  A hook may watch
 *   fds and add timers; a timer it adds with 0 ms makes the next wait not block.  At
 *   most EV_MAX_HOOKS hooks (-1/ENOSPC beyond); ev_before_sleep_remove(loop, cb, arg)
 *   removes one (a no-op when absent).
 * - Errors: functions that can fail return -1 and set errno; ev_create returns NULL.
 */
#ifndef WIRELAB_IO_EV_H
#define WIRELAB_IO_EV_H

#include <stdint.h>

#define EV_READ  1u
#define EV_WRITE 2u
#define EV_ERROR 4u

#define EV_MAX_FDS    (1 << 17) /* 131072: above the 10,000-idle-connections test */
#define EV_MAX_TIMERS (1 << 17)
#define EV_MAX_HOOKS  8

struct ev_loop;
typedef void (*ev_file_cb)(struct ev_loop *loop, int fd, unsigned mask, void *arg);
typedef void (*ev_timer_cb)(struct ev_loop *loop, uint64_t id, void *arg);
typedef void (*ev_wake_cb)(struct ev_loop *loop, void *arg);

struct ev_loop *ev_create(void);
void ev_destroy(struct ev_loop *loop);

int ev_watch(struct ev_loop *loop, int fd, unsigned mask, ev_file_cb cb, void *arg);
void ev_unwatch(struct ev_loop *loop, int fd);

uint64_t ev_timer_add(struct ev_loop *loop, uint64_t ms, ev_timer_cb cb, void *arg);
uint64_t ev_timer_at_ns(struct ev_loop *loop, uint64_t when_ns, ev_timer_cb cb, void *arg);
void ev_timer_cancel(struct ev_loop *loop, uint64_t id);

int ev_run(struct ev_loop *loop);
void ev_stop(struct ev_loop *loop);
void ev_wake(struct ev_loop *loop);
void ev_on_wake(struct ev_loop *loop, ev_wake_cb cb, void *arg);
int ev_before_sleep(struct ev_loop *loop, ev_wake_cb cb, void *arg);
void ev_before_sleep_remove(struct ev_loop *loop, ev_wake_cb cb, void *arg);

/* Milliseconds on CLOCK_MONOTONIC, and nanoseconds: the one clock every lab uses. */
uint64_t ev_now_ms(void);
uint64_t ev_now_ns(void);

#endif
