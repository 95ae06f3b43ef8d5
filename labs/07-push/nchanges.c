/* nchanges: notify-client's --changes: the delay of every change of every job, not
 * only of its completion.
 *
 * A job changes 12 times (version 1 queued, 2 running 0%, 3..11 running 10..90%,
 * 12 done).  The server stamps each change with its time (at_us, CLOCK_MONOTONIC like
 * ours: same host).  Two records per job:
 * - when each change happened: an observer, one SSE stream of GET /events opened
 *   before the first job, receives every job's events with their at_us (whenever it
 *   receives them: only the stamps matter, so the observer may cross the same link);
 * - when the client first knew it: a client that sees version V (an answer, an event,
 *   a frame) knows every change up to V from that moment, including the ones it never
 *   saw on their own (a short poll samples; a long poll answers with the latest).
 * delay(v) = known(v) - at_us(v), for versions 2..12 (version 1 is the POST's own
 * answer, a request-response, not a notification).
 */
#include "labs/07-push/notify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DRAIN_MS 5000 /* after the last job: how long the observer may take to catch up */

struct nchg_job {
    uint64_t job;
    uint64_t at_us[NOTIFY_VERSIONS + 1];
    uint64_t known_us[NOTIFY_VERSIONS + 1];
};

int nchg_init(struct app *a, size_t jobs)
{
    size_t cap = 64;
    while (cap < 4 * jobs) /* the observer also sees jobs before their POST answers */
        cap *= 2;
    a->chg = calloc(cap, sizeof(*a->chg));
    a->chg_cap = cap;
    return a->chg ? 0 : -1;
}

/* The job's record, made when absent (NULL when the table is full). */
static struct nchg_job *nchg_find(struct app *a, uint64_t job)
{
    size_t mask = a->chg_cap - 1;
    for (size_t i = (size_t)(job * 0x9E3779B97F4A7C15u) & mask, n = 0; n < a->chg_cap;
         i = (i + 1) & mask, n++) {
        if (a->chg[i].job == job) return &a->chg[i];
        if (a->chg[i].job == 0) {
            if (2 * (a->chg_used + 1) > a->chg_cap) break; /* keep probes short */
            a->chg_used++;
            a->chg[i].job = job;
            return &a->chg[i];
        }
    }
    return NULL; /* full: its changes count as missing */
}

void nchg_seen(struct app *a, uint64_t job, uint64_t version)
{
    struct nchg_job *r;
    if (!a->changes || job == 0 || !(r = nchg_find(a, job))) return;
    uint64_t now = ev_now_ns() / 1000;
    if (version > NOTIFY_VERSIONS) version = NOTIFY_VERSIONS;
    for (uint64_t v = 1; v <= version; v++)
        if (!r->known_us[v]) r->known_us[v] = now;
}

/* Every job a client finished has the stamp of each of its changes. */
static int nchg_all_stamped(const struct app *a)
{
    for (size_t i = 0; i < a->chg_cap; i++) {
        const struct nchg_job *r = &a->chg[i];
        if (!r->job || !r->known_us[NOTIFY_VERSIONS]) continue;
        for (int v = 2; v <= NOTIFY_VERSIONS; v++)
            if (!r->at_us[v]) return 0;
    }
    return 1;
}

static void obs_event(struct app *a, const char *data)
{
    uint64_t job, version, at;
    if (notify_json_u64(data, "id", &job) != 0 || notify_json_u64(data, "version", &version) != 0 ||
        notify_json_u64(data, "at_us", &at) != 0 || version < 1 || version > NOTIFY_VERSIONS)
        return;
    struct nchg_job *r = nchg_find(a, job);
    if (r) r->at_us[version] = at;
    if (a->draining && nchg_all_stamped(a)) ev_stop(a->loop);
}

static void obs_fail(struct app *a, const char *why)
{
    fprintf(stderr, "notify-client: the --changes observer: %s\n", why);
    a->obs_failed = 1;
    nc_close(&a->obs);
    ev_stop(a->loop);
}

static void obs_data(struct nc_conn *nc, const uint8_t *d, size_t len)
{
    struct app *a = nc->arg;
    while (a->obs.fd >= 0) {
        struct httpc_event hev;
        size_t used = httpc_parse(&a->obs_rp, d, len, &hev);
        d += used;
        len -= used;
        if (hev.type == HTTPC_NONE) return;
        if (hev.type == HTTPC_ERROR) {
            obs_fail(a, a->obs_rp.err);
            return;
        }
        if (hev.type == HTTPC_HEAD) {
            if (a->obs_rp.status != 200) {
                obs_fail(a, "GET /events was refused");
                return;
            }
            ssec_init(&a->obs_sp);
            a->on_observing(a); /* the stream is open: every job from now on is seen */
            continue;
        }
        if (hev.type != HTTPC_BODY) {
            obs_fail(a, "the event stream ended");
            return;
        }
        const uint8_t *b = hev.data;
        size_t bl = hev.len;
        while (bl) {
            struct ssec_event ev;
            size_t u = ssec_parse(&a->obs_sp, b, bl, &ev);
            b += u;
            bl -= u;
            if (ev.type == SSEC_ERROR) {
                obs_fail(a, "an SSE line over the parser's limit");
                return;
            }
            if (ev.type == SSEC_EVENT) obs_event(a, ev.data);
            if (ev.type == SSEC_NONE) break;
        }
    }
}

static void obs_closed(struct nc_conn *nc, int err)
{
    struct app *a = nc->arg;
    obs_fail(a, err ? strerror(err) : "the server closed the event stream");
}

int nchg_start(struct app *a, void (*on_observing)(struct app *a))
{
    a->on_observing = on_observing;
    nc_init(&a->obs, a->loop, &a->obs_bytes, obs_data, obs_closed, a);
    httpc_init(&a->obs_rp, 0);
    char req[160];
    int n = snprintf(
        req, sizeof req,
        "GET /events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: text/event-stream\r\n\r\n", a->port);
    if (nc_open(&a->obs, a->addr, a->port) != 0 || nc_send(&a->obs, req, (size_t)n) != 0) return -1;
    return 0;
}

static void drain_timeout(struct ev_loop *loop, uint64_t id, void *arg)
{
    ev_stop(loop);
}

void nchg_finish(struct app *a)
{
    if (!a->obs_failed && !nchg_all_stamped(a)) {
        a->draining = 1;
        uint64_t t = ev_timer_add(a->loop, DRAIN_MS, drain_timeout, NULL);
        ev_run(a->loop);
        ev_timer_cancel(a->loop, t);
    }
    nc_close(&a->obs);
    a->chg_delays = calloc(a->chg_used * NOTIFY_VERSIONS + 1, sizeof(double));
    if (!a->chg_delays) return;
    for (size_t i = 0; i < a->chg_cap; i++) {
        const struct nchg_job *r = &a->chg[i];
        if (!r->job || !r->known_us[NOTIFY_VERSIONS]) continue; /* not one of ours */
        for (int v = 2; v <= NOTIFY_VERSIONS; v++) {
            if (!r->at_us[v] || !r->known_us[v]) {
                a->chg_missing++;
                continue;
            }
            uint64_t k = r->known_us[v], t = r->at_us[v];
            a->chg_delays[a->nchg++] = k > t ? (double)(k - t) / 1000.0 : 0;
        }
    }
}
