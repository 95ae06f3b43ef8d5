/* jobs_api: routing, query strings, the POST body, SSE text.  Contract in jobs_api.h. */
#include "labs/jobs/jobs_api.h"

#include "labs/jobs/job_table.h"
#include "labs/jobs/webhook.h"
#include "parsers/json/json.h"

#include <inttypes.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>

int jobs_parse_num(const char *s, size_t len, uint64_t max, uint64_t *v)
{
    if (len == 0 || len > 19) return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        x = x * 10 + (uint64_t)(s[i] - '0');
    }
    if (x > max) return -1;
    *v = x;
    return 0;
}

static int jobs_path_is(const char *p, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(p, lit, n) == 0;
}

void jobs_route(const char *target, size_t len, struct jobs_route *r)
{
    memset(r, 0, sizeof(*r));
    const char *q = memchr(target, '?', len);
    size_t plen = q ? (size_t)(q - target) : len;
    if (q) {
        r->query = q + 1;
        r->query_len = len - plen - 1;
    }
    r->ep = EP_NOT_FOUND;
    if (jobs_path_is(target, plen, "/") || jobs_path_is(target, plen, "/index.html"))
        r->ep = EP_INDEX;
    else if (jobs_path_is(target, plen, "/jobs") || jobs_path_is(target, plen, "/jobs/"))
        r->ep = EP_JOBS;
    else if (jobs_path_is(target, plen, "/events"))
        r->ep = EP_EVENTS;
    else if (jobs_path_is(target, plen, "/ws"))
        r->ep = EP_WS;
    else if (jobs_path_is(target, plen, "/stats"))
        r->ep = EP_STATS;
    else if (plen > 6 && memcmp(target, "/jobs/", 6) == 0) {
        const char *id = target + 6;
        size_t idlen = plen - 6;
        static const char ev[] = "/events";
        r->ep = EP_JOB;
        if (idlen > sizeof(ev) - 1 &&
            memcmp(id + idlen - (sizeof(ev) - 1), ev, sizeof(ev) - 1) == 0) {
            idlen -= sizeof(ev) - 1;
            r->ep = EP_JOB_EVENTS;
        }
        uint64_t v;
        if (jobs_parse_num(id, idlen, INT64_MAX, &v) == 0) r->job = v;
    }
}

int jobs_query(const struct jobs_route *r, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *p = r->query, *end = r->query + r->query_len;
    while (p && p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pe = amp ? amp : end;
        if ((size_t)(pe - p) > nl && memcmp(p, name, nl) == 0 && p[nl] == '=') {
            size_t vl = (size_t)(pe - p) - nl - 1;
            if (vl >= cap) return -2;
            memcpy(out, p + nl + 1, vl);
            out[vl] = '\0';
            return (int)vl;
        }
        p = amp ? amp + 1 : NULL;
    }
    return -1;
}

int jobs_parse_post(const char *body, size_t len, struct jobs_post *p, char *err, size_t errlen)
{
    memset(p, 0, sizeof(*p));
    if (len == 0) {
        snprintf(err, errlen, "empty body: want JSON {\"work_ms\": N, \"callback\": URL}");
        return 400;
    }
    struct json_doc doc = JSON_DOC_INIT;
    struct json_error jerr;
    const struct json_limits lim = {.max_depth = 32, .max_nodes = 4096};
    int status = 422;
    int rc = json_parse(&doc, body, len, &lim, &jerr);
    if (rc != 0) {
        int oom = errno == ENOMEM;
        if (oom)
            snprintf(err, errlen, "out of memory parsing the body");
        else
            snprintf(err, errlen, "malformed JSON at byte offset %zu: %s", jerr.offset, jerr.msg);
        status = oom ? 503 : 400;
        goto out;
    }
    const struct json_node *root = json_root(&doc);
    if (root->type != JSON_T_OBJECT) {
        snprintf(err, errlen, "body must be a JSON object");
        goto out;
    }
    const struct json_node *w = json_get(root, "work_ms");
    int64_t ms;
    if (!w) {
        snprintf(err, errlen, "work_ms is required");
        goto out;
    }
    if (json_get_int(w, &ms) != 0 || ms < JOB_WORK_MS_MIN || ms > JOB_WORK_MS_MAX) {
        snprintf(err, errlen, "work_ms must be an integer in %d..%d", JOB_WORK_MS_MIN,
                 JOB_WORK_MS_MAX);
        goto out;
    }
    p->work_ms = (uint32_t)ms;
    const struct json_node *cb = json_get(root, "callback");
    if (cb && cb->type != JSON_T_NULL) {
        size_t cl;
        const char *url = json_get_str(cb, &cl);
        uint32_t addr;
        int port;
        char path[256];
        if (!url || cl >= sizeof(p->callback) || strlen(url) != cl ||
            hook_parse_url(url, &addr, &port, path, sizeof(path)) < 0) {
            snprintf(
                err, errlen,
                "callback must be a string http://IPV4-OR-localhost:PORT/path (at most 255 bytes)");
            goto out;
        }
        memcpy(p->callback, url, cl + 1);
    }
    status = 0;
out:
    json_doc_free(&doc);
    return status;
}

int sse_event(char *buf, size_t cap, const struct job_event *ev)
{
    int n = snprintf(buf, cap, "id: %" PRIu64 "\ndata: ", ev->id);
    if (n < 0 || (size_t)n >= cap) return n;
    int m = job_event_json(ev, buf + n, cap - (size_t)n);
    if (m < 0 || (size_t)(n + m) + 2 >= cap) return n + m + 2;
    buf[n + m] = '\n';
    buf[n + m + 1] = '\n';
    buf[n + m + 2] = '\0';
    return n + m + 2;
}
