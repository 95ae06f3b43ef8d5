/* job_table: jobs, versions and the simulated work.  Contract in job_table.h. */
#include "labs/jobs/job_table.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int job_table_init(struct job_table *t, size_t cap, size_t max_running, size_t log_cap,
                   job_event_cb on_event, job_evict_cb on_evict, void *arg)
{
    memset(t, 0, sizeof(*t));
    assert(cap >= 1 && max_running >= 1);
    t->slots = calloc(cap, sizeof(*t->slots));
    if (!t->slots) return -1;
    if (evlog_init(&t->log, log_cap) < 0) {
        free(t->slots);
        return -1;
    }
    t->cap = cap;
    t->max_running = max_running;
    t->next_id = 1;
    t->next_event = 1;
    t->on_event = on_event;
    t->on_evict = on_evict;
    t->arg = arg;
    return 0;
}

void job_table_free(struct job_table *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->slots[i].callback);
    free(t->slots);
    evlog_free(&t->log);
}

/* Record one change: bump the version, stamp and log it, tell the server. */
static void job_emit(struct job_table *t, struct job *job, uint64_t now_ms)
{
    job->version++;
    uint64_t at_us = t->clock_ns ? t->clock_ns(t->arg) / 1000 : now_ms * 1000;
    struct job_event ev = {
        .id = t->next_event++,
        .job = job->id,
        .version = job->version,
        .state = job->state,
        .progress = job->progress,
        .done_us = job->state == JOB_DONE ? job->done_us : 0,
        .at_us = job->state == JOB_DONE && job->done_us ? job->done_us : at_us,
    };
    assert(job->nevents < JOB_MAX_EVENTS);
    job->events[job->nevents++] = ev;
    evlog_append(&t->log, &ev);
    if (t->on_event) t->on_event(t->arg, job, &ev);
}

struct job *job_submit(struct job_table *t, uint32_t work_ms, const char *callback, uint64_t now_ms)
{
    if (work_ms < JOB_WORK_MS_MIN || work_ms > JOB_WORK_MS_MAX) {
        errno = EINVAL;
        return NULL;
    }
    struct job *job = &t->slots[t->next_id % t->cap];
    if (job->id != 0 && job->state != JOB_DONE) {
        errno = EBUSY;
        return NULL;
    }
    char *cb = NULL;
    if (callback && !(cb = strdup(callback))) {
        errno = ENOMEM;
        return NULL;
    }
    if (job->id != 0) {
        if (t->on_evict) t->on_evict(t->arg, job);
        free(job->callback);
    }
    memset(job, 0, sizeof(*job));
    job->id = t->next_id++;
    job->table = t;
    job->work_ms = work_ms;
    job->callback = cb;
    job->created_ms = now_ms;
    job->state = JOB_QUEUED;
    if (t->qtail)
        t->qtail->qnext = job;
    else
        t->qhead = job;
    t->qtail = job;
    t->queued++;
    job_emit(t, job, now_ms);
    return job;
}

struct job *job_start_next(struct job_table *t, uint64_t now_ms)
{
    if (!t->qhead || t->running >= t->max_running) return NULL;
    struct job *job = t->qhead;
    t->qhead = job->qnext;
    if (!t->qhead) t->qtail = NULL;
    job->qnext = NULL;
    t->queued--;
    t->running++;
    assert(job->state == JOB_QUEUED);
    job->state = JOB_RUNNING;
    job->started_ms = now_ms;
    job->progress = 0;
    job->step = 0;
    job_emit(t, job, now_ms);
    return job;
}

uint32_t job_step_ms(const struct job *job)
{
    assert(job->state == JOB_RUNNING && job->step < JOB_STEPS);
    /* Step k is due at k*work/STEPS after the start: the steps add up to work_ms
     * exactly, whatever the rounding. */
    uint64_t w = job->work_ms;
    return (uint32_t)((job->step + 1) * w / JOB_STEPS - job->step * w / JOB_STEPS);
}

int job_step(struct job_table *t, struct job *job, uint64_t now_ms)
{
    assert(job->state == JOB_RUNNING && job->step < JOB_STEPS);
    job->step++;
    job->progress = (uint8_t)(job->step * 100 / JOB_STEPS);
    if (job->step == JOB_STEPS) {
        job->state = JOB_DONE;
        job->done_ms = now_ms;
        if (!job->done_us) job->done_us = now_ms * 1000;
        assert(t->running > 0);
        t->running--;
        job_emit(t, job, now_ms);
        return 0;
    }
    job_emit(t, job, now_ms);
    return 1;
}

struct job *job_find(struct job_table *t, uint64_t id)
{
    if (id == 0 || id >= t->next_id) return NULL;
    struct job *job = &t->slots[id % t->cap];
    return job->id == id ? job : NULL;
}

int job_json(const struct job *job, char *buf, size_t len)
{
    /* The status is the latest event (every job has at least "queued") plus
     * work_ms: one JSON writer for both. */
    assert(job->nevents > 0 && job->events[job->nevents - 1].version == job->version);
    int n = job_event_json(&job->events[job->nevents - 1], buf, len);
    if (n < 1 || (size_t)n >= len) return n;
    n--; /* drop the closing brace */
    return n + snprintf(buf + n, len - (size_t)n, ",\"work_ms\":%u}", (unsigned)job->work_ms);
}
