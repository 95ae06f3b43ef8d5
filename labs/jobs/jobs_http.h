/* jobs_http: the jobs service's API, one handler per endpoint (the table in
 * labs/jobs/NOTES.md).  POST /jobs, the short poll (lab 08: jobs_get), /stats and
 * the page are answered here; a long poll, an event stream and a WebSocket are
 * handed to their pattern's file (jobs_longpoll.h, jobs_sse.h, jobs_ws.h).
 *
 * Contract
 * - jobs_on_request is the HTTP core's handler (cfg.on_request, cfg.app = the
 *   struct jobs_conn): it answers or hands over every request, in order.
 */
#ifndef WIRELAB_LABS_JOBS_JOBS_HTTP_H
#define WIRELAB_LABS_JOBS_JOBS_HTTP_H

#include "io/http/hconn.h"

void jobs_on_request(struct hconn *h, const struct hconn_req *req, void *app);

#endif
