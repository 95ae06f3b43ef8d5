/* Helpers shared by the WebSocket codec tests: feed bytes, record the events. */
#ifndef WIRELAB_TEST_WS_UTIL_H
#define WIRELAB_TEST_WS_UTIL_H

#include <string.h>

#include "io/ws/ws.h"

struct rec_ev {
    enum ws_event_type type;
    unsigned code;
    size_t len;
    char data[300];
};

struct rec {
    struct rec_ev ev[32];
    int n;
};

/* Feed len bytes; record every event (data copied, truncated to fit); stop at an error. */
static inline void rec_feed(struct ws_parser *p, struct rec *r, const uint8_t *d, size_t len)
{
    while (r->n < 32) {
        struct ws_event ev;
        size_t used = ws_parse(p, d, len, &ev);
        if (used > len) abort();
        d += used;
        len -= used;
        if (ev.type == WS_EV_NONE) {
            if (len) abort(); /* NONE must mean everything was consumed */
            return;
        }
        struct rec_ev *e = &r->ev[r->n++];
        e->type = ev.type;
        e->code = ev.code;
        e->len = ev.len;
        size_t c = ev.len < sizeof(e->data) - 1 ? ev.len : sizeof(e->data) - 1;
        memcpy(e->data, ev.data, c);
        e->data[c] = 0;
        if (ev.type == WS_EV_ERROR || len == 0) return;
    }
}

#endif
