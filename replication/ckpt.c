/* ckpt: checkpoints by fork, then WAL compaction.  Contract in ckpt.h. */
#include "replication/ckpt.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "replication/crc32c.h"

#define CKPT_MAGIC "WLCKPT01"
#define CKPT_HEAD  16u /* magic, LSN */

enum { CK_CHILD, CK_FLUSH, CK_FINISH };

struct ckpt {
    char dir[4000];
    struct wal *w;
    uint64_t lsn, compact_to;
    pid_t pid;
    int state;
    pthread_t th;
    _Atomic int done;
    int rc, renamed;
    char err[512];
};

static void path_of(char *out, size_t n, const char *dir, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

/* ---- writing (the child) ----------------------------------------------------------- */

static int out_flush(struct ckpt_out *o)
{
    size_t done = 0;
    while (done < o->len) {
        ssize_t k = write(o->fd, o->buf + done, o->len - done);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            if (k == 0) errno = EIO;
            return -1;
        }
        done += (size_t)k;
    }
    o->len = 0;
    return 0;
}

int ckpt_put(struct ckpt_out *o, const void *p, size_t n)
{
    const unsigned char *b = p;
    o->crc = crc32c(o->crc, p, n);
    while (n) {
        size_t k = sizeof(o->buf) - o->len < n ? sizeof(o->buf) - o->len : n;
        memcpy(o->buf + o->len, b, k);
        o->len += k;
        b += k;
        n -= k;
        if (o->len == sizeof(o->buf) && out_flush(o) < 0) return -1;
    }
    return 0;
}

/* The child's whole life; the exit status is 0 or the errno of the step that failed. */
static int child(const char *path, uint64_t lsn, ckpt_write_fn write, void *arg, struct ckpt_out *o)
{
    o->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (o->fd < 0) return errno ? errno : EIO;
    o->crc = 0;
    o->len = 0;
    int bad = ckpt_put(o, CKPT_MAGIC, 8) || ckpt_put(o, &lsn, 8) || write(arg, o);
    uint32_t crc = o->crc;
    if (!bad) bad = ckpt_put(o, &crc, 4) || out_flush(o) || fsync(o->fd) < 0;
    int e = bad ? (errno ? errno : EIO) : 0;
    if (close(o->fd) < 0 && !e) e = errno;
    return e;
}

struct ckpt *ckpt_start(const char *dir, struct wal *w, uint64_t lsn, ckpt_write_fn write,
                        void *arg)
{
    struct ckpt *k = calloc(1, sizeof(*k));
    struct ckpt_out *o = malloc(sizeof(*o)); /* the child's copy is its buffer */
    if (!k || !o) {
        free(k);
        free(o);
        errno = ENOMEM;
        return NULL;
    }
    snprintf(k->dir, sizeof(k->dir), "%s", dir);
    k->w = w;
    k->lsn = lsn;
    char tmp[4096];
    path_of(tmp, sizeof(tmp), dir, "snapshot.tmp");
    pid_t parent = getpid();
    k->pid = fork();
    if (k->pid == 0) {
        /* it dies with the parent: an orphan still writing snapshot.tmp would share that
         * file with the next start's checkpoint */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(ECHILD);
        _exit(child(tmp, lsn, write, arg, o));
    }
    int e = errno;
    free(o);
    if (k->pid < 0) {
        free(k);
        errno = e;
        return NULL;
    }
    k->state = CK_CHILD;
    return k;
}

/* ---- finishing (the loop, then a thread) ------------------------------------------- */

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static void *finish_main(void *arg)
{
    struct ckpt *k = arg;
    char tmp[4096], path[4096];
    path_of(tmp, sizeof(tmp), k->dir, "snapshot.tmp");
    path_of(path, sizeof(path), k->dir, "snapshot");
    k->rc = -1;
    if (rename(tmp, path) < 0) {
        snprintf(k->err, sizeof(k->err), "rename %.300s: %s", tmp, strerror(errno));
    } else if (fsync_dir(k->dir) < 0) {
        snprintf(k->err, sizeof(k->err), "fsync %.300s: %s", k->dir, strerror(errno));
    } else {
        k->renamed = 1;
        k->rc = wal_compact(k->w, k->compact_to, k->err, sizeof(k->err));
    }
    atomic_store(&k->done, 1);
    return NULL;
}

/* Ends k: removes snapshot.tmp when it was not renamed; returns rc. */
static int end(struct ckpt *k, int rc)
{
    if (!k->renamed) {
        char tmp[4096];
        path_of(tmp, sizeof(tmp), k->dir, "snapshot.tmp");
        unlink(tmp);
    }
    free(k);
    return rc;
}

int ckpt_poll(struct ckpt *k, uint64_t keep_from, char *msg, size_t n)
{
    char err[256];
    if (k->state == CK_CHILD) {
        int st;
        pid_t r = waitpid(k->pid, &st, WNOHANG);
        if (r == 0) return 0;
        if (r < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
            snprintf(msg, n, "snapshot at LSN %" PRIu64 " not written: %s", k->lsn,
                     r < 0            ? strerror(errno)
                     : !WIFEXITED(st) ? "the child was killed"
                                      : strerror(WEXITSTATUS(st)));
            return end(k, -1);
        }
        k->state = CK_FLUSH;
    }
    if (k->state == CK_FLUSH) {
        if (wal_failed(k->w, err, sizeof(err))) {
            snprintf(msg, n, "snapshot at LSN %" PRIu64 " dropped: %s", k->lsn, err);
            return end(k, -1);
        }
        if (wal_flush_lsn(k->w) < k->lsn) return 0;
        k->compact_to = keep_from < k->lsn ? keep_from : k->lsn;
        if (pthread_create(&k->th, NULL, finish_main, k) != 0) {
            snprintf(msg, n, "snapshot at LSN %" PRIu64 " dropped: no thread", k->lsn);
            return end(k, -1);
        }
        k->state = CK_FINISH;
        return 0;
    }
    if (!atomic_load(&k->done)) return 0;
    pthread_join(k->th, NULL);
    if (k->rc < 0)
        snprintf(msg, n, "checkpoint at LSN %" PRIu64 "%s: %s", k->lsn,
                 k->renamed ? " written, the WAL not compacted" : " not made", k->err);
    else
        snprintf(msg, n,
                 "checkpoint at LSN %" PRIu64 ": %d WAL segments removed (the WAL now starts "
                 "at LSN %" PRIu64 ")",
                 k->lsn, k->rc, wal_oldest_lsn(k->w));
    return end(k, k->rc < 0 ? -1 : 1);
}

void ckpt_abort(struct ckpt *k)
{
    if (!k) return;
    if (k->state == CK_CHILD) {
        kill(k->pid, SIGKILL);
        waitpid(k->pid, NULL, 0);
    } else if (k->state == CK_FINISH) {
        pthread_join(k->th, NULL);
    }
    end(k, 0);
}

/* ---- loading ------------------------------------------------------------------------ */

int ckpt_get(struct ckpt_in *in, void *p, size_t n)
{
    if (n > in->left || (n && fread(p, 1, n, in->f) != n)) return -1;
    in->left -= n;
    in->crc = crc32c(in->crc, p, n);
    return 0;
}

int ckpt_load(const char *dir, ckpt_read_fn read, void *arg, uint64_t *lsn, char *err,
              size_t errlen)
{
    char path[4096], tmp[4096];
    *lsn = 0;
    path_of(tmp, sizeof(tmp), dir, "snapshot.tmp");
    unlink(tmp); /* a checkpoint a crash interrupted: the WAL it would replace is all there */
    path_of(path, sizeof(path), dir, "snapshot");
    struct ckpt_in in = {.f = fopen(path, "rb")};
    if (!in.f) {
        if (errno == ENOENT) return 0;
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    char magic[8];
    uint64_t at = 0;
    uint32_t crc;
    const char *why = NULL;
    in.left = CKPT_HEAD;
    if (fstat(fileno(in.f), &st) < 0 || st.st_size < (off_t)CKPT_HEAD + 4 ||
        ckpt_get(&in, magic, 8) || memcmp(magic, CKPT_MAGIC, 8) || ckpt_get(&in, &at, 8)) {
        why = "not a checkpoint (bad header)";
        goto out;
    }
    in.left = (uint64_t)st.st_size - CKPT_HEAD - 4;
    if (read(arg, &in, at) < 0) {
        why = in.why ? in.why : "its body is not what this program writes";
        goto out;
    }
    uint32_t want = in.crc;
    if (in.left)
        why = "data after the body";
    else if (fread(&crc, 1, 4, in.f) != 4)
        why = "cut short";
    else if (crc != want)
        why = "checksum mismatch";
out:
    fclose(in.f);
    if (why) {
        snprintf(err, errlen,
                 "%s: %s: the WAL before its LSN may be gone, so the state cannot be rebuilt "
                 "without it",
                 path, why);
        return -1;
    }
    *lsn = at;
    return 1;
}
