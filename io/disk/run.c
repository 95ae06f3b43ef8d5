/* disk run: keeps qd requests in flight on one engine (or qd threads of a blocking
 * engine), measures each request's latency, handles short transfers and verifies
 * data.  The loop is the same for every engine, so differences in the numbers come
 * from how each engine submits and waits (see run.h for the contract). */
#include "io/disk/run.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct run_slot {
    struct disk_req r; /* first: a completed disk_req * is its slot */
    uint64_t t0, base_off;
    uint32_t base_len, done;
    uint8_t *base_buf;
};

struct run_state {
    const struct disk_job *j;
    struct disk_result *res;
    struct disk_engine *e;
    struct run_slot *slots;
    unsigned *free_idx, nfree, inflight;
    uint64_t rng, seq_next, nblocks;
    int stopping;
};

static int run_is_write(const struct disk_job *j)
{
    return j->rw == DISK_RW_RANDWRITE || j->rw == DISK_RW_WRITE;
}

uint64_t disk_run_blocks(const struct disk_job *j)
{
    /* reads may end in a short block at EOF; writes stay whole blocks */
    if (run_is_write(j)) return j->region_len / j->bs;
    return (j->region_len + j->bs - 1) / j->bs;
}

size_t disk_run_bitmap_bytes(const struct disk_job *j)
{
    return (size_t)((disk_run_blocks(j) + 7) / 8);
}

static uint64_t run_rand(uint64_t *s) /* xorshift64* */
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

static uint64_t run_next_block(struct run_state *st)
{
    if (st->j->rw == DISK_RW_RANDREAD || st->j->rw == DISK_RW_RANDWRITE)
        return run_rand(&st->rng) % st->nblocks;
    uint64_t b = st->seq_next;
    st->seq_next = (st->seq_next + 1) % st->nblocks;
    return b;
}

static void run_fail(struct run_state *st, struct run_slot *s, int err)
{
    struct disk_result *res = st->res;
    st->stopping = 1;
    if (res->err != 0 || res->msg[0]) return; /* keep the first */
    res->err = err;
    res->err_off = s->r.off;
    res->err_len = s->r.len;
    res->err_op = s->r.op;
    char why[384] = "";
    if (err == -EINVAL && st->j->dio &&
        disk_dio_explain(st->j->dio, s->r.off, s->r.len, s->r.buf, why, sizeof why) == 0)
        snprintf(why, sizeof why,
                 "the request looks aligned for O_DIRECT (%u/%u from %s), so the "
                 "EINVAL comes from elsewhere",
                 st->j->dio->offset_align, st->j->dio->mem_align, st->j->dio->source);
    snprintf(res->msg, sizeof res->msg, "%s of %u bytes at offset %llu (buffer %p) failed: %s%s%s",
             s->r.op == DISK_READ ? "read" : "write", s->r.len, (unsigned long long)s->r.off,
             s->r.buf, strerror(-err), why[0] ? ". " : "", why);
}

static int run_queue_one(struct run_state *st, uint64_t now)
{
    const struct disk_job *j = st->j;
    assert(st->nfree > 0);
    unsigned idx = st->free_idx[--st->nfree];
    struct run_slot *s = &st->slots[idx];
    uint64_t off = j->region_off + run_next_block(st) * j->bs;
    uint64_t end = j->region_off + j->region_len;
    if (end >= j->file_size && !run_is_write(j))
        end = off + j->bs; /* at the end of the file, EOF makes the read short */
    s->base_off = off;
    s->base_len = (uint32_t)(end - off < j->bs ? end - off : j->bs);
    s->done = 0;
    s->t0 = now;
    s->r.buf = s->base_buf;
    s->r.off = off;
    s->r.len = s->base_len;
    s->r.op = run_is_write(j) ? DISK_WRITE : DISK_READ;
    if (s->r.op == DISK_WRITE && j->verify)
        disk_pattern_fill(s->base_buf, off, s->base_len, j->write_gen);
    int rc = st->e->ops->queue(st->e, &s->r);
    if (rc < 0) {
        st->free_idx[st->nfree++] = idx;
        run_fail(st, s, rc);
        return rc;
    }
    st->inflight++;
    return 0;
}

/* One completed request: short transfer handling, latency, verification. */
static void run_complete(struct run_state *st, struct run_slot *s, uint64_t now)
{
    const struct disk_job *j = st->j;
    struct disk_result *res = st->res;
    if (s->r.res < 0) {
        run_fail(st, s, (int)s->r.res);
        goto release;
    }
    uint32_t got = (uint32_t)s->r.res;
    assert(got <= s->r.len);
    s->done += got;
    if (got < s->r.len) {
        int at_eof = s->r.op == DISK_READ && s->base_off + s->done >= j->file_size;
        if (at_eof) {
            res->eof_short++;
        } else if (got == 0) {
            run_fail(st, s, -EIO); /* the file shrank under us, or the device lied */
            goto release;
        } else {
            s->r.buf = (uint8_t *)s->r.buf + got;
            s->r.off += got;
            s->r.len -= got;
            res->resubmits++;
            int rc = st->e->ops->queue(st->e, &s->r);
            if (rc == 0) return; /* still in flight */
            run_fail(st, s, rc);
            goto release;
        }
    }
    disk_hist_add(&res->hist, now - s->t0);
    res->ios++;
    res->bytes += s->done;
    if (j->verify && s->r.op == DISK_READ) {
        int64_t bad = disk_pattern_check(s->base_buf, s->base_off, s->done, 0);
        if (bad >= 0 && res->verify_bad++ == 0) res->verify_first_off = s->base_off + (uint64_t)bad;
    }
    if (j->written && s->r.op == DISK_WRITE) {
        uint64_t b = (s->base_off - j->region_off) / j->bs;
        __atomic_fetch_or(&j->written[b / 8], (uint8_t)(1u << (b % 8)), __ATOMIC_RELAXED);
    }
release:
    st->inflight--;
    st->free_idx[st->nfree++] = (unsigned)(s - st->slots);
}

/* Submits what is staged, waits for `min` completions, completes what came back. */
static int run_flush(struct run_state *st, struct disk_req **done, unsigned max, unsigned min)
{
    int n = st->e->ops->flush(st->e, done, max, min);
    if (n < 0) {
        snprintf(st->res->msg, sizeof st->res->msg, "%s engine failed: %s", st->j->ops->name,
                 strerror(-n));
        return -1;
    }
    uint64_t now = disk_now_ns();
    for (int i = 0; i < n; i++)
        run_complete(st, (struct run_slot *)done[i], now);
    return 0;
}

static int run_loop(const struct disk_job *j, struct disk_result *res)
{
    struct run_state st = {.j = j, .res = res, .nblocks = disk_run_blocks(j)};
    st.rng = (j->seed + 1) * 0x9E3779B97F4A7C15ull | 1;
    unsigned qd = j->ops->sync ? 1 : j->qd;
    size_t stride = ((size_t)j->bs + j->buf_offset + 4095) & ~(size_t)4095;
    uint8_t *mem = NULL;
    struct iovec *iov = NULL;
    struct disk_req **done = NULL;
    int rc = -1;

    if (st.nblocks == 0) {
        snprintf(res->msg, sizeof res->msg, "region of %llu bytes holds no %u-byte block",
                 (unsigned long long)j->region_len, j->bs);
        return -1;
    }
    /* threads start their sequential runs spread over the file (seed, high half) */
    st.seq_next = j->threads ? (j->seed >> 32) % st.nblocks : 0;
    st.slots = calloc(qd, sizeof *st.slots);
    st.free_idx = calloc(qd, sizeof *st.free_idx);
    iov = calloc(qd, sizeof *iov);
    done = calloc(qd, sizeof *done);
    if (!st.slots || !st.free_idx || !iov || !done ||
        posix_memalign((void **)&mem, 4096, stride * qd) != 0) {
        mem = NULL;
        snprintf(res->msg, sizeof res->msg, "out of memory for %u buffers of %zu bytes", qd,
                 stride);
        goto out;
    }
    disk_pattern_fill(mem, 0, stride * qd, 0);
    for (unsigned i = 0; i < qd; i++) {
        iov[i].iov_base = mem + i * stride;
        iov[i].iov_len = stride;
        st.slots[i].base_buf = mem + i * stride + j->buf_offset;
        st.slots[i].r.slot = i;
        st.free_idx[i] = qd - 1 - i;
    }
    st.nfree = qd;
    struct disk_engine_cfg cfg = {.fd = j->fd, .qd = qd, .flags = j->eng_flags, .bufs = iov};
    int orc = j->ops->open(&st.e, &cfg, res->msg, sizeof res->msg);
    if (orc < 0) {
        if (!res->msg[0])
            snprintf(res->msg, sizeof res->msg, "%s engine: %s", j->ops->name, strerror(-orc));
        st.e = NULL;
        goto out;
    }

    uint64_t t_start = disk_now_ns();
    uint64_t deadline = j->runtime_s > 0 ? t_start + (uint64_t)(j->runtime_s * 1e9) : 0;
    uint64_t issued = 0, since_sync = 0;
    unsigned batch = j->batch > 1 ? j->batch : 1, staged = 0;
    for (;;) {
        uint64_t now = disk_now_ns();
        if ((deadline && now >= deadline) || (j->max_ios && issued >= j->max_ios)) st.stopping = 1;
        int want_sync = j->fsync_every && since_sync >= j->fsync_every;
        while (!st.stopping && !want_sync && st.nfree > 0 &&
               !(j->max_ios && issued >= j->max_ios)) {
            if (run_queue_one(&st, now) < 0) break;
            issued++;
            since_sync++;
            staged++;
            want_sync = j->fsync_every && since_sync >= j->fsync_every;
            if (j->ops->sync) break; /* it completed inside queue(): reap it first */
            if (staged >= batch && st.nfree > 0) {
                /* Hand over every `batch` requests as soon as they are queued
                 * (fio's iodepth_batch_submit), reaping what completed meanwhile
                 * without waiting.  When the queue is full, the submit rides on
                 * the waiting flush below instead: one call for both. */
                staged = 0;
                if (run_flush(&st, done, qd, 0) < 0) goto out;
            }
            now = disk_now_ns();
            /* cache hits complete inside the flush above, so slots may never run
             * out: the clock must be checked here too */
            if (deadline && now >= deadline) st.stopping = 1;
        }
        if (st.inflight == 0) {
            if (want_sync) { /* every write before it has completed */
                if (fsync(j->fd) != 0) {
                    snprintf(res->msg, sizeof res->msg, "fsync: %s", strerror(errno));
                    goto out;
                }
                res->fsyncs++;
                since_sync = 0;
                continue;
            }
            break;
        }
        /* wait for at least `batch` completions (fio's iodepth_batch_complete_min) */
        staged = 0;
        if (run_flush(&st, done, qd, batch < st.inflight ? batch : st.inflight) < 0) goto out;
    }
    res->secs = (double)(disk_now_ns() - t_start) / 1e9;
    rc = (res->err || res->msg[0]) ? -1 : 0;
out:
    if (st.e) {
        res->st = st.e->st;
        st.e->ops->close(st.e); /* waits for anything still in flight */
    }
    free(mem);
    free(iov);
    free(done);
    free(st.slots);
    free(st.free_idx);
    return rc;
}

/* Threads wait at this gate until all are created, so they run side by side for the
 * whole runtime instead of the first ones running alone while the rest start. */
struct run_gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open;
};

struct run_thread {
    pthread_t tid;
    struct disk_job job;
    struct disk_result *res;
    struct run_gate *gate;
    int rc;
};

static void *run_thread_main(void *arg)
{
    struct run_thread *t = arg;
    pthread_mutex_lock(&t->gate->mu);
    while (!t->gate->open)
        pthread_cond_wait(&t->gate->cv, &t->gate->mu);
    pthread_mutex_unlock(&t->gate->mu);
    t->rc = run_loop(&t->job, t->res);
    return NULL;
}

static void run_merge(struct disk_result *into, const struct disk_result *r)
{
    into->ios += r->ios;
    into->bytes += r->bytes;
    into->eof_short += r->eof_short;
    into->resubmits += r->resubmits;
    into->fsyncs += r->fsyncs;
    if (r->verify_bad && into->verify_bad == 0) into->verify_first_off = r->verify_first_off;
    into->verify_bad += r->verify_bad;
    into->st.syscalls += r->st.syscalls;
    into->st.submit_calls += r->st.submit_calls;
    into->st.submit_ns += r->st.submit_ns;
    into->st.wait_calls += r->st.wait_calls;
    disk_hist_merge(&into->hist, &r->hist);
    if (r->secs > into->secs) into->secs = r->secs;
    if (!into->err && !into->msg[0] && (r->err || r->msg[0])) {
        into->err = r->err;
        into->err_off = r->err_off;
        into->err_len = r->err_len;
        into->err_op = r->err_op;
        memcpy(into->msg, r->msg, sizeof into->msg);
    }
}

int disk_run(const struct disk_job *job, struct disk_result *res)
{
    memset(res, 0, sizeof *res);
    assert(job->bs > 0 && job->bs <= DISK_MAX_BS && job->qd > 0 && job->qd <= DISK_MAX_QD);
    assert(job->runtime_s > 0 || job->max_ios > 0);
    if (!job->threads) return run_loop(job, res);

    unsigned n = job->qd;
    struct run_thread *t = calloc(n, sizeof *t);
    struct disk_result *r = calloc(n, sizeof *r);
    if (!t || !r) {
        free(t);
        free(r);
        snprintf(res->msg, sizeof res->msg, "out of memory for %u threads", n);
        return -1;
    }
    unsigned started = 0;
    struct run_gate gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    for (unsigned i = 0; i < n; i++) {
        t[i].gate = &gate;
        t[i].job = *job;
        t[i].job.threads = 1;
        t[i].job.qd = 1;
        t[i].job.seed = job->seed + 0x9E3779B97F4A7C15ull * (i + 1);
        t[i].job.seed =
            (t[i].job.seed & 0xffffffffull) | ((uint64_t)(disk_run_blocks(job) * i / n) << 32);
        if (job->max_ios) /* split the count; the first threads take the remainder */
            t[i].job.max_ios = job->max_ios / n + (i < job->max_ios % n);
        if (job->max_ios && t[i].job.max_ios == 0) continue;
        t[i].res = &r[i];
        if (pthread_create(&t[i].tid, NULL, run_thread_main, &t[i]) != 0) {
            snprintf(res->msg, sizeof res->msg, "pthread_create: thread %u of %u failed", i, n);
            break;
        }
        started = i + 1;
    }
    pthread_mutex_lock(&gate.mu);
    gate.open = 1; /* also after a failed create: the started ones run and finish */
    pthread_cond_broadcast(&gate.cv);
    pthread_mutex_unlock(&gate.mu);
    int rc = res->msg[0] ? -1 : 0;
    for (unsigned i = 0; i < started; i++) {
        if (!t[i].res) continue;
        pthread_join(t[i].tid, NULL);
        run_merge(res, &r[i]);
        if (t[i].rc < 0) rc = -1;
    }
    free(t);
    free(r);
    return rc;
}

int64_t disk_run_verify_region(const struct disk_job *j, uint64_t *first_bad, char *msg,
                               size_t msglen)
{
    uint64_t nb = disk_run_blocks(j);
    int64_t bad = 0;
    uint8_t *buf = NULL;
    if (posix_memalign((void **)&buf, 4096, ((size_t)j->bs + 4095) & ~(size_t)4095) != 0) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    for (uint64_t b = 0; b < nb; b++) {
        uint64_t off = j->region_off + b * j->bs;
        ssize_t n = pread(j->fd, buf, j->bs, (off_t)off);
        if (n < 0) {
            snprintf(msg, msglen, "read back at %llu: %s", (unsigned long long)off,
                     strerror(errno));
            bad = -1;
            break;
        }
        int set = j->written && (j->written[b / 8] >> (b % 8) & 1);
        int64_t at = disk_pattern_check(buf, off, (size_t)n, set ? j->write_gen : 0);
        if (at >= 0 || (size_t)n < j->bs) {
            if (bad++ == 0) *first_bad = off + (uint64_t)(at >= 0 ? at : n);
        }
    }
    free(buf);
    return bad;
}
