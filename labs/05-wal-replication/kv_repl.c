/* kv_repl: WAL shipping between kv-server processes.
 *
 * The stream (both directions on one TCP connection to the primary's --repl-port):
 *   replica -> primary  REPLSTART <lsn> <segment-size>     (RESP array) once
 *   primary -> replica  +STREAM <primary flush LSN>         or -ERR why, then closes
 *   primary -> replica  WAL records, byte for byte as in the primary's segments, never
 *                       past the primary's own flush LSN
 *   replica -> primary  REPLCONF ACK <write> <flush> <apply>  after each progress
 * The replica appends each record with wal_append_raw (same LSNs, CRC checked), asks its
 * WAL writer to flush, and applies records to its map only once they are flushed, so
 * apply <= flush <= write, and a restart resumes from what it has. */
#include "labs/05-wal-replication/kv_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/net.h"

#define REPL_IN_MAX    ((size_t)4 << 20)
#define REPL_APPLY_MAX ((size_t)64 << 20)
#define REPL_OUT_HIGH  ((size_t)1 << 20)

/* Writes what the non-blocking socket takes; -1 (errno) when the peer is gone. */
static int repl_write_out(int fd, struct resp_out *o)
{
    while (o->len) {
        ssize_t n = write(fd, o->data, o->len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return 0;
        if (n <= 0) {
            if (n == 0) errno = EPIPE;
            return -1;
        }
        resp_out_consume(o, (size_t)n);
    }
    return 0;
}

/* ---- primary --------------------------------------------------------------- */

static void rep_event(struct ev_loop *l, int fd, unsigned mask, void *arg);

static void rep_close(struct kv_server *s, int i, const char *why)
{
    struct kv_replica_conn *r = s->rep[i];
    kv_logf("replica %s disconnected: %s", r->addr, why);
    ev_unwatch(s->loop, r->fd);
    close(r->fd);
    resp_out_free(&r->out);
    resp_free(&r->p);
    free(r->in);
    free(r);
    s->rep[i] = NULL;
}

static int rep_index(struct kv_server *s, int fd)
{
    for (int i = 0; i < KV_MAX_REPLICAS; i++)
        if (s->rep[i] && s->rep[i]->fd == fd) return i;
    return -1;
}

/* --repl-throttle: a token bucket refilled at the link's rate and holding at most 40 ms
 * of it (two of the loop's 20 ms ticks, which call rep_pump again), so WAL the link has
 * not carried yet stays in the primary's segment files, unsent, as behind a slow network
 * link; a kill -9 of the primary takes it along.  Returns how many bytes may go now. */
static double rep_burst(const struct kv_server *s)
{
    double b = (double)s->repl_throttle / 25;
    return b > 512 ? b : 512;
}

static size_t rep_budget(struct kv_server *s, struct kv_replica_conn *r)
{
    if (!s->repl_throttle) return KV_SCRATCH;
    uint64_t now = ev_now_ns();
    r->tokens += (double)(now - r->tok_ns) * 1e-9 * (double)s->repl_throttle;
    if (r->tokens > rep_burst(s)) r->tokens = rep_burst(s);
    r->tok_ns = now;
    return r->tokens < 1 ? 0 : r->tokens > (double)KV_SCRATCH ? KV_SCRATCH : (size_t)r->tokens;
}

/* Queues flushed WAL the replica has not been sent yet and writes what the socket takes. */
static void rep_pump(struct kv_server *s, int i)
{
    struct kv_replica_conn *r = s->rep[i];
    char err[256];
    uint64_t flush = wal_flush_lsn(s->wal);
    size_t cap;
    while (r->streaming && r->out.len < REPL_OUT_HIGH && r->sent < flush &&
           (cap = rep_budget(s, r))) {
        uint64_t next;
        ssize_t n = wal_read(s->wal, r->sent, flush, s->scratch, cap, &next, err, sizeof(err));
        if (n < 0 && errno == E2BIG && s->repl_throttle) {
            /* The next record is bigger than the budget: wait for a full bucket, then send
             * it anyway and go into debt, so the long-run rate still holds. */
            if (r->tokens < rep_burst(s)) break;
            n = wal_read(s->wal, r->sent, flush, s->scratch, KV_SCRATCH, &next, err, sizeof(err));
        }
        if (n < 0) {
            rep_close(s, i, err);
            return;
        }
        if (s->repl_throttle) r->tokens -= (double)n;
        if (n > 0 && resp_add_raw(&r->out, s->scratch, (size_t)n) < 0) break;
        if (n == 0 && next == r->sent) break;
        r->sent = next;
    }
    if (repl_write_out(r->fd, &r->out) < 0) {
        rep_close(s, i, strerror(errno));
        return;
    }
    ev_watch(s->loop, r->fd, EV_READ | (r->out.len ? EV_WRITE : 0), rep_event, s);
}

static int arg_u64(const struct resp_parser *p, int i, uint64_t *v)
{
    char num[32], *e;
    if (p->argl[i] == 0 || p->argl[i] >= sizeof(num)) return -1;
    memcpy(num, p->argv[i], p->argl[i]);
    num[p->argl[i]] = 0;
    *v = strtoull(num, &e, 10);
    return *e ? -1 : 0;
}

static int rep_command(struct kv_server *s, struct kv_replica_conn *r)
{
    struct resp_parser *p = &r->p;
    uint64_t a, b, c;
    if (p->argc == 3 && p->argl[0] == 9 && !strncasecmp(p->argv[0], "REPLSTART", 9) &&
        !r->streaming) {
        uint64_t flush = wal_flush_lsn(s->wal);
        if (arg_u64(p, 1, &a) < 0 || arg_u64(p, 2, &b) < 0) {
            resp_add_error(&r->out, "ERR REPLSTART <lsn> <segment-size>");
            return -1;
        }
        if (b != wal_segment_size(s->wal)) {
            resp_add_errorf(&r->out,
                            "ERR segment size %" PRIu64 " differs from the primary's %zu: "
                            "start the replica with --wal-segment-size %zu",
                            b, wal_segment_size(s->wal), wal_segment_size(s->wal));
            return -1;
        }
        if (a > flush) {
            resp_add_errorf(&r->out,
                            "ERR replica is at LSN %" PRIu64 ", past the primary's flush "
                            "LSN %" PRIu64 ": its WAL has diverged; rebuild the replica",
                            a, flush);
            return -1;
        }
        if (a < wal_oldest_lsn(s->wal)) {
            resp_add_errorf(&r->out,
                            "ERR WAL from LSN %" PRIu64 " is gone (oldest kept %" PRIu64
                            "); rebuild the replica",
                            a, wal_oldest_lsn(s->wal));
            return -1;
        }
        char line[64];
        snprintf(line, sizeof(line), "STREAM %" PRIu64, flush);
        resp_add_simple(&r->out, line);
        r->streaming = 1;
        r->sent = r->write = r->flush = r->apply = a;
        r->last_ack_ms = ev_now_ms();
        r->tokens = 0;
        r->tok_ns = ev_now_ns();
        kv_logf("replica %s streaming from LSN %" PRIu64, r->addr, a);
        return 0;
    }
    if (p->argc == 5 && r->streaming && p->argl[0] == 8 &&
        !strncasecmp(p->argv[0], "REPLCONF", 8) && arg_u64(p, 2, &a) == 0 &&
        arg_u64(p, 3, &b) == 0 && arg_u64(p, 4, &c) == 0) {
        if (a > r->sent || b > r->sent || c > r->sent) {
            /* A position past what this connection was sent: the peer has WAL the
             * primary never gave it (a diverged history, a bug, or a fake replica).
             * Clamping would still count its flush/apply claims toward synchronous
             * commits, and those claims are already shown false: "nothing
             * acknowledged is ever lost" must not rest on them.  So it is a protocol
             * error and the connection goes (logged once, by rep_close); a real
             * replica reconnects and is counted from what it is sent then.  Backwards
             * positions are taken as they come: they only ever lower the count. */
            resp_add_errorf(&r->out,
                            "ERR REPLCONF ACK %" PRIu64 " %" PRIu64 " %" PRIu64
                            " is past the LSN %" PRIu64 " this connection was sent",
                            a, b, c, r->sent);
            kv_logf("replica %s: REPLCONF ACK %" PRIu64 " %" PRIu64 " %" PRIu64
                    " past the LSN %" PRIu64 " it was sent: dropped, not counted",
                    r->addr, a, b, c, r->sent);
            return -1;
        }
        r->write = a;
        r->flush = b;
        r->apply = c;
        r->last_ack_ms = ev_now_ms();
        kv_release_waiters(s);
        return 0;
    }
    resp_add_error(&r->out, "ERR the replication port speaks REPLSTART and REPLCONF ACK only");
    return -1;
}

static void rep_event(struct ev_loop *l, int fd, unsigned mask, void *arg)
{
    struct kv_server *s = arg;
    int i = rep_index(s, fd);
    (void)l;
    if (i < 0) return;
    struct kv_replica_conn *r = s->rep[i];
    if (mask & (EV_READ | EV_ERROR)) {
        if (r->inlen == REPL_IN_MAX) {
            rep_close(s, i, "replica sent too much");
            return;
        }
        ssize_t n = read(fd, r->in + r->inlen, REPL_IN_MAX - r->inlen);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            rep_close(s, i, n == 0 ? "connection closed" : strerror(errno));
            return;
        }
        if (n > 0) r->inlen += (size_t)n;
        size_t pos = 0;
        for (;;) {
            ssize_t k = resp_parse(&r->p, r->in + pos, r->inlen - pos);
            if (k == -2) break;
            if (k < 0 || r->p.err[0] || (r->p.argc && rep_command(s, r) < 0)) {
                if (k < 0 || r->p.err[0]) resp_add_error(&r->out, r->p.err);
                (void)!write(fd, r->out.data, r->out.len);
                rep_close(s, i, "bad request on the replication port");
                return;
            }
            pos += (size_t)k;
        }
        memmove(r->in, r->in + pos, r->inlen - pos);
        r->inlen -= pos;
    }
    if (s->rep[i] == r) rep_pump(s, i);
}

static void rep_accept(struct ev_loop *l, int lfd, unsigned mask, void *arg);

static void rep_accept_resume(struct ev_loop *l, uint64_t id, void *arg)
{
    struct kv_server *s = arg;
    (void)id;
    if (ev_watch(l, s->repl_lfd, EV_READ, rep_accept, s) < 0)
        kv_logf("cannot watch the replication listener again");
}

static void rep_accept(struct ev_loop *l, int lfd, unsigned mask, void *arg)
{
    struct kv_server *s = arg;
    (void)mask;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE)
            kv_accept_pause(s, lfd, rep_accept_resume, "replication");
        return;
    }
    int i = 0;
    while (i < KV_MAX_REPLICAS && s->rep[i])
        i++;
    struct kv_replica_conn *r = i < KV_MAX_REPLICAS ? calloc(1, sizeof(*r)) : NULL;
    if (r) r->in = malloc(REPL_IN_MAX);
    if (!r || !r->in) {
        static const char msg[] = "-ERR too many replicas\r\n";
        (void)!write(fd, msg, sizeof(msg) - 1);
        close(fd);
        free(r);
        return;
    }
    net_set_nodelay(fd);
    r->fd = fd;
    r->connected_ms = ev_now_ms();
    char ip[INET_ADDRSTRLEN] = "?";
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof(ip));
    snprintf(r->addr, sizeof(r->addr), "%s:%d", ip,
             ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port) : 0);
    resp_init(&r->p, NULL);
    resp_out_init(&r->out, (size_t)8 << 20);
    s->rep[i] = r;
    ev_watch(l, fd, EV_READ, rep_event, s);
}

int kv_repl_listen(struct kv_server *s, const char *host, int port, char *err, size_t errlen)
{
    s->repl_lfd = net_listen(host, port, 16, 1, err, errlen);
    if (s->repl_lfd < 0) return -1;
    return ev_watch(s->loop, s->repl_lfd, EV_READ, rep_accept, s);
}

void kv_repl_primary_progress(struct kv_server *s)
{
    uint64_t f = wal_flush_lsn(s->wal);
    uint64_t now = ev_now_ns();
    if (f > s->last_flush_seen && s->lag_n &&
        now - s->lag[(s->lag_head + s->lag_n - 1) % KV_LAG_SAMPLES].ns < 1000000) {
        /* at most one sample per ms, so the ring spans 4 s of lag at any flush rate (a
         * later LSN keeps the ms's first time: lag_ms overstates by < 1 ms, never understates) */
        s->lag[(s->lag_head + s->lag_n - 1) % KV_LAG_SAMPLES].lsn = f;
        s->last_flush_seen = f;
    }
    if (f > s->last_flush_seen) { /* remember when each LSN became durable: lag in time */
        size_t at = (s->lag_head + s->lag_n) % KV_LAG_SAMPLES;
        if (s->lag_n == KV_LAG_SAMPLES)
            s->lag_head = (s->lag_head + 1) % KV_LAG_SAMPLES;
        else
            s->lag_n++;
        s->lag[at].lsn = f;
        s->lag[at].ns = now;
        s->last_flush_seen = f;
    }
    for (int i = 0; i < KV_MAX_REPLICAS; i++)
        if (s->rep[i]) rep_pump(s, i);
}

int kv_repl_count_reached(struct kv_server *s, enum kv_level what, uint64_t lsn)
{
    int n = 0;
    for (int i = 0; i < KV_MAX_REPLICAS; i++) {
        struct kv_replica_conn *r = s->rep[i];
        if (!r || !r->streaming) continue;
        uint64_t v = what == KV_REMOTE_WRITE ? r->write : what == KV_ON ? r->flush : r->apply;
        n += v >= lsn;
    }
    return n;
}

/* How long ago the oldest WAL the replica has not applied was flushed here. */
static uint64_t lag_ms(struct kv_server *s, uint64_t applied)
{
    for (size_t k = 0; k < s->lag_n; k++) {
        size_t at = (s->lag_head + k) % KV_LAG_SAMPLES;
        if (s->lag[at].lsn > applied) return (ev_now_ns() - s->lag[at].ns) / 1000000u;
    }
    return 0;
}

static void info_line(struct resp_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void info_line(struct resp_out *o, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(line) - 3) n = (int)sizeof(line) - 3;
    memcpy(line + n, "\r\n", 2);
    resp_add_raw(o, line, (size_t)n + 2);
}

void kv_repl_info(struct kv_server *s, struct resp_out *o)
{
    static const char *const lv[] = {"off", "local", "remote_write", "on", "remote_apply"};
    uint64_t ins = wal_insert_lsn(s->wal), wr = wal_write_lsn(s->wal), fl = wal_flush_lsn(s->wal);
    info_line(o, "# Replication");
    if (!s->is_replica) {
        int n = 0;
        for (int i = 0; i < KV_MAX_REPLICAS; i++)
            n += s->rep[i] && s->rep[i]->streaming;
        info_line(o, "role:master");
        info_line(o, "synchronous_commit:%s", lv[s->level]);
        info_line(o, "connected_slaves:%d", n);
        if (s->repl_throttle) info_line(o, "repl_throttle_bytes_per_s:%" PRIu64, s->repl_throttle);
        for (int i = 0, k = 0; i < KV_MAX_REPLICAS; i++) {
            struct kv_replica_conn *r = s->rep[i];
            if (!r || !r->streaming) continue;
            info_line(o,
                      "slave%d:state=streaming,sent_lsn=%" PRIu64 ",write_lsn=%" PRIu64
                      ",flush_lsn=%" PRIu64 ",apply_lsn=%" PRIu64 ",lag_bytes=%" PRIu64
                      ",lag_ms=%" PRIu64 ",last_ack_ms_ago=%" PRIu64,
                      k++, r->sent, r->write, r->flush, r->apply, fl > r->apply ? fl - r->apply : 0,
                      lag_ms(s, r->apply), ev_now_ms() - r->last_ack_ms);
        }
    } else {
        info_line(o, "role:slave");
        info_line(o, "master_host:%s", s->primary_host);
        info_line(o, "master_port:%d", s->primary_port);
        info_line(o, "master_link_status:%s", s->up_handshake_done ? "up" : "down");
        info_line(o, "master_last_error:%s", s->up_error);
        info_line(o, "replica_apply_lsn:%" PRIu64, s->r_apply);
    }
    info_line(o, "wal_insert_lsn:%" PRIu64, ins);
    info_line(o, "wal_write_lsn:%" PRIu64, wr);
    info_line(o, "wal_flush_lsn:%" PRIu64, fl);
    info_line(o, "wal_fdatasyncs:%" PRIu64, wal_flush_count(s->wal));
    info_line(o, "master_repl_offset:%" PRIu64, fl);
    info_line(o, "%s", "");
}

/* ---- replica ----------------------------------------------------------------- */

static void up_event(struct ev_loop *l, int fd, unsigned mask, void *arg);

static void up_retry(struct ev_loop *l, uint64_t id, void *arg)
{
    struct kv_server *s = arg;
    (void)l;
    (void)id;
    s->up_retry_timer = 0;
    kv_repl_replica_start(s);
}

static void up_drop(struct kv_server *s, const char *why, unsigned retry_ms)
{
    if (why && strcmp(why, s->up_error) != 0)
        kv_logf("replica: %s (retrying every %u ms)", why, retry_ms);
    if (why) snprintf(s->up_error, sizeof(s->up_error), "%s", why);
    if (s->up_fd >= 0) {
        ev_unwatch(s->loop, s->up_fd);
        close(s->up_fd);
    }
    s->up_fd = -1;
    s->up_handshake_done = 0;
    s->up_inlen = 0;
    if (!s->up_retry_timer) s->up_retry_timer = ev_timer_add(s->loop, retry_ms, up_retry, s);
}

static void up_write(struct kv_server *s)
{
    if (repl_write_out(s->up_fd, &s->up_out) < 0) {
        up_drop(s, "connection to the primary lost", 200);
        return;
    }
    unsigned m = (s->apply_len < REPL_APPLY_MAX ? EV_READ : 0) | (s->up_out.len ? EV_WRITE : 0);
    ev_watch(s->loop, s->up_fd, m ? m : EV_WRITE, up_event, s);
}

static void up_send_ack(struct kv_server *s, int force)
{
    uint64_t w = wal_write_lsn(s->wal), f = wal_flush_lsn(s->wal), a = s->r_apply;
    if (s->up_fd < 0 || !s->up_handshake_done) return;
    if (!force && w == s->r_acked_w && f == s->r_acked_f && a == s->r_acked_a) return;
    char n1[24], n2[24], n3[24];
    snprintf(n1, sizeof(n1), "%" PRIu64, w);
    snprintf(n2, sizeof(n2), "%" PRIu64, f);
    snprintf(n3, sizeof(n3), "%" PRIu64, a);
    resp_out_consume(&s->up_out, 0);
    resp_add_array(&s->up_out, 5);
    resp_add_cstr(&s->up_out, "REPLCONF");
    resp_add_cstr(&s->up_out, "ACK");
    resp_add_cstr(&s->up_out, n1);
    resp_add_cstr(&s->up_out, n2);
    resp_add_cstr(&s->up_out, n3);
    s->r_acked_w = w;
    s->r_acked_f = f;
    s->r_acked_a = a;
    up_write(s);
}

/* Takes whole records from the input: append to the WAL, queue for apply. */
static int up_records(struct kv_server *s)
{
    size_t pos = 0;
    int appended = 0;
    while (pos < s->up_inlen && s->apply_len < REPL_APPLY_MAX) {
        struct wal_rec r;
        int st = wal_rec_decode(s->up_in + pos, s->up_inlen - pos, &r);
        if (st == WAL_REC_SHORT) break;
        char why[256];
        if (st != WAL_REC_OK) {
            snprintf(why, sizeof(why), "bad record from the primary: %s", wal_rec_status_name(st));
            up_drop(s, why, 1000);
            return -1;
        }
        if (wal_append_raw(s->wal, s->up_in + pos, r.size) < 0) {
            snprintf(why, sizeof(why),
                     "record at LSN %" PRIu64 " does not follow this replica's WAL "
                     "(at %" PRIu64 "): %s",
                     r.lsn, wal_insert_lsn(s->wal),
                     errno == EINVAL ? "the WALs diverged; rebuild the replica" : strerror(errno));
            up_drop(s, why, 1000);
            return -1;
        }
        if (s->apply_len + r.size > s->apply_cap) {
            size_t cap = s->apply_cap ? s->apply_cap * 2 : 1 << 20;
            while (cap < s->apply_len + r.size)
                cap *= 2;
            unsigned char *q = realloc(s->apply_q, cap);
            if (!q) {
                up_drop(s, "out of memory", 1000);
                return -1;
            }
            s->apply_q = q;
            s->apply_cap = cap;
        }
        memcpy(s->apply_q + s->apply_len, s->up_in + pos, r.size);
        s->apply_len += r.size;
        pos += r.size;
        appended = 1;
    }
    memmove(s->up_in, s->up_in + pos, s->up_inlen - pos);
    s->up_inlen -= pos;
    if (appended) wal_flush_request(s->wal, wal_insert_lsn(s->wal));
    return 0;
}

static void up_event(struct ev_loop *l, int fd, unsigned mask, void *arg)
{
    struct kv_server *s = arg;
    (void)l;
    if (mask & (EV_READ | EV_ERROR)) {
        ssize_t n = read(fd, s->up_in + s->up_inlen, s->up_incap - s->up_inlen);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            up_drop(s, "connection to the primary lost", 200);
            return;
        }
        if (n > 0) s->up_inlen += (size_t)n;
        if (!s->up_handshake_done) {
            char *nl = memchr(s->up_in, '\n', s->up_inlen);
            if (!nl) {
                if (s->up_inlen > 1024)
                    up_drop(s, "the primary does not speak the replication protocol", 1000);
                return;
            }
            size_t ln = (size_t)(nl - s->up_in) + 1;
            if (s->up_in[0] != '+') {
                char why[256];
                snprintf(why, sizeof(why), "the primary refused: %.*s", (int)(ln > 3 ? ln - 3 : 0),
                         s->up_in + 1);
                up_drop(s, why, 1000);
                return;
            }
            memmove(s->up_in, s->up_in + ln, s->up_inlen - ln);
            s->up_inlen -= ln;
            s->up_handshake_done = 1;
            s->up_error[0] = 0;
            kv_logf("replica: streaming from %s:%d at LSN %" PRIu64, s->primary_host,
                    s->primary_port, wal_insert_lsn(s->wal));
            up_send_ack(s, 1);
            if (s->up_fd < 0) return;
        }
        if (up_records(s) < 0) return;
    }
    up_write(s);
}

void kv_repl_replica_start(struct kv_server *s)
{
    char err[256];
    if (!s->up_in) {
        s->up_incap = REPL_IN_MAX;
        s->up_in = malloc(s->up_incap);
        resp_out_init(&s->up_out, (size_t)1 << 20);
        if (!s->up_in) {
            kv_logf("out of memory");
            return;
        }
    }
    /* A blocking connect: instant on loopback, where this lab runs; a remote primary
     * that drops SYNs would stall the loop until the kernel gives up. */
    int fd = net_connect(s->primary_host, s->primary_port, err, sizeof(err));
    if (fd < 0) {
        char why[300];
        snprintf(why, sizeof(why), "cannot reach the primary: %s", err);
        up_drop(s, why, 200);
        return;
    }
    net_set_nonblock(fd, 1);
    s->up_fd = fd;
    s->up_inlen = 0;
    char n1[24], n2[24];
    snprintf(n1, sizeof(n1), "%" PRIu64, wal_insert_lsn(s->wal));
    snprintf(n2, sizeof(n2), "%zu", wal_segment_size(s->wal));
    s->up_out.len = 0;
    resp_add_array(&s->up_out, 3);
    resp_add_cstr(&s->up_out, "REPLSTART");
    resp_add_cstr(&s->up_out, n1);
    resp_add_cstr(&s->up_out, n2);
    up_write(s);
}

void kv_repl_replica_progress(struct kv_server *s)
{
    uint64_t flush = wal_flush_lsn(s->wal);
    size_t pos = 0;
    size_t seg = wal_segment_size(s->wal);
    while (pos < s->apply_len) { /* apply only what is flushed */
        struct wal_rec r;
        wal_rec_decode(s->apply_q + pos, s->apply_len - pos, &r);
        uint64_t end = r.type == WAL_T_SWITCH ? r.lsn - r.lsn % seg + seg : r.lsn + r.size;
        if (end > flush) break;
        if (r.type != WAL_T_SWITCH && kv_apply_record(s, r.type, r.payload, r.len) < 0)
            kv_logf("replica: record at LSN %" PRIu64 " has an unknown type %u", r.lsn, r.type);
        s->r_apply = end;
        pos += r.size;
    }
    if (pos) {
        memmove(s->apply_q, s->apply_q + pos, s->apply_len - pos);
        s->apply_len -= pos;
    }
    up_send_ack(s, 0);
    if (s->up_fd >= 0 && s->up_inlen && s->up_handshake_done)
        up_records(s); /* input held back while the apply queue was full */
}

void kv_repl_close_all(struct kv_server *s)
{
    for (int i = 0; i < KV_MAX_REPLICAS; i++)
        if (s->rep[i]) rep_close(s, i, "shutting down");
    if (s->up_fd >= 0) close(s->up_fd);
    if (s->repl_lfd >= 0) close(s->repl_lfd);
    free(s->up_in);
    free(s->apply_q);
    resp_out_free(&s->up_out);
}
