/* jobs_server: what the jobs service's three files share (jobs_server.c: main, the
 * loop and the bytes; jobs_http.c: the endpoints; jobs_push.c: everything pushed
 * to clients: long-poll wake-ups, SSE, WebSocket, webhooks).  Not a library: the
 * state of one program, passed around explicitly. */
#ifndef WIRELAB_LABS_JOBS_JOBS_SERVER_H
#define WIRELAB_LABS_JOBS_JOBS_SERVER_H

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

struct jobs_opts {
    const char *host;
    int port;
    unsigned heartbeat_s;
    unsigned max_wait_s;
    unsigned idle_timeout_s; /* close HTTP connections with no request open this long */
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
    struct hconn *h;               /* NULL once a WebSocket took the connection over */
    struct jobs_conn *prev, *next; /* every connection, for the idle sweep */
    uint64_t active_ms;            /* last read */
    /* long poll: the open request is waiting (wait.head != NULL) */
    struct waiter wait;
    uint64_t t_ready;     /* ns: the answer became known (Server-Timing "process" ends) */
    uint64_t flush_timer; /* a jobs_conn_flush_later is pending */
    /* streams (SSE and WebSocket): on srv->streams */
    struct jobs_conn *sprev, *snext;
    uint64_t filter_job; /* SSE, WebSocket: only this job's events; 0 = every job */
    /* the list of whose events it gets: a job's followers, srv->firehose, or none */
    struct jobs_conn **lhead, *lprev, *lnext;
    uint64_t sse_cursor; /* SSE: id of the last event written */
    int sse_behind;      /* SSE: resuming from the log, live events skipped until caught up */
    /* WebSocket */
    struct ws_parser wp;
    uint8_t *wsmsg;
    uint8_t *wout;
    size_t wout_len, wout_off, wout_cap;
    int ws_closing; /* a close frame is queued: close once it is written */
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
    struct jobs_conn *streams;  /* SSE and WebSocket connections */
    struct jobs_conn *firehose; /* streams following every job */
    size_t nstreams;
    struct hook_client *hooks;
    struct hconn_config hcfg;
    const unsigned char *index_html;
    size_t index_len;
    struct jobs_stats st;
};

/* jobs_server.c */
/* Write what is pending and fix the ev mask; closes the connection when it is
 * done or dead and returns -1 then (the pointer is gone). */
int jobs_conn_flush(struct jobs_conn *c);
void jobs_conn_close(struct jobs_conn *c);
/* jobs_conn_flush from the top of the loop: for a response completed in the
 * middle of another job event, so the pipelined requests it lets through do not
 * run nested inside that event's fan-out. */
void jobs_conn_flush_later(struct jobs_conn *c);

/* jobs_http.c */
void jobs_on_request(struct hconn *h, const struct hconn_req *req, void *app);
/* Answer with the Server-Timing header added; status/headers/body as hconn_respond. */
int jobs_respond(struct jobs_conn *c, int status, const char *headers, const char *body,
                 size_t len);
/* The long-poll answer: the job's status now. */
void jobs_answer_waiter(struct jobs_conn *c, struct job *job, int changed);
int jobs_server_timing(struct jobs_conn *c, char *buf, size_t cap);

/* jobs_push.c */
void jobs_on_job_event(void *arg, struct job *job, const struct job_event *ev);
void jobs_on_job_evict(void *arg, struct job *job);
void jobs_start_ready(struct jobs_srv *s);
void jobs_heartbeat(struct ev_loop *loop, uint64_t id, void *arg);
void jobs_hook_done(void *arg, const char *id, int ok, unsigned attempts, int status);
/* Streams: bounded server-wide; -1 when full (answer 503). */
int jobs_stream_add(struct jobs_conn *c, enum jobs_conn_kind kind);
void jobs_stream_remove(struct jobs_conn *c);
/* Follow one job's events (c->filter_job), every job's (0) or none (UINT64_MAX,
 * or a job that is gone): an event costs O(its followers), not O(streams). */
void jobs_follow(struct jobs_conn *c);
/* SSE: replay what the client missed (Last-Event-ID) then follow live. */
int jobs_sse_start(struct jobs_conn *c, struct job *job, uint64_t last_id);
/* SSE resuming /events: write the next batch from the log (called whenever the
 * connection's output drained); -1 when the connection died. */
int jobs_sse_catch_up(struct jobs_conn *c);
/* WebSocket: the connection was taken over; bytes received after the request. */
int jobs_ws_start(struct jobs_conn *c, const uint8_t *leftover, size_t n);
int jobs_ws_input(struct jobs_conn *c, const uint8_t *data, size_t n);
/* Which job events a room-less socket gets: "all" (the default), "none" or a job
 * id, from /ws?subscribe=X or a text message "subscribe X" (notify-client uses it
 * so N clients do not each receive every job's events).  With snapshot, the job's
 * latest event is sent at once.  0; -1 if not valid; -2 the socket's buffer is full. */
int jobs_ws_subscribe(struct jobs_conn *c, const char *v, size_t len, int snapshot);

#endif
