/* link: when each byte crosses an emulated link.  Contract in link.h. */
#include "io/link/link.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A flow whose bytes are all taken gives a buffer larger than this back: a thousand
 * idle connections after a burst should not keep a burst's memory each. */
#define LINK_KEEP_BYTES 65536
#define LINK_KEEP_SEGS  256
#define LINK_MIN_BYTES  16384
#define LINK_MIN_SEGS   16

typedef unsigned __int128 u128;

void link_path_init(struct link_path *path, const struct link_params *p, uint64_t seed)
{
    assert(p->queue >= 1);
    memset(path, 0, sizeof(*path));
    path->p = *p;
    path->rng = seed ? seed : 0x9E3779B97F4A7C15u; /* xorshift must not start at 0 */
    if (p->rate_bps) {
        uint64_t burst = (uint64_t)((u128)p->rate_bps * LINK_SEG_NS / 8000000000u);
        path->seg = burst > LINK_SEG ? (burst < 65536 ? (size_t)burst : 65536) : LINK_SEG;
    }
}

size_t link_path_seg(const struct link_path *path)
{
    return path->seg;
}

/* Nanoseconds the wire takes to send len bytes (rounded up: never faster than the rate). */
static uint64_t wire_ns(const struct link_path *path, size_t len)
{
    u128 bits_ns = (u128)len * 8u * 1000000000u;
    return (uint64_t)((bits_ns + path->p.rate_bps - 1) / path->p.rate_bps);
}

size_t link_path_room(const struct link_path *path, uint64_t now_ns)
{
    if (path->p.rate_bps == 0) return SIZE_MAX;
    if (path->wire_free_ns <= now_ns) return path->p.queue;
    /* bytes still waiting for (or on) the wire: what it sends in the time left */
    u128 waiting = (u128)(path->wire_free_ns - now_ns) * path->p.rate_bps / 8000000000u;
    return waiting >= path->p.queue ? 0 : path->p.queue - (size_t)waiting;
}

uint64_t link_path_room_at(const struct link_path *path, size_t want)
{
    assert(want <= path->p.queue);
    if (path->p.rate_bps == 0) return 0;
    /* room >= want once at most queue - want bytes are left to send */
    uint64_t left_ns = (uint64_t)((u128)(path->p.queue - want) * 8000000000u / path->p.rate_bps);
    return path->wire_free_ns > left_ns ? path->wire_free_ns - left_ns : 0;
}

void link_handshake(const struct link_path *up, const struct link_path *down, uint64_t now_ns,
                    uint64_t *up_open_ns, uint64_t *down_open_ns, uint64_t *refused_ns)
{
    uint64_t du = up->p.delay_ns, dd = down->p.delay_ns;
    /* SYN (du), SYN-ACK (dd): the client's connect() returns and its data may leave */
    *up_open_ns = now_ns + du + dd;
    /* the ACK (du) completes the handshake on the server: its accept() returns */
    *down_open_ns = now_ns + du + dd + du;
    /* a closed port answers the SYN with a RST */
    *refused_ns = now_ns + du + dd;
}

void link_flow_init(struct link_flow *f, struct link_path *path, uint64_t open_ns)
{
    memset(f, 0, sizeof(*f));
    f->path = path;
    f->open_ns = open_ns;
}

void link_flow_free(struct link_flow *f)
{
    free(f->buf);
    free(f->segs);
    f->buf = NULL;
    f->segs = NULL;
    f->bcap = f->scap = f->held = f->nsegs = f->bhead = f->shead = f->taken = 0;
}

size_t link_flow_space(const struct link_flow *f, uint64_t now_ns)
{
    const struct link_params *p = &f->path->p;
    if (f->end != LINK_OPEN || f->held >= p->queue || f->nsegs >= LINK_MAX_SEGS) return 0;
    size_t s = p->queue - f->held;
    size_t room = link_path_room(f->path, now_ns);
    if (room < s) s = room;
    if (p->rate_bps) {
        size_t segs = (LINK_MAX_SEGS - f->nsegs) * f->path->seg;
        if (segs < s) s = segs;
    }
    return s;
}

/* Grows the byte ring to hold need bytes, keeping their order.  Three sizes: small,
 * LINK_KEEP_BYTES, then the whole share at once: doubling through every size between
 * would leave each connection's outgrown buffers behind in the heap. */
static int grow_bytes(struct link_flow *f, size_t need)
{
    if (need <= f->bcap) return 0;
    size_t cap = need <= LINK_MIN_BYTES    ? LINK_MIN_BYTES
                 : need <= LINK_KEEP_BYTES ? LINK_KEEP_BYTES
                                           : f->path->p.queue;
    if (cap > f->path->p.queue) cap = f->path->p.queue; /* a small --queue */
    if (cap < need) cap = need;
    uint8_t *nb = malloc(cap);
    if (!nb) {
        errno = ENOMEM;
        return -1;
    }
    size_t first = f->bcap - f->bhead < f->held ? f->bcap - f->bhead : f->held;
    if (f->held) {
        memcpy(nb, f->buf + f->bhead, first);
        memcpy(nb + first, f->buf, f->held - first);
    }
    free(f->buf);
    f->buf = nb;
    f->bcap = cap;
    f->bhead = 0;
    return 0;
}

/* Makes room for `more` segments beyond those held, keeping their order. */
static int grow_segs(struct link_flow *f, size_t more)
{
    if (f->nsegs + more <= f->scap) return 0;
    size_t cap = f->scap ? f->scap : LINK_MIN_SEGS;
    while (cap < f->nsegs + more)
        cap *= 2;
    struct link_seg *ns = malloc(cap * sizeof(*ns));
    if (!ns) {
        errno = ENOMEM;
        return -1;
    }
    for (size_t i = 0; i < f->nsegs; i++)
        ns[i] = f->segs[(f->shead + i) % f->scap];
    free(f->segs);
    f->segs = ns;
    f->scap = cap;
    f->shead = 0;
    return 0;
}

static struct link_seg *seg_at(const struct link_flow *f, size_t i)
{
    return &f->segs[(f->shead + i) % f->scap];
}

/* delay +- jitter, uniform, never negative */
static uint64_t path_delay(struct link_path *path)
{
    uint64_t d = path->p.delay_ns, j = path->p.jitter_ns;
    if (!j) return d;
    path->rng ^= path->rng << 13;
    path->rng ^= path->rng >> 7;
    path->rng ^= path->rng << 17;
    uint64_t r = path->rng % (2 * j + 1); /* 0 .. 2j */
    return d + r >= j ? d + r - j : 0;
}

/* Appends a segment arriving at `at` (never before the one in front of it); the
 * caller made room with grow_segs. */
static void add_seg(struct link_flow *f, uint64_t at, size_t len)
{
    if (at < f->last_at_ns) at = f->last_at_ns;
    f->last_at_ns = at;
    if (f->nsegs) { /* same arrival as the last one: one segment (no rate, same push time) */
        struct link_seg *last = seg_at(f, f->nsegs - 1);
        if (last->at_ns == at && (uint64_t)last->len + len <= UINT32_MAX) {
            last->len += (uint32_t)len;
            return;
        }
    }
    assert(f->nsegs < f->scap);
    *seg_at(f, f->nsegs) = (struct link_seg){.at_ns = at, .len = (uint32_t)len};
    f->nsegs++;
}

ssize_t link_flow_push(struct link_flow *f, uint64_t now_ns, const void *data, size_t len)
{
    assert(f->end == LINK_OPEN);
    assert(now_ns >= f->open_ns); /* the sender could not have sent before its handshake */
    struct link_path *path = f->path;
    size_t n = link_flow_space(f, now_ns);
    if (n > len) n = len;
    if (n == 0) return 0;
    size_t seg = path->seg, nseg = seg ? (n + seg - 1) / seg : 1;
    /* both buffers first: a failure leaves the flow as it was */
    if (grow_bytes(f, f->held + n) < 0 || grow_segs(f, nseg) < 0) return -1;
    size_t tail = (f->bhead + f->held) % f->bcap, first = f->bcap - tail < n ? f->bcap - tail : n;
    memcpy(f->buf + tail, data, first);
    memcpy(f->buf, (const uint8_t *)data + first, n - first);
    if (path->p.rate_bps == 0) {
        add_seg(f, now_ns + path_delay(path), n);
    } else {
        for (size_t off = 0; off < n; off += seg) {
            size_t k = n - off < seg ? n - off : seg;
            uint64_t start = path->wire_free_ns > now_ns ? path->wire_free_ns : now_ns;
            path->wire_free_ns = start + wire_ns(path, k);
            add_seg(f, path->wire_free_ns + path_delay(path), k);
        }
    }
    f->held += n;
    path->bytes += n;
    return (ssize_t)n;
}

size_t link_flow_peek(const struct link_flow *f, uint64_t now_ns, const uint8_t **p)
{
    if (f->nsegs == 0 || seg_at(f, 0)->at_ns > now_ns) return 0;
    size_t contig = f->bcap - f->bhead, due = 0;
    for (size_t i = 0; i < f->nsegs && due < contig + f->taken; i++) {
        const struct link_seg *s = seg_at(f, i);
        if (s->at_ns > now_ns) break;
        due += s->len;
    }
    due -= f->taken;
    *p = f->buf + f->bhead;
    return due < contig ? due : contig;
}

void link_flow_consume(struct link_flow *f, size_t n)
{
    assert(n <= f->held);
    f->bhead = (f->bhead + n) % (f->bcap ? f->bcap : 1);
    f->held -= n;
    while (n) {
        struct link_seg *s = seg_at(f, 0);
        size_t rem = s->len - f->taken;
        if (n < rem) {
            f->taken += n;
            break;
        }
        n -= rem;
        f->taken = 0;
        f->shead = (f->shead + 1) % f->scap;
        f->nsegs--;
    }
    if (f->held == 0) {
        f->bhead = 0;
        if (f->bcap > LINK_KEEP_BYTES) {
            free(f->buf);
            f->buf = NULL;
            f->bcap = 0;
        }
    }
    if (f->nsegs == 0) {
        f->shead = 0;
        if (f->scap > LINK_KEEP_SEGS) {
            free(f->segs);
            f->segs = NULL;
            f->scap = 0;
        }
    }
}

uint64_t link_flow_next_ns(const struct link_flow *f)
{
    if (f->nsegs) return seg_at(f, 0)->at_ns;
    return f->end != LINK_OPEN ? f->end_at_ns : LINK_NEVER;
}

void link_flow_end(struct link_flow *f, uint64_t now_ns, enum link_end how)
{
    assert(how != LINK_OPEN && f->end != LINK_RST && f->end != how);
    const struct link_path *path = f->path;
    uint64_t leave = now_ns > f->open_ns ? now_ns : f->open_ns;
    /* a FIN or RST waits in the same queue as the bytes before it; it takes no wire time */
    if (path->p.rate_bps && path->wire_free_ns > leave) leave = path->wire_free_ns;
    uint64_t at = leave + path->p.delay_ns;
    if (at < f->last_at_ns) at = f->last_at_ns;
    if (f->end == LINK_FIN && at < f->end_at_ns) at = f->end_at_ns; /* a RST after a FIN */
    f->end = how;
    f->end_at_ns = at;
}

enum link_end link_flow_ended(const struct link_flow *f, uint64_t now_ns)
{
    if (f->end == LINK_OPEN || f->end_at_ns > now_ns) return LINK_OPEN;
    if (f->end == LINK_FIN && f->held) return LINK_OPEN;
    return f->end;
}
