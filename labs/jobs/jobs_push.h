/* jobs_push: where a job's events come from and where they go.  The work is
 * simulated by a timer per running job; every change of a job (job_table.h) is
 * handed here once, and goes to everyone waiting for it: the job's long-poll
 * waiters (jobs_longpoll.h), the SSE streams and WebSockets that follow it or
 * every job (jobs_sse.h, jobs_ws.h), and, when it is done, its webhook
 * (webhook.h).
 *
 * Contract
 * - jobs_start_ready(s) starts queued jobs while workers are free; the API calls it
 *   after a POST, the step timer after a job finishes.
 * - jobs_on_job_event and jobs_on_job_evict are the job table's callbacks
 *   (job_table_init's on_event, on_evict); jobs_hook_done the webhook client's.
 * - Nothing here writes to a socket: answers and frames are appended and the
 *   connections marked for the core's end-of-round write (jobs_conn.h).
 */
#ifndef WIRELAB_LABS_JOBS_JOBS_PUSH_H
#define WIRELAB_LABS_JOBS_JOBS_PUSH_H

#include "labs/jobs/jobs_conn.h"

void jobs_start_ready(struct jobs_srv *s);
void jobs_on_job_event(void *arg, struct job *job, const struct job_event *ev);
void jobs_on_job_evict(void *arg, struct job *job);
void jobs_hook_done(void *arg, const char *id, int ok, unsigned attempts, int status);

#endif
