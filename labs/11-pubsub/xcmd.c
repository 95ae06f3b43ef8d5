/* xcmd: the stream commands that work on entries (XADD, XLEN, XRANGE, XREVRANGE, XACK)
 * and the helpers the group commands share.  Replies follow Redis 7.0 byte for byte
 * (tests/integration/broker.sh compares them with a real redis-server). */
#include "labs/11-pubsub/xcmd.h"

#include "labs/11-pubsub/blog.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

uint64_t xcmd_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void xcmd_log(struct rsrv_client *c, int gate, int argc, const char *const *argv,
              const size_t *argl)
{
    struct broker *b = rsrv_app(c);
    if (!b->log || rsrv_is_replay(c)) return;
    uint64_t lsn = blog_append(b->log, argc, argv, argl);
    if (lsn == 0) { /* applied in memory but not logged: never acknowledge it */
        fprintf(stderr, "broker: log append failed (%s)\n", strerror(errno));
        rsrv_close(c, "its command could not be logged: not acknowledged");
        return;
    }
    if (gate || b->gate_deliveries) b->last_gate = lsn;
    rsrv_gate(c, b->last_gate); /* a delivery never leaves before the entry it carries */
}

int xcmd_log_room(struct rsrv_client *c, size_t nrec, size_t payload)
{
    struct broker *b = rsrv_app(c);
    if (!b->log || rsrv_is_replay(c) || !nrec || blog_room(b->log, nrec, payload) == 0) return 0;
    resp_add_errorf(rsrv_reply(c), "MISCONF the broker's log cannot take the write: %s",
                    strerror(errno));
    return -1;
}

size_t xcmd_claim_bytes(size_t keyl, size_t groupl, size_t consumerl)
{
    /* 14 arguments: the names, two IDs and two numbers, and short words */
    return keyl + groupl + consumerl + 2 * STREAM_ID_MAX + 2 * 24 + 64 + 14 * 24 + 24;
}

struct stream *xcmd_lookup(struct broker *b, const char *key, size_t n)
{
    return dict_get(&b->keys, key, n);
}

int xcmd_count(struct rsrv_client *c, const char *a, size_t n, long long *count)
{
    if (rsrv_arg_ll(a, n, count) < 0) {
        resp_add_error(rsrv_reply(c), XERR_INT);
        return -1;
    }
    if (*count < 0) *count = 0;
    return 0;
}

struct stream_group *xcmd_group(struct rsrv_client *c, const char *key, size_t kl, const char *g,
                                size_t gl, const char *suffix, struct stream **s)
{
    *s = xcmd_lookup(rsrv_app(c), key, kl);
    struct stream_group *grp = *s ? stream_group_find(*s, g, gl) : NULL;
    if (!grp)
        resp_add_errorf(rsrv_reply(c), "NOGROUP No such key '%.*s' or consumer group '%.*s'%s",
                        (int)kl, key, (int)gl, g, suffix);
    return grp;
}

int xcmd_range_id(struct rsrv_client *c, const char *a, size_t n, int end, int allow_excl,
                  struct stream_id *id)
{
    if (n == 1 && a[0] == '-') {
        *id = (struct stream_id){0, 0};
        return 0;
    }
    if (n == 1 && a[0] == '+') {
        *id = (struct stream_id){UINT64_MAX, UINT64_MAX};
        return 0;
    }
    int excl = allow_excl && n > 1 && a[0] == '(';
    if (stream_id_parse(a + excl, n - (size_t)excl, end ? UINT64_MAX : 0, id, NULL) < 0) {
        resp_add_error(rsrv_reply(c), XERR_ID);
        return -1;
    }
    if (excl) {
        if ((end ? stream_id_decr(id) : stream_id_incr(id)) < 0) {
            resp_add_error(rsrv_reply(c), end ? "ERR invalid end ID for the interval"
                                              : "ERR invalid start ID for the interval");
            return -1;
        }
    }
    return 0;
}

void xcmd_reply_id(struct rsrv_client *c, struct stream_id id)
{
    char buf[STREAM_ID_MAX];
    int n = stream_id_fmt(id, buf);
    resp_add_bulk(rsrv_reply(c), buf, (size_t)n);
}

void xcmd_reply_entry(struct rsrv_client *c, const struct stream_entry *e)
{
    resp_add_array(rsrv_reply(c), 2);
    xcmd_reply_id(c, e->id);
    resp_add_raw(rsrv_reply(c), e->enc, e->enclen);
}

void xcmd_log_claim(struct rsrv_client *c, const char *key, size_t keyl,
                    const struct stream_group *g, const struct stream_pel *p)
{
    struct broker *b = rsrv_app(c);
    if (!b->log || rsrv_is_replay(c)) return;
    char id[STREAM_ID_MAX], last[STREAM_ID_MAX], t[24], n[24];
    const char *argv[15] = {"XCLAIM",     key, g->name, p->owner->name, "0",      id,  "TIME", t,
                            "RETRYCOUNT", n,   "FORCE", "JUSTID",       "LASTID", last};
    size_t argl[15];
    stream_id_fmt(p->id, id);
    stream_id_fmt(g->last, last);
    snprintf(t, sizeof(t), "%llu", (unsigned long long)p->delivery_ms);
    snprintf(n, sizeof(n), "%llu", (unsigned long long)p->count);
    /* key points into the client's input, not NUL-terminated: 1..3 have lengths */
    argl[0] = strlen(argv[0]);
    argl[1] = keyl;
    argl[2] = g->namelen;
    argl[3] = p->owner->namelen;
    for (int i = 4; i < 14; i++)
        argl[i] = strlen(argv[i]);
    xcmd_log(c, 0, 14, argv, argl);
}

/* The fields as the RESP array every read replies (encoded once, copied per read). */
static char *encode_fields(int n, const char **argv, const size_t *argl, size_t *len)
{
    struct resp_out o;
    resp_out_init(&o, 0);
    if (resp_add_argv(&o, n, argv, argl) < 0) {
        resp_out_free(&o);
        return NULL;
    }
    char *p = realloc(o.data, o.len); /* no slack kept per entry */
    *len = o.len;
    return p ? p : o.data;
}

void xcmd_free_stream(void *s)
{
    stream_free(s);
}

void xcmd_xadd(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    struct broker *b = rsrv_app(c);
    int i = 2, nomk = 0;
    for (; i < argc; i++) {
        if (rsrv_arg_is(argv[i], argl[i], "NOMKSTREAM")) {
            nomk = 1;
        } else if (rsrv_arg_is(argv[i], argl[i], "MAXLEN") ||
                   rsrv_arg_is(argv[i], argl[i], "MINID")) {
            resp_add_error(rsrv_reply(c),
                           "ERR MAXLEN/MINID trimming is not supported by this broker");
            return;
        } else {
            break;
        }
    }
    /* i is the ID (checked first, as Redis); the rest are field value pairs. */
    if (i >= argc) {
        resp_add_errorf(rsrv_reply(c), "ERR wrong number of arguments for 'xadd' command");
        return;
    }
    const char *ida = argv[i];
    size_t idl = argl[i];
    int autoid = idl == 1 && ida[0] == '*';
    int autoseq = idl > 2 && ida[idl - 1] == '*' && ida[idl - 2] == '-';
    struct stream_id id = {0, 0};
    if (!autoid) {
        if (stream_id_parse(ida, autoseq ? idl - 2 : idl, 0, &id, NULL) < 0) {
            resp_add_error(rsrv_reply(c), XERR_ID);
            return;
        }
    }
    if ((argc - i - 1) < 2 || (argc - i - 1) % 2 != 0) {
        resp_add_errorf(rsrv_reply(c), "ERR wrong number of arguments for 'xadd' command");
        return;
    }
    if (!autoid && !autoseq && id.ms == 0 && id.seq == 0) {
        resp_add_error(rsrv_reply(c), "ERR The ID specified in XADD must be greater than 0-0");
        return;
    }
    struct stream *s = xcmd_lookup(b, argv[1], argl[1]);
    if (!s && nomk) {
        resp_add_null(rsrv_reply(c));
        return;
    }
    struct stream_id top = s ? s->last : (struct stream_id){0, 0};
    if (top.ms == UINT64_MAX && top.seq == UINT64_MAX) {
        resp_add_error(rsrv_reply(c),
                       "ERR The stream has exhausted the last possible ID, unable to add "
                       "more items");
        return;
    }
    const struct stream probe = {.last = top};
    int bad;
    if (autoid)
        bad = stream_auto_id(&probe, xcmd_now_ms(), &id);
    else if (autoseq)
        bad = stream_auto_seq(&probe, id.ms, &id);
    else
        bad = stream_id_cmp(id, top) <= 0;
    if (bad) {
        resp_add_error(rsrv_reply(c), "ERR The ID specified in XADD is equal or smaller than the "
                                      "target stream top item");
        return;
    }
    size_t enclen;
    char *enc = encode_fields(argc - i - 1, argv + i + 1, argl + i + 1, &enclen);
    if (enc && b->log && enclen + argl[1] + 128 > BLOG_MAX_RECORD) {
        free(enc);
        resp_add_errorf(rsrv_reply(c), "ERR entry too large for the broker's log (max %u bytes)",
                        BLOG_MAX_RECORD);
        return;
    }
    /* The limit bounds new writes; a replay keeps every entry the log holds, even past
     * a limit lowered since: each was acknowledged. */
    if (!enc || (b->stream_bytes + enclen > b->max_stream_bytes && !rsrv_is_replay(c))) {
        free(enc);
        resp_add_error(rsrv_reply(c), "OOM command not allowed when used memory > 'maxmemory'.");
        return;
    }
    /* logged after it is applied: refused now if the log cannot take it (full disk) */
    if (xcmd_log_room(c, 1, blog_cmd_bytes(argc, argl) + STREAM_ID_MAX) < 0) {
        free(enc);
        return;
    }
    int fresh = 0;
    if (!s) {
        if (b->keys.n >= BROKER_MAX_KEYS || !(s = stream_new()) ||
            dict_put(&b->keys, argv[1], argl[1], s) < 0) {
            free(s);
            free(enc);
            resp_add_error(rsrv_reply(c),
                           "OOM out of memory or over the broker's stream count limit");
            return;
        }
        fresh = 1;
    }
    if (stream_append(s, id, enc, enclen) < 0) {
        free(enc);
        if (fresh) stream_free(dict_del(&b->keys, argv[1], argl[1]));
        resp_add_error(rsrv_reply(c), "OOM out of memory");
        return;
    }
    b->stream_bytes += enclen;
    xcmd_reply_id(c, id);
    /* Log the concrete ID so a replay rebuilds the same stream. */
    char idbuf[STREAM_ID_MAX];
    size_t n = (size_t)stream_id_fmt(id, idbuf);
    const char *sv[64], **pargv = sv;
    size_t sl[64], *pargl = sl;
    int pn = 0;
    if (argc > 64) { /* any number of fields: the copy goes on the heap */
        pargv = malloc((size_t)argc * sizeof(*pargv));
        pargl = malloc((size_t)argc * sizeof(*pargl));
        if (!pargv || !pargl) {
            free(pargv);
            free(pargl);
            rsrv_close(c, "out of memory logging XADD: not acknowledged");
            return;
        }
    }
    pargv[pn] = "XADD", pargl[pn++] = 4;
    pargv[pn] = argv[1], pargl[pn++] = argl[1];
    pargv[pn] = idbuf, pargl[pn++] = n;
    for (int k = i + 1; k < argc; k++)
        pargv[pn] = argv[k], pargl[pn++] = argl[k];
    xcmd_log(c, 1, pn, pargv, pargl);
    if (pargv != sv) {
        free(pargv);
        free(pargl);
    }
    block_signal_key(c, argv[1], argl[1]);
}

void xcmd_xlen(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    struct stream *s = xcmd_lookup(rsrv_app(c), argv[1], argl[1]);
    resp_add_int(rsrv_reply(c), s ? (long long)s->n : 0);
}

static void xrange_generic(struct rsrv_client *c, int argc, const char **argv, const size_t *argl,
                           int rev)
{
    struct stream_id lo, hi;
    /* XRANGE key start end, XREVRANGE key end start */
    int si = rev ? 3 : 2, ei = rev ? 2 : 3;
    if (xcmd_range_id(c, argv[si], argl[si], 0, 1, &lo) < 0 ||
        xcmd_range_id(c, argv[ei], argl[ei], 1, 1, &hi) < 0)
        return;
    long long count = -1;
    for (int i = 4; i < argc; i++) {
        if (rsrv_arg_is(argv[i], argl[i], "COUNT") && i + 1 < argc) {
            if (xcmd_count(c, argv[i + 1], argl[i + 1], &count) < 0) return;
            i++;
        } else {
            resp_add_error(rsrv_reply(c), XERR_SYNTAX);
            return;
        }
    }
    struct stream *s = xcmd_lookup(rsrv_app(c), argv[1], argl[1]);
    if (!s) {
        resp_add_array(rsrv_reply(c), 0);
        return;
    }
    if (count == 0) {
        resp_add_null_array(rsrv_reply(c));
        return;
    }
    size_t from = stream_seek(s, lo), to = from;
    while (to < s->n && stream_id_cmp(s->e[to].id, hi) <= 0)
        to++;
    size_t n = to - from;
    if (count > 0 && (size_t)count < n) n = (size_t)count;
    resp_add_array(rsrv_reply(c), (long long)n);
    for (size_t k = 0; k < n; k++)
        xcmd_reply_entry(c, &s->e[rev ? to - 1 - k : from + k]);
}

void xcmd_xrange(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    xrange_generic(c, argc, argv, argl, 0);
}

void xcmd_xrevrange(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    xrange_generic(c, argc, argv, argl, 1);
}

void xcmd_xack(struct rsrv_client *c, int argc, const char **argv, const size_t *argl)
{
    struct stream *s = xcmd_lookup(rsrv_app(c), argv[1], argl[1]);
    struct stream_group *g = s ? stream_group_find(s, argv[2], argl[2]) : NULL;
    if (!g) {
        resp_add_int(rsrv_reply(c),
                     0); /* as Redis: no key or group, nothing to ack, IDs unchecked */
        return;
    }
    struct stream_id *ids = malloc((size_t)(argc - 3) * sizeof(*ids));
    if (!ids) {
        resp_add_error(rsrv_reply(c), "OOM out of memory");
        return;
    }
    for (int i = 3; i < argc; i++) {
        if (stream_id_parse(argv[i], argl[i], 0, &ids[i - 3], NULL) < 0) {
            free(ids);
            resp_add_error(rsrv_reply(c), XERR_ID);
            return;
        }
    }
    int any = 0;
    for (int i = 3; i < argc && !any; i++)
        any = stream_pel_find(g, ids[i - 3]) >= 0;
    if (any && xcmd_log_room(c, 1, blog_cmd_bytes(argc, argl)) < 0) {
        free(ids);
        return;
    }
    long long acked = 0;
    for (int i = 3; i < argc; i++) {
        long k = stream_pel_find(g, ids[i - 3]);
        if (k >= 0) {
            stream_pel_remove(g, (size_t)k);
            acked++;
        }
    }
    free(ids);
    resp_add_int(rsrv_reply(c), acked);
    if (acked) xcmd_log(c, 1, argc, argv, argl); /* its reply waits: an ack is a promise */
}
