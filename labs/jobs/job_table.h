/* job_table: the jobs and their state machine, with versions.  Sans-I/O: it never
 * reads the clock or sets timers itself; the server calls it from its timers.
 *
 * A job takes work_ms of simulated work.  Its life, one event per change:
 *   version 1        queued        (job_submit)
 *   version 2        running   0%  (job_start_next: a worker slot is free)
 *   versions 3..11   running 10..90% (job_step, every work_ms/10)
 *   version 12       done    100%  (job_step)
 * Every change bumps the job's version, gets the next server-wide event id, is
 * kept in the job's own event list (all of them: at most JOB_MAX_EVENTS) and in
 * the global log (bounded ring), and is reported through on_event.  Each event is
 * stamped with its time (at_us): by the server's clock_ns when it sets one, else
 * from the now_ms it passed.
 *
 * Contract
 * - Bounded: at most `cap` jobs are remembered.  Job N lives in slot N % cap, so a
 *   new job replaces the job `cap` ids older; if that one is not done yet,
 *   job_submit refuses with errno EBUSY (the server answers 503).  Before a done
 *   job is replaced, on_evict is called so the server can let go of it.
 * - At most max_running jobs run at once; the others wait in FIFO order.
 * - job_find returns NULL for an unknown or already replaced id.
 * - Pointers to a job stay valid until it is evicted.
 */
#ifndef WIRELAB_LABS_JOBS_JOB_TABLE_H
#define WIRELAB_LABS_JOBS_JOB_TABLE_H

#include "labs/jobs/job_event.h"

#include <stddef.h>
#include <stdint.h>

#define JOB_STEPS       10
#define JOB_MAX_EVENTS  (JOB_STEPS + 2)
#define JOB_WORK_MS_MIN 1
#define JOB_WORK_MS_MAX 600000 /* ten minutes of simulated work at most */

struct job {
    uint64_t id; /* 0: empty slot */
    uint32_t work_ms;
    uint32_t version;
    uint8_t state, progress, step;
    uint64_t created_ms, started_ms, done_ms;
    uint64_t done_us; /* CLOCK_MONOTONIC us of completion: the server sets it before the
                         last step (the clock is its business); else done_ms * 1000 */
    char *callback;   /* webhook URL or NULL (owned) */
    struct job_event events[JOB_MAX_EVENTS];
    size_t nevents;
    struct job *qnext;           /* FIFO of queued jobs */
    struct waiter *waiters;      /* the server's long-poll waiters on this job */
    struct jobs_conn *followers; /* the server's streams following only this job */
    struct job_table *table;
    uint64_t timer; /* the server's step timer id */
};

struct job_table;
struct waiter;
struct jobs_conn;
typedef void (*job_event_cb)(void *arg, struct job *job, const struct job_event *ev);
typedef void (*job_evict_cb)(void *arg, struct job *job);

struct job_table {
    struct job *slots;
    size_t cap;
    uint64_t next_id, next_event;
    size_t running, max_running, queued;
    struct job *qhead, *qtail;
    struct evlog log;
    job_event_cb on_event;
    job_evict_cb on_evict;
    void *arg;
    uint64_t (*clock_ns)(void *arg); /* optional, set after init: stamps each event's at_us */
};

int job_table_init(struct job_table *t, size_t cap, size_t max_running, size_t log_cap,
                   job_event_cb on_event, job_evict_cb on_evict, void *arg);
void job_table_free(struct job_table *t);

/* Queue a new job (version 1, event "queued").  callback may be NULL; it is
 * copied.  Returns the job, or NULL with errno EBUSY (table full of unfinished
 * jobs), EINVAL (work_ms out of range) or ENOMEM. */
struct job *job_submit(struct job_table *t, uint32_t work_ms, const char *callback,
                       uint64_t now_ms);
/* Start the oldest queued job if a worker slot is free; returns it or NULL.
 * The caller then arms a timer for job_step_ms(job). */
struct job *job_start_next(struct job_table *t, uint64_t now_ms);
/* Milliseconds from now until the running job's next step is due. */
uint32_t job_step_ms(const struct job *job);
/* Advance a running job one step.  Returns 1 while it still runs (arm the timer
 * again), 0 when it is now done (call job_start_next: a slot is free). */
int job_step(struct job_table *t, struct job *job, uint64_t now_ms);

struct job *job_find(struct job_table *t, uint64_t id);
/* The job's current status as the JSON object every endpoint answers with. */
int job_json(const struct job *job, char *buf, size_t len);

#endif
