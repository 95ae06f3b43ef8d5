/* jobs_longpoll: a request held until the job changes.  Contract in jobs_longpoll.h. */
#include "labs/jobs/jobs_longpoll.h"

#include <stdio.h>

#define CHANGED "X-Long-Poll: changed\r\n"
#define TIMEOUT "X-Long-Poll: timeout\r\n"

static void jobs_longpoll_timeout(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct jobs_conn *c = arg;
    struct jobs_srv *s = c->srv;
    c->wait.timer = 0;
    waiter_remove(&s->waiters, &c->wait);
    struct job *job = job_find(&s->jobs, c->wait.job); /* eviction answers waiters first */
    s->st.long_poll_timeouts++;
    jobs_ready(c);
    if (job)
        jobs_answer_status(c, job, TIMEOUT);
    else
        jobs_error(c, 404, NULL, "job is gone");
}

void jobs_longpoll_open(struct jobs_conn *c, struct job *job, const struct jobs_route *r)
{
    struct jobs_srv *s = c->srv;
    char v[32];
    uint64_t wait = 0, since = job->version;
    int wl = jobs_query(r, "wait", v, sizeof(v));
    if (wl < 0 || jobs_parse_num(v, (size_t)wl, s->o.max_wait_s, &wait) < 0) {
        char msg[96];
        snprintf(msg, sizeof(msg), "wait must be whole seconds in 0..%u", s->o.max_wait_s);
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
        jobs_ready(c);
        jobs_answer_status(c, job, job->version > since ? CHANGED : TIMEOUT);
        return;
    }
    c->wait.since = (uint32_t)since;
    c->wait.job = job->id;
    if (waiter_add(&s->waiters, &job->waiters, &c->wait) < 0) {
        jobs_busy(c, "too many long-poll waiters: try again later");
        return;
    }
    c->wait.timer = ev_timer_add(s->loop, wait * 1000, jobs_longpoll_timeout, c);
    if (c->wait.timer == 0) {
        waiter_remove(&s->waiters, &c->wait);
        jobs_busy(c, "no timer left: try again later");
    }
    /* held: jobs_longpoll_wake answers on the next change, the timer on timeout */
}

/* Every waiter of the job with since < version gets the status now. */
static void jobs_longpoll_answer(struct jobs_srv *s, struct job *job, uint32_t version,
                                 const char *how)
{
    struct waiter *w;
    while ((w = waiter_pop_ready(&s->waiters, &job->waiters, version))) {
        struct jobs_conn *c = w->conn;
        ev_timer_cancel(s->loop, w->timer);
        w->timer = 0;
        jobs_ready(c);
        jobs_answer_status(c, job, how);
    }
}

void jobs_longpoll_wake(struct jobs_srv *s, struct job *job)
{
    jobs_longpoll_answer(s, job, job->version, CHANGED);
}

void jobs_longpoll_evict(struct jobs_srv *s, struct job *job)
{
    jobs_longpoll_answer(s, job, UINT32_MAX, TIMEOUT);
}

void jobs_longpoll_cancel(struct jobs_conn *c)
{
    if (!c->wait.head) return;
    waiter_remove(&c->srv->waiters, &c->wait);
    ev_timer_cancel(c->srv->loop, c->wait.timer);
    c->wait.timer = 0;
}
