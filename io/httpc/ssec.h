/* ssec: the client side of Server-Sent Events, sans-I/O: an incremental parser of
 * a text/event-stream body (the WHATWG format), fed the body slices httpc yields.
 *
 * Contract
 * - ssec_parse(s, data, len, &ev) consumes body bytes until one event is complete
 *   (a blank line after data) or the input runs out, and returns the bytes consumed.
 *   ev.type is SSEC_NONE, SSEC_EVENT (ev.id: the last event id seen so far, ev.event,
 *   ev.data: NUL-terminated, several data lines joined with "\n"; valid until the
 *   next call) or SSEC_ERROR (a line over SSEC_MAX_LINE or data over SSEC_MAX_DATA).
 *   Comments (":...") are counted in s->comments; "retry:" is kept in s->retry_ms.
 *   Lines end in LF or CRLF.
 */
#ifndef WIRELAB_IO_HTTPC_SSEC_H
#define WIRELAB_IO_HTTPC_SSEC_H

#include <stddef.h>
#include <stdint.h>

#define SSEC_MAX_LINE 4096
#define SSEC_MAX_DATA 16384

enum ssec_event_type { SSEC_NONE, SSEC_EVENT, SSEC_ERROR };

struct ssec_event {
    enum ssec_event_type type;
    const char *id, *event, *data;
    size_t data_len;
};

struct ssec {
    char line[SSEC_MAX_LINE + 1];
    size_t line_len;
    char data[SSEC_MAX_DATA + 1];
    size_t data_len;
    int has_data;
    char id[128], event[64], cur_event[64];
    uint64_t comments, events;
    long retry_ms; /* -1 until the server sends retry: */
};

void ssec_init(struct ssec *s);
size_t ssec_parse(struct ssec *s, const uint8_t *data, size_t len, struct ssec_event *ev);

#endif
