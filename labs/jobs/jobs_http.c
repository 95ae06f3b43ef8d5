/* jobs_http: the jobs service's endpoints, one handler per route, and the
 * Server-Timing header every response carries.  Called by the HTTP core
 * (io/http/hconn) once per request; see labs/jobs/NOTES.md for the API. */
#include "labs/jobs/jobs_api.h"
#include "labs/jobs/jobs_server.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define JSON_HDR "Content-Type: application/json\r\nCache-Control: no-store\r\n"
#define SSE_HDR                                                                                    \
    "Content-Type: text/event-stream\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\n"

/* The four phases of the notes' request-response travel, in ms (Server-Timing:
 * `name;dur=ms`): recv = first byte to last byte of the request, parse = the
 * parser's pass over it until the handler ran, process = the handler's work
 * until the answer was known (for a long poll: the wait itself), respond =
 * building the answer. */
int jobs_server_timing(struct jobs_conn *c, char *buf, size_t cap)
{
    const struct hconn_times *t = hconn_times(c->h);
    uint64_t now = ev_now_ns();
    uint64_t ready = c->t_ready ? c->t_ready : now;
    return snprintf(buf, cap,
                    "Server-Timing: recv;dur=%.3f, parse;dur=%.3f, process;dur=%.3f, "
                    "respond;dur=%.3f\r\n",
                    (double)(t->t_parse - t->t_recv) / 1e6,
                    (double)(t->t_dispatch - t->t_parse) / 1e6,
                    (double)(ready - t->t_dispatch) / 1e6, (double)(now - ready) / 1e6);
}

/* The answer is known: what follows is building the response. */
static void jobs_ready(struct jobs_conn *c)
{
    c->t_ready = ev_now_ns();
}

int jobs_respond(struct jobs_conn *c, int status, const char *headers, const char *body, size_t len)
{
    char h[1024];
    int n = snprintf(h, sizeof(h), "%s", headers ? headers : "");
    if (n < 0 || (size_t)n >= sizeof(h) - 160)
        n = 0; /* our own header lines are short: cannot happen */
    jobs_server_timing(c, h + n, sizeof(h) - (size_t)n);
    c->t_ready = 0;
    return hconn_respond(c->h, status, h, body, len);
}

/* {"error": "..."} with the message escaped for JSON. */
static void jobs_error(struct jobs_conn *c, int status, const char *extra_headers, const char *msg)
{
    jobs_ready(c);
    char body[512];
    size_t n = (size_t)snprintf(body, sizeof(body), "{\"error\":\"");
    for (const char *p = msg; *p && n < sizeof(body) - 16; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\\')
            n += (size_t)snprintf(body + n, sizeof(body) - n, "\\%c", ch);
        else if (ch < 0x20)
            n += (size_t)snprintf(body + n, sizeof(body) - n, "\\u%04x", ch);
        else
            body[n++] = (char)ch;
    }
    n += (size_t)snprintf(body + n, sizeof(body) - n, "\"}\n");
    char h[256];
    snprintf(h, sizeof(h), JSON_HDR "%s", extra_headers ? extra_headers : "");
    jobs_respond(c, status, h, body, n);
}

static void jobs_busy(struct jobs_conn *c, const char *what)
{
    c->srv->st.refused_503++;
    jobs_error(c, 503, "Retry-After: 1\r\n", what);
}

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
    snprintf(h, sizeof(h), JSON_HDR "Location: /jobs/%" PRIu64 "\r\n", id);
    jobs_respond(c, 202, h, body, (size_t)n);
}

void jobs_answer_waiter(struct jobs_conn *c, struct job *job, int changed)
{
    char body[256];
    int n = job_json(job, body, sizeof(body) - 1);
    body[n++] = '\n';
    jobs_respond(
        c, 200, changed ? JSON_HDR "X-Long-Poll: changed\r\n" : JSON_HDR "X-Long-Poll: timeout\r\n",
        body, (size_t)n);
}

static void jobs_wait_timeout(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct jobs_conn *c = arg;
    struct jobs_srv *s = c->srv;
    c->wait.timer = 0;
    waiter_remove(&s->waiters, &c->wait);
    struct job *job = job_find(&s->jobs, c->wait.job); /* eviction answers waiters first */
    s->st.long_poll_timeouts++;
    jobs_ready(c);
    if (job)
        jobs_answer_waiter(c, job, 0);
    else
        jobs_error(c, 404, NULL, "job is gone");
    jobs_conn_flush(c);
}

/* GET /jobs/ID: short poll, or with ?wait=S[&since=V] a long poll. */
static void jobs_get(struct jobs_conn *c, const struct jobs_route *r)
{
    struct jobs_srv *s = c->srv;
    struct job *job = job_find(&s->jobs, r->job);
    if (!job) {
        jobs_error(c, 404, NULL, "no such job");
        return;
    }
    char v[32];
    uint64_t wait = 0, since = job->version;
    int wl = jobs_query(r, "wait", v, sizeof(v));
    if (wl == -1) { /* short poll */
        jobs_answer_waiter(c, job, 0);
        return;
    }
    if (wl < 0 || jobs_parse_num(v, (size_t)wl, s->o.max_wait_s, &wait) < 0) {
        snprintf(v, sizeof(v), "%u", s->o.max_wait_s);
        char msg[96];
        snprintf(msg, sizeof(msg), "wait must be whole seconds in 0..%s", v);
        jobs_error(c, 400, NULL, msg);
        return;
    }
    int sl = jobs_query(r, "since", v, sizeof(v));
    if (sl != -1 && (sl < 0 || jobs_parse_num(v, (size_t)sl, UINT32_MAX, &since) < 0)) {
        jobs_error(c, 400, NULL, "since must be a job version (a whole number)");
        return;
    }
    s->st.long_polls++;
    if (job->version > since || wait == 0) {
        jobs_answer_waiter(c, job, job->version > since);
        return;
    }
    c->wait.since = (uint32_t)since;
    c->wait.job = job->id;
    if (waiter_add(&s->waiters, &job->waiters, &c->wait) < 0) {
        jobs_busy(c, "too many long-poll waiters: try again later");
        return;
    }
    c->wait.timer = ev_timer_add(s->loop, wait * 1000, jobs_wait_timeout, c);
    if (c->wait.timer == 0) {
        waiter_remove(&s->waiters, &c->wait);
        jobs_busy(c, "no timer left: try again later");
    }
    /* deferred: jobs_push.c answers on the next change, the timer on timeout */
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

static void jobs_sse(struct jobs_conn *c, const struct hconn_req *req, const struct jobs_route *r)
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
    char h[512];
    int n = snprintf(h, sizeof(h), SSE_HDR);
    jobs_server_timing(c, h + n, sizeof(h) - (size_t)n);
    c->t_ready = 0;
    if (hconn_stream_begin(c->h, 200, h) < 0)
        return; /* dead: the flush after this handler closes it */
    jobs_sse_start(c, job, last);
}

static int jobs_room_ok(const char *room)
{
    if (!room[0]) return 0;
    for (const char *p = room; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return 0;
    return 1;
}

static void jobs_ws(struct jobs_conn *c, const struct hconn_req *req, const struct jobs_route *r)
{
    struct ws_handshake_req hr = {.method = req->method, .method_len = req->method_len};
    hr.upgrade = hconn_header(req, "Upgrade", &hr.upgrade_len);
    hr.connection = hconn_header(req, "Connection", &hr.connection_len);
    hr.version = hconn_header(req, "Sec-WebSocket-Version", &hr.version_len);
    hr.key = hconn_header(req, "Sec-WebSocket-Key", &hr.key_len);
    char accept[WS_ACCEPT_LEN + 1], err[160];
    int st = ws_handshake_check(&hr, accept, err, sizeof(err));
    if (st == 426) {
        jobs_error(c, 426, "Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n",
                   "WebSocket version 13 only");
        return;
    }
    if (st != 0) {
        jobs_error(c, 400, NULL, err);
        return;
    }
    int rl = jobs_query(r, "room", c->room, sizeof(c->room));
    if (rl == -2 || (rl >= 0 && !jobs_room_ok(c->room))) {
        c->room[0] = '\0';
        jobs_error(c, 400, NULL, "room must be 1..32 of [A-Za-z0-9._-]");
        return;
    }
    if (rl < 0) c->room[0] = '\0';
    char sub[24];
    int sl = jobs_query(r, "subscribe", sub, sizeof(sub));
    c->filter_job = 0;
    if (sl >= 0 && jobs_ws_subscribe(c, sub, (size_t)sl, 0) < 0) {
        jobs_error(c, 400, NULL, "subscribe must be all, none or a job id");
        return;
    }
    if (jobs_stream_add(c, CK_WS) < 0) {
        jobs_busy(c, "too many streams: try again later");
        return;
    }
    jobs_ready(c);
    char h[512];
    int n = snprintf(h, sizeof(h),
                     "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n",
                     accept);
    jobs_server_timing(c, h + n, sizeof(h) - (size_t)n);
    c->t_ready = 0;
    hconn_upgrade(c->h, h); /* jobs_conn_flush takes the connection over once it is sent */
}

static void jobs_stats_json(struct jobs_conn *c)
{
    struct jobs_srv *s = c->srv;
    const struct hook_stats *hs = hook_stats(s->hooks);
    char body[1024];
    jobs_ready(c);
    int n =
        snprintf(body, sizeof(body),
                 "{\"requests\":%" PRIu64 ",\"jobs\":%" PRIu64 ",\"running\":%zu,\"queued\":%zu,"
                 "\"last_event_id\":%" PRIu64 ",\"waiters\":%zu,\"long_polls\":%" PRIu64
                 ",\"long_poll_timeouts\":%" PRIu64 ",\"streams\":%zu,\"streams_opened\":%" PRIu64
                 ",\"streams_cut\":%" PRIu64 ",\"refused_503\":%" PRIu64 ",\"sse_events\":%" PRIu64
                 ",\"ws_frames\":%" PRIu64 ",\"chat_messages\":%" PRIu64 ",\"webhook_pending\":%zu,"
                 "\"webhook_attempts\":%" PRIu64 ",\"webhook_delivered\":%" PRIu64
                 ",\"webhook_given_up\":%" PRIu64 "}\n",
                 s->st.requests, s->st.jobs, s->jobs.running, s->jobs.queued, s->jobs.log.last,
                 s->waiters.count, s->st.long_polls, s->st.long_poll_timeouts, s->nstreams,
                 s->st.streams_opened, s->st.streams_cut, s->st.refused_503, s->st.sse_events,
                 s->st.ws_frames, s->st.chat_messages, hook_pending(s->hooks), hs->attempts,
                 hs->delivered, hs->given_up);
    jobs_respond(c, 200, JSON_HDR, body, (size_t)n);
}

static int jobs_method(const struct hconn_req *req, const char *m)
{
    return strlen(m) == req->method_len && memcmp(req->method, m, req->method_len) == 0;
}

void jobs_on_request(struct hconn *h, const struct hconn_req *req, void *app)
{
    struct jobs_conn *c = app;
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
        jobs_sse(c, req, &r);
        return;
    case EP_WS:
        jobs_ws(c, req, &r);
        return;
    case EP_STATS:
        jobs_stats_json(c);
        return;
    default:
        jobs_error(c, 404, NULL, "no such endpoint: see GET / and labs/jobs/NOTES.md");
    }
}
