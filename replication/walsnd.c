/* walsnd: the WAL sender on io/rsrv.  Contract in walsnd.h. */
#include "replication/walsnd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/rsrv/rsrv.h"

#define WALSND_SCRATCH     ((size_t)2 << 20) /* one read of whole records */
#define WALSND_LAG_SAMPLES 4096

struct walsnd_conn { /* one connected replica */
    struct walsnd *s;
    struct rsrv_client *c;
    int slot, streaming;
    uint64_t sent, write, flush, apply;
    uint64_t last_ack_ms;
    double tokens;   /* bytes it may be sent now (the throttle's bucket) */
    uint64_t tok_ns; /* when tokens were last refilled */
};

struct walsnd {
    struct wal *wal;
    struct walsnd_config cfg;
    struct rsrv *srv;
    struct walsnd_conn *conn[WALSND_MAX_REPLICAS];
    struct {
        uint64_t lsn, ns;
    } lag[WALSND_LAG_SAMPLES]; /* flush LSN -> when it was flushed */
    size_t lag_head, lag_n;
    uint64_t last_flush_seen;
    unsigned char *scratch;
};

/* ---- streaming ------------------------------------------------------------------- */

static double throttle_burst(const struct walsnd *s)
{
    double b = (double)s->cfg.throttle / 25; /* 40 ms of the rate */
    return b > 512 ? b : 512;
}

/* Bytes r may be sent now. */
static size_t budget(struct walsnd *s, struct walsnd_conn *r)
{
    if (!s->cfg.throttle) return WALSND_SCRATCH;
    uint64_t now = ev_now_ns();
    r->tokens += (double)(now - r->tok_ns) * 1e-9 * (double)s->cfg.throttle;
    if (r->tokens > throttle_burst(s)) r->tokens = throttle_burst(s);
    r->tok_ns = now;
    return r->tokens < 1                        ? 0
           : r->tokens > (double)WALSND_SCRATCH ? WALSND_SCRATCH
                                                : (size_t)r->tokens;
}

/* Queues flushed WAL r has not been sent, while its socket keeps up. */
static void pump(struct walsnd *s, struct walsnd_conn *r)
{
    char err[256];
    uint64_t flush = wal_flush_lsn(s->wal);
    size_t cap;
    int queued = 0;
    if (!r->streaming || rsrv_is_closing(r->c)) return;
    while (rsrv_unsent(r->c) < WALSND_OUT_HIGH && r->sent < flush && (cap = budget(s, r))) {
        uint64_t next;
        ssize_t n = wal_read(s->wal, r->sent, flush, s->scratch, cap, &next, err, sizeof(err));
        if (n < 0 && errno == E2BIG && s->cfg.throttle) {
            if (r->tokens < throttle_burst(s)) break; /* a big record waits for a full bucket */
            n = wal_read(s->wal, r->sent, flush, s->scratch, WALSND_SCRATCH, &next, err,
                         sizeof(err));
            struct wal_rec rec; /* ... and goes alone, in debt: the rate holds */
            if (n > 0 && wal_rec_decode(s->scratch, (size_t)n, &rec) == WAL_REC_OK &&
                rec.type != WAL_T_SWITCH) {
                n = (ssize_t)rec.size;
                next = rec.lsn + rec.size;
            }
        }
        if (n < 0) {
            rsrv_close(r->c, err);
            return;
        }
        if (s->cfg.throttle) r->tokens -= (double)n;
        if (n > 0 && resp_add_raw(rsrv_reply(r->c), s->scratch, (size_t)n) < 0) break;
        if (n == 0 && next == r->sent) break;
        r->sent = next;
        queued = 1;
    }
    if (queued) rsrv_wrote(r->c);
}

void walsnd_progress(struct walsnd *s)
{
    uint64_t f = wal_flush_lsn(s->wal), now = ev_now_ns();
    size_t last = (s->lag_head + s->lag_n - 1) % WALSND_LAG_SAMPLES;
    if (f > s->last_flush_seen && s->lag_n && now - s->lag[last].ns < 1000000) {
        /* at most one sample per ms, so the ring spans 4 s of lag at any flush rate (a
         * later LSN keeps the ms's first time: lag_ms overstates by < 1 ms, never under) */
        s->lag[last].lsn = f;
        s->last_flush_seen = f;
    }
    if (f > s->last_flush_seen) { /* remember when each LSN became durable: lag in time */
        size_t at = (s->lag_head + s->lag_n) % WALSND_LAG_SAMPLES;
        if (s->lag_n == WALSND_LAG_SAMPLES)
            s->lag_head = (s->lag_head + 1) % WALSND_LAG_SAMPLES;
        else
            s->lag_n++;
        s->lag[at].lsn = f;
        s->lag[at].ns = now;
        s->last_flush_seen = f;
    }
    for (int i = 0; i < WALSND_MAX_REPLICAS; i++)
        if (s->conn[i]) pump(s, s->conn[i]);
}

static void before_flush(void *arg)
{
    struct walsnd *s = arg; /* the sockets that drained take more */
    for (int i = 0; i < WALSND_MAX_REPLICAS; i++)
        if (s->conn[i]) pump(s, s->conn[i]);
}

/* ---- the two commands -------------------------------------------------------------- */

static int arg_u64(const char *a, size_t n, uint64_t *v)
{
    long long x;
    if (rsrv_arg_ll(a, n, &x) < 0 || x < 0) return -1;
    *v = (uint64_t)x;
    return 0;
}

/* Anything but the protocol: say so and close (a replica slot is precious). */
static void refuse(struct rsrv_client *c, const char *msg)
{
    resp_add_error(rsrv_reply(c), msg);
    rsrv_close_after_reply(c);
}

static void cmd_other(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    refuse(c, "ERR the replication port speaks REPLSTART and REPLCONF ACK only");
}

static void cmd_replstart(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    struct walsnd_conn *r = rsrv_data(c);
    struct walsnd *s = r->s;
    struct resp_out *o = rsrv_reply(c);
    uint64_t a, seg, flush = wal_flush_lsn(s->wal);
    char addr[64];
    if (argc != 3 || r->streaming || arg_u64(argv[1], argl[1], &a) < 0 ||
        arg_u64(argv[2], argl[2], &seg) < 0) {
        refuse(c, "ERR REPLSTART <lsn> <segment-size>");
    } else if (seg != wal_segment_size(s->wal)) {
        resp_add_errorf(o,
                        "ERR segment size %" PRIu64 " differs from the primary's %zu: start "
                        "the replica with --wal-segment-size %zu",
                        seg, wal_segment_size(s->wal), wal_segment_size(s->wal));
        rsrv_close_after_reply(c);
    } else if (a > flush) {
        resp_add_errorf(o,
                        "ERR replica is at LSN %" PRIu64 ", past the primary's flush LSN %" PRIu64
                        ": its WAL has diverged; rebuild the replica",
                        a, flush);
        rsrv_close_after_reply(c);
    } else if (a < wal_oldest_lsn(s->wal)) {
        resp_add_errorf(o,
                        "ERR WAL from LSN %" PRIu64 " is gone (oldest kept %" PRIu64
                        "); rebuild the replica",
                        a, wal_oldest_lsn(s->wal));
        rsrv_close_after_reply(c);
    } else {
        char line[64];
        snprintf(line, sizeof(line), "STREAM %" PRIu64, flush);
        resp_add_simple(o, line);
        r->streaming = 1;
        r->sent = r->write = r->flush = r->apply = a;
        r->last_ack_ms = ev_now_ms();
        r->tokens = 0;
        r->tok_ns = ev_now_ns();
        fprintf(stderr, "%s: replica %s streaming from LSN %" PRIu64 "\n", s->cfg.name,
                rsrv_addr(c, addr, sizeof(addr)), a);
    }
}

static void cmd_replconf(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    struct walsnd_conn *r = rsrv_data(c);
    struct walsnd *s = r->s;
    uint64_t w, f, a;
    char addr[64];
    if (argc != 5 || !r->streaming || !rsrv_arg_is(argv[1], argl[1], "ACK") ||
        arg_u64(argv[2], argl[2], &w) < 0 || arg_u64(argv[3], argl[3], &f) < 0 ||
        arg_u64(argv[4], argl[4], &a) < 0) {
        cmd_other(c, argc, argv, argl);
        return;
    }
    if (w > r->sent || f > r->sent || a > r->sent) {
        /* A position past what this connection was sent: the peer has WAL the primary
         * never gave it (a diverged history, a bug, a fake replica).  Clamping would still
         * count its flush/apply claims toward synchronous commits, and those claims are
         * shown false: "nothing acknowledged is ever lost" must not rest on them. */
        fprintf(stderr,
                "%s: replica %s: REPLCONF ACK %" PRIu64 " %" PRIu64 " %" PRIu64
                " past the LSN %" PRIu64 " it was sent: dropped, not counted\n",
                s->cfg.name, rsrv_addr(c, addr, sizeof(addr)), w, f, a, r->sent);
        resp_add_errorf(rsrv_reply(c),
                        "ERR REPLCONF ACK %" PRIu64 " %" PRIu64 " %" PRIu64
                        " is past the LSN %" PRIu64 " this connection was sent",
                        w, f, a, r->sent);
        rsrv_close_after_reply(c);
        return;
    }
    r->write = w;
    r->flush = f;
    r->apply = a;
    r->last_ack_ms = ev_now_ms();
    if (s->cfg.on_ack) s->cfg.on_ack(s->cfg.arg);
}

static const struct rsrv_cmd walsnd_commands[] = {
    {"replstart", -1, 0, cmd_replstart},
    {"replconf", -1, 0, cmd_replconf},
};

/* ---- connections ---------------------------------------------------------------- */

static int on_open(struct rsrv_client *c)
{
    struct walsnd *s = rsrv_app(c);
    int i = 0;
    while (i < WALSND_MAX_REPLICAS && s->conn[i])
        i++;
    struct walsnd_conn *r = i < WALSND_MAX_REPLICAS ? calloc(1, sizeof(*r)) : NULL;
    if (!r) return -1;
    r->s = s;
    r->c = c;
    r->slot = i;
    s->conn[i] = r;
    rsrv_set_data(c, r);
    return 0;
}

static void on_close(struct rsrv_client *c)
{
    struct walsnd_conn *r = rsrv_data(c);
    char addr[64];
    if (r->streaming)
        fprintf(stderr, "%s: replica %s disconnected\n", r->s->cfg.name,
                rsrv_addr(c, addr, sizeof(addr)));
    r->s->conn[r->slot] = NULL;
    free(r);
}

struct walsnd *walsnd_create(struct ev_loop *loop, struct wal *wal, const struct walsnd_config *cfg)
{
    struct walsnd *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->wal = wal;
    s->cfg = *cfg;
    if (!s->cfg.name) s->cfg.name = "walsnd";
    struct rsrv_config rc = {
        .name = s->cfg.name,
        .cmds = walsnd_commands,
        .ncmds = sizeof(walsnd_commands) / sizeof(walsnd_commands[0]),
        .in_limit = (size_t)1 << 20,
        .out_soft = (size_t)16 << 20, /* ACKs run while WAL is queued for the replica */
        .out_limit = (size_t)32 << 20,
        .max_clients = WALSND_MAX_REPLICAS,
        .full_error = "ERR too many replicas",
        .before_flush = before_flush,
        .unknown = cmd_other,
        .on_open = on_open,
        .on_close = on_close,
        .app = s,
    };
    s->scratch = malloc(WALSND_SCRATCH);
    if (!s->scratch || !(s->srv = rsrv_create(loop, &rc))) {
        free(s->scratch);
        free(s);
        errno = ENOMEM;
        return NULL;
    }
    return s;
}

int walsnd_listen(struct walsnd *s, const char *host, int port, char *err, size_t errlen)
{
    return rsrv_listen(s->srv, host, port, err, errlen);
}

int walsnd_adopt(struct walsnd *s, int fd)
{
    return rsrv_adopt(s->srv, fd);
}

void walsnd_destroy(struct walsnd *s)
{
    if (!s) return;
    rsrv_destroy(s->srv);
    free(s->scratch);
    free(s);
}

/* ---- what the primary asks --------------------------------------------------------- */

int walsnd_count(const struct walsnd *s, enum walsnd_pos what, uint64_t lsn)
{
    int n = 0;
    for (int i = 0; s && i < WALSND_MAX_REPLICAS; i++) {
        const struct walsnd_conn *r = s->conn[i];
        if (!r || !r->streaming || rsrv_is_closing(r->c)) continue;
        uint64_t v = what == WALSND_WRITE ? r->write : what == WALSND_FLUSH ? r->flush : r->apply;
        n += v >= lsn;
    }
    return n;
}

uint64_t walsnd_min(const struct walsnd *s, enum walsnd_pos what)
{
    uint64_t m = UINT64_MAX;
    for (int i = 0; s && i < WALSND_MAX_REPLICAS; i++) {
        const struct walsnd_conn *r = s->conn[i];
        if (!r || !r->streaming || rsrv_is_closing(r->c)) continue;
        uint64_t v = what == WALSND_WRITE ? r->write : what == WALSND_FLUSH ? r->flush : r->apply;
        if (v < m) m = v;
    }
    return m;
}

/* How long ago the oldest WAL the replica has not applied was flushed here. */
static uint64_t lag_ms(const struct walsnd *s, uint64_t applied)
{
    for (size_t k = 0; k < s->lag_n; k++) {
        size_t at = (s->lag_head + k) % WALSND_LAG_SAMPLES;
        if (s->lag[at].lsn > applied) return (ev_now_ns() - s->lag[at].ns) / 1000000u;
    }
    return 0;
}

void walsnd_info(const struct walsnd *s, struct resp_out *o)
{
    uint64_t fl = wal_flush_lsn(s->wal);
    resp_add_rawf(o, "connected_slaves:%d\r\n", walsnd_count(s, WALSND_WRITE, 0));
    if (s->cfg.throttle)
        resp_add_rawf(o, "repl_throttle_bytes_per_s:%" PRIu64 "\r\n", s->cfg.throttle);
    for (int i = 0, k = 0; i < WALSND_MAX_REPLICAS; i++) {
        const struct walsnd_conn *r = s->conn[i];
        if (!r || !r->streaming || rsrv_is_closing(r->c)) continue;
        resp_add_rawf(o,
                      "slave%d:state=streaming,sent_lsn=%" PRIu64 ",write_lsn=%" PRIu64
                      ",flush_lsn=%" PRIu64 ",apply_lsn=%" PRIu64 ",lag_bytes=%" PRIu64
                      ",lag_ms=%" PRIu64 ",last_ack_ms_ago=%" PRIu64 "\r\n",
                      k++, r->sent, r->write, r->flush, r->apply, fl > r->apply ? fl - r->apply : 0,
                      lag_ms(s, r->apply), ev_now_ms() - r->last_ack_ms);
    }
}
