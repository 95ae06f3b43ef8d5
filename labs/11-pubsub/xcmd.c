/* xcmd: the stream commands that work on entries (XADD, XLEN, XRANGE, XREVRANGE, XACK)
 * and the helpers the group commands share.  Replies follow Redis 7.0 byte for byte
 * (tests/integration/broker.sh compares them with a real redis-server). */
#include "labs/11-pubsub/xcmd.h"

#include "labs/11-pubsub/blog.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int xcmd_is(const char *a, size_t n, const char *word)
{
    return strlen(word) == n && strncasecmp(a, word, n) == 0;
}

int xcmd_ll(const char *a, size_t n, long long *v)
{
    if (n == 0 || n > 20) return -1;
    size_t i = 0;
    int neg = 0;
    if (a[0] == '-') {
        neg = 1;
        i = 1;
        if (n == 1) return -1;
    }
    if (a[i] == '0' && n > i + 1) return -1; /* no leading zeros, as Redis's string2ll */
    unsigned long long r = 0;
    for (; i < n; i++) {
        if (a[i] < '0' || a[i] > '9') return -1;
        unsigned d = (unsigned)(a[i] - '0');
        if (r > (ULLONG_MAX - d) / 10) return -1;
        r = r * 10 + d;
    }
    if (neg) {
        if (r > (unsigned long long)LLONG_MAX + 1) return -1;
        *v = r == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)r;
    } else {
        if (r > (unsigned long long)LLONG_MAX) return -1;
        *v = (long long)r;
    }
    return 0;
}

struct stream *xcmd_lookup(struct broker *b, const char *key, size_t n)
{
    return dict_get(&b->keys, key, n);
}

int xcmd_count(struct client *c, const char *a, size_t n, long long *count)
{
    if (xcmd_ll(a, n, count) < 0) {
        resp_add_error(RB(c), XERR_INT);
        return -1;
    }
    if (*count < 0) *count = 0;
    return 0;
}

struct stream_group *xcmd_group(struct client *c, const char *key, size_t kl, const char *g,
                                size_t gl, const char *suffix, struct stream **s)
{
    *s = xcmd_lookup(c->b, key, kl);
    struct stream_group *grp = *s ? stream_group_find(*s, g, gl) : NULL;
    if (!grp)
        resp_add_errorf(RB(c), "NOGROUP No such key '%.*s' or consumer group '%.*s'%s", (int)kl,
                        key, (int)gl, g, suffix);
    return grp;
}

int xcmd_range_id(struct client *c, const char *a, size_t n, int end, int allow_excl,
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
        resp_add_error(RB(c), XERR_ID);
        return -1;
    }
    if (excl) {
        if ((end ? stream_id_decr(id) : stream_id_incr(id)) < 0) {
            resp_add_error(RB(c), end ? "ERR invalid end ID for the interval"
                                      : "ERR invalid start ID for the interval");
            return -1;
        }
    }
    return 0;
}

void xcmd_reply_id(struct client *c, struct stream_id id)
{
    char buf[STREAM_ID_MAX];
    int n = stream_id_fmt(id, buf);
    resp_add_bulk(RB(c), buf, (size_t)n);
}

void xcmd_reply_entry(struct client *c, const struct stream_entry *e)
{
    resp_add_array(RB(c), 2);
    xcmd_reply_id(c, e->id);
    resp_add_raw(RB(c), e->enc, e->enclen);
}

void xcmd_propagate_claim(struct broker *b, const char *key, size_t keyl,
                          const struct stream_group *g, const struct stream_pel *p)
{
    if (!b->log || b->loading) return;
    char id[STREAM_ID_MAX], last[STREAM_ID_MAX], t[24], n[24];
    const char *argv[15] = {"XCLAIM",     key, g->name, p->owner->name, "0",      id,  "TIME", t,
                            "RETRYCOUNT", n,   "FORCE", "JUSTID",       "LASTID", last};
    size_t argl[15];
    stream_id_fmt(p->id, id);
    stream_id_fmt(g->last, last);
    snprintf(t, sizeof(t), "%llu", (unsigned long long)p->delivery_ms);
    snprintf(n, sizeof(n), "%llu", (unsigned long long)p->count);
    /* key points into the client's input buffer, not NUL-terminated: strlen on it
     * read past the buffer (ASan, tests/integration/hostile.sh); 1..3 have lengths */
    argl[0] = strlen(argv[0]);
    argl[1] = keyl;
    argl[2] = g->namelen;
    argl[3] = p->owner->namelen;
    for (int i = 4; i < 14; i++)
        argl[i] = strlen(argv[i]);
    broker_propagate_delivery(b, 14, argv, argl);
}

/* The fields as the RESP array every read replies. */
static char *encode_fields(int n, const char **argv, const size_t *argl, size_t *len)
{
    size_t need = 24;
    for (int i = 0; i < n; i++)
        need += argl[i] + 32;
    char *p = malloc(need), *w = p;
    if (!p) return NULL;
    w += sprintf(w, "*%d\r\n", n);
    for (int i = 0; i < n; i++) {
        w += sprintf(w, "$%zu\r\n", argl[i]);
        memcpy(w, argv[i], argl[i]);
        w += argl[i];
        *w++ = '\r';
        *w++ = '\n';
    }
    *len = (size_t)(w - p);
    return p;
}

void xcmd_free_stream(void *s)
{
    stream_free(s);
}

void xcmd_xadd(struct client *c, int argc, const char **argv, const size_t *argl)
{
    struct broker *b = c->b;
    int i = 2, nomk = 0;
    for (; i < argc; i++) {
        if (xcmd_is(argv[i], argl[i], "NOMKSTREAM")) {
            nomk = 1;
        } else if (xcmd_is(argv[i], argl[i], "MAXLEN") || xcmd_is(argv[i], argl[i], "MINID")) {
            resp_add_error(RB(c), "ERR MAXLEN/MINID trimming is not supported by this broker");
            return;
        } else {
            break;
        }
    }
    /* i is the ID (checked first, as Redis); the rest are field value pairs. */
    if (i >= argc) {
        resp_add_errorf(RB(c), "ERR wrong number of arguments for 'xadd' command");
        return;
    }
    const char *ida = argv[i];
    size_t idl = argl[i];
    int autoid = idl == 1 && ida[0] == '*';
    int autoseq = idl > 2 && ida[idl - 1] == '*' && ida[idl - 2] == '-';
    struct stream_id id = {0, 0};
    if (!autoid) {
        if (stream_id_parse(ida, autoseq ? idl - 2 : idl, 0, &id, NULL) < 0) {
            resp_add_error(RB(c), XERR_ID);
            return;
        }
    }
    if ((argc - i - 1) < 2 || (argc - i - 1) % 2 != 0) {
        resp_add_errorf(RB(c), "ERR wrong number of arguments for 'xadd' command");
        return;
    }
    if (!autoid && !autoseq && id.ms == 0 && id.seq == 0) {
        resp_add_error(RB(c), "ERR The ID specified in XADD must be greater than 0-0");
        return;
    }
    struct stream *s = xcmd_lookup(b, argv[1], argl[1]);
    if (!s && nomk) {
        resp_add_null(RB(c));
        return;
    }
    struct stream_id top = s ? s->last : (struct stream_id){0, 0};
    if (top.ms == UINT64_MAX && top.seq == UINT64_MAX) {
        resp_add_error(RB(c), "ERR The stream has exhausted the last possible ID, unable to add "
                              "more items");
        return;
    }
    const struct stream probe = {.last = top};
    int bad;
    if (autoid)
        bad = stream_auto_id(&probe, broker_wall_ms(), &id);
    else if (autoseq)
        bad = stream_auto_seq(&probe, id.ms, &id);
    else
        bad = stream_id_cmp(id, top) <= 0;
    if (bad) {
        resp_add_error(RB(c), "ERR The ID specified in XADD is equal or smaller than the "
                              "target stream top item");
        return;
    }
    size_t enclen;
    char *enc = encode_fields(argc - i - 1, argv + i + 1, argl + i + 1, &enclen);
    if (enc && b->log && enclen + argl[1] + 128 > BLOG_MAX_RECORD) {
        free(enc);
        resp_add_errorf(RB(c), "ERR entry too large for the broker's log (max %u bytes)",
                        BLOG_MAX_RECORD);
        return;
    }
    if (!enc || b->stream_bytes + enclen > b->max_stream_bytes) {
        free(enc);
        resp_add_error(RB(c), "OOM command not allowed when used memory > 'maxmemory'.");
        return;
    }
    int fresh = 0;
    if (!s) {
        if (b->keys.n >= BROKER_MAX_KEYS || !(s = stream_new()) ||
            dict_put(&b->keys, argv[1], argl[1], s) < 0) {
            free(s);
            free(enc);
            resp_add_error(RB(c), "OOM out of memory or over the broker's stream count limit");
            return;
        }
        fresh = 1;
    }
    if (stream_append(s, id, enc, enclen) < 0) {
        free(enc);
        if (fresh) stream_free(dict_del(&b->keys, argv[1], argl[1]));
        resp_add_error(RB(c), "OOM out of memory");
        return;
    }
    b->stream_bytes += enclen;
    xcmd_reply_id(c, id);
    /* Log the concrete ID so a replay rebuilds the same stream. */
    char idbuf[STREAM_ID_MAX];
    size_t n = (size_t)stream_id_fmt(id, idbuf);
    const char **pargv = malloc((size_t)argc * sizeof(*pargv));
    size_t *pargl = malloc((size_t)argc * sizeof(*pargl));
    int pn = 0;
    if (!pargv || !pargl) {
        free(pargv);
        free(pargl);
        broker_close_async(c, "out of memory logging XADD: not acknowledged");
        return;
    }
    pargv[pn] = "XADD", pargl[pn++] = 4;
    pargv[pn] = argv[1], pargl[pn++] = argl[1];
    pargv[pn] = idbuf, pargl[pn++] = n;
    for (int k = i + 1; k < argc; k++)
        pargv[pn] = argv[k], pargl[pn++] = argl[k];
    broker_propagate(b, pn, pargv, pargl);
    free(pargv);
    free(pargl);
    broker_signal_key(b, argv[1], argl[1]);
}

void xcmd_xlen(struct client *c, int argc, const char **argv, const size_t *argl)
{
    struct stream *s = xcmd_lookup(c->b, argv[1], argl[1]);
    resp_add_int(RB(c), s ? (long long)s->n : 0);
}

static void xrange_generic(struct client *c, int argc, const char **argv, const size_t *argl,
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
        if (xcmd_is(argv[i], argl[i], "COUNT") && i + 1 < argc) {
            if (xcmd_count(c, argv[i + 1], argl[i + 1], &count) < 0) return;
            i++;
        } else {
            resp_add_error(RB(c), XERR_SYNTAX);
            return;
        }
    }
    struct stream *s = xcmd_lookup(c->b, argv[1], argl[1]);
    if (!s) {
        resp_add_array(RB(c), 0);
        return;
    }
    if (count == 0) {
        resp_add_null_array(RB(c));
        return;
    }
    size_t from = stream_seek(s, lo), to = from;
    while (to < s->n && stream_id_cmp(s->e[to].id, hi) <= 0)
        to++;
    size_t n = to - from;
    if (count > 0 && (size_t)count < n) n = (size_t)count;
    resp_add_array(RB(c), (long long)n);
    for (size_t k = 0; k < n; k++)
        xcmd_reply_entry(c, &s->e[rev ? to - 1 - k : from + k]);
}

void xcmd_xrange(struct client *c, int argc, const char **argv, const size_t *argl)
{
    xrange_generic(c, argc, argv, argl, 0);
}

void xcmd_xrevrange(struct client *c, int argc, const char **argv, const size_t *argl)
{
    xrange_generic(c, argc, argv, argl, 1);
}

void xcmd_xack(struct client *c, int argc, const char **argv, const size_t *argl)
{
    struct stream *s = xcmd_lookup(c->b, argv[1], argl[1]);
    struct stream_group *g = s ? stream_group_find(s, argv[2], argl[2]) : NULL;
    if (!g) {
        resp_add_int(RB(c), 0); /* as Redis: no key or group, nothing to ack, IDs unchecked */
        return;
    }
    struct stream_id *ids = malloc((size_t)(argc - 3) * sizeof(*ids));
    if (!ids) {
        resp_add_error(RB(c), "OOM out of memory");
        return;
    }
    for (int i = 3; i < argc; i++) {
        if (stream_id_parse(argv[i], argl[i], 0, &ids[i - 3], NULL) < 0) {
            free(ids);
            resp_add_error(RB(c), XERR_ID);
            return;
        }
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
    resp_add_int(RB(c), acked);
    if (acked) broker_propagate_delivery(c->b, argc, argv, argl);
}
