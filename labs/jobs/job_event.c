/* job_event: job events and their bounded global log.  Contract in job_event.h. */
#include "labs/jobs/job_event.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

int evlog_init(struct evlog *log, size_t cap)
{
    assert(cap >= 1);
    log->ring = calloc(cap, sizeof(*log->ring));
    if (!log->ring) return -1;
    log->cap = cap;
    log->len = log->head = 0;
    log->last = 0;
    return 0;
}

void evlog_free(struct evlog *log)
{
    free(log->ring);
    log->ring = NULL;
}

void evlog_append(struct evlog *log, const struct job_event *ev)
{
    assert(ev->id > log->last);
    if (log->len == log->cap) {
        log->ring[log->head] = *ev; /* overwrite the oldest */
        log->head = (log->head + 1) % log->cap;
    } else {
        log->ring[(log->head + log->len) % log->cap] = *ev;
        log->len++;
    }
    log->last = ev->id;
}

size_t evlog_after(const struct evlog *log, uint64_t last, struct job_event *out, size_t max,
                   int *gap)
{
    *gap = 0;
    if (log->len == 0 || last >= log->last) return 0;
    const struct job_event *oldest = &log->ring[log->head];
    /* Ids are dense (every event goes through the log), so anything between
     * `last` and the oldest we hold was dropped. */
    if (last + 1 < oldest->id) *gap = 1;
    /* Binary search for the first id > last: the ring is sorted by id. */
    size_t lo = 0, hi = log->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (log->ring[(log->head + mid) % log->cap].id <= last)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t n = 0;
    for (size_t i = lo; i < log->len && n < max; i++)
        out[n++] = log->ring[(log->head + i) % log->cap];
    return n;
}

const char *job_state_name(int state)
{
    switch (state) {
    case JOB_QUEUED:
        return "queued";
    case JOB_RUNNING:
        return "running";
    case JOB_DONE:
        return "done";
    }
    return "unknown";
}

int job_event_json(const struct job_event *ev, char *buf, size_t len)
{
    /* done_us: the completion time clients measure their delay against (notify-client) */
    int n;
    if (ev->state == JOB_DONE)
        n = snprintf(buf, len,
                     "{\"id\":\"%" PRIu64 "\",\"status\":\"%s\",\"progress\":%u,\"version\":%u,"
                     "\"done_us\":%" PRIu64 "}",
                     ev->job, job_state_name(ev->state), (unsigned)ev->progress,
                     (unsigned)ev->version, ev->done_us);
    else
        n = snprintf(
            buf, len, "{\"id\":\"%" PRIu64 "\",\"status\":\"%s\",\"progress\":%u,\"version\":%u}",
            ev->job, job_state_name(ev->state), (unsigned)ev->progress, (unsigned)ev->version);
    if (!ev->at_us || n < 1 || (size_t)n >= len) return n;
    n--; /* the closing brace: at_us goes before it */
    return n + snprintf(buf + n, len - (size_t)n, ",\"at_us\":%" PRIu64 "}", ev->at_us);
}
