/* test_jobs: the jobs service's sans-I/O parts: the job state machine and its
 * versions, the bounded event log (Last-Event-ID resume), the waiter lists. */
#include "labs/jobs/job_table.h"
#include "labs/jobs/waiters.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

struct seen {
    struct job_event ev[64];
    size_t n;
    uint64_t evicted[8];
    size_t nevicted;
};

static void on_event(void *arg, struct job *job, const struct job_event *ev)
{
    struct seen *s = arg;
    cr_assert_eq(ev->job, job->id);
    cr_assert_eq(ev->version, job->version);
    if (s->n < 64) s->ev[s->n++] = *ev;
}

static void on_evict(void *arg, struct job *job)
{
    struct seen *s = arg;
    if (s->nevicted < 8) s->evicted[s->nevicted++] = job->id;
}

static void run_to_done(struct job_table *t, struct job *j, uint64_t *now)
{
    while (j->state == JOB_RUNNING) {
        *now += job_step_ms(j);
        if (!job_step(t, j, *now)) break;
    }
}

Test(job_table, lifecycle_versions_and_events)
{
    struct job_table t;
    struct seen s = {0};
    cr_assert_eq(job_table_init(&t, 8, 2, 100, on_event, on_evict, &s), 0);
    struct job *j = job_submit(&t, 1000, "http://127.0.0.1:9/x", 5);
    cr_assert_not_null(j);
    cr_assert_eq(j->id, 1);
    cr_assert_eq(j->state, JOB_QUEUED);
    cr_assert_eq(j->version, 1);
    cr_assert_str_eq(j->callback, "http://127.0.0.1:9/x");
    cr_assert_eq(job_start_next(&t, 10), j);
    cr_assert_eq(j->version, 2);
    cr_assert_eq(j->progress, 0);
    uint64_t now = 10, total = 0;
    while (j->state == JOB_RUNNING) {
        uint32_t d = job_step_ms(j);
        total += d;
        now += d;
        job_step(&t, j, now);
    }
    cr_assert_eq(total, 1000, "steps add up to work_ms");
    cr_assert_eq(j->state, JOB_DONE);
    cr_assert_eq(j->progress, 100);
    cr_assert_eq(j->version, JOB_MAX_EVENTS);
    cr_assert_eq(j->nevents, JOB_MAX_EVENTS);
    cr_assert_eq(s.n, JOB_MAX_EVENTS);
    for (size_t i = 0; i < s.n; i++) {
        cr_assert_eq(s.ev[i].id, i + 1, "event ids are dense");
        cr_assert_eq(s.ev[i].version, i + 1);
    }
    cr_assert_eq(s.ev[5].progress, 40);
    char buf[200];
    job_json(j, buf, sizeof(buf));
    cr_assert_str_eq(buf, "{\"id\":\"1\",\"status\":\"done\",\"progress\":100,\"version\":12,"
                          "\"done_us\":1010000,\"at_us\":1010000,\"work_ms\":1000}");
    job_event_json(&s.ev[0], buf, sizeof(buf));
    cr_assert_str_eq(buf, "{\"id\":\"1\",\"status\":\"queued\",\"progress\":0,\"version\":1,"
                          "\"at_us\":5000}");
    /* every change carries its time: the step's now, in microseconds */
    cr_assert_eq(s.ev[1].at_us, 10000);
    cr_assert_eq(s.ev[5].at_us, 410000);
    job_table_free(&t);
}

Test(job_table, tiny_work_still_takes_every_step)
{
    struct job_table t;
    cr_assert_eq(job_table_init(&t, 4, 1, 16, NULL, NULL, NULL), 0);
    struct job *j = job_submit(&t, 3, NULL, 0);
    job_start_next(&t, 0);
    uint64_t total = 0;
    int steps = 0;
    do {
        total += job_step_ms(j);
        steps++;
    } while (job_step(&t, j, 0));
    cr_assert_eq(steps, JOB_STEPS);
    cr_assert_eq(total, 3);
    job_table_free(&t);
}

Test(job_table, work_ms_range)
{
    struct job_table t;
    cr_assert_eq(job_table_init(&t, 4, 1, 16, NULL, NULL, NULL), 0);
    errno = 0;
    cr_assert_null(job_submit(&t, 0, NULL, 0));
    cr_assert_eq(errno, EINVAL);
    cr_assert_null(job_submit(&t, JOB_WORK_MS_MAX + 1, NULL, 0));
    cr_assert_not_null(job_submit(&t, JOB_WORK_MS_MAX, NULL, 0));
    job_table_free(&t);
}

Test(job_table, workers_bound_fifo)
{
    struct job_table t;
    cr_assert_eq(job_table_init(&t, 8, 2, 100, NULL, NULL, NULL), 0);
    struct job *a = job_submit(&t, 10, NULL, 0);
    struct job *b = job_submit(&t, 10, NULL, 0);
    struct job *c = job_submit(&t, 10, NULL, 0);
    cr_assert_eq(job_start_next(&t, 0), a);
    cr_assert_eq(job_start_next(&t, 0), b);
    cr_assert_null(job_start_next(&t, 0), "only two workers");
    cr_assert_eq(c->state, JOB_QUEUED);
    uint64_t now = 0;
    run_to_done(&t, a, &now);
    cr_assert_eq(job_start_next(&t, now), c);
    job_table_free(&t);
}

Test(job_table, bounded_eviction_and_busy)
{
    struct job_table t;
    struct seen s = {0};
    cr_assert_eq(job_table_init(&t, 2, 4, 100, on_event, on_evict, &s), 0);
    struct job *a = job_submit(&t, 10, NULL, 0); /* id 1 */
    struct job *b = job_submit(&t, 10, NULL, 0); /* id 2 */
    errno = 0;
    cr_assert_null(job_submit(&t, 10, NULL, 0), "slot of job 1 still busy");
    cr_assert_eq(errno, EBUSY);
    uint64_t now = 0;
    job_start_next(&t, 0);
    run_to_done(&t, a, &now);
    struct job *c = job_submit(&t, 10, NULL, now); /* id 3 replaces done job 1 */
    cr_assert_not_null(c);
    cr_assert_eq(c->id, 3);
    cr_assert_eq(s.nevicted, 1);
    cr_assert_eq(s.evicted[0], 1);
    cr_assert_null(job_find(&t, 1), "evicted");
    cr_assert_eq(job_find(&t, 2), b);
    cr_assert_eq(job_find(&t, 3), c);
    cr_assert_null(job_find(&t, 4));
    cr_assert_null(job_find(&t, 0));
    job_table_free(&t);
}

Test(evlog, resume_after_last_event_id)
{
    struct evlog log;
    cr_assert_eq(evlog_init(&log, 4), 0);
    struct job_event out[8];
    int gap = 1;
    cr_assert_eq(evlog_after(&log, 0, out, 8, &gap), 0);
    cr_assert_eq(gap, 0);
    for (uint64_t id = 1; id <= 3; id++)
        evlog_append(&log, &(struct job_event){.id = id, .job = 1, .version = (uint32_t)id});
    cr_assert_eq(evlog_after(&log, 0, out, 8, &gap), 3);
    cr_assert_eq(gap, 0);
    cr_assert_eq(evlog_after(&log, 1, out, 8, &gap), 2);
    cr_assert_eq(out[0].id, 2);
    cr_assert_eq(out[1].id, 3);
    cr_assert_eq(evlog_after(&log, 3, out, 8, &gap), 0, "nothing repeated");
    cr_assert_eq(evlog_after(&log, 99, out, 8, &gap), 0);
    /* wrap: ids 1..7 appended into 4 slots keep 4..7 */
    for (uint64_t id = 4; id <= 7; id++)
        evlog_append(&log, &(struct job_event){.id = id, .job = 2});
    cr_assert_eq(evlog_after(&log, 3, out, 8, &gap), 4);
    cr_assert_eq(gap, 0, "id 4 is the oldest kept: nothing missed after 3");
    cr_assert_eq(out[0].id, 4);
    cr_assert_eq(out[3].id, 7);
    cr_assert_eq(evlog_after(&log, 1, out, 8, &gap), 4);
    cr_assert_eq(gap, 1, "2 and 3 were dropped");
    cr_assert_eq(evlog_after(&log, 5, out, 1, &gap), 1, "bounded by max");
    cr_assert_eq(out[0].id, 6);
    evlog_free(&log);
}

Test(waiters, bounded_and_ready_by_version)
{
    struct wait_limit lim = {.max = 3};
    struct waiter *head = NULL, *other = NULL;
    struct waiter w[4];
    memset(w, 0, sizeof(w));
    w[0].since = 1;
    w[1].since = 5;
    w[2].since = 2;
    w[3].since = 0;
    cr_assert_eq(waiter_add(&lim, &head, &w[0]), 0);
    cr_assert_eq(waiter_add(&lim, &head, &w[1]), 0);
    cr_assert_eq(waiter_add(&lim, &other, &w[2]), 0);
    errno = 0;
    cr_assert_eq(waiter_add(&lim, &head, &w[3]), -1, "server-wide bound");
    cr_assert_eq(errno, EAGAIN);
    cr_assert_eq(waiter_pop_ready(&lim, &head, 1), NULL, "version 1 is not past since=1");
    cr_assert_eq(waiter_pop_ready(&lim, &head, 2), &w[0]);
    cr_assert_eq(waiter_pop_ready(&lim, &head, 2), NULL);
    cr_assert_eq(lim.count, 2);
    waiter_remove(&lim, &w[1]); /* timed out */
    waiter_remove(&lim, &w[1]); /* a second remove is a no-op */
    cr_assert_null(head);
    cr_assert_eq(lim.count, 1);
    cr_assert_eq(waiter_add(&lim, &head, &w[3]), 0);
    cr_assert_eq(waiter_pop_ready(&lim, &other, 3), &w[2]);
    cr_assert_eq(lim.count, 1);
}
