/* jobs_ws: job events and chat over WebSocket.  Contract in jobs_ws.h. */
#include "labs/jobs/jobs_ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One frame out; a reader too slow for its buffer is cut off (the connection is
 * dead, the core closes it).  -1 when cut. */
static int jobs_ws_put(struct jobs_conn *c, unsigned opcode, const void *data, size_t len)
{
    uint8_t f[WS_MAX_HEADER + JOBS_WS_MAX_MESSAGE];
    int n = ws_encode(f, sizeof(f), opcode, 1, data, len, NULL);
    jobs_conn_dirty(c);
    if (n > 0 && hconn_raw_write(c->h, f, (size_t)n) == 0) {
        c->srv->st.ws_frames++;
        return 0;
    }
    c->srv->st.streams_cut++;
    fprintf(stderr, "jobs-server: WebSocket fd %d cut off: %s\n", c->fd,
            hconn_error(c->h) ? hconn_error(c->h) : "frame too large");
    return -1;
}

/* Our close frame, then the TCP close once it is written (RFC 6455 7.1.1: the
 * server closes first). */
static void jobs_ws_close_with(struct jobs_conn *c, unsigned code, const char *why)
{
    uint8_t f[WS_MAX_HEADER + WS_MAX_CONTROL];
    int n = ws_encode_close(f, sizeof(f), code, why, NULL);
    if (n > 0) hconn_raw_write(c->h, f, (size_t)n); /* past the bound it is cut anyway */
    hconn_raw_end(c->h);
    c->ws_closing = 1;
    jobs_conn_dirty(c);
}

/* "all", "none" or a job id (with an optional "subscribe " before it); 0, -1 when
 * not valid, -2 when the socket was cut sending the snapshot. */
static int jobs_ws_subscribe(struct jobs_conn *c, const char *v, size_t len, int snapshot)
{
    uint64_t id = 0;
    if (len > 10 && memcmp(v, "subscribe ", 10) == 0) v += 10, len -= 10;
    if (len == 3 && memcmp(v, "all", 3) == 0)
        c->filter_job = 0;
    else if (len == 4 && memcmp(v, "none", 4) == 0)
        c->filter_job = UINT64_MAX; /* no job has that id */
    else if (jobs_parse_num(v, len, UINT64_MAX >> 1, &id) == 0 && id > 0)
        c->filter_job = id;
    else
        return -1;
    if (c->ws_open) /* taken over: change lists now (else jobs_ws_start will) */
        jobs_follow(c);
    /* snapshot then stream: the job's latest event first, so a job that finished
     * before the subscription arrived is not missed */
    struct job *job = id ? job_find(&c->srv->jobs, id) : NULL;
    if (snapshot && job && job->nevents) {
        char js[200];
        int jn = job_event_json(&job->events[job->nevents - 1], js, sizeof(js));
        if (jobs_ws_put(c, WS_OP_TEXT, js, (size_t)jn) < 0) return -2;
    }
    return 0;
}

static int jobs_room_ok(const char *room)
{
    if (!room[0]) return 0;
    for (const char *p = room; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return 0;
    return 1;
}

void jobs_ws_open(struct jobs_conn *c, const struct hconn_req *req, const struct jobs_route *r)
{
    struct ws_handshake_req hr = {.method = req->method, .method_len = req->method_len};
    hr.upgrade = hconn_header(req, "Upgrade", &hr.upgrade_len);
    hr.connection = hconn_header(req, "Connection", &hr.connection_len);
    hr.version = hconn_header(req, "Sec-WebSocket-Version", &hr.version_len);
    hr.key = hconn_header(req, "Sec-WebSocket-Key", &hr.key_len);
    char accept[WS_ACCEPT_LEN + 1], err[160];
    int st = ws_handshake_check(&hr, accept, err, sizeof(err));
    if (st == 426) {
        jobs_error(c, 426, "Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n",
                   "WebSocket version 13 only");
        return;
    }
    if (st != 0) {
        jobs_error(c, 400, NULL, err);
        return;
    }
    int rl = jobs_query(r, "room", c->room, sizeof(c->room));
    if (rl == -2 || (rl >= 0 && !jobs_room_ok(c->room))) {
        c->room[0] = '\0';
        jobs_error(c, 400, NULL, "room must be 1..32 of [A-Za-z0-9._-]");
        return;
    }
    if (rl < 0) c->room[0] = '\0';
    char sub[24];
    int sl = jobs_query(r, "subscribe", sub, sizeof(sub));
    c->filter_job = 0;
    if (sl >= 0 && jobs_ws_subscribe(c, sub, (size_t)sl, 0) < 0) {
        jobs_error(c, 400, NULL, "subscribe must be all, none or a job id");
        return;
    }
    if (jobs_stream_add(c, CK_WS) < 0) {
        jobs_busy(c, "too many streams: try again later");
        return;
    }
    jobs_ready(c);
    char h[512];
    int n = snprintf(h, sizeof(h),
                     "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n",
                     accept);
    jobs_server_timing(c, h + n, sizeof(h) - (size_t)n);
    c->t_ready = 0;
    hconn_upgrade(c->h, h); /* the core calls jobs_ws_start once the 101 is written */
    jobs_conn_dirty(c);
}

void jobs_ws_start(struct jobs_conn *c, const uint8_t *leftover, size_t n)
{
    c->ws_open = 1;
    c->wsmsg = malloc(JOBS_WS_MAX_MESSAGE);
    if (!c->wsmsg) {
        jobs_ws_close_with(c, WS_CLOSE_INTERNAL, "out of memory");
        return;
    }
    ws_parser_init(&c->wp, WS_SERVER, c->wsmsg, JOBS_WS_MAX_MESSAGE, 0);
    jobs_follow(c);
    jobs_ws_input(c, leftover, n); /* the frames that came with the handshake */
}

/* Every message to the room's other members. */
static void jobs_chat(struct jobs_conn *from, const uint8_t *msg, size_t len)
{
    struct jobs_srv *s = from->srv;
    s->st.chat_messages++;
    for (struct jobs_conn *c = s->streams; c; c = c->snext)
        if (c != from && c->kind == CK_WS && c->ws_open && !c->ws_closing &&
            strcmp(c->room, from->room) == 0)
            jobs_ws_put(c, WS_OP_TEXT, msg, len);
}

void jobs_ws_input(struct jobs_conn *c, const uint8_t *data, size_t n)
{
    while (n > 0 && !c->ws_closing) {
        struct ws_event ev;
        size_t used = ws_parse(&c->wp, data, n, &ev);
        data += used;
        n -= used;
        switch (ev.type) {
        case WS_EV_NONE:
        case WS_EV_PONG:
            break;
        case WS_EV_TEXT:
        case WS_EV_BINARY:
            if (c->room[0])
                jobs_chat(c, ev.data, ev.len);
            else if (jobs_ws_subscribe(c, (const char *)ev.data, ev.len, 1) == -2)
                return; /* cut */
            break;
        case WS_EV_PING:
            if (jobs_ws_put(c, WS_OP_PONG, ev.data, ev.len) < 0) return;
            break;
        case WS_EV_CLOSE:
            jobs_ws_close_with(c, ev.code == WS_CLOSE_NO_STATUS ? WS_CLOSE_NORMAL : ev.code, NULL);
            break;
        case WS_EV_ERROR:
            jobs_ws_close_with(c, ev.code, (const char *)ev.data);
            break;
        }
    }
}

void jobs_ws_event(struct jobs_conn *c, const char *json, size_t len)
{
    if (c->ws_open && !c->ws_closing) jobs_ws_put(c, WS_OP_TEXT, json, len);
}
