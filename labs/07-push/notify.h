/* notify: what notify-client's files share (notify-client.c: the clients' life,
 * polling, SSE, webhook and results; nws.c: the WebSocket mode; nchanges.c: the
 * delay of every change, --changes).  Not a library: one program's state, passed
 * around explicitly. */
#ifndef WIRELAB_LABS_PUSH_NOTIFY_H
#define WIRELAB_LABS_PUSH_NOTIFY_H

#include "io/ev.h"
#include "io/httpc/httpc.h"
#include "io/httpc/ssec.h"
#include "io/ws/ws.h"
#include "labs/07-push/nc_conn.h"
#include "labs/07-push/receiver.h"

#include <stddef.h>
#include <stdint.h>

enum mode { M_SHORT, M_LONG, M_SSE, M_WEBHOOK, M_WS };

/* What the client's connection to the jobs server is doing. */
enum phase { PH_IDLE, PH_POST, PH_POLL, PH_STREAM, PH_WAIT, PH_DONE };

#define BODY_MAX   4096
#define WS_MSG_MAX 4096
#define EARLY_MAX  64
/* A job's life is 12 versions (queued, running 0..90%, done: labs/jobs/job_table.h). */
#define NOTIFY_VERSIONS 12

struct app;
struct nchg_job;

struct client {
    struct app *app;
    int idx;
    struct nc_conn http;
    struct httpc rp;
    struct ssec sp;
    enum phase phase;
    char body[BODY_MAX + 1];
    size_t body_len;
    uint64_t job;
    uint64_t version;
    int jobs_done;
    uint64_t timer;
    unsigned gen; /* bumped whenever the HTTP connection is closed or replaced */
    /* ws mode */
    struct nc_conn ws;
    int ws_open;
    struct httpc wrp;
    struct ws_parser wp;
    uint8_t wmsg[WS_MSG_MAX];
    char wkey[WS_KEY_LEN + 1];
};

struct early {
    uint64_t job, done_us;
}; /* a push that beat the POST's answer */

struct app {
    struct ev_loop *loop;
    enum mode mode;
    uint32_t addr;
    int port;
    unsigned interval_ms, wait_s, work_ms, nclients, njobs;
    struct client *clients;
    struct receiver *rcv;
    int rcv_port;
    unsigned finished, failed;
    uint64_t requests, bytes, hook_deliveries, bad_sigs, events_seen, missing_ts;
    double *delays_ms;
    size_t ndelays;
    struct early early[EARLY_MAX];
    unsigned nearly;
    uint64_t rng;
    uint64_t t_start_ns;
    /* --changes (nchanges.c): when each change happened, when a client first knew it */
    int changes, draining, obs_failed;
    struct nc_conn obs; /* GET /events: every change's at_us */
    struct httpc obs_rp;
    struct ssec obs_sp;
    uint64_t obs_bytes; /* not the clients': not in bytes per job */
    void (*on_observing)(struct app *a);
    struct nchg_job *chg;
    size_t chg_cap, chg_used, chg_missing, nchg;
    double *chg_delays;
};

/* notify-client.c */
int notify_json_u64(const char *js, const char *key, uint64_t *v);
int notify_json_is_done(const char *js);
/* The server's completion time in microseconds, or 0 when the JSON has none. */
uint64_t notify_json_done_us(const char *js);
uint64_t notify_rand(struct app *a);
void notify_fail(struct client *c, const char *why);
/* The client knows its job is done: record the delay, start the next job. */
void notify_complete(struct client *c, uint64_t done_us);
/* Start the client's next job, or finish the client. */
void notify_next(struct client *c);

/* nchanges.c: --changes.  nchg_init sizes the table for the run's jobs (-1: no
 * memory); nchg_start opens the observer and calls on_observing once its stream is
 * open (-1: cannot connect); nchg_seen records that a client knows the job's version
 * (and every earlier one) from now; nchg_finish waits for the observer to have every
 * change's stamp (a few seconds at most) and fills chg_delays (ms). */
int nchg_init(struct app *a, size_t jobs);
int nchg_start(struct app *a, void (*on_observing)(struct app *a));
void nchg_seen(struct app *a, uint64_t job, uint64_t version);
void nchg_finish(struct app *a);

/* nws.c: the WebSocket mode */
void nws_init(struct client *c); /* every mode: the socket starts closed */
void nws_start(struct client *c);
void nws_subscribe(struct client *c);

#endif
