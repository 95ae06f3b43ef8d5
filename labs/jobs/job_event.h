/* job_event: one change of one job, and the bounded global log of them (evlog).
 *
 * Every state change of a job is an event with a server-wide id that only grows
 * (1, 2, 3, ...).  The same id is the SSE `id:` on both /events and
 * /jobs/ID/events, so a client can resume either stream with Last-Event-ID.
 *
 * Contract of the log (evlog_*)
 * - A ring of `cap` events (cap >= 1); appending the cap+1-th drops the oldest.
 * - Ids are appended in increasing order (asserted).
 * - evlog_after(log, last, out, max) copies up to max events with id > last, in
 *   order, and returns how many; *gap is set to 1 when events with id > last were
 *   already dropped (the reader missed some: the server tells the client so).
 * - No allocation after evlog_init; evlog_init returns -1 when out of memory.
 */
#ifndef WIRELAB_LABS_JOBS_JOB_EVENT_H
#define WIRELAB_LABS_JOBS_JOB_EVENT_H

#include <stddef.h>
#include <stdint.h>

enum job_state { JOB_QUEUED = 0, JOB_RUNNING = 1, JOB_DONE = 2 };

struct job_event {
    uint64_t id;      /* server-wide event id, > 0 */
    uint64_t job;     /* job id */
    uint32_t version; /* the job's version after this change (1 = queued) */
    uint8_t state;    /* enum job_state */
    uint8_t progress; /* percent, 0..100 */
    uint64_t done_us; /* done events: when the job finished (CLOCK_MONOTONIC us), else 0 */
    uint64_t at_us;   /* when this change happened (the server's CLOCK_MONOTONIC us), 0 unknown */
};

struct evlog {
    struct job_event *ring;
    size_t cap;
    size_t len;    /* events held, <= cap */
    size_t head;   /* index of the oldest */
    uint64_t last; /* id of the newest appended, 0 when none */
};

int evlog_init(struct evlog *log, size_t cap);
void evlog_free(struct evlog *log);
void evlog_append(struct evlog *log, const struct job_event *ev);
size_t evlog_after(const struct evlog *log, uint64_t last, struct job_event *out, size_t max,
                   int *gap);

const char *job_state_name(int state);
/* job_event_json: the event's data as one JSON object, e.g.
 * {"id":"7","status":"running","progress":40,"version":6,"at_us":81234567}; at_us is
 * left out when 0.  A client measures each change's delay against at_us (the
 * completion's against done_us).  Returns the length written (snprintf semantics). */
int job_event_json(const struct job_event *ev, char *buf, size_t len);

#endif
