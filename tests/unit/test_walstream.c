/* Unit tests for replication/walsnd + walrcv, both ends in one process over socketpairs:
 * catch-up from an empty replica, streaming while the primary writes with the replica's
 * log always a byte-identical prefix of the primary's, apply <= flush <= write, reconnect
 * after the link drops (no record applied twice), refusals (diverged, other segment
 * size), an ACK past what was sent never counted, and the throttle's rate. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "replication/walrcv.h"
#include "replication/walsnd.h"

#define SEG ((size_t)2 << 20)

static struct ev_loop *loop;
static struct walsnd *snd;
static struct walrcv *rcv;
static struct wal *pw, *rw;
static int rcv_fd = -1; /* the receiver's end of the current link */
static int links, acks, refuse_connect;
static uint64_t last_applied, napplied;
static char pdir[64], rdir[64];

static int sp_connect(void *arg, char *err, size_t errlen)
{
    int sv[2];
    if (refuse_connect || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        snprintf(err, errlen, "no link");
        return -1;
    }
    cr_assert_eq(walsnd_adopt(snd, sv[0]), 0);
    links++;
    rcv_fd = sv[1];
    return sv[1];
}

static int on_apply(void *arg, uint64_t lsn, uint16_t type, const void *p, size_t n)
{
    cr_assert(napplied == 0 || lsn > last_applied, "record at %llu applied twice or out of order",
              (unsigned long long)lsn);
    cr_assert_eq(type, 9);
    last_applied = lsn;
    napplied++;
    return 0;
}

static void on_ack(void *arg)
{
    acks++;
}

static void on_wake(struct ev_loop *l, void *arg)
{
    if (snd) walsnd_progress(snd);
    if (rcv) walrcv_progress(rcv);
}

static void wake(void *arg)
{
    ev_wake(arg);
}

static void stop_cb(struct ev_loop *l, uint64_t id, void *arg)
{
    ev_stop(l);
}

static void run_for(int ms)
{
    ev_timer_add(loop, (uint64_t)ms, stop_cb, NULL);
    ev_run(loop);
}

static int no_replay(void *arg, uint64_t lsn, uint16_t type, const void *p, size_t n)
{
    return 0;
}

static struct wal *open_wal(const char *dir, size_t seg, int notify_write)
{
    char err[512];
    struct wal_opts o = {.segment_size = seg,
                         .writer_delay_ms = 10,
                         .notify_write = notify_write,
                         .on_progress = wake,
                         .progress_arg = loop};
    struct wal *w = wal_open(dir, &o, no_replay, NULL, err, sizeof(err));
    cr_assert_not_null(w, "%s", err);
    return w;
}

static void setup(size_t rseg, uint64_t throttle)
{
    links = acks = refuse_connect = 0;
    last_applied = napplied = 0;
    strcpy(pdir, "/tmp/test_walstream.p.XXXXXX");
    strcpy(rdir, "/tmp/test_walstream.r.XXXXXX");
    cr_assert_not_null(mkdtemp(pdir));
    cr_assert_not_null(mkdtemp(rdir));
    loop = ev_create();
    ev_on_wake(loop, on_wake, NULL);
    pw = open_wal(pdir, SEG, 0);
    rw = open_wal(rdir, rseg, 1);
    struct walsnd_config sc = {.name = "primary", .throttle = throttle, .on_ack = on_ack};
    snd = walsnd_create(loop, pw, &sc);
    struct walrcv_config rc = {
        .name = "replica", .host = "socketpair", .connect = sp_connect, .apply = on_apply};
    rcv = walrcv_create(loop, rw, &rc);
    cr_assert(snd && rcv);
}

static void teardown(void)
{
    walrcv_destroy(rcv);
    walsnd_destroy(snd);
    wal_close(rw);
    wal_close(pw);
    snd = NULL;
    rcv = NULL;
    ev_destroy(loop);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", pdir, rdir);
    cr_assert_eq(system(cmd), 0);
}

/* n records of varied sizes (some near a segment's end, forcing SWITCH records). */
static uint64_t append(int n, int seed)
{
    char buf[70000];
    uint64_t lsn = 0;
    for (int i = 0; i < n; i++) {
        size_t len = 16 + (size_t)((i * 7919 + seed) % 30000);
        memset(buf, 'a' + (i + seed) % 26, len);
        memcpy(buf, &i, sizeof(i));
        lsn = wal_append(pw, 9, buf, len);
        cr_assert_gt(lsn, 0);
    }
    wal_flush_request(pw, lsn);
    return lsn;
}

/* The replica's flushed log must equal the primary's over the same range. */
static void assert_prefix(void)
{
    static unsigned char a[4 << 20], b[4 << 20];
    char err[256];
    uint64_t upto = wal_flush_lsn(rw), at = 0;
    cr_assert_leq(upto, wal_flush_lsn(pw), "the replica has WAL the primary never flushed");
    while (at < upto) {
        uint64_t na, nb;
        ssize_t ka = wal_read(rw, at, upto, a, sizeof(a), &na, err, sizeof(err));
        cr_assert_geq(ka, 0, "replica: %s", err);
        ssize_t kb = wal_read(pw, at, upto, b, sizeof(b), &nb, err, sizeof(err));
        cr_assert_geq(kb, 0, "primary: %s", err);
        cr_assert_eq(ka, kb, "at LSN %llu", (unsigned long long)at);
        cr_assert_eq(na, nb);
        cr_assert_eq(memcmp(a, b, (size_t)ka), 0, "bytes differ after LSN %llu",
                     (unsigned long long)at);
        if (na == at) break;
        at = na;
    }
}

/* The receiver's INFO lines mention `want` (master_last_error says why the link is down). */
static void assert_info_says(const char *want)
{
    struct resp_out o;
    resp_out_init(&o, 0);
    walrcv_info(rcv, &o);
    resp_add_raw(&o, "", 1);
    cr_assert(strstr(o.data, want), "want '%s' in:\n%s", want, o.data);
    resp_out_free(&o);
}

static void assert_order(void)
{
    uint64_t w = wal_write_lsn(rw), f = wal_flush_lsn(rw), a = walrcv_apply_lsn(rcv);
    cr_assert(a <= f && f <= w, "apply %llu flush %llu write %llu", (unsigned long long)a,
              (unsigned long long)f, (unsigned long long)w);
}

/* Runs the loop until the replica applied everything the primary flushed (or ms). */
static int caught_up(int ms)
{
    for (int t = 0; t < ms; t += 10) {
        run_for(10);
        assert_order();
        uint64_t pf = wal_flush_lsn(pw);
        if (pf && walrcv_apply_lsn(rcv) == pf && walsnd_count(snd, WALSND_APPLY, pf) == 1) return 1;
    }
    return 0;
}

Test(walstream, catch_up_then_stream_while_writing_always_a_prefix)
{
    setup(SEG, 0);
    append(400, 1); /* ~6 MB: several segments before the replica exists */
    run_for(50);
    walrcv_start(rcv);
    cr_assert(caught_up(10000), "no catch-up: primary %llu, replica applied %llu",
              (unsigned long long)wal_flush_lsn(pw), (unsigned long long)walrcv_apply_lsn(rcv));
    assert_prefix();
    cr_assert(walrcv_link_up(rcv));
    for (int round = 0; round < 10; round++) { /* the primary writes while it streams */
        append(20, round + 2);
        run_for(15);
        assert_prefix();
    }
    cr_assert(caught_up(10000));
    assert_prefix();
    cr_assert_eq(links, 1);
    cr_assert_gt(acks, 0);
    teardown();
}

Test(walstream, a_dropped_link_reconnects_and_resumes_where_the_replica_is)
{
    setup(SEG, 0);
    append(100, 3);
    walrcv_start(rcv);
    cr_assert(caught_up(10000));
    uint64_t before = napplied;
    for (int k = 0; k < 3; k++) {
        append(50, k + 10);
        run_for(5);
        shutdown(rcv_fd, SHUT_RDWR); /* the link goes, mid-stream */
        run_for(50);
        assert_prefix();
        cr_assert(caught_up(10000), "no catch-up after drop %d", k);
        assert_prefix();
    }
    cr_assert_eq(links, 4, "one link per reconnect (%d)", links);
    cr_assert_eq(napplied, before + 150, "each record applied once (%llu)",
                 (unsigned long long)napplied);
    /* the primary away: the replica retries and comes back when it can */
    refuse_connect = 1;
    shutdown(rcv_fd, SHUT_RDWR);
    append(10, 99);
    run_for(500);
    cr_assert(!walrcv_link_up(rcv));
    refuse_connect = 0;
    cr_assert(caught_up(10000));
    assert_prefix();
    teardown();
}

Test(walstream, a_replica_past_the_primary_is_refused_as_diverged)
{
    setup(SEG, 0);
    char rec[100] = "x";
    cr_assert_gt(wal_append(rw, 9, rec, sizeof(rec)), 0); /* WAL the primary never had */
    wal_flush_request(rw, wal_insert_lsn(rw));
    run_for(50);
    walrcv_start(rcv);
    run_for(100);
    cr_assert(!walrcv_link_up(rcv));
    assert_info_says("master_last_error:the primary refused: ERR replica is at LSN");
    assert_info_says("its WAL has diverged");
    cr_assert_eq(napplied, 0);
    teardown();
}

Test(walstream, another_segment_size_is_refused)
{
    setup(SEG * 2, 0);
    walrcv_start(rcv);
    run_for(100);
    cr_assert(!walrcv_link_up(rcv));
    assert_info_says("differs from the primary's");
    teardown();
}

/* A fake replica that claims LSNs it was never sent. */
Test(walstream, an_ack_past_what_was_sent_is_never_counted)
{
    setup(SEG, 0);
    uint64_t end = append(5, 4);
    run_for(50);
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    cr_assert_eq(walsnd_adopt(snd, sv[0]), 0);
    char hs[] = "*3\r\n$9\r\nREPLSTART\r\n$1\r\n0\r\n$7\r\n2097152\r\n";
    cr_assert_eq(write(sv[1], hs, sizeof(hs) - 1), (ssize_t)sizeof(hs) - 1);
    run_for(50);
    cr_assert_eq(walsnd_count(snd, WALSND_WRITE, 0), 1, "streaming after REPLSTART");
    char ack[200];
    int n = snprintf(ack, sizeof(ack),
                     "*5\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$12\r\n999999999999\r\n"
                     "$12\r\n999999999999\r\n$12\r\n999999999999\r\n");
    cr_assert_eq(write(sv[1], ack, (size_t)n), n);
    run_for(50);
    cr_assert_eq(walsnd_count(snd, WALSND_FLUSH, end), 0);
    cr_assert_eq(acks, 0, "the false ACK reached the primary");
    cr_assert_eq(walsnd_count(snd, WALSND_WRITE, 0), 0, "the liar was dropped");
    close(sv[1]);
    teardown();
}

Test(walstream, the_throttle_holds_the_rate)
{
    setup(SEG, 100000);            /* 100 kB/s */
    for (int i = 0; i < 20; i++) { /* ~80 kB in 4 kB records */
        char buf[4000];
        memset(buf, 'r', sizeof(buf));
        cr_assert_gt(wal_append(pw, 9, buf, sizeof(buf)), 0);
    }
    wal_flush_request(pw, wal_insert_lsn(pw));
    run_for(50);
    uint64_t t0 = ev_now_ms();
    walrcv_start(rcv);
    int done = 0;
    for (int t = 0; t < 5000 && !done; t += 20) {
        run_for(20);
        walsnd_progress(snd); /* as kv-server's 20 ms tick does */
        done = walrcv_apply_lsn(rcv) == wal_flush_lsn(pw);
    }
    uint64_t ms = ev_now_ms() - t0;
    cr_assert(done);
    /* 80.6 kB at 100 kB/s, less the 4 kB first burst: at least ~700 ms */
    cr_assert_geq(ms, 650, "throttled stream took only %llu ms", (unsigned long long)ms);
    cr_assert_lt(ms, 4000, "throttled stream took %llu ms", (unsigned long long)ms);
    assert_prefix();
    teardown();
}
