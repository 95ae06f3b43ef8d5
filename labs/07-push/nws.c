/* nws: notify-client's WebSocket mode: one /ws?subscribe=none socket per client,
 * a "subscribe ID" text frame after each POST, job events pushed as text frames
 * (io/ws codec, client role: our frames masked, the server's not). */
#include "labs/07-push/notify.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void nws_data(struct nc_conn *nc, const uint8_t *d, size_t len)
{
    struct client *c = nc->arg;
    struct app *a = c->app;
    while (c->ws.fd >= 0 && (len || !c->ws_open)) {
        if (!c->ws_open) {
            struct httpc_event hev;
            size_t used = httpc_parse(&c->wrp, d, len, &hev);
            d += used;
            len -= used;
            if (hev.type == HTTPC_ERROR) {
                notify_fail(c, c->wrp.err);
                return;
            }
            if (hev.type == HTTPC_NONE) return;
            if (hev.type != HTTPC_DONE) continue;
            char err[128];
            if (ws_client_check(c->wrp.status, httpc_header(&c->wrp, "upgrade"),
                                httpc_header(&c->wrp, "connection"),
                                httpc_header(&c->wrp, "sec-websocket-accept"), c->wkey, err,
                                sizeof err) != 0) {
                notify_fail(c, err);
                return;
            }
            c->ws_open = 1;
            ws_parser_init(&c->wp, WS_CLIENT, c->wmsg, sizeof c->wmsg, 0);
            notify_next(c); /* subscribed: now start the first job */
            continue;
        }
        struct ws_event ev;
        size_t used = ws_parse(&c->wp, d, len, &ev);
        d += used;
        len -= used;
        if (ev.type == WS_EV_ERROR || ev.type == WS_EV_CLOSE) {
            notify_fail(c, ev.type == WS_EV_CLOSE ? "server closed the WebSocket"
                                                  : "WebSocket protocol error");
            return;
        }
        if (ev.type == WS_EV_PING) {
            uint8_t out[WS_MAX_CONTROL + WS_MAX_HEADER];
            uint64_t r = notify_rand(a);
            const uint8_t mask[4] = {(uint8_t)r, (uint8_t)(r >> 8), (uint8_t)(r >> 16),
                                     (uint8_t)(r >> 24)};
            int n = ws_encode(out, sizeof out, WS_OP_PONG, 1, ev.data, ev.len, mask);
            nc_send(&c->ws, out, (size_t)n);
        }
        if (ev.type != WS_EV_TEXT) continue;
        a->events_seen++;
        char msg[WS_MSG_MAX + 1];
        memcpy(msg, ev.data, ev.len);
        msg[ev.len] = 0;
        uint64_t id, v;
        if (notify_json_u64(msg, "id", &id) != 0) continue;
        if (id == c->job && notify_json_u64(msg, "version", &v) == 0) nchg_seen(a, id, v);
        if (!notify_json_is_done(msg)) continue;
        if (id == c->job && c->phase == PH_WAIT)
            notify_complete(c, notify_json_done_us(msg));
        else if (c->phase == PH_POST && a->nearly < EARLY_MAX) /* before our POST's answer */
            a->early[a->nearly++] = (struct early){id, notify_json_done_us(msg)};
    }
}

static void nws_closed(struct nc_conn *nc, int err)
{
    struct client *c = nc->arg;
    if (c->phase != PH_DONE) notify_fail(c, err ? strerror(err) : "WebSocket connection closed");
}

void nws_start(struct client *c)
{
    struct app *a = c->app;
    uint8_t nonce[16];
    for (int i = 0; i < 16; i++) /* the key only has to differ per client */
        nonce[i] = (uint8_t)notify_rand(a);
    ws_client_key(nonce, c->wkey);
    char req[512];
    /* subscribe=none: this socket gets only the jobs it asks for ("subscribe ID"),
     * not every job's events (N clients x every job would be N^2 frames) */
    int n = ws_client_request(req, sizeof req, "127.0.0.1", a->port, "/ws?subscribe=none", c->wkey);
    httpc_init(&c->wrp, 0);
    if (nc_open(&c->ws, a->addr, a->port) != 0 || nc_send(&c->ws, req, (size_t)n) != 0) {
        notify_fail(c, "cannot open the WebSocket connection");
        return;
    }
    a->requests++;
}

void nws_init(struct client *c)
{
    nc_init(&c->ws, c->app->loop, &c->app->bytes, nws_data, nws_closed, c);
}

void nws_subscribe(struct client *c)
{
    char sub[64];
    uint8_t frame[64 + WS_MAX_HEADER];
    uint64_t r = notify_rand(c->app);
    const uint8_t mask[4] = {(uint8_t)r, (uint8_t)(r >> 8), (uint8_t)(r >> 16), (uint8_t)(r >> 24)};
    int sl = snprintf(sub, sizeof sub, "subscribe %" PRIu64, c->job);
    int fl = ws_encode(frame, sizeof frame, WS_OP_TEXT, 1, sub, (size_t)sl, mask);
    if (nc_send(&c->ws, frame, (size_t)fl) != 0) notify_fail(c, "cannot send the subscription");
}
