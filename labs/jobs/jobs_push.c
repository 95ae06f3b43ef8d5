/* jobs_push: the simulated work and the fan-out of its events.  Contract in jobs_push.h. */
#include "labs/jobs/jobs_push.h"

#include "labs/jobs/jobs_api.h"
#include "labs/jobs/jobs_longpoll.h"
#include "labs/jobs/jobs_sse.h"
#include "labs/jobs/jobs_ws.h"

#include <inttypes.h>
#include <stdio.h>

/* ---- the simulated work ------------------------------------------------------- */

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

/* ---- one job event, to everyone who waits for it ------------------------------ */

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
    jobs_longpoll_wake(s, job);
    /* Streams: the job's own followers, then the firehose (every job's events).
       A stream that ends here (a job's SSE after its final event) leaves its list:
       the next one is read first. */
    char sse[256], js[200];
    int sn = sse_event(sse, sizeof(sse), ev);
    int jn = job_event_json(ev, js, sizeof(js));
    struct jobs_conn *next;
    for (int l = 0; l < 2; l++) {
        for (struct jobs_conn *c = l == 0 ? job->followers : s->firehose; c; c = next) {
            next = c->lnext;
            if (c->kind == CK_SSE)
                jobs_sse_event(c, job, ev, sse, (size_t)sn);
            else if (c->kind == CK_WS)
                jobs_ws_event(c, js, (size_t)jn);
        }
    }
    if (job->state == JOB_DONE && job->callback) jobs_send_hook(s, job);
}

void jobs_on_job_evict(void *arg, struct job *job)
{
    struct jobs_srv *s = arg;
    /* Let go of the job: its followers follow nothing (they keep their socket),
     * its waiters get its last status now. */
    while (job->followers)
        jobs_unfollow(job->followers);
    jobs_longpoll_evict(s, job);
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
