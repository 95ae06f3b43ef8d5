/* Unit tests for io/link: the link emulator's schedule, driven by a fake clock (plain
 * numbers of nanoseconds): delay, rate, the shared queue, jitter bounds, order,
 * half-close and reset, backpressure, the handshake, and the unit parsers. */
#include <criterion/criterion.h>
#include <string.h>

#include "io/link/link.h"
#include "io/link/link_spec.h"

#define US 1000ull
#define MS 1000000ull

static struct link_path mkpath(uint64_t delay, uint64_t jitter, uint64_t rate, size_t queue)
{
    struct link_params p = {
        .delay_ns = delay, .jitter_ns = jitter, .rate_bps = rate, .queue = queue};
    struct link_path path;
    link_path_init(&path, &p, 42);
    return path;
}

/* Takes every byte that has arrived at now into out (at most cap); returns the count. */
static size_t take(struct link_flow *f, uint64_t now, uint8_t *out, size_t cap)
{
    size_t got = 0, n;
    const uint8_t *p;
    while (got < cap && (n = link_flow_peek(f, now, &p)) > 0) {
        if (n > cap - got) n = cap - got;
        memcpy(out + got, p, n);
        link_flow_consume(f, n);
        got += n;
    }
    return got;
}

static uint8_t data[1 << 20], out[1 << 20];

static void fill_pattern(void)
{
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 131 + (i >> 8));
}

Test(link, bytes_arrive_after_the_delay_not_before)
{
    struct link_path path = mkpath(40 * MS, 0, 0, 1 << 20);
    struct link_flow f;
    link_flow_init(&f, &path, 0);
    fill_pattern();
    uint64_t t = 1000;
    cr_assert_eq(link_flow_push(&f, t, data, 100), 100);
    cr_assert_eq(link_flow_next_ns(&f), t + 40 * MS);
    cr_assert_eq(take(&f, t + 40 * MS - 1, out, sizeof out), 0, "a byte arrived early");
    cr_assert_eq(take(&f, t + 40 * MS, out, sizeof out), 100);
    cr_assert_eq(memcmp(out, data, 100), 0);
    cr_assert_eq(link_flow_next_ns(&f), LINK_NEVER);
    link_flow_free(&f);
}

/* 8 Mbit/s is one byte per microsecond: 10,000 bytes take 10 ms to leave, and by any
 * time t the receiver has at most t us worth of bytes, and at least t us minus one
 * segment. */
Test(link, the_rate_spaces_bytes_out)
{
    struct link_path path = mkpath(5 * MS, 0, 8000000, 1 << 20);
    struct link_flow f;
    link_flow_init(&f, &path, 0);
    fill_pattern();
    cr_assert_eq(link_flow_push(&f, 0, data, 10000), 10000);
    size_t got = 0;
    for (uint64_t t = 0; t <= 20 * MS; t += 100 * US) {
        got += take(&f, t, out + got, sizeof out - got);
        uint64_t sent_us = t >= 5 * MS ? (t - 5 * MS) / US : 0; /* wire time behind t */
        cr_assert_leq(got, sent_us, "at %llu us: %zu bytes, faster than the rate",
                      (unsigned long long)(t / US), got);
        if (sent_us < 10000)
            cr_assert_geq(got + LINK_SEG, sent_us, "at %llu us: %zu bytes, slower than the rate",
                          (unsigned long long)(t / US), got);
    }
    cr_assert_eq(got, 10000);
    cr_assert_eq(memcmp(out, data, 10000), 0);
    /* the last byte left at 10 ms exactly and arrived 5 ms later */
    struct link_path p2 = mkpath(5 * MS, 0, 8000000, 1 << 20);
    struct link_flow g;
    link_flow_init(&g, &p2, 0);
    cr_assert_eq(link_flow_push(&g, 0, data, 10000), 10000);
    cr_assert_eq(take(&g, 15 * MS - 1, out, sizeof out), 10000 - 10000 % LINK_SEG);
    cr_assert_eq(take(&g, 15 * MS, out, sizeof out), 10000 % LINK_SEG);
    link_flow_free(&f);
    link_flow_free(&g);
}

/* A fast wire hands bytes out in bursts of at most 50 us of its time. */
Test(link, segments_are_a_payload_or_50us_of_the_wire)
{
    struct link_path slow = mkpath(0, 0, 8000000, 1 << 20);
    struct link_path gig = mkpath(0, 0, 1000000000, 1 << 20);
    struct link_path huge = mkpath(0, 0, 400000000000ull, 1 << 20);
    struct link_path none = mkpath(0, 0, 0, 1 << 20);
    cr_assert_eq(link_path_seg(&slow), LINK_SEG);
    cr_assert_eq(link_path_seg(&gig), 6250);
    cr_assert_eq(link_path_seg(&huge), 65536);
    cr_assert_eq(link_path_seg(&none), 0);
    /* 1 gbit: 62,500 bytes are 10 segments, the last leaving at 500 us */
    struct link_flow f;
    link_flow_init(&f, &gig, 0);
    fill_pattern();
    cr_assert_eq(link_flow_push(&f, 0, data, 62500), 62500);
    cr_assert_eq(f.nsegs, 10);
    cr_assert_eq(take(&f, 500 * US - 1, out, sizeof out), 56250);
    cr_assert_eq(take(&f, 500 * US, out, sizeof out), 6250);
    link_flow_free(&f);
}

/* Two connections share one wire: together they get the rate, not each. */
Test(link, flows_share_the_wire)
{
    struct link_path path = mkpath(0, 0, 8000000, 1 << 20);
    struct link_flow a, b;
    link_flow_init(&a, &path, 0);
    link_flow_init(&b, &path, 0);
    fill_pattern();
    cr_assert_eq(link_flow_push(&a, 0, data, 5000), 5000);
    cr_assert_eq(link_flow_push(&b, 0, data, 5000), 5000);
    /* b's bytes wait behind a's: its last byte leaves at 10 ms */
    cr_assert_eq(take(&b, 10 * MS - 1, out, sizeof out), 5000 - 5000 % LINK_SEG);
    cr_assert_eq(take(&b, 10 * MS, out, sizeof out), 5000 % LINK_SEG);
    cr_assert_eq(take(&a, 5 * MS, out, sizeof out), 5000);
    link_flow_free(&a);
    link_flow_free(&b);
}

/* delay +- jitter: every segment within the bounds, both ends of the range reached,
 * and order kept (a later byte never arrives before an earlier one). */
Test(link, jitter_stays_in_bounds_and_never_reorders)
{
    struct link_path path = mkpath(10 * MS, 2 * MS, 0, 1 << 20);
    struct link_flow f;
    link_flow_init(&f, &path, 0);
    fill_pattern();
    uint64_t lo = UINT64_MAX, hi = 0, prev = 0;
    size_t sent = 0, got = 0;
    for (int i = 0; i < 2000; i++) {
        uint64_t t = (uint64_t)i * 5 * MS; /* far apart: the order clamp does not hide jitter */
        cr_assert_eq(link_flow_push(&f, t, data + sent, 10), 10);
        sent += 10;
        uint64_t at = link_flow_next_ns(&f);
        cr_assert_geq(at, t + 8 * MS);
        cr_assert_leq(at, t + 12 * MS);
        cr_assert_geq(at, prev, "segment %d arrives before the one in front of it", i);
        prev = at;
        lo = at - t < lo ? at - t : lo;
        hi = at - t > hi ? at - t : hi;
        got += take(&f, at, out + got, sizeof out - got);
    }
    cr_assert_lt(lo, 8 * MS + 100 * US, "least delay %llu ns: jitter not applied",
                 (unsigned long long)lo);
    cr_assert_gt(hi, 12 * MS - 100 * US, "most delay %llu ns", (unsigned long long)hi);
    cr_assert_eq(got, sent);
    cr_assert_eq(memcmp(out, data, sent), 0);

    /* close together, jitter would reorder: the clamp keeps the order */
    struct link_path p2 = mkpath(10 * MS, 2 * MS, 0, 1 << 20);
    struct link_flow g;
    link_flow_init(&g, &p2, 0);
    for (int i = 0; i < 500; i++)
        cr_assert_eq(link_flow_push(&g, (uint64_t)i * 10 * US, data + (size_t)i * 7, 7), 7);
    prev = 0;
    for (size_t i = 0; i < g.nsegs; i++) {
        uint64_t at = g.segs[(g.shead + i) % g.scap].at_ns;
        cr_assert_geq(at, prev);
        prev = at;
    }
    cr_assert_eq(take(&g, 20 * MS, out, sizeof out), 3500);
    cr_assert_eq(memcmp(out, data, 3500), 0);
    link_flow_free(&f);
    link_flow_free(&g);
}

/* A FIN does not overtake the bytes in front of it, and is reported only once the
 * receiver took every byte: a half-closed connection delivers what is in flight. */
Test(link, fin_comes_after_the_bytes_in_flight)
{
    struct link_path path = mkpath(1 * MS, 0, 8000000, 1 << 20);
    struct link_flow f;
    link_flow_init(&f, &path, 0);
    fill_pattern();
    cr_assert_eq(link_flow_push(&f, 0, data, 4000), 4000);
    link_flow_end(&f, 0, LINK_FIN);
    cr_assert_eq(link_flow_space(&f, 0), 0, "a push after the FIN");
    /* the last byte leaves at 4 ms and arrives at 5 ms; the FIN not before */
    cr_assert_geq(f.end_at_ns, 5 * MS);
    cr_assert_eq(link_flow_ended(&f, 4 * MS), LINK_OPEN);
    cr_assert_eq(take(&f, 4 * MS, out, sizeof out), 2 * LINK_SEG);
    cr_assert_eq(link_flow_ended(&f, 10 * MS), LINK_OPEN, "FIN before the last bytes were taken");
    cr_assert_eq(link_flow_next_ns(&f), 5 * MS);
    cr_assert_eq(take(&f, 10 * MS, out + 2 * LINK_SEG, sizeof out), 4000 - 2 * LINK_SEG);
    cr_assert_eq(memcmp(out, data, 4000), 0);
    cr_assert_eq(link_flow_ended(&f, 10 * MS), LINK_FIN);
    link_flow_free(&f);

    /* an empty flow: the FIN arrives one delay after it was sent */
    struct link_flow g;
    link_flow_init(&g, &path, 0);
    link_flow_end(&g, 20 * MS, LINK_FIN);
    cr_assert_eq(link_flow_next_ns(&g), 21 * MS);
    cr_assert_eq(link_flow_ended(&g, 21 * MS - 1), LINK_OPEN);
    cr_assert_eq(link_flow_ended(&g, 21 * MS), LINK_FIN);
}

/* A reset arrives after the delay and is reported even when the receiver did not take
 * the bytes before it (it discards them). */
Test(link, rst_arrives_after_the_delay_whatever_is_unread)
{
    struct link_path path = mkpath(3 * MS, 0, 0, 1 << 20);
    struct link_flow f;
    link_flow_init(&f, &path, 0);
    cr_assert_eq(link_flow_push(&f, 0, data, 1000), 1000);
    link_flow_end(&f, 1 * MS, LINK_RST);
    cr_assert_eq(link_flow_ended(&f, 4 * MS - 1), LINK_OPEN);
    cr_assert_eq(link_flow_ended(&f, 4 * MS), LINK_RST);
    cr_assert_eq(f.held, 1000);
    link_flow_free(&f);
    cr_assert_eq(f.held, 0);
    cr_assert_eq(link_flow_ended(&f, 4 * MS), LINK_RST, "free forgot the reset");
}

/* Backpressure: a flow holds at most `queue` bytes, whatever the receiver does, and
 * the shared queue takes at most `queue` bytes waiting for the wire. */
Test(link, a_full_flow_takes_nothing_more)
{
    struct link_path path = mkpath(1 * MS, 0, 0, 64 * 1024);
    struct link_flow f;
    link_flow_init(&f, &path, 0);
    fill_pattern();
    size_t in = 0;
    for (uint64_t t = 0; t < 100; t++) {
        ssize_t n = link_flow_push(&f, t * MS, data, 10000);
        cr_assert_geq(n, 0);
        in += (size_t)n;
    }
    cr_assert_eq(in, 64 * 1024, "a receiver that never reads let %zu bytes in", in);
    cr_assert_eq(link_flow_space(&f, 200 * MS), 0);
    /* the receiver takes 1000 bytes: exactly 1000 more fit */
    const uint8_t *p;
    cr_assert_geq(link_flow_peek(&f, 200 * MS, &p), 1000);
    link_flow_consume(&f, 1000);
    cr_assert_eq(link_flow_space(&f, 200 * MS), 1000);
    cr_assert_eq(link_flow_push(&f, 200 * MS, data, 5000), 1000);
    link_flow_free(&f);
}

Test(link, the_shared_queue_fills_and_drains_at_the_rate)
{
    /* 8 Mbit/s, a 10,000-byte queue: 10 ms of backlog at most */
    struct link_path path = mkpath(0, 0, 8000000, 10000);
    struct link_flow a, b;
    link_flow_init(&a, &path, 0);
    link_flow_init(&b, &path, 0);
    fill_pattern();
    cr_assert_eq(link_flow_push(&a, 0, data, 6000), 6000);
    cr_assert_eq(link_flow_space(&b, 0), 4000, "the other flow sees the shared queue");
    cr_assert_eq(link_flow_push(&b, 0, data, 9000), 4000);
    cr_assert_eq(link_path_room(&path, 0), 0);
    /* after 3 ms, 3000 bytes have left: room for 3000 */
    cr_assert_eq(link_path_room(&path, 3 * MS), 3000);
    cr_assert_eq(link_path_room_at(&path, 3000), 3 * MS);
    cr_assert_eq(link_path_room_at(&path, 10000), 10 * MS);
    link_flow_free(&a);
    link_flow_free(&b);

    /* no rate: no queue and no wire */
    struct link_path fast = mkpath(0, 0, 0, 10000);
    cr_assert_eq(link_path_room(&fast, 0), SIZE_MAX);
    cr_assert_eq(link_path_room_at(&fast, 10000), 0);
}

/* A sender of one-byte writes cannot make the flow hold unbounded bookkeeping. */
Test(link, segments_are_bounded)
{
    struct link_path path = mkpath(1 * MS, 0, 0, 1 << 20);
    struct link_flow f;
    link_flow_init(&f, &path, 0);
    size_t in = 0;
    for (uint64_t t = 0; t < 2 * LINK_MAX_SEGS; t++)
        in += (size_t)link_flow_push(&f, t, "x", 1);
    cr_assert_eq(in, LINK_MAX_SEGS);
    cr_assert_eq(link_flow_space(&f, 0), 0);
    /* same arrival time: one segment, so same-instant writes are not limited by it */
    struct link_flow g;
    link_flow_init(&g, &path, 0);
    for (int i = 0; i < 3 * LINK_MAX_SEGS; i++)
        cr_assert_eq(link_flow_push(&g, 5, "y", 1), 1);
    cr_assert_eq(g.nsegs, 1);
    link_flow_free(&f);
    link_flow_free(&g);
}

/* The ring wraps many times over; bytes come out whole and in order, and a flow that
 * empties gives its large buffer back. */
Test(link, ring_wraps_and_memory_is_given_back)
{
    struct link_path path = mkpath(0, 0, 0, 300000);
    struct link_flow f;
    link_flow_init(&f, &path, 0);
    fill_pattern();
    size_t sent = 0, got = 0;
    uint64_t t = 0;
    while (sent < sizeof data - 70000) {
        ssize_t n = link_flow_push(&f, t, data + sent, 70001);
        cr_assert_geq(n, 0);
        sent += (size_t)n;
        const uint8_t *p;
        size_t k = link_flow_peek(&f, t, &p);
        if (k > 50000) k = 50000; /* a slow reader: the ring stays part full */
        memcpy(out + got, p, k);
        link_flow_consume(&f, k);
        got += k;
        t += 1000;
    }
    got += take(&f, t, out + got, sizeof out - got);
    cr_assert_eq(got, sent);
    cr_assert_eq(memcmp(out, data, sent), 0);
    cr_assert_eq(f.held, 0);
    cr_assert_null(f.buf, "an empty flow kept a %zu-byte buffer", f.bcap);
    link_flow_free(&f);
}

Test(link, the_handshake_costs_a_round_trip_before_the_first_byte)
{
    struct link_path up = mkpath(40 * MS, 0, 0, 1000), down = mkpath(30 * MS, 0, 0, 1000);
    uint64_t uo, dn, rf;
    link_handshake(&up, &down, 1000, &uo, &dn, &rf);
    cr_assert_eq(uo, 1000 + 70 * MS, "client's first byte leaves after SYN + SYN-ACK");
    cr_assert_eq(dn, 1000 + 110 * MS, "server's first byte leaves after its accept");
    cr_assert_eq(rf, 1000 + 70 * MS);
    /* a request sent at once on a new connection is answered after two round trips */
    struct link_flow c2s, s2c;
    link_flow_init(&c2s, &up, uo);
    link_flow_init(&s2c, &down, dn);
    cr_assert_eq(link_flow_push(&c2s, uo, "GET", 3), 3);
    uint64_t at_server = link_flow_next_ns(&c2s);
    cr_assert_eq(at_server, 1000 + 110 * MS);
    cr_assert_eq(link_flow_push(&s2c, at_server, "OK", 2), 2);
    cr_assert_eq(link_flow_next_ns(&s2c), 1000 + 140 * MS);
    link_flow_free(&c2s);
    link_flow_free(&s2c);
}

Test(link_spec, durations_rates_sizes)
{
    char err[128];
    uint64_t v;
    size_t z;
    cr_assert_eq(link_spec_duration("40ms", &v, err, sizeof err), 0);
    cr_assert_eq(v, 40 * MS);
    cr_assert_eq(link_spec_duration("0.5ms", &v, err, sizeof err), 0);
    cr_assert_eq(v, 500 * US);
    cr_assert_eq(link_spec_duration("250us", &v, err, sizeof err), 0);
    cr_assert_eq(v, 250 * US);
    cr_assert_eq(link_spec_duration("2s", &v, err, sizeof err), 0);
    cr_assert_eq(v, 2000 * MS);
    cr_assert_eq(link_spec_duration("0", &v, err, sizeof err), 0);
    cr_assert_eq(v, 0);
    cr_assert_eq(link_spec_duration("-5ms", &v, err, sizeof err), -1);
    cr_assert(strstr(err, "negative"), "%s", err);
    cr_assert_eq(link_spec_duration("40", &v, err, sizeof err), -1);
    cr_assert(strstr(err, "no unit"), "%s", err);
    cr_assert_eq(link_spec_duration("40 ms", &v, err, sizeof err), -1);
    cr_assert_eq(link_spec_duration("ms", &v, err, sizeof err), -1);
    cr_assert_eq(link_spec_duration("1.ms", &v, err, sizeof err), -1);
    cr_assert_eq(link_spec_duration("2h", &v, err, sizeof err), -1);
    cr_assert_eq(link_spec_duration("99999s", &v, err, sizeof err), -1);

    cr_assert_eq(link_spec_rate("100mbit", &v, err, sizeof err), 0);
    cr_assert_eq(v, 100000000);
    cr_assert_eq(link_spec_rate("1.5gbit", &v, err, sizeof err), 0);
    cr_assert_eq(v, 1500000000);
    cr_assert_eq(link_spec_rate("0", &v, err, sizeof err), 0);
    cr_assert_eq(v, 0);
    cr_assert_eq(link_spec_rate("fast", &v, err, sizeof err), -1);
    cr_assert(strstr(err, "fast"), "%s", err);
    cr_assert_eq(link_spec_rate("100", &v, err, sizeof err), -1);
    cr_assert_eq(link_spec_rate("100mbps", &v, err, sizeof err), -1);
    cr_assert_eq(link_spec_rate("4bit", &v, err, sizeof err), -1);

    cr_assert_eq(link_spec_size("1MiB", &z, err, sizeof err), 0);
    cr_assert_eq(z, 1 << 20);
    cr_assert_eq(link_spec_size("256k", &z, err, sizeof err), 0);
    cr_assert_eq(z, 256 * 1024);
    cr_assert_eq(link_spec_size("65536", &z, err, sizeof err), 0);
    cr_assert_eq(z, 65536);
    cr_assert_eq(link_spec_size("-1", &z, err, sizeof err), -1);
    cr_assert_eq(link_spec_size("lots", &z, err, sizeof err), -1);
    cr_assert_eq(link_spec_size("99999999999999999999", &z, err, sizeof err), -1);
}

Test(link_spec, profiles)
{
    const struct link_profile *c = link_spec_profile("continent");
    cr_assert_not_null(c);
    cr_assert_eq(c->delay_ns, 40 * MS);
    cr_assert_eq(c->up_bps, 100000000);
    cr_assert_not_null(link_spec_profile("lan"));
    cr_assert_not_null(link_spec_profile("region"));
    const struct link_profile *m = link_spec_profile("mobile");
    cr_assert_not_null(m);
    cr_assert_lt(m->up_bps, m->down_bps);
    cr_assert_null(link_spec_profile("moon"));
}
