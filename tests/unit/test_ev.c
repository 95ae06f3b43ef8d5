/* Unit tests for io/ev: timers fire in deadline order, cancel works, fd events dispatch. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/ev.h"

static int order[8];
static int norder;

static void record(struct ev_loop *l, uint64_t id, void *arg)
{
    order[norder++] = (int)(intptr_t)arg;
    if (norder == 3) ev_stop(l);
}

Test(ev, timers_fire_in_deadline_order_and_cancel_works)
{
    struct ev_loop *l = ev_create();
    cr_assert_not_null(l);
    norder = 0;
    ev_timer_add(l, 30, record, (void *)3);
    uint64_t dead = ev_timer_add(l, 5, record, (void *)99);
    ev_timer_add(l, 10, record, (void *)1);
    ev_timer_add(l, 20, record, (void *)2);
    ev_timer_cancel(l, dead);
    uint64_t t0 = ev_now_ms();
    cr_assert_eq(ev_run(l), 0);
    cr_assert_eq(norder, 3, "fired %d", norder);
    cr_assert_eq(order[0], 1, "order %d %d %d", order[0], order[1], order[2]);
    cr_assert_eq(order[1], 2);
    cr_assert_eq(order[2], 3);
    cr_assert_geq(ev_now_ms() - t0, 30);
    ev_destroy(l);
}

static void on_read(struct ev_loop *l, int fd, unsigned mask, void *arg)
{
    char c;
    cr_assert(mask & EV_READ);
    cr_assert_eq(read(fd, &c, 1), 1);
    *(char *)arg = c;
    ev_unwatch(l, fd);
    ev_stop(l);
}

Test(ev, readable_pipe_dispatches_callback)
{
    struct ev_loop *l = ev_create();
    int p[2];
    char got = 0;
    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(ev_watch(l, p[0], EV_READ, on_read, &got), 0);
    cr_assert_eq(write(p[1], "x", 1), 1);
    cr_assert_eq(ev_run(l), 0);
    cr_assert_eq(got, 'x');
    close(p[0]);
    close(p[1]);
    ev_destroy(l);
}

Test(ev, fd_beyond_limit_is_refused)
{
    struct ev_loop *l = ev_create();
    cr_assert_eq(ev_watch(l, EV_MAX_FDS, EV_READ, on_read, NULL), -1);
    ev_destroy(l);
}

static int fired[1000];

static void mark(struct ev_loop *l, uint64_t id, void *arg)
{
    fired[(intptr_t)arg]++;
}

static void stop_cb(struct ev_loop *l, uint64_t id, void *arg)
{
    ev_stop(l);
}

/* Many timers, half cancelled in a scattered order: exactly the others fire,
 * and a stale id (already fired or cancelled) never cancels a newer timer. */
Test(ev, cancel_many_and_stale_ids)
{
    struct ev_loop *l = ev_create();
    uint64_t ids[1000];
    memset(fired, 0, sizeof(fired));
    for (int i = 0; i < 1000; i++)
        ids[i] = ev_timer_add(l, (uint64_t)(i * 7919 % 20), mark, (void *)(intptr_t)i);
    for (int i = 0; i < 1000; i += 2)
        ev_timer_cancel(l, ids[(i * 37) % 1000 & ~1]);
    for (int i = 0; i < 1000; i += 2)
        ev_timer_cancel(l, ids[i]); /* each even one once more: a no-op */
    ev_timer_add(l, 40, stop_cb, NULL);
    cr_assert_eq(ev_run(l), 0);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(fired[i], i % 2, "timer %d fired %d times", i, fired[i]);
    /* ids[0] was cancelled; its slot may be reused: the old id must not cancel it. */
    uint64_t fresh = ev_timer_add(l, 0, mark, (void *)(intptr_t)0);
    ev_timer_cancel(l, ids[0]);
    ev_timer_add(l, 5, stop_cb, NULL);
    cr_assert_eq(ev_run(l), 0);
    cr_assert_neq(fresh, ids[0]);
    cr_assert_eq(fired[0], 1);
    ev_destroy(l);
}

/* Before-sleep hooks: once per round, after the round's events and timers. */
static char trace[64];
static int ntrace;
static int hook_rounds;

static void trace_add(char c)
{
    if (ntrace < (int)sizeof(trace) - 1) trace[ntrace++] = c;
}

static void on_read_trace(struct ev_loop *l, int fd, unsigned mask, void *arg)
{
    char c;
    cr_assert_eq(read(fd, &c, 1), 1);
    trace_add('e');
}

static void timer_trace(struct ev_loop *l, uint64_t id, void *arg)
{
    trace_add('t');
}

static void hook_a(struct ev_loop *l, void *arg)
{
    trace_add('A');
    if (++hook_rounds == 3) ev_stop(l);
}

static void hook_b(struct ev_loop *l, void *arg)
{
    trace_add('B');
}

Test(ev, before_sleep_hooks_run_once_per_round_after_events_and_timers)
{
    struct ev_loop *l = ev_create();
    int p[2];
    cr_assert_eq(pipe(p), 0);
    ntrace = 0;
    hook_rounds = 0;
    memset(trace, 0, sizeof(trace));
    cr_assert_eq(ev_watch(l, p[0], EV_READ, on_read_trace, NULL), 0);
    cr_assert_eq(ev_before_sleep(l, hook_a, NULL), 0);
    cr_assert_eq(ev_before_sleep(l, hook_b, NULL), 0);
    /* Round 1: hooks before the first wait.  The byte and a due timer are then
     * dispatched in round 2's wait, and the hooks run after both. */
    cr_assert_eq(write(p[1], "x", 1), 1);
    ev_timer_add(l, 0, timer_trace, NULL);
    ev_timer_add(l, 30, timer_trace, NULL); /* wakes round 3 */
    cr_assert_eq(ev_run(l), 0);
    /* Round 3: hook_a stops the loop before hook_b runs. */
    cr_assert_str_eq(trace, "ABetABtA", "trace %s", trace);
    close(p[0]);
    close(p[1]);
    ev_destroy(l);
}

static void hook_remove_b(struct ev_loop *l, void *arg)
{
    trace_add('R');
    ev_before_sleep_remove(l, hook_b, NULL);
    ev_before_sleep_remove(l, hook_remove_b, NULL);
    ev_timer_add(l, 0, stop_cb, NULL); /* must not block: a 0 ms timer is due */
}

Test(ev, a_hook_may_remove_hooks_and_a_zero_timer_it_adds_does_not_block)
{
    struct ev_loop *l = ev_create();
    ntrace = 0;
    memset(trace, 0, sizeof(trace));
    cr_assert_eq(ev_before_sleep(l, hook_remove_b, NULL), 0);
    cr_assert_eq(ev_before_sleep(l, hook_b, NULL), 0);
    uint64_t t0 = ev_now_ms();
    cr_assert_eq(ev_run(l), 0);
    cr_assert_lt(ev_now_ms() - t0, 1000, "the loop slept with a due timer");
    /* hook_b was removed by the hook before it in the same round: it never runs. */
    cr_assert_str_eq(trace, "R", "trace %s", trace);
    ev_destroy(l);
}

Test(ev, before_sleep_hooks_are_bounded)
{
    struct ev_loop *l = ev_create();
    for (int i = 0; i < EV_MAX_HOOKS; i++)
        cr_assert_eq(ev_before_sleep(l, hook_b, (void *)(intptr_t)i), 0);
    cr_assert_eq(ev_before_sleep(l, hook_b, NULL), -1);
    ev_before_sleep_remove(l, hook_b, (void *)(intptr_t)3);
    cr_assert_eq(ev_before_sleep(l, hook_b, NULL), 0);
    ev_destroy(l);
}

/* Nanosecond deadlines: ev_timer_at_ns and ev_timer_add share one order by deadline,
 * and no timer fires before its deadline. */
static uint64_t due_ns[8], fired_ns[8];

static void stamp(struct ev_loop *l, uint64_t id, void *arg)
{
    int i = (int)(intptr_t)arg;
    fired_ns[i] = ev_now_ns();
    order[norder++] = i;
    if (norder == 4) ev_stop(l);
}

Test(ev, ns_deadlines_and_ms_timers_fire_in_one_deadline_order_never_early)
{
    struct ev_loop *l = ev_create();
    norder = 0;
    uint64_t t0 = ev_now_ns();
    due_ns[0] = t0 + 2000000; /* 2 ms, by ev_timer_add */
    due_ns[1] = t0 + 300000;  /* 0.3 ms */
    due_ns[2] = t0 + 1500000; /* 1.5 ms */
    due_ns[3] = t0 + 700000;  /* 0.7 ms */
    ev_timer_add(l, 2, stamp, (void *)0);
    for (int i = 1; i < 4; i++)
        ev_timer_at_ns(l, due_ns[i], stamp, (void *)(intptr_t)i);
    cr_assert_eq(ev_run(l), 0);
    cr_assert_eq(norder, 4);
    int want[4] = {1, 3, 2, 0};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(order[i], want[i], "position %d: timer %d", i, order[i]);
        cr_assert_geq(fired_ns[i], due_ns[i], "timer %d fired %llu ns early", i,
                      (unsigned long long)(due_ns[i] - fired_ns[i]));
    }
    ev_destroy(l);
}

/* The wait sleeps to the nanosecond, not to the next millisecond: a chain of 100 us
 * timers, each armed from the one before, is late by far less than a millisecond at
 * the median (a wait rounded to milliseconds makes every one ~0.9 ms late). */
static uint64_t late_ns[64];
static int nlate;

static void chain(struct ev_loop *l, uint64_t id, void *arg)
{
    uint64_t due = (uint64_t)(uintptr_t)arg, now = ev_now_ns();
    late_ns[nlate++] = now - due;
    if (nlate == 64) {
        ev_stop(l);
        return;
    }
    ev_timer_at_ns(l, now + 100000, chain, (void *)(uintptr_t)(now + 100000));
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

Test(ev, sub_millisecond_timers_sleep_to_the_deadline)
{
    struct ev_loop *l = ev_create();
    nlate = 0;
    uint64_t due = ev_now_ns() + 100000;
    ev_timer_at_ns(l, due, chain, (void *)(uintptr_t)due);
    cr_assert_eq(ev_run(l), 0);
    qsort(late_ns, 64, sizeof late_ns[0], cmp_u64);
    cr_assert_lt(late_ns[32], 500000, "median lateness %llu ns", (unsigned long long)late_ns[32]);
    ev_destroy(l);
}
