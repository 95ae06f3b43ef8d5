/* disk engine "uring": io_uring.  Requests are written into the shared submission
 * ring without a system call; one io_uring_enter both submits everything staged and
 * waits for completions, which are then read from the completion ring in user space.
 * Extras: registered files (IOSQE_FIXED_FILE: no fd lookup per I/O), registered
 * buffers (READ_FIXED: no page pinning per I/O) and SQPOLL (a kernel thread polls the
 * submission ring, so submitting needs no system call while it is awake). */
#include "io/disk/disk.h"

#include <assert.h>
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define URING_CQE_BATCH 256

struct uring_engine {
    struct disk_engine base;
    struct io_uring ring;
    int fd; /* the file descriptor, or 0 = its index in the registered table */
    unsigned qd, flags, nstaged, inflight;
};

static int uring_open(struct disk_engine **out, const struct disk_engine_cfg *cfg, char *err,
                      size_t errlen)
{
    struct uring_engine *u = calloc(1, sizeof *u);
    if (!u) return -ENOMEM;
    u->base.ops = &disk_engine_uring;
    u->qd = cfg->qd;
    u->flags = cfg->flags;
    u->fd = cfg->fd;
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    if (cfg->flags & DISK_F_SQPOLL) {
        p.flags |= IORING_SETUP_SQPOLL;
        p.sq_thread_idle = 1000; /* ms the poller spins before it sleeps */
    }
    int rc = io_uring_queue_init_params(cfg->qd, &u->ring, &p);
    if (rc < 0) {
        snprintf(err, errlen, "io_uring_queue_init(%u%s): %s%s", cfg->qd,
                 (cfg->flags & DISK_F_SQPOLL) ? ", SQPOLL" : "", strerror(-rc),
                 rc == -ENOSYS  ? " (kernel without io_uring)"
                 : rc == -EPERM ? " (io_uring disabled: sysctl kernel.io_uring_disabled?)"
                                : "");
        free(u);
        return rc;
    }
    if (cfg->flags & DISK_F_FIXED_FILES) {
        rc = io_uring_register_files(&u->ring, &cfg->fd, 1);
        if (rc < 0) {
            snprintf(err, errlen, "io_uring_register_files: %s", strerror(-rc));
            goto fail;
        }
        u->fd = 0;
    }
    if (cfg->flags & DISK_F_FIXED_BUFFERS) {
        rc = io_uring_register_buffers(&u->ring, cfg->bufs, cfg->qd);
        if (rc < 0) {
            snprintf(err, errlen, "io_uring_register_buffers(%u): %s%s", cfg->qd, strerror(-rc),
                     rc == -ENOMEM ? " (RLIMIT_MEMLOCK too low for pinned buffers?)" : "");
            goto fail;
        }
    }
    *out = &u->base;
    return 0;
fail:
    io_uring_queue_exit(&u->ring);
    free(u);
    return rc;
}

static int uring_queue(struct disk_engine *e, struct disk_req *r)
{
    struct uring_engine *u = (struct uring_engine *)e;
    assert(u->nstaged + u->inflight < u->qd);
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    if (!sqe) return -EBUSY; /* cannot happen: the ring has >= qd entries */
    if (u->flags & DISK_F_FIXED_BUFFERS) {
        if (r->op == DISK_READ)
            io_uring_prep_read_fixed(sqe, u->fd, r->buf, r->len, r->off, (int)r->slot);
        else
            io_uring_prep_write_fixed(sqe, u->fd, r->buf, r->len, r->off, (int)r->slot);
    } else if (r->op == DISK_READ) {
        io_uring_prep_read(sqe, u->fd, r->buf, r->len, r->off);
    } else {
        io_uring_prep_write(sqe, u->fd, r->buf, r->len, r->off);
    }
    if (u->flags & DISK_F_FIXED_FILES) sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data(sqe, r);
    u->nstaged++;
    return 0;
}

static int uring_flush(struct disk_engine *e, struct disk_req **done, unsigned max, unsigned min)
{
    struct uring_engine *u = (struct uring_engine *)e;
    unsigned ready = io_uring_cq_ready(&u->ring);
    unsigned wait = ready >= min ? 0 : min;
    if (u->nstaged > 0 || wait > 0) {
        /* liburing enters the kernel when it has something to submit (without
         * SQPOLL) or to wait for; with SQPOLL, submitting alone enters only to
         * wake a sleeping poller thread. */
        int enters =
            wait > 0 ||
            (u->nstaged > 0 && (!(u->flags & DISK_F_SQPOLL) ||
                                (IO_URING_READ_ONCE(*u->ring.sq.kflags) & IORING_SQ_NEED_WAKEUP)));
        uint64_t t0 = disk_now_ns();
        int rc;
        do
            rc = io_uring_submit_and_wait(&u->ring, wait);
        while (rc == -EINTR);
        if (u->nstaged > 0) e->st.submit_ns += disk_now_ns() - t0; /* includes the wait, if any */
        e->st.syscalls += (uint64_t)enters;
        e->st.submit_calls += (uint64_t)(enters && u->nstaged > 0);
        e->st.wait_calls += (uint64_t)(enters && u->nstaged == 0);
        if (rc < 0) return rc;
        u->inflight += u->nstaged; /* the ring never refuses what it had room for */
        u->nstaged = 0;
    }
    struct io_uring_cqe *cqes[URING_CQE_BATCH];
    unsigned n = 0, k;
    do { /* reading the completion ring is plain memory access, no system call */
        unsigned want = max - n < URING_CQE_BATCH ? max - n : URING_CQE_BATCH;
        k = io_uring_peek_batch_cqe(&u->ring, cqes, want);
        for (unsigned i = 0; i < k; i++) {
            struct disk_req *r = io_uring_cqe_get_data(cqes[i]);
            r->res = cqes[i]->res;
            done[n++] = r;
        }
        io_uring_cq_advance(&u->ring, k);
    } while (k > 0 && n < max);
    assert(n <= u->inflight);
    u->inflight -= n;
    return (int)n;
}

static void uring_close(struct disk_engine *e)
{
    struct uring_engine *u = (struct uring_engine *)e;
    io_uring_queue_exit(&u->ring);
    free(u);
}

const struct disk_engine_ops disk_engine_uring = {
    .name = "uring",
    .sync = 0,
    .flags = DISK_F_FIXED_FILES | DISK_F_FIXED_BUFFERS | DISK_F_SQPOLL,
    .open = uring_open,
    .queue = uring_queue,
    .flush = uring_flush,
    .close = uring_close,
};
