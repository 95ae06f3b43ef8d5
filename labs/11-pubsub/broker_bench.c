/* broker-bench: the load generator of bench/sections/pubsub.sh, run the same way against
 * the broker and against redis-server so the two rows are comparable.
 *
 *   broker-bench pubsub --port P --subs N --msgs M [--size 64] [--window 64]
 *       N subscribers SUBSCRIBE one channel; one publisher sends M PUBLISH of SIZE-byte
 *       payloads keeping WINDOW requests in flight; the clock stops when every
 *       subscriber has every message.  Prints `delivered_per_s=... publish_per_s=...`.
 *   broker-bench queue --port P --msgs M [--batch 64]
 *       per message: XADD, XREADGROUP COUNT 1 (one consumer, group g), XACK; BATCH
 *       commands of a kind pipelined per round trip.  Prints `msgs_per_s=...`.
 *   broker-bench fanout --port P --subs N --msgs M [--size 64] [--window 64]
 *       as pubsub, for a server behind a slow link: the time of every PUBLISH to its
 *       reply (the publisher's latency, p50/p99), and subscribers the server cuts off
 *       (its output-buffer limit) are counted, not fatal; the clock stops when every
 *       subscriber still connected has every message, or nothing moved for 10 s.
 *       Prints `delivered_per_s=... publish_p50_ms=... publish_p99_ms=... cut=...`.
 * One thread, epoll: what it measures is the server, as long as the client core keeps up
 * (bench/sections/pubsub.sh pins the two on different cores). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "io/cli.h"
#include "io/ev.h"
#include "io/net.h"
#include "parsers/resp/resp.h"

struct conn {
    int fd;
    char *buf;
    size_t len, cap;
    unsigned long long got; /* bytes read (subscribers) */
    struct resp_reply rp;
};

static void die(const char *what)
{
    fprintf(stderr, "broker-bench: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int dial(int port)
{
    char err[200];
    int fd = net_connect("127.0.0.1", port, err, sizeof(err));
    if (fd < 0) {
        fprintf(stderr, "broker-bench: %s\n", err);
        exit(1);
    }
    return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) die("write");
        p += w;
        n -= (size_t)w;
    }
}

/* The length of the complete reply at c->buf + off, 0 when incomplete (the parser
 * resumes: call again with the same start after more bytes came). */
static size_t next_reply(struct conn *c, size_t off)
{
    ssize_t r = resp_reply_parse(&c->rp, c->buf + off, c->len - off);
    if (r == -2) return 0;
    if (r < 0) {
        fprintf(stderr, "broker-bench: bad reply: %s\n", c->rp.err);
        exit(1);
    }
    return (size_t)r;
}

static void fill(struct conn *c)
{
    if (c->cap - c->len < 65536) {
        c->cap = c->cap ? c->cap * 2 : 1 << 20;
        if (!(c->buf = realloc(c->buf, c->cap))) die("realloc");
    }
    ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
    if (r == 0) {
        fprintf(stderr, "broker-bench: server closed a connection\n");
        exit(1);
    }
    if (r < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        die("read");
    }
    c->len += (size_t)r;
    c->got += (unsigned long long)r;
}

/* Reads until n complete replies were consumed from c (blocking socket). */
static void read_replies(struct conn *c, long n, char ids[][48], int want_ids)
{
    size_t off = 0;
    for (long i = 0; i < n;) {
        size_t r = c->len > off ? next_reply(c, off) : 0;
        if (!r) {
            if (off)
                memmove(c->buf, c->buf + off, c->len - off); /* buf is NULL before the first fill */
            c->len -= off;
            off = 0;
            fill(c);
            continue;
        }
        if (c->buf[off] == '-') {
            fprintf(stderr, "broker-bench: error reply: %.*s\n", (int)r, c->buf + off);
            exit(1);
        }
        if (want_ids) {
            /* XREADGROUP: [[key, [[id, fields]]]]: the second bulk is the ID */
            const struct resp_elem *id = NULL;
            for (size_t k = 0, nb = 0; k < c->rp.nelem && !id; k++)
                if (c->rp.elem[k].type == '$' && ++nb == 2) id = &c->rp.elem[k];
            if (!id) {
                fprintf(stderr, "broker-bench: XREADGROUP returned nothing\n");
                exit(1);
            }
            snprintf(ids[i], 48, "%.*s", (int)id->n, id->p);
        }
        off += r;
        i++;
    }
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
}

/* Appends one command (a RESP array of bulks) to o. */
static void add_cmd(struct resp_out *o, int argc, const char **argv)
{
    if (resp_add_argv(o, argc, argv, NULL) < 0) {
        fprintf(stderr, "broker-bench: out of memory\n");
        exit(1);
    }
}

/* N connections that SUBSCRIBE to "bench", non-blocking, watched on ep (data.u32 = i). */
static struct conn *subscribe_all(int port, int nsubs, int ep)
{
    struct conn *subs = calloc((size_t)nsubs, sizeof(*subs));
    if (!subs) die("calloc");
    struct resp_out o;
    resp_out_init(&o, 0);
    const char *sub[] = {"SUBSCRIBE", "bench"};
    add_cmd(&o, 2, sub);
    for (int i = 0; i < nsubs; i++) {
        subs[i].fd = dial(port);
        resp_reply_init(&subs[i].rp, 0, 0);
        send_all(subs[i].fd, o.data, o.len);
        read_replies(&subs[i], 1, NULL, 0);
        subs[i].got = 0;
        net_set_nonblock(subs[i].fd, 1);
        struct epoll_event ee = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, subs[i].fd, &ee);
    }
    resp_out_free(&o);
    return subs;
}

/* The publisher's connection, non-blocking, watched on ep with data.u32 = tag. */
static struct conn publisher(int port, int ep, uint32_t tag)
{
    struct conn pub = {.fd = dial(port)};
    resp_reply_init(&pub.rp, 0, 0);
    net_set_nonblock(pub.fd, 1);
    struct epoll_event ee = {.events = EPOLLIN, .data.u32 = tag};
    epoll_ctl(ep, EPOLL_CTL_ADD, pub.fd, &ee);
    return pub;
}

/* PUBLISH bench <size bytes> into o; returns what one subscriber receives for it. */
static unsigned long long publish_cmd(struct resp_out *o, int size)
{
    char *payload = malloc((size_t)size + 1), line[128];
    if (!payload) die("malloc");
    memset(payload, 'x', (size_t)size);
    payload[size] = 0;
    const char *a[] = {"PUBLISH", "bench", payload};
    add_cmd(o, 3, a);
    free(payload);
    return (unsigned long long)snprintf(line, sizeof(line),
                                        "*3\r\n$7\r\nmessage\r\n$5\r\nbench\r\n$%d\r\n", size) +
           (unsigned long long)size + 2;
}

static void run_pubsub(int port, int nsubs, long msgs, int size, int window)
{
    int ep = epoll_create1(0);
    struct conn *subs = subscribe_all(port, nsubs, ep);
    struct resp_out o;
    resp_out_init(&o, 0);
    unsigned long long frame = publish_cmd(&o, size); /* what one subscriber gets per message */
    const char *cmd = o.data;
    size_t cmdlen = o.len;
    unsigned long long want = frame * (unsigned long long)msgs;
    struct conn pub = publisher(port, ep, (uint32_t)nsubs);
    long sent = 0, acked = 0;
    int done_subs = 0;
    char *batch = malloc(cmdlen * (size_t)window);
    uint64_t t0 = ev_now_ns(), tpub = 0;
    while (done_subs < nsubs || acked < msgs) {
        long room = window - (sent - acked);
        if (room > 0 && sent < msgs) {
            long k = room < msgs - sent ? room : msgs - sent;
            for (long i = 0; i < k; i++)
                memcpy(batch + (size_t)i * cmdlen, cmd, cmdlen);
            /* the publisher socket is non-blocking: a short write is finished blocking */
            net_set_nonblock(pub.fd, 0);
            send_all(pub.fd, batch, cmdlen * (size_t)k);
            net_set_nonblock(pub.fd, 1);
            sent += k;
        }
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, 5000);
        if (n == 0) {
            fprintf(stderr, "broker-bench: stalled (%d/%d subscribers done, %ld/%ld acked)\n",
                    done_subs, nsubs, acked, msgs);
            exit(1);
        }
        for (int i = 0; i < n; i++) {
            uint32_t who = evs[i].data.u32;
            if (who == (uint32_t)nsubs) {
                fill(&pub);
                size_t off = 0, r;
                while (pub.len > off && (r = next_reply(&pub, off))) {
                    off += r;
                    acked++;
                }
                memmove(pub.buf, pub.buf + off, pub.len - off);
                pub.len -= off;
                if (acked == msgs && !tpub) tpub = ev_now_ns();
            } else {
                struct conn *s = &subs[who];
                unsigned long long before = s->got;
                s->len = 0; /* content is not checked: the integration test does that */
                fill(s);
                if (before < want && s->got >= want) done_subs++;
            }
        }
    }
    uint64_t t1 = ev_now_ns();
    double secs = (double)(t1 - t0) / 1e9;
    printf("delivered_per_s=%.0f publish_per_s=%.0f subs=%d msgs=%ld size=%d secs=%.3f\n",
           (double)msgs * nsubs / secs, (double)msgs / ((double)(tpub - t0) / 1e9), nsubs, msgs,
           size, secs);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* fanout: pubsub for a server behind a link; see the comment at the top. */
static void run_fanout(int port, int nsubs, long msgs, int size, int window)
{
    int *cut = calloc((size_t)nsubs, sizeof(int));
    uint64_t *lat = calloc((size_t)msgs, sizeof(uint64_t));
    uint64_t *sent_at = calloc((size_t)window, sizeof(uint64_t));
    if (!cut || !lat || !sent_at) die("calloc");
    int ep = epoll_create1(0);
    struct conn *subs = subscribe_all(port, nsubs, ep);
    struct resp_out o;
    resp_out_init(&o, 0);
    unsigned long long frame = publish_cmd(&o, size);
    const char *cmd = o.data;
    size_t cmdlen = o.len;
    unsigned long long want = frame * (unsigned long long)msgs;
    struct conn pub = publisher(port, ep, (uint32_t)nsubs);
    long sent = 0, acked = 0;
    int done_subs = 0, ncut = 0;
    uint64_t t0 = ev_now_ns(), last_move = t0;
    while (done_subs + ncut < nsubs || acked < msgs) {
        while (sent - acked < window && sent < msgs) { /* one at a time: each is timed */
            net_set_nonblock(pub.fd, 0);
            send_all(pub.fd, cmd, cmdlen);
            net_set_nonblock(pub.fd, 1);
            sent_at[sent % window] = ev_now_ns();
            sent++;
        }
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, 100);
        uint64_t now = ev_now_ns();
        if (n > 0) last_move = now;
        if (now - last_move > 10000000000u) {
            fprintf(stderr,
                    "broker-bench: nothing moved for 10 s (%d/%d subscribers done, %d cut, "
                    "%ld/%ld acked)\n",
                    done_subs, nsubs, ncut, acked, msgs);
            break;
        }
        for (int i = 0; i < n; i++) {
            uint32_t who = evs[i].data.u32;
            if (who == (uint32_t)nsubs) {
                fill(&pub);
                size_t off = 0, r;
                while (pub.len > off && (r = next_reply(&pub, off))) {
                    off += r;
                    lat[acked] = now - sent_at[acked % window];
                    acked++;
                }
                memmove(pub.buf, pub.buf + off, pub.len - off);
                pub.len -= off;
                continue;
            }
            struct conn *c = &subs[who];
            if (cut[who]) continue;
            char buf[65536];
            ssize_t r = read(c->fd, buf, sizeof buf);
            if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (r <= 0) { /* the server cut it (or reset it) */
                cut[who] = 1;
                ncut++;
                if (c->got >= want) done_subs--; /* counted once, as cut */
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                continue;
            }
            unsigned long long before = c->got;
            c->got += (unsigned long long)r;
            if (before < want && c->got >= want) done_subs++;
        }
    }
    uint64_t t1 = ev_now_ns();
    unsigned long long delivered = 0;
    for (int i = 0; i < nsubs; i++)
        delivered += subs[i].got / frame;
    qsort(lat, (size_t)acked, sizeof(uint64_t), cmp_u64);
    double p50 = acked ? (double)lat[(size_t)((double)(acked - 1) * 0.50 + 0.5)] / 1e6 : -1;
    double p99 = acked ? (double)lat[(size_t)((double)(acked - 1) * 0.99 + 0.5)] / 1e6 : -1;
    double secs = (double)(t1 - t0) / 1e9;
    printf("delivered_per_s=%.0f publish_p50_ms=%.3f publish_p99_ms=%.3f cut=%d subs=%d msgs=%ld "
           "acked=%ld size=%d frame=%llu delivered=%llu secs=%.3f\n",
           (double)delivered / secs, p50, p99, ncut, nsubs, msgs, acked, size, frame, delivered,
           secs);
}

static void run_queue(int port, long msgs, int batch)
{
    struct conn c = {.fd = dial(port)};
    struct resp_out out;
    resp_out_init(&out, 0);
    resp_reply_init(&c.rp, 0, 0);
    char(*ids)[48] = calloc((size_t)batch, 48);
    const char *del[] = {"DEL", "benchq"};
    const char *mk[] = {"XGROUP", "CREATE", "benchq", "g", "$", "MKSTREAM"};
    add_cmd(&out, 2, del);
    add_cmd(&out, 6, mk);
    send_all(c.fd, out.data, out.len);
    read_replies(&c, 2, NULL, 0);
    char payload[65];
    memset(payload, 'p', 64);
    payload[64] = 0;
    uint64_t t0 = ev_now_ns();
    for (long done = 0; done < msgs; done += batch) {
        int k = (int)(msgs - done < batch ? msgs - done : batch);
        const char *add[] = {"XADD", "benchq", "*", "job", payload};
        const char *rd[] = {"XREADGROUP", "GROUP",   "g",      "c", "COUNT",
                            "1",          "STREAMS", "benchq", ">"};
        out.len = 0;
        for (int i = 0; i < k; i++)
            add_cmd(&out, 5, add);
        send_all(c.fd, out.data, out.len);
        read_replies(&c, k, NULL, 0);
        out.len = 0;
        for (int i = 0; i < k; i++)
            add_cmd(&out, 9, rd);
        send_all(c.fd, out.data, out.len);
        read_replies(&c, k, ids, 1);
        out.len = 0;
        for (int i = 0; i < k; i++) {
            const char *ack[] = {"XACK", "benchq", "g", ids[i]};
            add_cmd(&out, 4, ack);
        }
        send_all(c.fd, out.data, out.len);
        read_replies(&c, k, NULL, 0);
    }
    double secs = (double)(ev_now_ns() - t0) / 1e9;
    printf("msgs_per_s=%.0f msgs=%ld batch=%d secs=%.3f\n", (double)msgs / secs, msgs, batch, secs);
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help")) {
        printf("usage: broker-bench pubsub --port P --subs N --msgs M [--size 64] [--window 64]\n"
               "       broker-bench fanout --port P --subs N --msgs M [--size 64] [--window 64]\n"
               "       broker-bench queue --port P --msgs M [--batch 64]\n");
        return argc < 2 ? 2 : 0;
    }
    int port = -1, subs = 1, size = 64, window = 64, batch = 64;
    long msgs = 100000;
    for (int i = 2; i + 1 < argc; i += 2) {
        long v = strtol(argv[i + 1], NULL, 10);
        if (!strcmp(argv[i], "--port"))
            port = net_parse_port(argv[i + 1]);
        else if (!strcmp(argv[i], "--subs") && v > 0 && v <= 10000)
            subs = (int)v;
        else if (!strcmp(argv[i], "--msgs") && v > 0)
            msgs = v;
        else if (!strcmp(argv[i], "--size") && v >= 0 && v <= (1 << 20))
            size = (int)v;
        else if (!strcmp(argv[i], "--window") && v > 0 && v <= 4096)
            window = (int)v;
        else if (!strcmp(argv[i], "--batch") && v > 0 && v <= 4096)
            batch = (int)v;
        else {
            cli_usage_error("broker-bench", "bad option %s %s", argv[i], argv[i + 1]);
        }
    }
    if (port <= 0) {
        cli_usage_error("broker-bench", "--port is required");
    }
    if (!strcmp(argv[1], "pubsub"))
        run_pubsub(port, subs, msgs, size, window);
    else if (!strcmp(argv[1], "fanout"))
        run_fanout(port, subs, msgs, size, window);
    else if (!strcmp(argv[1], "queue"))
        run_queue(port, msgs, batch);
    else {
        cli_usage_error("broker-bench", "unknown mode %s", argv[1]);
    }
    return 0;
}
