/* jobs_conn: a jobs-server connection and what every part of the server writes
 * through: the server's state, answers with Server-Timing, the end-of-round
 * flush list and the stream lists.
 *
 * The server's files call in one direction, and this is the bottom:
 *   jobs_server.c  the core: the loop, accepting, moving bytes, closing
 *     -> jobs_http.c  the API: one handler per endpoint
 *       -> jobs_push.c  a job's events: the simulated work, and the fan-out to
 *            -> jobs_longpoll.c (lab 09), jobs_sse.c (lab 10), jobs_ws.c and
 *               webhook.c (lab 07)
 *   and each of them -> jobs_conn.c (this), job_table.c, jobs_api.c.
 *
 * Contract
 * - Nothing below the core writes to a socket or closes a connection.  It appends
 *   to the connection's hconn (a response, stream bytes, or after a WebSocket
 *   takeover the frames, with hconn_raw_write) and calls jobs_conn_dirty(c); the
 *   core writes every dirty connection once per loop round, after the round's
 *   events (an ev_before_sleep hook), lets the HTTP core go on with pipelined
 *   requests, and closes what hconn_should_close() says is over.  A connection
 *   cut off inside an event (a slow reader over its buffer) is dead in hconn and
 *   goes the same way, so fan-out loops never see a list change under them.
 * - jobs_respond() answers the open request, adding Server-Timing with four
 *   phases (recv, parse, process: until jobs_ready(c) marked the answer known,
 *   respond); jobs_error() answers {"error": MSG} as JSON; jobs_busy() is a 503
 *   with Retry-After: 1, counted in the stats.
 * - jobs_answer_status() answers with the job's status, the body every job
 *   endpoint shares; extra is an extra header line or NULL.
 * - Streams (SSE and WebSocket connections) are bounded server-wide:
 *   jobs_stream_add() returns -1 at --max-streams (answer 503).  A stream follows
 *   one job's events (c->filter_job), every job's (0: the firehose) or none
 *   (UINT64_MAX, or a job that is gone): jobs_follow() puts it on that list, so
 *   an event costs O(its followers), not O(open streams); jobs_unfollow() takes
 *   it off (it keeps its stream).
 */
#ifndef WIRELAB_LABS_JOBS_JOBS_CONN_H
#define WIRELAB_LABS_JOBS_JOBS_CONN_H

#include "io/ev.h"
#include "io/http/hconn.h"
#include "io/ws/ws.h"
#include "labs/jobs/job_table.h"
#include "labs/jobs/waiters.h"
#include "labs/jobs/webhook.h"

#include <stddef.h>
#include <stdint.h>

#define JOBS_WS_MAX_MESSAGE 16384 /* a chat line, not a file transfer */
#define JOBS_ROOM_MAX       32
#define JOBS_SSE_RETRY_MS   2000

#define JOBS_JSON_HDR "Content-Type: application/json\r\nCache-Control: no-store\r\n"

struct jobs_opts {
    const char *host;
    int port;
    unsigned heartbeat_s;
    unsigned max_wait_s;
    unsigned idle_timeout_s;    /* nothing to do, or no byte written, this long: closed */
    unsigned request_timeout_s; /* a request must arrive whole within this */
    size_t max_body_memory;     /* request bodies held at once, over all connections */
    size_t max_waiters, max_streams, stream_buffer;
    size_t max_jobs, workers, event_log;
    struct hook_opts hook;
};

enum jobs_conn_kind { CK_HTTP, CK_SSE, CK_WS };

struct jobs_conn {
    struct jobs_srv *srv;
    int fd;
    unsigned watched; /* the ev mask in force */
    enum jobs_conn_kind kind;
    struct hconn *h;               /* HTTP, and after a WebSocket takeover its output */
    struct jobs_conn *prev, *next; /* every connection, for the deadline sweep */
    struct jobs_conn *dnext;       /* on srv->dirty: written at the end of the round */
    int dirty;
    int lingering; /* closing after an error: input dropped until EOF (h is gone) */
    size_t linger_left;
    uint64_t linger_end;
    /* long poll: the open request is waiting (wait.head != NULL) */
    struct waiter wait;
    uint64_t t_ready; /* ns: the answer became known (Server-Timing "process" ends) */
    /* streams (SSE and WebSocket): on srv->streams */
    struct jobs_conn *sprev, *snext;
    uint64_t filter_job; /* SSE, WebSocket: only this job's events; 0 = every job */
    /* the list of whose events it gets: a job's followers, srv->firehose, or none */
    struct jobs_conn **lhead, *lprev, *lnext;
    uint64_t sse_cursor; /* SSE: id of the last event written */
    int sse_behind;      /* SSE: resuming from the log, live events skipped until caught up */
    /* WebSocket, once the 101 is written */
    int ws_open;
    struct ws_parser wp;
    uint8_t *wsmsg;
    int ws_closing; /* a close frame is queued: no more input */
    char room[JOBS_ROOM_MAX + 1];
};

struct jobs_stats {
    uint64_t requests, jobs, long_polls, long_poll_timeouts, streams_opened, streams_cut,
        refused_503, sse_events, ws_frames, chat_messages, hooks_ok, hooks_failed;
};

struct jobs_srv {
    struct jobs_opts o;
    struct ev_loop *loop;
    int lfd;
    struct job_table jobs;
    struct wait_limit waiters;
    struct jobs_conn *conns;    /* every connection */
    struct jobs_conn *dirty;    /* to write at the end of this loop iteration */
    struct jobs_conn *streams;  /* SSE and WebSocket connections */
    struct jobs_conn *firehose; /* streams following every job */
    size_t nstreams;
    struct hook_client *hooks;
    struct hconn_config hcfg;
    struct hconn_budget budget;
    const unsigned char *index_html;
    size_t index_len;
    struct jobs_stats st;
};

void jobs_conn_dirty(struct jobs_conn *c);

void jobs_ready(struct jobs_conn *c);
int jobs_server_timing(struct jobs_conn *c, char *buf, size_t cap);
int jobs_respond(struct jobs_conn *c, int status, const char *headers, const char *body,
                 size_t len);
void jobs_error(struct jobs_conn *c, int status, const char *extra_headers, const char *msg);
void jobs_busy(struct jobs_conn *c, const char *what);
void jobs_answer_status(struct jobs_conn *c, struct job *job, const char *extra);

int jobs_stream_add(struct jobs_conn *c, enum jobs_conn_kind kind);
void jobs_stream_remove(struct jobs_conn *c);
void jobs_follow(struct jobs_conn *c);
void jobs_unfollow(struct jobs_conn *c);

#endif
