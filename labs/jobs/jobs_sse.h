/* jobs_sse: Server-Sent Events (lab 10).  GET /jobs/ID/events and GET /events are
 * streaming responses of the HTTP core (chunked, text/event-stream) that stay
 * open and carry one `id: N` / `data: {json}` event per job change.
 *
 * Contract
 * - jobs_sse_open(c, req, r) answers the request: 404 for an unknown job; 204 when
 *   Last-Event-ID (or ?lastEventId=N) is at or past a done job's last event, which
 *   tells EventSource to stop reconnecting; HEAD gets the head alone; 503 at
 *   --max-streams.  Otherwise the stream starts with `retry:`, then what the
 *   client missed: a job's own history after the id, or for /events the global
 *   log after it, fed in batches as the client reads (jobs_sse_catch_up), with
 *   `event: gap` first when the log no longer reaches back that far.  A job's
 *   stream ends (the chunked response completes, the connection stays) after the
 *   job's final event, so `curl -N .../jobs/ID/events` returns once it is done.
 * - jobs_sse_event(c, job, ev, text, len): one live event to one stream that
 *   follows it (text is sse_event()'s); a stream still catching up from the log
 *   skips it (it reads it from the log).  A reader too slow for its buffer
 *   (--stream-buffer) is cut off: the connection is dead and the core closes it.
 * - jobs_sse_catch_up(c): the core calls it whenever a catching-up stream's
 *   output has drained.  jobs_sse_heartbeat(s): a `: heartbeat` comment to every
 *   stream (proxies and NATs close idle connections).
 */
#ifndef WIRELAB_LABS_JOBS_JOBS_SSE_H
#define WIRELAB_LABS_JOBS_JOBS_SSE_H

#include "labs/jobs/jobs_api.h"
#include "labs/jobs/jobs_conn.h"

void jobs_sse_open(struct jobs_conn *c, const struct hconn_req *req, const struct jobs_route *r);
void jobs_sse_event(struct jobs_conn *c, const struct job *job, const struct job_event *ev,
                    const char *text, size_t len);
void jobs_sse_catch_up(struct jobs_conn *c);
void jobs_sse_heartbeat(struct jobs_srv *s);

#endif
