/* webhook: signed, retried, non-blocking webhook deliveries.  Contract in webhook.h. */
#include "labs/jobs/webhook.h"

#include "io/httpc/httpc.h"
#include "labs/jobs/dlist.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct hook_delivery {
    struct hook_client *hc;
    struct hook_delivery *prev, *next;
    char id[HOOK_ID_LEN + 1];
    char sig[HOOK_SIG_LEN + 1];
    char event[32];
    char host[32];
    uint32_t addr;
    int port;
    char path[256];
    char *body;
    size_t bodylen;
    char *req; /* this attempt's request bytes */
    size_t reqlen, off;
    unsigned attempt;
    int fd;
    int connected;
    uint64_t timer;   /* attempt timeout, or the backoff before the next attempt */
    struct httpc *rp; /* the response's parser, while an attempt reads it */
    int status;
};

struct hook_client {
    struct ev_loop *loop;
    struct hook_opts opts;
    char *secret;
    hook_done_cb done;
    void *arg;
    struct hook_delivery *all;
    size_t pending;
    struct hook_stats stats;
};

static void hook_start_attempt(struct hook_delivery *d);

struct hook_client *hook_create(struct ev_loop *loop, const struct hook_opts *opts,
                                hook_done_cb done, void *arg)
{
    struct hook_client *hc = calloc(1, sizeof(*hc));
    if (!hc) return NULL;
    hc->loop = loop;
    hc->opts = *opts;
    if (hc->opts.max_attempts < 1) hc->opts.max_attempts = 1;
    if (opts->secret && opts->secret[0] && !(hc->secret = strdup(opts->secret))) {
        free(hc);
        return NULL;
    }
    hc->opts.secret = hc->secret;
    hc->done = done;
    hc->arg = arg;
    return hc;
}

static void hook_close_fd(struct hook_delivery *d)
{
    if (d->fd >= 0) {
        ev_unwatch(d->hc->loop, d->fd);
        close(d->fd);
        d->fd = -1;
    }
}

static void hook_free(struct hook_delivery *d)
{
    struct hook_client *hc = d->hc;
    hook_close_fd(d);
    ev_timer_cancel(hc->loop, d->timer);
    DLIST_UNLINK(hc->all, d, prev, next);
    assert(hc->pending > 0);
    hc->pending--;
    free(d->req);
    free(d->rp);
    free(d->body);
    free(d);
}

void hook_destroy(struct hook_client *hc)
{
    if (!hc) return;
    while (hc->all)
        hook_free(hc->all);
    free(hc->secret);
    free(hc);
}

const struct hook_stats *hook_stats(const struct hook_client *hc)
{
    return &hc->stats;
}

size_t hook_pending(const struct hook_client *hc)
{
    return hc->pending;
}

int hook_parse_url(const char *url, uint32_t *addr, int *port, char *path, size_t pathlen)
{
    static const char scheme[] = "http://";
    if (strncmp(url, scheme, sizeof(scheme) - 1) != 0) return -1;
    const char *h = url + sizeof(scheme) - 1;
    const char *colon = strchr(h, ':');
    const char *slash = strchr(h, '/');
    if (!colon || (slash && slash < colon) || colon == h || (size_t)(colon - h) >= 32) return -1;
    char host[32];
    memcpy(host, h, (size_t)(colon - h));
    host[colon - h] = '\0';
    if (strcmp(host, "localhost") == 0) strcpy(host, "127.0.0.1");
    struct in_addr in;
    if (inet_pton(AF_INET, host, &in) != 1) return -1;
    const char *p = colon + 1;
    long v = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        v = v * 10 + (*p - '0');
        if (v > 65535) return -1;
    }
    if (digits == 0 || v == 0 || (*p != '\0' && *p != '/')) return -1;
    const char *pa = *p ? p : "/";
    size_t pl = strlen(pa);
    if (pl >= pathlen) return -1;
    for (size_t i = 0; i < pl; i++) /* the path goes on the request line verbatim */
        if ((unsigned char)pa[i] <= ' ' || pa[i] == 0x7f) return -1;
    memcpy(path, pa, pl + 1);
    *addr = in.s_addr;
    *port = (int)v;
    return 0;
}

void hook_sign(const char *secret, const void *body, size_t len, char *hex)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), body, len, md, &mdlen);
    assert(mdlen * 2 == HOOK_SIG_LEN);
    for (unsigned i = 0; i < mdlen; i++)
        sprintf(hex + 2 * i, "%02x", md[i]);
    hex[HOOK_SIG_LEN] = '\0';
}

uint32_t hook_backoff_ms(const struct hook_opts *opts, unsigned next)
{
    assert(next >= 2);
    uint64_t d = opts->base_ms;
    for (unsigned i = 2; i < next && d < opts->max_ms; i++)
        d *= 2;
    return (uint32_t)(d < opts->max_ms ? d : opts->max_ms);
}

static void hook_retry_timer(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct hook_delivery *d = arg;
    d->timer = 0;
    hook_start_attempt(d);
}

/* The attempt is over (d->status holds the HTTP status, 0 if none). */
static void hook_finish_attempt(struct hook_delivery *d)
{
    struct hook_client *hc = d->hc;
    hook_close_fd(d);
    ev_timer_cancel(hc->loop, d->timer);
    d->timer = 0;
    free(d->rp);
    d->rp = NULL;
    if (d->status >= 200 && d->status <= 299) {
        hc->stats.delivered++;
        if (hc->done) hc->done(hc->arg, d->id, 1, d->attempt, d->status);
        hook_free(d);
        return;
    }
    hc->stats.failed_attempts++;
    if (d->attempt >= hc->opts.max_attempts) {
        hc->stats.given_up++;
        if (hc->done) hc->done(hc->arg, d->id, 0, d->attempt, d->status);
        hook_free(d);
        return;
    }
    d->timer =
        ev_timer_add(hc->loop, hook_backoff_ms(&hc->opts, d->attempt + 1), hook_retry_timer, d);
    if (d->timer == 0) { /* timer heap full: give up rather than leak */
        hc->stats.given_up++;
        if (hc->done) hc->done(hc->arg, d->id, 0, d->attempt, d->status);
        hook_free(d);
    }
}

static void hook_timeout(struct ev_loop *loop, uint64_t id, void *arg)
{
    struct hook_delivery *d = arg;
    d->timer = 0;
    d->status = 0;
    hook_finish_attempt(d);
}

static void hook_io(struct ev_loop *loop, int fd, unsigned mask, void *arg)
{
    struct hook_delivery *d = arg;
    if (!d->connected) {
        int err = 0;
        socklen_t el = sizeof(err);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err != 0)
            goto fail; /* refused, unreachable */
        d->connected = 1;
    }
    if (d->off < d->reqlen) {
        ssize_t n = send(fd, d->req + d->off, d->reqlen - d->off, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (n <= 0) goto fail;
        d->off += (size_t)n;
        if (d->off < d->reqlen) return;
        if (!(d->rp = malloc(sizeof(*d->rp))) || ev_watch(loop, fd, EV_READ, hook_io, d) < 0)
            goto fail;
        httpc_init(d->rp, 0);
        return;
    }
    uint8_t buf[4096];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) goto fail; /* closed before the response's head */
    /* The response's head is all a delivery needs (io/httpc parses it; interim
       1xx responses are skipped there); the body is not read. */
    struct httpc_event ev;
    httpc_parse(d->rp, buf, (size_t)n, &ev);
    if (ev.type == HTTPC_NONE) return;
    if (ev.type == HTTPC_ERROR) goto fail; /* not HTTP/1.x */
    d->status = d->rp->status;
    hook_finish_attempt(d);
    return;
fail:
    d->status = 0;
    hook_finish_attempt(d);
}

static void hook_start_attempt(struct hook_delivery *d)
{
    struct hook_client *hc = d->hc;
    d->attempt++;
    hc->stats.attempts++;
    d->connected = 0;
    d->off = 0;
    d->status = 0;
    free(d->req);
    d->req = NULL;
    char head[1024];
    int hl =
        snprintf(head, sizeof(head),
                 "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\nUser-Agent: wirelab-jobs\r\n"
                 "X-Wirelab-Event: %s\r\nX-Wirelab-Delivery: %s\r\nX-Wirelab-Attempt: %u\r\n"
                 "%s%s%sConnection: close\r\n\r\n",
                 d->path, d->host, d->port, d->bodylen, d->event, d->id, d->attempt,
                 d->sig[0] ? "X-Wirelab-Signature: sha256=" : "", d->sig, d->sig[0] ? "\r\n" : "");
    assert(hl > 0 && (size_t)hl < sizeof(head)); /* path <= 255, the rest is fixed */
    d->reqlen = (size_t)hl + d->bodylen;
    d->req = malloc(d->reqlen);
    if (!d->req) goto fail;
    memcpy(d->req, head, (size_t)hl);
    memcpy(d->req + hl, d->body, d->bodylen);
    d->timer = ev_timer_add(hc->loop, hc->opts.timeout_ms, hook_timeout, d);
    d->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (d->fd < 0 || d->timer == 0) goto fail;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)d->port)};
    sa.sin_addr.s_addr = d->addr;
    if (connect(d->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) goto fail;
    if (ev_watch(hc->loop, d->fd, EV_WRITE, hook_io, d) < 0) goto fail;
    return;
fail:
    d->status = 0;
    hook_finish_attempt(d);
}

int hook_send(struct hook_client *hc, const char *url, const char *event, const char *body,
              size_t len, char *id_out, char *err, size_t errlen)
{
    if (hc->pending >= hc->opts.max_pending) {
        snprintf(err, errlen, "too many pending webhook deliveries (%zu)", hc->opts.max_pending);
        return -1;
    }
    struct hook_delivery *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    d->fd = -1;
    if (hook_parse_url(url, &d->addr, &d->port, d->path, sizeof(d->path)) < 0) {
        snprintf(err, errlen, "callback must be http://IPV4-OR-localhost:PORT/path");
        free(d);
        return -1;
    }
    d->body = malloc(len ? len : 1);
    if (!d->body) {
        snprintf(err, errlen, "out of memory");
        free(d);
        return -1;
    }
    memcpy(d->body, body, len);
    d->bodylen = len;
    struct in_addr in = {.s_addr = d->addr};
    inet_ntop(AF_INET, &in, d->host, sizeof(d->host));
    snprintf(d->event, sizeof(d->event), "%s", event);
    unsigned char rnd[HOOK_ID_LEN / 2];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        snprintf(err, errlen, "no randomness for a delivery id");
        free(d->body);
        free(d);
        return -1;
    }
    for (size_t i = 0; i < sizeof(rnd); i++)
        sprintf(d->id + 2 * i, "%02x", rnd[i]);
    if (hc->secret) hook_sign(hc->secret, d->body, d->bodylen, d->sig);
    d->hc = hc;
    DLIST_PUSH(hc->all, d, prev, next);
    hc->pending++;
    if (id_out) memcpy(id_out, d->id, HOOK_ID_LEN + 1);
    hook_start_attempt(d);
    return 0;
}
