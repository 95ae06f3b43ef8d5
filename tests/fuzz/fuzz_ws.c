/* libFuzzer target for io/ws and io/httpc: arbitrary bytes through the WebSocket
 * frame parser (both roles, split where the first input byte says) and the HTTP
 * response + SSE parsers, checking the return conventions of their contracts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/httpc/httpc.h"
#include "io/httpc/ssec.h"
#include "io/ws/ws.h"
#include "parsers/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ws_run(enum ws_role role, const uint8_t *d, size_t n, size_t step)
{
    static uint8_t msg[4096];
    struct ws_parser p;
    ws_parser_init(&p, role, msg, sizeof msg, 1024);
    int closed = 0;
    while (n) {
        size_t chunk = n < step ? n : step;
        while (chunk) {
            struct ws_event ev;
            size_t used = ws_parse(&p, d, chunk, &ev);
            if (used > chunk) abort();
            if (ev.type == WS_EV_NONE && used != chunk)
                abort(); /* NONE means everything was consumed */
            if ((ev.type == WS_EV_TEXT || ev.type == WS_EV_BINARY) && ev.len > sizeof msg) abort();
            if (ev.type == WS_EV_TEXT && !utf8_valid(ev.data, ev.len))
                abort(); /* text is checked before it is reported */
            if ((ev.type == WS_EV_PING || ev.type == WS_EV_PONG) && ev.len > WS_MAX_CONTROL)
                abort();
            if (ev.type == WS_EV_ERROR) {
                if (ev.code != 1002 && ev.code != 1007 && ev.code != 1009) abort();
                return;
            }
            if (ev.type == WS_EV_CLOSE) closed = 1;
            if (closed && used != chunk) abort(); /* after a close, input is discarded whole */
            d += used;
            n -= used;
            chunk -= used;
            if (ev.type == WS_EV_NONE) break;
        }
    }
}

static void http_run(const uint8_t *d, size_t n, size_t step)
{
    static struct httpc p;
    static struct ssec s;
    httpc_init(&p, 0);
    ssec_init(&s);
    while (n) {
        size_t chunk = n < step ? n : step;
        struct httpc_event ev;
        size_t used = httpc_parse(&p, d, chunk, &ev);
        if (used > chunk) abort();
        if (ev.type == HTTPC_BODY) {
            const uint8_t *b = ev.data;
            size_t bl = ev.len;
            while (bl) {
                struct ssec_event se;
                size_t u = ssec_parse(&s, b, bl, &se);
                if (u > bl || (se.type == SSEC_NONE && u != bl)) abort();
                if (se.type == SSEC_ERROR) break;
                b += u;
                bl -= u;
            }
        }
        if (ev.type == HTTPC_ERROR) return;
        if (ev.type == HTTPC_DONE) httpc_init(&p, 0);
        if (ev.type == HTTPC_NONE && used != chunk) abort();
        if (used == 0 && ev.type != HTTPC_DONE && ev.type != HTTPC_HEAD) return;
        d += used;
        n -= used;
    }
    httpc_eof(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t step = (size_t)(data[0] % 16) + 1;
    ws_run(WS_SERVER, data + 1, size - 1, step);
    ws_run(WS_CLIENT, data + 1, size - 1, step);
    http_run(data + 1, size - 1, step);
    return 0;
}
