/* jobs_sse: event streams, their resume and their end.  Contract in jobs_sse.h. */
#include "labs/jobs/jobs_sse.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define SSE_HDR                                                                                    \
    "Content-Type: text/event-stream\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\n"

/* Append to the stream; a reader too slow to take it is cut off (the HTTP core's
 * output bound: the connection is dead, the core closes it).  -1 when cut. */
static int jobs_sse_put(struct jobs_conn *c, const char *data, size_t len)
{
    jobs_conn_dirty(c);
    if (hconn_stream_write(c->h, data, len) == 0) return 0;
    c->srv->st.streams_cut++;
    fprintf(stderr, "jobs-server: SSE fd %d cut off: %s\n", c->fd,
            hconn_error(c->h) ? hconn_error(c->h) : "stream closed");
    return -1;
}

/* A job's stream is over once its final event is written: the response ends,
 * the connection goes back to keep-alive HTTP. */
static void jobs_sse_end(struct jobs_conn *c)
{
    jobs_stream_remove(c);
    hconn_stream_end(c->h);
    jobs_conn_dirty(c);
}

static uint64_t jobs_last_event_id(const struct hconn_req *req, const struct jobs_route *r)
{
    size_t len;
    const char *v = hconn_header(req, "Last-Event-ID", &len);
    char q[32];
    int ql;
    uint64_t id = 0;
    if (v && jobs_parse_num(v, len, INT64_MAX, &id) == 0) return id;
    /* ?lastEventId=N: for clients that cannot set headers (a fresh EventSource) */
    if ((ql = jobs_query(r, "lastEventId", q, sizeof(q))) > 0 &&
        jobs_parse_num(q, (size_t)ql, INT64_MAX, &id) == 0)
        return id;
    return 0;
}

void jobs_sse_open(struct jobs_conn *c, const struct hconn_req *req, const struct jobs_route *r)
{
    struct jobs_srv *s = c->srv;
    struct job *job = NULL;
    if (r->ep == EP_JOB_EVENTS && !(job = job_find(&s->jobs, r->job))) {
        jobs_error(c, 404, NULL, "no such job");
        return;
    }
    uint64_t last = jobs_last_event_id(req, r);
    if (job && job->state == JOB_DONE && last >= job->events[job->nevents - 1].id) {
        /* Everything was seen: 204 tells EventSource to stop reconnecting. */
        jobs_ready(c);
        jobs_respond(c, 204, NULL, NULL, 0);
        return;
    }
    if (req->method_len == 4 && memcmp(req->method, "HEAD", 4) == 0) { /* the head, no stream */
        jobs_ready(c);
        jobs_respond(c, 200, SSE_HDR, NULL, 0);
        return;
    }
    if (jobs_stream_add(c, CK_SSE) < 0) {
        jobs_busy(c, "too many streams: try again later");
        return;
    }
    c->filter_job = job ? job->id : 0;
    jobs_ready(c);
    char buf[512];
    int n = snprintf(buf, sizeof(buf), SSE_HDR);
    jobs_server_timing(c, buf + n, sizeof(buf) - (size_t)n);
    c->t_ready = 0;
    jobs_conn_dirty(c);
    if (hconn_stream_begin(c->h, 200, buf) < 0) return; /* dead: the core closes it */
    n = snprintf(buf, sizeof(buf), "retry: %d\n\n", JOBS_SSE_RETRY_MS);
    if (jobs_sse_put(c, buf, (size_t)n) < 0) return;
    if (job) { /* the job keeps its whole history (12 events at most) */
        for (size_t i = 0; i < job->nevents; i++) {
            if (job->events[i].id <= last) continue;
            n = sse_event(buf, sizeof(buf), &job->events[i]);
            if (jobs_sse_put(c, buf, (size_t)n) < 0) return;
            s->st.sse_events++;
        }
        if (job->state == JOB_DONE)
            jobs_sse_end(c); /* it had its final event: nothing more will come */
        else
            jobs_follow(c);
        return;
    }
    jobs_follow(c);
    if (last == 0) return; /* GET /events from now on */
    /* Resume the global stream from the bounded log, in batches as the client
     * reads (jobs_sse_catch_up): a long way behind costs the log's memory, not
     * the connection's. */
    c->sse_cursor = last;
    c->sse_behind = 1;
    jobs_sse_catch_up(c);
}

void jobs_sse_catch_up(struct jobs_conn *c)
{
    const struct evlog *log = &c->srv->jobs.log;
    const uint8_t *p;
    char buf[256];
    struct job_event evs[32];
    int gap, n;
    size_t k;
    /* Half the bound per round: live events for the others never wait long. */
    while (hconn_out(c->h, &p) < c->srv->o.stream_buffer / 2) {
        k = evlog_after(log, c->sse_cursor, evs, 32, &gap);
        if (k == 0) {
            c->sse_behind = 0; /* caught up: live events from now on */
            return;
        }
        if (gap) { /* the log no longer has what came after the cursor */
            n = snprintf(buf, sizeof(buf), "event: gap\ndata: {\"after\":%" PRIu64 "}\n\n",
                         c->sse_cursor);
            if (jobs_sse_put(c, buf, (size_t)n) < 0) return;
        }
        for (size_t i = 0; i < k; i++) {
            n = sse_event(buf, sizeof(buf), &evs[i]);
            if (jobs_sse_put(c, buf, (size_t)n) < 0) return;
            c->srv->st.sse_events++;
            c->sse_cursor = evs[i].id;
        }
    }
}

void jobs_sse_event(struct jobs_conn *c, const struct job *job, const struct job_event *ev,
                    const char *text, size_t len)
{
    if (c->sse_behind) return; /* it reads this one from the log later */
    c->sse_cursor = ev->id;
    c->srv->st.sse_events++;
    if (jobs_sse_put(c, text, len) < 0) return;
    if (c->filter_job == job->id && ev->state == JOB_DONE) jobs_sse_end(c);
}

void jobs_sse_heartbeat(struct jobs_srv *s)
{
    static const char beat[] = ": heartbeat\n\n"; /* a comment: EventSource ignores it */
    for (struct jobs_conn *c = s->streams; c; c = c->snext)
        if (c->kind == CK_SSE) jobs_sse_put(c, beat, sizeof(beat) - 1);
}
