/* walrcv: the WAL receiver.  Contract in walrcv.h. */
#include "replication/walrcv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/net.h"

struct walrcv {
    struct ev_loop *loop;
    struct wal *wal;
    struct walrcv_config cfg;
    int fd;
    int streaming; /* the handshake was answered +STREAM */
    unsigned mask;
    char *in; /* WALRCV_IN_MAX bytes */
    size_t inlen;
    struct resp_reply hs; /* the handshake's reply */
    struct resp_out out;
    unsigned char *apply_q; /* received records not yet applied (they wait for the flush) */
    size_t apply_len, apply_cap;
    uint64_t applied;
    uint64_t acked_w, acked_f, acked_a;
    uint64_t retry_timer;
    char error[256];
};

static void on_event(struct ev_loop *l, int fd, unsigned mask, void *arg);

static void on_retry(struct ev_loop *l, uint64_t id, void *arg)
{
    struct walrcv *r = arg;
    r->retry_timer = 0;
    walrcv_start(r);
}

/* Closes the link; logs why once per distinct reason; retries after retry_ms. */
static void drop(struct walrcv *r, const char *why, unsigned retry_ms)
{
    if (why && strcmp(why, r->error) != 0)
        fprintf(stderr, "%s: replica: %s (retrying every %u ms)\n", r->cfg.name, why, retry_ms);
    if (why) snprintf(r->error, sizeof(r->error), "%s", why);
    if (r->fd >= 0) {
        ev_unwatch(r->loop, r->fd);
        close(r->fd);
    }
    r->fd = -1;
    r->mask = 0;
    r->streaming = 0;
    r->inlen = 0;
    r->out.len = 0;
    if (!r->retry_timer) r->retry_timer = ev_timer_add(r->loop, retry_ms, on_retry, r);
}

/* Writes what the socket takes; watches for reading while there is room. */
static void pump_out(struct walrcv *r)
{
    while (r->out.len) {
        ssize_t n = write(r->fd, r->out.data, r->out.len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) break;
        if (n <= 0) {
            drop(r, "connection to the primary lost", 200);
            return;
        }
        resp_out_consume(&r->out, (size_t)n);
    }
    unsigned m = (r->apply_len < WALRCV_APPLY_MAX && r->inlen < WALRCV_IN_MAX ? EV_READ : 0) |
                 (r->out.len ? EV_WRITE : 0);
    if (m != r->mask) {
        if (m)
            ev_watch(r->loop, r->fd, m, on_event, r);
        else
            ev_unwatch(r->loop, r->fd);
        r->mask = m;
    }
}

static void send_ack(struct walrcv *r, int force)
{
    uint64_t w = wal_write_lsn(r->wal), f = wal_flush_lsn(r->wal), a = r->applied;
    if (r->fd < 0 || !r->streaming) return;
    if (!force && w == r->acked_w && f == r->acked_f && a == r->acked_a) return;
    char n1[24], n2[24], n3[24];
    snprintf(n1, sizeof(n1), "%" PRIu64, w);
    snprintf(n2, sizeof(n2), "%" PRIu64, f);
    snprintf(n3, sizeof(n3), "%" PRIu64, a);
    const char *argv[] = {"REPLCONF", "ACK", n1, n2, n3};
    resp_add_argv(&r->out, 5, argv, NULL);
    r->acked_w = w;
    r->acked_f = f;
    r->acked_a = a;
    pump_out(r);
}

/* Takes whole records from the input: append to the WAL, queue for apply. */
static int take_records(struct walrcv *r)
{
    size_t pos = 0;
    int appended = 0;
    char why[256];
    while (pos < r->inlen && r->apply_len < WALRCV_APPLY_MAX) {
        struct wal_rec rec;
        int st = wal_rec_decode(r->in + pos, r->inlen - pos, &rec);
        if (st == WAL_REC_SHORT) break;
        if (st != WAL_REC_OK) {
            snprintf(why, sizeof(why), "bad record from the primary: %s", wal_rec_status_name(st));
            drop(r, why, 1000);
            return -1;
        }
        if (wal_append_raw(r->wal, r->in + pos, rec.size) < 0) {
            snprintf(why, sizeof(why),
                     "record at LSN %" PRIu64 " does not follow this replica's WAL (at %" PRIu64
                     "): %s",
                     rec.lsn, wal_insert_lsn(r->wal),
                     errno == EINVAL ? "the WALs diverged; rebuild the replica" : strerror(errno));
            drop(r, why, 1000);
            return -1;
        }
        if (r->apply_len + rec.size > r->apply_cap) {
            size_t cap = r->apply_cap ? r->apply_cap * 2 : (size_t)1 << 20;
            while (cap < r->apply_len + rec.size)
                cap *= 2;
            unsigned char *q = realloc(r->apply_q, cap);
            if (!q) {
                drop(r, "out of memory", 1000);
                return -1;
            }
            r->apply_q = q;
            r->apply_cap = cap;
        }
        memcpy(r->apply_q + r->apply_len, r->in + pos, rec.size);
        r->apply_len += rec.size;
        pos += rec.size;
        appended = 1;
    }
    memmove(r->in, r->in + pos, r->inlen - pos);
    r->inlen -= pos;
    if (appended) wal_flush_request(r->wal, wal_insert_lsn(r->wal));
    return 0;
}

/* The handshake's one reply: "+STREAM <lsn>" or the primary's refusal. */
static int handshake(struct walrcv *r)
{
    ssize_t k = resp_reply_parse(&r->hs, r->in, r->inlen);
    if (k == -2) return 0;
    const struct resp_elem *e = k > 0 ? &r->hs.elem[0] : NULL;
    char why[300];
    if (!e || (e->type != '+' && e->type != '-') ||
        (e->type == '+' && (e->n < 7 || memcmp(e->p, "STREAM ", 7) != 0))) {
        drop(r, "the primary does not speak the replication protocol", 1000);
        return -1;
    }
    if (e->type == '-') {
        snprintf(why, sizeof(why), "the primary refused: %.*s", (int)e->n, e->p);
        drop(r, why, 1000);
        return -1;
    }
    memmove(r->in, r->in + k, r->inlen - (size_t)k);
    r->inlen -= (size_t)k;
    r->streaming = 1;
    r->error[0] = 0;
    fprintf(stderr, "%s: replica: streaming from %s:%d at LSN %" PRIu64 "\n", r->cfg.name,
            r->cfg.host ? r->cfg.host : "?", r->cfg.port, wal_insert_lsn(r->wal));
    send_ack(r, 1);
    return r->fd >= 0 ? 1 : -1;
}

static void on_event(struct ev_loop *l, int fd, unsigned mask, void *arg)
{
    struct walrcv *r = arg;
    if (mask & (EV_READ | EV_ERROR) && (r->mask & EV_READ)) {
        ssize_t n = read(fd, r->in + r->inlen, WALRCV_IN_MAX - r->inlen);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            drop(r, "connection to the primary lost", 200);
            return;
        }
        if (n > 0) r->inlen += (size_t)n;
        if (!r->streaming && handshake(r) <= 0) return;
        if (take_records(r) < 0) return;
    }
    pump_out(r);
}

void walrcv_start(struct walrcv *r)
{
    char err[256], why[300];
    int fd = r->cfg.connect ? r->cfg.connect(r->cfg.arg, err, sizeof(err))
                            : net_connect(r->cfg.host, r->cfg.port, err, sizeof(err));
    if (fd < 0) {
        snprintf(why, sizeof(why), "cannot reach the primary: %s", err);
        drop(r, why, 200);
        return;
    }
    net_set_nonblock(fd, 1);
    r->fd = fd;
    r->inlen = 0;
    r->out.len = 0;
    resp_reply_free(&r->hs);          /* a handshake cut short last time starts over */
    resp_reply_init(&r->hs, 4, 1024); /* a short line, or it is not our primary */
    char n1[24], n2[24];
    snprintf(n1, sizeof(n1), "%" PRIu64, wal_insert_lsn(r->wal));
    snprintf(n2, sizeof(n2), "%zu", wal_segment_size(r->wal));
    const char *argv[] = {"REPLSTART", n1, n2};
    resp_add_argv(&r->out, 3, argv, NULL);
    pump_out(r);
}

void walrcv_progress(struct walrcv *r)
{
    uint64_t flush = wal_flush_lsn(r->wal);
    size_t pos = 0, seg = wal_segment_size(r->wal);
    while (pos < r->apply_len) { /* apply only what is flushed */
        struct wal_rec rec;
        wal_rec_decode(r->apply_q + pos, r->apply_len - pos, &rec);
        uint64_t end =
            rec.type == WAL_T_SWITCH ? rec.lsn - rec.lsn % seg + seg : rec.lsn + rec.size;
        if (end > flush) break;
        if (rec.type != WAL_T_SWITCH &&
            r->cfg.apply(r->cfg.arg, rec.lsn, rec.type, rec.payload, rec.len) < 0)
            fprintf(stderr, "%s: replica: record at LSN %" PRIu64 " has an unknown type %u\n",
                    r->cfg.name, rec.lsn, rec.type);
        r->applied = end;
        pos += rec.size;
    }
    if (pos) {
        memmove(r->apply_q, r->apply_q + pos, r->apply_len - pos);
        r->apply_len -= pos;
    }
    send_ack(r, 0);
    if (r->fd >= 0 && r->inlen && r->streaming && take_records(r) == 0)
        pump_out(r); /* input held back while the apply queue was full */
}

struct walrcv *walrcv_create(struct ev_loop *loop, struct wal *wal, const struct walrcv_config *cfg)
{
    struct walrcv *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->loop = loop;
    r->wal = wal;
    r->cfg = *cfg;
    if (!r->cfg.name) r->cfg.name = "walrcv";
    r->fd = -1;
    r->applied = wal_insert_lsn(wal); /* what recovery replayed */
    resp_out_init(&r->out, (size_t)1 << 20);
    resp_reply_init(&r->hs, 4, 1024);
    if (!(r->in = malloc(WALRCV_IN_MAX))) {
        free(r);
        return NULL;
    }
    return r;
}

uint64_t walrcv_apply_lsn(const struct walrcv *r)
{
    return r->applied;
}

int walrcv_link_up(const struct walrcv *r)
{
    return r->fd >= 0 && r->streaming;
}

void walrcv_info(const struct walrcv *r, struct resp_out *o)
{
    resp_add_rawf(o, "master_host:%s\r\nmaster_port:%d\r\nmaster_link_status:%s\r\n",
                  r->cfg.host ? r->cfg.host : "", r->cfg.port, walrcv_link_up(r) ? "up" : "down");
    resp_add_rawf(o, "master_last_error:%s\r\nreplica_apply_lsn:%" PRIu64 "\r\n", r->error,
                  r->applied);
}

void walrcv_destroy(struct walrcv *r)
{
    if (!r) return;
    if (r->fd >= 0) {
        ev_unwatch(r->loop, r->fd);
        close(r->fd);
    }
    if (r->retry_timer) ev_timer_cancel(r->loop, r->retry_timer);
    resp_reply_free(&r->hs);
    resp_out_free(&r->out);
    free(r->in);
    free(r->apply_q);
    free(r);
}
