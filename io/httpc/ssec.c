/* ssec: the incremental text/event-stream parser for the lab clients (contract in
 * ssec.h).  Field handling follows the WHATWG "event stream interpretation" rules. */
#include "io/httpc/ssec.h"

#include <stdlib.h>
#include <string.h>

void ssec_init(struct ssec *s)
{
    memset(s, 0, sizeof(*s));
    s->retry_ms = -1;
}

/* One complete line (without its terminator) is in s->line.  Returns 1 when it
 * dispatched an event into ev, 0 when not, -1 on a limit. */
static int ssec_line(struct ssec *s, struct ssec_event *ev)
{
    char *l = s->line;
    if (s->line_len == 0) {
        if (!s->has_data) {
            s->cur_event[0] = 0;
            return 0;
        }
        s->data[s->data_len] = 0;
        memcpy(s->event, s->cur_event, sizeof s->event);
        ev->type = SSEC_EVENT;
        ev->id = s->id;
        ev->event = s->event[0] ? s->event : "message";
        ev->data = s->data;
        ev->data_len = s->data_len;
        s->events++;
        s->data_len = 0;
        s->has_data = 0;
        s->cur_event[0] = 0;
        return 1;
    }
    if (l[0] == ':') {
        s->comments++;
        return 0;
    }
    char *v = strchr(l, ':');
    if (v) {
        *v++ = 0;
        if (*v == ' ') v++;
    } else {
        v = l + s->line_len; /* a field name alone has an empty value */
    }
    size_t vl = strlen(v);
    if (strcmp(l, "data") == 0) {
        size_t need = vl + (s->has_data ? 1 : 0);
        if (s->data_len + need > SSEC_MAX_DATA) return -1;
        if (s->has_data) s->data[s->data_len++] = '\n';
        memcpy(s->data + s->data_len, v, vl);
        s->data_len += vl;
        s->has_data = 1;
    } else if (strcmp(l, "id") == 0) {
        if (vl < sizeof s->id && !memchr(v, 0, vl)) memcpy(s->id, v, vl + 1);
    } else if (strcmp(l, "event") == 0) {
        if (vl < sizeof s->cur_event) memcpy(s->cur_event, v, vl + 1);
    } else if (strcmp(l, "retry") == 0) {
        char *e;
        long r = strtol(v, &e, 10);
        if (*v && !*e && r >= 0) s->retry_ms = r;
    }
    return 0;
}

size_t ssec_parse(struct ssec *s, const uint8_t *data, size_t len, struct ssec_event *ev)
{
    size_t i = 0;
    ev->type = SSEC_NONE;
    while (i < len) {
        char c = (char)data[i++];
        if (c != '\n') {
            if (s->line_len == SSEC_MAX_LINE) {
                ev->type = SSEC_ERROR;
                return i;
            }
            s->line[s->line_len++] = c;
            continue;
        }
        if (s->line_len && s->line[s->line_len - 1] == '\r') s->line_len--;
        s->line[s->line_len] = 0;
        int r = ssec_line(s, ev);
        s->line_len = 0;
        if (r < 0) {
            ev->type = SSEC_ERROR;
            return i;
        }
        if (r > 0) return i;
    }
    return i;
}
