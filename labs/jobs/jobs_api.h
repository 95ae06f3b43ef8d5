/* jobs_api: the pure parts of the jobs service's HTTP API: routing a target to an
 * endpoint, the query string, the POST /jobs body, the SSE event text.  No I/O, so
 * every bad-input class is unit-tested here (tests/unit/test_jobs.c).
 *
 * Contract
 * - jobs_route(target, len, &r) splits "/path?query" and names the endpoint; a job
 *   id that is not a decimal number in 1..2^63 leaves r.job = 0 (answered 404).
 * - jobs_query(r, name, out, cap) copies the raw value of the first `name=` in the
 *   query (no percent-decoding: our parameters are numbers and room names) and
 *   returns its length, -1 when absent, -2 when longer than cap-1.
 * - jobs_parse_post(body, len, &p, err, errlen) returns 0 and fills p, or the HTTP
 *   status to answer (400: not JSON, err says what and where; 422: JSON but not
 *   {"work_ms": 1..600000, "callback": "http://IPV4:PORT/path" or null}).
 * - jobs_parse_num(s, len, max, &v): 0 for a decimal number 0..max, else -1.
 * - sse_event(buf, cap, ev) writes "id: N\ndata: {json}\n\n" and returns its length
 *   (snprintf semantics).
 */
#ifndef WIRELAB_LABS_JOBS_JOBS_API_H
#define WIRELAB_LABS_JOBS_JOBS_API_H

#include "labs/jobs/job_event.h"

#include <stddef.h>
#include <stdint.h>

enum jobs_endpoint {
    EP_NOT_FOUND,
    EP_INDEX,      /* GET / */
    EP_JOBS,       /* POST /jobs */
    EP_JOB,        /* GET /jobs/ID (short or long poll) */
    EP_JOB_EVENTS, /* GET /jobs/ID/events */
    EP_EVENTS,     /* GET /events */
    EP_WS,         /* GET /ws, /ws?room=NAME */
    EP_STATS,      /* GET /stats */
};

struct jobs_route {
    enum jobs_endpoint ep;
    uint64_t job;
    const char *query; /* after '?', not NUL-terminated */
    size_t query_len;
};

struct jobs_post {
    uint32_t work_ms;
    char callback[256]; /* "" when none */
};

void jobs_route(const char *target, size_t len, struct jobs_route *r);
int jobs_query(const struct jobs_route *r, const char *name, char *out, size_t cap);
int jobs_parse_num(const char *s, size_t len, uint64_t max, uint64_t *v);
int jobs_parse_post(const char *body, size_t len, struct jobs_post *p, char *err, size_t errlen);
int sse_event(char *buf, size_t cap, const struct job_event *ev);

#endif
