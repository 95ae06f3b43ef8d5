/* blog: the broker's append-only command log (stopgap for the shared WAL).  Contract in
 * blog.h. */
#include "labs/11-pubsub/blog.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parsers/resp/resp.h"

struct blog {
    int fd;
    enum blog_fsync policy;
    struct resp_out buf; /* appended, not yet written */
    uint64_t written;    /* LSN handed to the kernel */
    uint64_t records;
    int failed;
    pthread_t syncer;
    int has_syncer;
    atomic_int stop;
    atomic_int dirty; /* written since the last fdatasync */
};

static void *blog_syncer(void *arg)
{
    struct blog *l = arg;
    while (!atomic_load(&l->stop)) {
        for (int i = 0; i < 10 && !atomic_load(&l->stop); i++)
            usleep(100 * 1000);
        if (atomic_exchange(&l->dirty, 0))
            fdatasync(l->fd); /* a failure here shows at the next write/close */
    }
    return NULL;
}

/* Replays the file; returns the length of its valid prefix, or -1 on corruption. */
static long long blog_replay(int fd, blog_replay_fn replay, void *arg, uint64_t *records,
                             char *err, size_t errlen)
{
    struct stat st;
    if (fstat(fd, &st) < 0) {
        snprintf(err, errlen, "stat: %s", strerror(errno));
        return -1;
    }
    size_t size = (size_t)st.st_size;
    char *data = malloc(size ? size : 1);
    if (!data) {
        snprintf(err, errlen, "out of memory reading a %zu-byte log", size);
        return -1;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t n = pread(fd, data + got, size - got, (off_t)got);
        if (n <= 0) {
            snprintf(err, errlen, "read: %s", n < 0 ? strerror(errno) : "short file");
            free(data);
            return -1;
        }
        got += (size_t)n;
    }
    struct resp_parser *p = malloc(sizeof(*p));
    struct resp_limits lim = {.max_bulk = BLOG_MAX_RECORD};
    if (!p) {
        free(data);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    resp_init(p, &lim);
    size_t off = 0;
    long long result = -1;
    for (;;) {
        if (off == size) {
            result = (long long)off;
            break;
        }
        ssize_t r = resp_parse(p, data + off, size - off);
        if (r == 0) { /* torn tail */
            result = (long long)off;
            break;
        }
        if (r < 0 || p->err[0] || data[off] != '*') {
            snprintf(err, errlen, "bad record at offset %zu: %s", off,
                     p->err[0] ? p->err : "not a RESP array");
            break;
        }
        if (p->argc > 0 && replay(arg, p->argc, p->argv, p->argl) < 0) {
            snprintf(err, errlen, "record at offset %zu could not be applied", off);
            break;
        }
        (*records)++;
        off += (size_t)r;
    }
    free(p);
    free(data);
    return result;
}

struct blog *blog_open(const char *dir, enum blog_fsync policy, blog_replay_fn replay, void *arg,
                       char *err, size_t errlen)
{
    char path[4096];
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "mkdir %s: %s", dir, strerror(errno));
        return NULL;
    }
    snprintf(path, sizeof(path), "%s/broker.aof", dir);
    struct blog *l = calloc(1, sizeof(*l));
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    l->policy = policy;
    resp_out_init(&l->buf, (size_t)BLOG_MAX_RECORD * 2);
    l->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (l->fd < 0) {
        snprintf(err, errlen, "open %s: %s", path, strerror(errno));
        goto fail;
    }
    struct stat st;
    fstat(l->fd, &st);
    long long valid = blog_replay(l->fd, replay, arg, &l->records, err, errlen);
    if (valid < 0)
        goto fail;
    if (valid < (long long)st.st_size) {
        fprintf(stderr, "broker: %s: truncated a torn tail of %lld bytes at offset %lld\n", path,
                (long long)st.st_size - valid, valid);
        if (ftruncate(l->fd, (off_t)valid) < 0 || fdatasync(l->fd) < 0) {
            snprintf(err, errlen, "truncate %s: %s", path, strerror(errno));
            goto fail;
        }
    }
    if (lseek(l->fd, 0, SEEK_END) < 0) {
        snprintf(err, errlen, "seek %s: %s", path, strerror(errno));
        goto fail;
    }
    l->written = (uint64_t)valid;
    if (policy == BLOG_FSYNC_EVERYSEC) {
        if (pthread_create(&l->syncer, NULL, blog_syncer, l) != 0) {
            snprintf(err, errlen, "cannot start the fsync thread");
            goto fail;
        }
        l->has_syncer = 1;
    }
    return l;
fail:
    if (l->fd >= 0)
        close(l->fd);
    resp_out_free(&l->buf);
    free(l);
    return NULL;
}

uint64_t blog_append(struct blog *l, int argc, const char *const *argv, const size_t *argl)
{
    size_t before = l->buf.len;
    int bad = resp_add_array(&l->buf, argc) < 0;
    for (int i = 0; i < argc && !bad; i++)
        bad = resp_add_bulk(&l->buf, argv[i], argl[i]) < 0;
    if (bad || l->buf.len - before > BLOG_MAX_RECORD) {
        l->buf.len = before;
        l->buf.overflow = 0;
        return 0;
    }
    l->records++;
    return l->written + l->buf.len;
}

int blog_commit(struct blog *l)
{
    size_t off = 0;
    if (l->failed)
        return -1;
    while (off < l->buf.len) {
        ssize_t n = write(l->fd, l->buf.data + off, l->buf.len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "broker: log write failed: %s; no more writes are acknowledged\n",
                    n < 0 ? strerror(errno) : "wrote nothing");
            l->failed = 1;
            return -1;
        }
        off += (size_t)n;
    }
    if (off) {
        l->written += off;
        l->buf.len = 0;
        if (l->policy == BLOG_FSYNC_ALWAYS && fdatasync(l->fd) < 0) {
            fprintf(stderr, "broker: log fdatasync failed: %s\n", strerror(errno));
            l->failed = 1;
            return -1;
        }
        atomic_store(&l->dirty, 1);
    }
    return 0;
}

uint64_t blog_durable_lsn(const struct blog *l)
{
    return l->written;
}

int blog_failed(const struct blog *l)
{
    return l->failed;
}

uint64_t blog_records(const struct blog *l)
{
    return l->records;
}

void blog_close(struct blog *l)
{
    if (!l)
        return;
    blog_commit(l);
    if (l->has_syncer) {
        atomic_store(&l->stop, 1);
        pthread_join(l->syncer, NULL);
    }
    if (l->policy != BLOG_FSYNC_NO)
        fdatasync(l->fd);
    close(l->fd);
    resp_out_free(&l->buf);
    free(l);
}
