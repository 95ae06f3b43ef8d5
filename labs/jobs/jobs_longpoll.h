/* jobs_longpoll: long polling (lab 09).  GET /jobs/ID?wait=S&since=V is held on the
 * event loop, a struct and a timer rather than a thread, until the job's version
 * passes V or S seconds have passed.
 *
 * Contract
 * - jobs_longpoll_open(c, job, r) answers the request: 400 when wait is not a whole
 *   number of seconds in 0..--max-wait or since not a number; at once when the
 *   job's version is already past since (default: its version now) or wait is 0.
 *   Otherwise the request stays open (a deferred response of the HTTP core), the
 *   connection goes on the job's waiter list (--max-waiters in all, then 503) and a
 *   timer answers it after S seconds with the unchanged status
 *   (X-Long-Poll: timeout; 404 when the job is gone by then).
 * - jobs_longpoll_wake(s, job), on every event of the job: each waiter whose since
 *   is now behind gets the new status (X-Long-Poll: changed); the others keep
 *   waiting.  jobs_longpoll_evict(s, job): the job is about to be forgotten, so
 *   every waiter gets its last status now.
 * - jobs_longpoll_cancel(c): the connection is closing; its waiter and timer go.
 */
#ifndef WIRELAB_LABS_JOBS_JOBS_LONGPOLL_H
#define WIRELAB_LABS_JOBS_JOBS_LONGPOLL_H

#include "labs/jobs/jobs_api.h"
#include "labs/jobs/jobs_conn.h"

void jobs_longpoll_open(struct jobs_conn *c, struct job *job, const struct jobs_route *r);
void jobs_longpoll_wake(struct jobs_srv *s, struct job *job);
void jobs_longpoll_evict(struct jobs_srv *s, struct job *job);
void jobs_longpoll_cancel(struct jobs_conn *c);

#endif
