/* disk engine "libaio": Linux native AIO.  io_submit hands a batch of iocbs to the
 * kernel, io_getevents waits for completions: two system calls per round.  With
 * O_DIRECT the submit returns once the requests are queued at the device.  Without
 * O_DIRECT most filesystems do the read inside io_submit (it is asynchronous only in
 * name), which is why the time spent inside io_submit is measured here. */
#include "io/disk/disk.h"

#include <assert.h>
#include <errno.h>
#include <libaio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct aio_engine {
    struct disk_engine base;
    io_context_t ctx;
    int fd;
    unsigned qd, nstaged, nfailed, inflight;
    struct iocb *iocbs;       /* iocbs[slot] */
    struct iocb **staged;     /* waiting for io_submit */
    struct io_event *events;  /* io_getevents output */
    struct disk_req **failed; /* refused by io_submit: completed with an error */
};

static void aio_close(struct disk_engine *e)
{
    struct aio_engine *a = (struct aio_engine *)e;
    if (a->ctx) io_destroy(a->ctx);
    free(a->iocbs);
    free(a->staged);
    free(a->events);
    free(a->failed);
    free(a);
}

static int aio_open(struct disk_engine **out, const struct disk_engine_cfg *cfg, char *err,
                    size_t errlen)
{
    struct aio_engine *a = calloc(1, sizeof *a);
    if (!a) return -ENOMEM;
    a->base.ops = &disk_engine_libaio;
    a->fd = cfg->fd;
    a->qd = cfg->qd;
    a->iocbs = calloc(cfg->qd, sizeof *a->iocbs);
    a->staged = calloc(cfg->qd, sizeof *a->staged);
    a->events = calloc(cfg->qd, sizeof *a->events);
    a->failed = calloc(cfg->qd, sizeof *a->failed);
    if (!a->iocbs || !a->staged || !a->events || !a->failed) {
        aio_close(&a->base);
        return -ENOMEM;
    }
    int rc = io_setup((int)cfg->qd, &a->ctx); /* libaio returns -errno */
    if (rc < 0) {
        snprintf(err, errlen, "io_setup(%u): %s%s", cfg->qd, strerror(-rc),
                 rc == -EAGAIN ? " (raise /proc/sys/fs/aio-max-nr)" : "");
        a->ctx = 0;
        aio_close(&a->base);
        return rc;
    }
    *out = &a->base;
    return 0;
}

static int aio_queue(struct disk_engine *e, struct disk_req *r)
{
    struct aio_engine *a = (struct aio_engine *)e;
    assert(r->slot < a->qd && a->nstaged < a->qd);
    struct iocb *cb = &a->iocbs[r->slot];
    if (r->op == DISK_READ)
        io_prep_pread(cb, a->fd, r->buf, r->len, (long long)r->off);
    else
        io_prep_pwrite(cb, a->fd, r->buf, r->len, (long long)r->off);
    cb->data = r;
    a->staged[a->nstaged++] = cb;
    return 0;
}

static int aio_flush(struct disk_engine *e, struct disk_req **done, unsigned max, unsigned min)
{
    struct aio_engine *a = (struct aio_engine *)e;
    unsigned n = 0;
    while (a->nstaged > 0) {
        uint64_t t0 = disk_now_ns();
        int rc = io_submit(a->ctx, (long)a->nstaged, a->staged);
        e->st.submit_ns += disk_now_ns() - t0;
        e->st.syscalls++;
        e->st.submit_calls++;
        if (rc == -EAGAIN && a->inflight > 0)
            break; /* kernel queue full: wait for completions, retry next round */
        if (rc == -EAGAIN) return rc;
        if (rc < 0) {
            /* The first iocb was refused (e.g. -EINVAL for a misaligned
             * O_DIRECT request): it completes now with that error. */
            struct disk_req *r = a->staged[0]->data;
            r->res = rc;
            a->failed[a->nfailed++] = r;
            rc = 1;
        } else
            a->inflight += (unsigned)rc;
        memmove(a->staged, a->staged + rc, (a->nstaged - (unsigned)rc) * sizeof *a->staged);
        a->nstaged -= (unsigned)rc;
    }
    while (a->nfailed > 0 && n < max) {
        done[n++] = a->failed[--a->nfailed];
        if (min > 0) min--;
    }
    if (min > a->inflight) min = a->inflight; /* some are still staged after -EAGAIN */
    if (min == 0 || n == max) return (int)n;
    int got;
    do {
        got = io_getevents(a->ctx, (long)min, (long)(max - n), a->events, NULL);
        e->st.syscalls++;
        e->st.wait_calls++;
    } while (got == -EINTR);
    if (got < 0) return got;
    a->inflight -= (unsigned)got;
    for (int i = 0; i < got; i++) {
        struct disk_req *r = a->events[i].data;
        r->res = (int64_t)(long)a->events[i].res; /* negative errno as unsigned */
        done[n++] = r;
    }
    return (int)n;
}

const struct disk_engine_ops disk_engine_libaio = {
    .name = "libaio",
    .sync = 0,
    .flags = 0,
    .open = aio_open,
    .queue = aio_queue,
    .flush = aio_flush,
    .close = aio_close,
};
