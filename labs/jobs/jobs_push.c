/* jobs_push: everything the jobs service sends without being asked at that moment:
 * the simulated work's timers, and on every job event the long-poll wake-ups, the
 * SSE events, the WebSocket frames and (when a job is done) the webhook.  Also the
 * WebSocket chat rooms and the SSE heartbeat. */
#include "labs/jobs/jobs_api.h"
#include "labs/jobs/dlist.h"
#include "labs/jobs/jobs_server.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* ---- the simulated work -------------------------------------------------- */

static void jobs_step_timer(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct job *job = arg;
    struct jobs_srv *s = job->table->arg;
    job->timer = 0;
    if (job->step + 1 == JOB_STEPS) /* this step finishes it: stamp done_us to the us */
        job->done_us = ev_now_ns() / 1000;
    if (job_step(&s->jobs, job, ev_now_ms()))
        job->timer = ev_timer_add(loop, job_step_ms(job), jobs_step_timer, job);
    else
        jobs_start_ready(s); /* a worker is free */
}

void jobs_start_ready(struct jobs_srv *s)
{
    struct job *job;
    while ((job = job_start_next(&s->jobs, ev_now_ms()))) {
        job->timer = ev_timer_add(s->loop, job_step_ms(job), jobs_step_timer, job);
        if (job->timer == 0) /* the timer heap is bounded too; finish it at once */
            while (job_step(&s->jobs, job, ev_now_ms()))
                ;
    }
}

/* ---- streams ------------------------------------------------------------- */

int jobs_stream_add(struct jobs_conn *c, enum jobs_conn_kind kind)
{
    struct jobs_srv *s = c->srv;
    if (s->nstreams >= s->o.max_streams) return -1;
    c->kind = kind;
    /* Bound the kernel's share too: a slow reader then fills our buffer (and is
     * cut off) after stream_buffer + ~2 * stream_buffer bytes, not after the
     * megabytes TCP autotuning would queue. */
    int sb = s->o.stream_buffer > (1u << 20) ? 1 << 20 : (int)s->o.stream_buffer;
    setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb));
    DLIST_PUSH(s->streams, c, sprev, snext);
    s->nstreams++;
    s->st.streams_opened++;
    return 0;
}

static void jobs_unfollow(struct jobs_conn *c)
{
    if (!c->lhead) return;
    DLIST_UNLINK(*c->lhead, c, lprev, lnext);
    c->lhead = NULL;
}

void jobs_follow(struct jobs_conn *c)
{
    jobs_unfollow(c);
    struct jobs_conn **head = NULL;
    if (c->filter_job == 0) {
        head = &c->srv->firehose;
    } else if (c->filter_job != UINT64_MAX) {
        struct job *job = job_find(&c->srv->jobs, c->filter_job);
        if (job) head = &job->followers;
    }
    if (!head) return;
    DLIST_PUSH(*head, c, lprev, lnext);
    c->lhead = head;
}

void jobs_stream_remove(struct jobs_conn *c)
{
    struct jobs_srv *s = c->srv;
    if (c->kind == CK_HTTP) return;
    jobs_unfollow(c);
    DLIST_UNLINK(s->streams, c, sprev, snext);
    c->kind = CK_HTTP;
    s->nstreams--;
}

/* Append to a stream; a reader too slow to take it is cut off (the HTTP core's
 * output bound for SSE, ours for WebSocket).  Returns -1 when cut. */
static int jobs_sse_put(struct jobs_conn *c, const char *data, size_t len)
{
    if (hconn_stream_write(c->h, data, len) < 0) {
        c->srv->st.streams_cut++;
        fprintf(stderr, "jobs-server: SSE fd %d cut off: %s\n", c->fd,
                hconn_error(c->h) ? hconn_error(c->h) : "stream closed");
        return -1;
    }
    return 0;
}

static int jobs_ws_put(struct jobs_conn *c, unsigned opcode, const void *data, size_t len)
{
    size_t need = ws_header_len(len, 0) + len;
    if (c->wout_len + need > c->srv->o.stream_buffer) {
        c->srv->st.streams_cut++;
        fprintf(stderr,
                "jobs-server: WebSocket fd %d cut off: output over %zu bytes (slow reader)\n",
                c->fd, c->srv->o.stream_buffer);
        return -1;
    }
    if (c->wout_len + need > c->wout_cap) {
        size_t cap = c->wout_cap ? c->wout_cap : 4096;
        while (cap < c->wout_len + need)
            cap *= 2;
        uint8_t *p = realloc(c->wout, cap);
        if (!p) return -1;
        c->wout = p;
        c->wout_cap = cap;
    }
    int n = ws_encode(c->wout + c->wout_len, c->wout_cap - c->wout_len, opcode, 1, data, len, NULL);
    if (n < 0) return -1;
    c->wout_len += (size_t)n;
    c->srv->st.ws_frames++;
    return 0;
}

int jobs_sse_start(struct jobs_conn *c, struct job *job, uint64_t last)
{
    char buf[256];
    int n = snprintf(buf, sizeof(buf), "retry: %d\n\n", JOBS_SSE_RETRY_MS);
    if (jobs_sse_put(c, buf, (size_t)n) < 0) return -1;
    jobs_follow(c);
    if (job) { /* the job keeps its whole history (12 events at most) */
        for (size_t i = 0; i < job->nevents; i++) {
            if (job->events[i].id <= last) continue;
            n = sse_event(buf, sizeof(buf), &job->events[i]);
            if (jobs_sse_put(c, buf, (size_t)n) < 0) return -1;
            c->srv->st.sse_events++;
        }
        return 0;
    }
    if (last == 0) return 0; /* GET /events from now on */
    /* Resume the global stream from the bounded log, in batches as the client
     * reads (jobs_sse_catch_up): a long way behind costs the log's memory, not
     * the connection's. */
    c->sse_cursor = last;
    c->sse_behind = 1;
    return jobs_sse_catch_up(c);
}

int jobs_sse_catch_up(struct jobs_conn *c)
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
            return 0;
        }
        if (gap) { /* the log no longer has what came after the cursor */
            n = snprintf(buf, sizeof(buf), "event: gap\ndata: {\"after\":%" PRIu64 "}\n\n",
                         c->sse_cursor);
            if (jobs_sse_put(c, buf, (size_t)n) < 0) return -1;
        }
        for (size_t i = 0; i < k; i++) {
            n = sse_event(buf, sizeof(buf), &evs[i]);
            if (jobs_sse_put(c, buf, (size_t)n) < 0) return -1;
            c->srv->st.sse_events++;
            c->sse_cursor = evs[i].id;
        }
    }
    return 0;
}

/* ---- one job event, to everyone who waits for it -------------------------- */

static void jobs_send_hook(struct jobs_srv *s, struct job *job)
{
    char body[256], id[HOOK_ID_LEN + 1], err[160];
    int n = job_json(job, body, sizeof(body));
    if (hook_send(s->hooks, job->callback, "job.done", body, (size_t)n, id, err, sizeof(err)) < 0) {
        s->st.hooks_failed++;
        fprintf(stderr, "jobs-server: job %" PRIu64 " webhook not sent: %s\n", job->id, err);
    }
}

void jobs_on_job_event(void *arg, struct job *job, const struct job_event *ev)
{
    struct jobs_srv *s = arg;
    /* Long polls held on this job and now behind its version. */
    struct waiter *w;
    while ((w = waiter_pop_ready(&s->waiters, &job->waiters, job->version))) {
        struct jobs_conn *c = w->conn;
        ev_timer_cancel(s->loop, w->timer);
        w->timer = 0;
        c->t_ready = ev_now_ns();
        jobs_answer_waiter(c, job, 1);
        jobs_conn_flush_later(c);
    }
    /* Streams: written and flushed now, never held back. */
    char sse[256], js[200];
    int sn = sse_event(sse, sizeof(sse), ev);
    int jn = job_event_json(ev, js, sizeof(js));
    struct jobs_conn *lists[2] = {job->followers, s->firehose}, *next;
    for (int l = 0; l < 2; l++) {
        for (struct jobs_conn *c = lists[l]; c; c = next) {
            next = c->lnext;
            if (c->kind == CK_SSE) {
                if (c->sse_behind) continue; /* it reads this one from the log later */
                c->sse_cursor = ev->id;
                s->st.sse_events++;
                jobs_sse_put(c, sse, (size_t)sn); /* on failure the flush closes it */
                jobs_conn_flush(c);
            } else if (c->kind == CK_WS && !c->h && !c->ws_closing) {
                if (jobs_ws_put(c, WS_OP_TEXT, js, (size_t)jn) < 0)
                    jobs_conn_close(c);
                else
                    jobs_conn_flush(c);
            }
        }
        if (l == 0) /* closing followers cannot touch the firehose's head: re-read it */
            lists[1] = s->firehose;
    }
    if (job->state == JOB_DONE && job->callback) jobs_send_hook(s, job);
}

void jobs_on_job_evict(void *arg, struct job *job)
{
    struct jobs_srv *s = arg;
    /* Let go of the job: its followers follow nothing (they keep their stream,
     * heartbeats included), its waiters get its last status now. */
    while (job->followers)
        jobs_unfollow(job->followers);
    struct waiter *w;
    while ((w = waiter_pop_ready(&s->waiters, &job->waiters, UINT32_MAX))) {
        struct jobs_conn *c = w->conn;
        ev_timer_cancel(s->loop, w->timer);
        c->t_ready = ev_now_ns();
        jobs_answer_waiter(c, job, 0);
        jobs_conn_flush_later(c);
    }
}

void jobs_hook_done(void *arg, const char *id, int ok, unsigned attempts, int status)
{
    struct jobs_srv *s = arg;
    if (ok)
        s->st.hooks_ok++;
    else
        s->st.hooks_failed++;
    fprintf(stderr, "jobs-server: webhook delivery %s %s after %u attempt%s (last status %d)\n", id,
            ok ? "delivered" : "GAVE UP", attempts, attempts == 1 ? "" : "s", status);
}

void jobs_heartbeat(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct jobs_srv *s = arg;
    static const char beat[] = ": heartbeat\n\n"; /* a comment: EventSource ignores it */
    struct jobs_conn *next;
    for (struct jobs_conn *c = s->streams; c; c = next) {
        next = c->snext;
        if (c->kind != CK_SSE) continue;
        jobs_sse_put(c, beat, sizeof(beat) - 1);
        jobs_conn_flush(c);
    }
    ev_timer_add(loop, (uint64_t)s->o.heartbeat_s * 1000, jobs_heartbeat, s);
}

/* ---- WebSocket: job events out, chat in and across a room ------------------ */

int jobs_ws_start(struct jobs_conn *c, const uint8_t *leftover, size_t n)
{
    c->wsmsg = malloc(JOBS_WS_MAX_MESSAGE);
    if (!c->wsmsg) {
        jobs_conn_close(c);
        return -1;
    }
    ws_parser_init(&c->wp, WS_SERVER, c->wsmsg, JOBS_WS_MAX_MESSAGE, 0);
    /* The frames that came with the handshake are inside the core: feed them
     * before letting it go. */
    uint8_t *copy = NULL;
    if (n && !(copy = malloc(n))) {
        jobs_conn_close(c);
        return -1;
    }
    if (n) memcpy(copy, leftover, n);
    hconn_free(c->h);
    c->h = NULL;
    c->watched = ~0u; /* force jobs_watch to set the mask again */
    jobs_follow(c);
    int rc = n ? jobs_ws_input(c, copy, n) : 0;
    free(copy);
    return rc;
}

static void jobs_ws_close_with(struct jobs_conn *c, unsigned code, const char *why)
{
    uint8_t f[WS_MAX_HEADER + WS_MAX_CONTROL];
    int n = ws_encode_close(f, sizeof(f), code, why, NULL);
    /* The close frame goes out even past the stream bound: it is tiny and last. */
    uint8_t *p = n > 0 ? realloc(c->wout, c->wout_len + (size_t)n) : NULL;
    if (p) {
        c->wout = p;
        c->wout_cap = c->wout_len + (size_t)n;
        memcpy(c->wout + c->wout_len, f, (size_t)n);
        c->wout_len += (size_t)n;
    }
    c->ws_closing = 1;
}

static void jobs_chat(struct jobs_conn *from, const uint8_t *msg, size_t len)
{
    struct jobs_srv *s = from->srv;
    s->st.chat_messages++;
    struct jobs_conn *next;
    for (struct jobs_conn *c = s->streams; c; c = next) {
        next = c->snext;
        if (c == from || c->kind != CK_WS || c->h || c->ws_closing || strcmp(c->room, from->room))
            continue;
        if (jobs_ws_put(c, WS_OP_TEXT, msg, len) < 0)
            jobs_conn_close(c);
        else
            jobs_conn_flush(c);
    }
}

int jobs_ws_subscribe(struct jobs_conn *c, const char *v, size_t len, int snapshot)
{
    uint64_t id;
    if (len > 10 && memcmp(v, "subscribe ", 10) == 0) v += 10, len -= 10;
    if (len == 3 && memcmp(v, "all", 3) == 0)
        c->filter_job = 0;
    else if (len == 4 && memcmp(v, "none", 4) == 0)
        c->filter_job = UINT64_MAX; /* no job has that id */
    else if (jobs_parse_num(v, len, UINT64_MAX >> 1, &id) == 0 && id > 0)
        c->filter_job = id;
    else
        return -1;
    if (!c->h) /* taken over: change lists now (else jobs_ws_start will) */
        jobs_follow(c);
    /* snapshot then stream: the job's latest event first, so a job that finished
     * before the subscription arrived is not missed */
    struct job *job =
        c->filter_job && c->filter_job != UINT64_MAX ? job_find(&c->srv->jobs, id) : NULL;
    if (snapshot && job && job->nevents) {
        char js[200];
        int jn = job_event_json(&job->events[job->nevents - 1], js, sizeof(js));
        if (jobs_ws_put(c, WS_OP_TEXT, js, (size_t)jn) < 0) return -2;
    }
    return 0;
}

int jobs_ws_input(struct jobs_conn *c, const uint8_t *data, size_t n)
{
    while (n > 0 && !c->ws_closing) {
        struct ws_event ev;
        size_t used = ws_parse(&c->wp, data, n, &ev);
        data += used;
        n -= used;
        switch (ev.type) {
        case WS_EV_NONE:
            break;
        case WS_EV_TEXT:
        case WS_EV_BINARY:
            if (c->room[0])
                jobs_chat(c, ev.data, ev.len); /* every message to the room's others */
            else if (jobs_ws_subscribe(c, (const char *)ev.data, ev.len, 1) == -2) {
                jobs_conn_close(c);
                return -1;
            }
            break;
        case WS_EV_PING:
            if (jobs_ws_put(c, WS_OP_PONG, ev.data, ev.len) < 0) {
                jobs_conn_close(c);
                return -1;
            }
            break;
        case WS_EV_PONG:
            break;
        case WS_EV_CLOSE:
            jobs_ws_close_with(c, ev.code == WS_CLOSE_NO_STATUS ? WS_CLOSE_NORMAL : ev.code, NULL);
            break;
        case WS_EV_ERROR:
            jobs_ws_close_with(c, ev.code, (const char *)ev.data);
            break;
        }
    }
    return 0;
}
