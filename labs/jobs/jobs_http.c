/* jobs_http: the endpoints.  Contract in jobs_http.h. */
#include "labs/jobs/jobs_http.h"

#include "labs/jobs/jobs_api.h"
#include "labs/jobs/jobs_conn.h"
#include "labs/jobs/jobs_longpoll.h"
#include "labs/jobs/jobs_push.h"
#include "labs/jobs/jobs_sse.h"
#include "labs/jobs/jobs_ws.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void jobs_post(struct jobs_conn *c, const struct hconn_req *req)
{
    struct jobs_srv *s = c->srv;
    struct jobs_post p;
    char err[256];
    int status = jobs_parse_post((const char *)req->body, req->body_len, &p, err, sizeof(err));
    if (status) {
        jobs_error(c, status, NULL, err);
        return;
    }
    struct job *job =
        job_submit(&s->jobs, p.work_ms, p.callback[0] ? p.callback : NULL, ev_now_ms());
    if (!job) {
        jobs_busy(c, "job table full of unfinished jobs: try again later");
        return;
    }
    s->st.jobs++;
    uint64_t id = job->id;
    jobs_start_ready(s); /* may start it right away */
    jobs_ready(c);
    char body[128], h[256];
    int n = snprintf(body, sizeof(body), "{\"id\":\"%" PRIu64 "\",\"status\":\"queued\"}\n", id);
    snprintf(h, sizeof(h), JOBS_JSON_HDR "Location: /jobs/%" PRIu64 "\r\n", id);
    jobs_respond(c, 202, h, body, (size_t)n);
}

/* GET /jobs/ID: the short poll (lab 08) answers the status now; with ?wait=S it
 * is a long poll (lab 09). */
static void jobs_get(struct jobs_conn *c, const struct jobs_route *r)
{
    struct job *job = job_find(&c->srv->jobs, r->job);
    char v[2];
    if (!job) {
        jobs_error(c, 404, NULL, "no such job");
    } else if (jobs_query(r, "wait", v, sizeof(v)) == -1) {
        jobs_ready(c);
        jobs_answer_status(c, job, NULL);
    } else {
        jobs_longpoll_open(c, job, r);
    }
}

static void jobs_stats_json(struct jobs_conn *c)
{
    struct jobs_srv *s = c->srv;
    const struct hook_stats *hs = hook_stats(s->hooks);
    char body[1100];
    jobs_ready(c);
    int n = snprintf(
        body, sizeof(body),
        "{\"requests\":%" PRIu64 ",\"jobs\":%" PRIu64 ",\"running\":%zu,\"queued\":%zu,"
        "\"last_event_id\":%" PRIu64 ",\"waiters\":%zu,\"long_polls\":%" PRIu64
        ",\"long_poll_timeouts\":%" PRIu64 ",\"streams\":%zu,\"streams_opened\":%" PRIu64
        ",\"streams_cut\":%" PRIu64 ",\"refused_503\":%" PRIu64 ",\"body_budget_503\":%" PRIu64
        ",\"sse_events\":%" PRIu64 ",\"ws_frames\":%" PRIu64 ",\"chat_messages\":%" PRIu64
        ",\"webhook_pending\":%zu,\"webhook_attempts\":%" PRIu64 ",\"webhook_delivered\":%" PRIu64
        ",\"webhook_given_up\":%" PRIu64 "}\n",
        s->st.requests, s->st.jobs, s->jobs.running, s->jobs.queued, s->jobs.log.last,
        s->waiters.count, s->st.long_polls, s->st.long_poll_timeouts, s->nstreams,
        s->st.streams_opened, s->st.streams_cut, s->st.refused_503, (uint64_t)s->budget.refused,
        s->st.sse_events, s->st.ws_frames, s->st.chat_messages, hook_pending(s->hooks),
        hs->attempts, hs->delivered, hs->given_up);
    jobs_respond(c, 200, JOBS_JSON_HDR, body, (size_t)n);
}

static int jobs_method(const struct hconn_req *req, const char *m)
{
    return strlen(m) == req->method_len && memcmp(req->method, m, req->method_len) == 0;
}

void jobs_on_request(struct hconn *h, const struct hconn_req *req, void *app)
{
    struct jobs_conn *c = app;
    (void)h; /* c->h */
    c->srv->st.requests++;
    c->t_ready = 0;
    struct jobs_route r;
    jobs_route(req->origin, req->origin_len, &r);
    int get = jobs_method(req, "GET") || jobs_method(req, "HEAD");
    switch (r.ep) {
    case EP_JOBS:
        if (jobs_method(req, "POST"))
            jobs_post(c, req);
        else
            jobs_error(c, 405, "Allow: POST\r\n", "use POST /jobs to start a job");
        return;
    case EP_NOT_FOUND:
        break;
    default:
        if (!get) {
            jobs_error(c, 405, "Allow: GET, HEAD\r\n", "method not allowed here");
            return;
        }
    }
    switch (r.ep) {
    case EP_INDEX:
        jobs_ready(c);
        jobs_respond(c, 200,
                     "Content-Type: text/html; charset=utf-8\r\nCache-Control: no-cache\r\n",
                     (const char *)c->srv->index_html, c->srv->index_len);
        return;
    case EP_JOB:
        jobs_get(c, &r);
        return;
    case EP_JOB_EVENTS:
    case EP_EVENTS:
        jobs_sse_open(c, req, &r);
        return;
    case EP_WS:
        jobs_ws_open(c, req, &r);
        return;
    case EP_STATS:
        jobs_stats_json(c);
        return;
    default:
        jobs_error(c, 404, NULL, "no such endpoint: see GET / and labs/jobs/NOTES.md");
    }
}
