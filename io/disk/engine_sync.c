/* disk engine "pread": blocking pread/pwrite, one system call per I/O.  The call
 * returns when the data is there, so the caller waits inside the kernel and the
 * queue depth is 1 whatever is asked; the threads engine runs several of these. */
#include "io/disk/disk.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct sync_engine {
    struct disk_engine base;
    int fd;
    unsigned qd, ndone;
    struct disk_req **done; /* completed, not yet returned by flush */
};

static int sync_open(struct disk_engine **out, const struct disk_engine_cfg *cfg, char *err,
                     size_t errlen)
{
    (void)err;
    (void)errlen;
    struct sync_engine *s = calloc(1, sizeof *s);
    if (!s) return -ENOMEM;
    s->done = calloc(cfg->qd, sizeof *s->done);
    if (!s->done) {
        free(s);
        return -ENOMEM;
    }
    s->base.ops = &disk_engine_pread;
    s->fd = cfg->fd;
    s->qd = cfg->qd;
    *out = &s->base;
    return 0;
}

static int sync_queue(struct disk_engine *e, struct disk_req *r)
{
    struct sync_engine *s = (struct sync_engine *)e;
    assert(s->ndone < s->qd);
    uint64_t t0 = disk_now_ns();
    ssize_t n = r->op == DISK_READ ? pread(s->fd, r->buf, r->len, (off_t)r->off)
                                   : pwrite(s->fd, r->buf, r->len, (off_t)r->off);
    r->res = n < 0 ? -errno : n;
    e->st.submit_ns += disk_now_ns() - t0;
    e->st.syscalls++;
    e->st.submit_calls++;
    s->done[s->ndone++] = r;
    return 0;
}

static int sync_flush(struct disk_engine *e, struct disk_req **done, unsigned max, unsigned min)
{
    struct sync_engine *s = (struct sync_engine *)e;
    assert(min <= s->ndone); /* everything queued is already complete */
    unsigned n = s->ndone < max ? s->ndone : max;
    for (unsigned i = 0; i < n; i++)
        done[i] = s->done[i];
    for (unsigned i = n; i < s->ndone; i++)
        s->done[i - n] = s->done[i];
    s->ndone -= n;
    return (int)n;
}

static void sync_close(struct disk_engine *e)
{
    struct sync_engine *s = (struct sync_engine *)e;
    free(s->done);
    free(s);
}

const struct disk_engine_ops disk_engine_pread = {
    .name = "pread",
    .sync = 1,
    .flags = 0,
    .open = sync_open,
    .queue = sync_queue,
    .flush = sync_flush,
    .close = sync_close,
};
