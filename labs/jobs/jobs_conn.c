/* jobs_conn: answers, the flush list and the stream lists.  Contract in jobs_conn.h. */
#include "labs/jobs/jobs_conn.h"

#include "labs/jobs/dlist.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

void jobs_conn_dirty(struct jobs_conn *c)
{
    if (c->dirty) return;
    c->dirty = 1;
    c->dnext = c->srv->dirty;
    c->srv->dirty = c;
}

/* ---- answers ---------------------------------------------------------------- */

/* The answer is known: what follows is building the response. */
void jobs_ready(struct jobs_conn *c)
{
    c->t_ready = ev_now_ns();
}

/* The four phases of the notes' request-response travel, in ms (Server-Timing:
 * `name;dur=ms`): recv = first byte to last byte of the request, parse = the
 * parser's pass over it until the handler ran, process = the handler's work
 * until the answer was known (for a long poll: the wait itself), respond =
 * building the answer. */
int jobs_server_timing(struct jobs_conn *c, char *buf, size_t cap)
{
    const struct hconn_times *t = hconn_times(c->h);
    uint64_t now = ev_now_ns();
    uint64_t ready = c->t_ready ? c->t_ready : now;
    return snprintf(buf, cap,
                    "Server-Timing: recv;dur=%.3f, parse;dur=%.3f, process;dur=%.3f, "
                    "respond;dur=%.3f\r\n",
                    (double)(t->t_parse - t->t_recv) / 1e6,
                    (double)(t->t_dispatch - t->t_parse) / 1e6,
                    (double)(ready - t->t_dispatch) / 1e6, (double)(now - ready) / 1e6);
}

int jobs_respond(struct jobs_conn *c, int status, const char *headers, const char *body, size_t len)
{
    char h[1024];
    int n = snprintf(h, sizeof(h), "%s", headers ? headers : "");
    if (n < 0 || (size_t)n >= sizeof(h) - 160)
        n = 0; /* our own header lines are short: cannot happen */
    jobs_server_timing(c, h + n, sizeof(h) - (size_t)n);
    c->t_ready = 0;
    int rc = hconn_respond(c->h, status, h, body, len);
    jobs_conn_dirty(c);
    return rc;
}

/* {"error": "..."} with the message escaped for JSON. */
void jobs_error(struct jobs_conn *c, int status, const char *extra_headers, const char *msg)
{
    jobs_ready(c);
    char body[512];
    size_t n = (size_t)snprintf(body, sizeof(body), "{\"error\":\"");
    for (const char *p = msg; *p && n < sizeof(body) - 16; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\\')
            n += (size_t)snprintf(body + n, sizeof(body) - n, "\\%c", ch);
        else if (ch < 0x20)
            n += (size_t)snprintf(body + n, sizeof(body) - n, "\\u%04x", ch);
        else
            body[n++] = (char)ch;
    }
    n += (size_t)snprintf(body + n, sizeof(body) - n, "\"}\n");
    char h[256];
    snprintf(h, sizeof(h), JOBS_JSON_HDR "%s", extra_headers ? extra_headers : "");
    jobs_respond(c, status, h, body, n);
}

void jobs_busy(struct jobs_conn *c, const char *what)
{
    c->srv->st.refused_503++;
    jobs_error(c, 503, "Retry-After: 1\r\n", what);
}

void jobs_answer_status(struct jobs_conn *c, struct job *job, const char *extra)
{
    char body[256], h[256];
    int n = job_json(job, body, sizeof(body) - 1);
    body[n++] = '\n';
    snprintf(h, sizeof(h), JOBS_JSON_HDR "%s", extra ? extra : "");
    jobs_respond(c, 200, h, body, (size_t)n);
}

/* ---- streams ------------------------------------------------------------------ */

int jobs_stream_add(struct jobs_conn *c, enum jobs_conn_kind kind)
{
    struct jobs_srv *s = c->srv;
    if (s->nstreams >= s->o.max_streams) return -1;
    c->kind = kind;
    /* Bound the kernel's share too: a slow reader then fills our buffer (and is
     * cut off) after stream_buffer + ~2 * stream_buffer bytes, not after the
     * megabytes TCP autotuning would queue. */
    int sb = s->o.stream_buffer > (1u << 20) ? 1 << 20 : (int)s->o.stream_buffer;
    setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb));
    DLIST_PUSH(s->streams, c, sprev, snext);
    s->nstreams++;
    s->st.streams_opened++;
    return 0;
}

void jobs_unfollow(struct jobs_conn *c)
{
    if (!c->lhead) return;
    DLIST_UNLINK(*c->lhead, c, lprev, lnext);
    c->lhead = NULL;
}

void jobs_follow(struct jobs_conn *c)
{
    jobs_unfollow(c);
    struct jobs_conn **head = NULL;
    if (c->filter_job == 0) {
        head = &c->srv->firehose;
    } else if (c->filter_job != UINT64_MAX) {
        struct job *job = job_find(&c->srv->jobs, c->filter_job);
        if (job) head = &job->followers;
    }
    if (!head) return;
    DLIST_PUSH(*head, c, lprev, lnext);
    c->lhead = head;
}

void jobs_stream_remove(struct jobs_conn *c)
{
    struct jobs_srv *s = c->srv;
    if (c->kind == CK_HTTP) return;
    jobs_unfollow(c);
    DLIST_UNLINK(s->streams, c, sprev, snext);
    c->kind = CK_HTTP;
    s->nstreams--;
}
