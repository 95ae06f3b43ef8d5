/* kv_snap: checkpoints, so the WAL does not grow for ever.  A checkpoint is a snapshot of
 * the map at an LSN, after which the WAL before that LSN can go (PostgreSQL's
 * CHECKPOINT; the fork is Redis's BGSAVE).
 *
 * The steps, each one crash-safe:
 *   1. fork().  The child has the map as it was at that instant (copy-on-write pages)
 *      and writes it to DIR/snapshot.tmp, fsyncs it and exits; the loop goes on serving.
 *      The map then held exactly the records below L = applied_end (a write is applied
 *      as it is appended; a replica applies what it flushed).
 *   2. The loop waits until the child exited 0 and the WAL's flush LSN reached L: a
 *      snapshot must never hold a write the log could still lose.
 *   3. A thread (fsyncs and unlinks stay off the loop) renames snapshot.tmp to snapshot,
 *      fsyncs the directory, then calls wal_compact() up to L, or up to the oldest
 *      position a streaming replica has flushed, whichever is lower.
 * A crash before the rename leaves the old snapshot and all the WAL it needs (the .tmp
 * is removed at the next start); after it, the new snapshot, and the WAL from L on is
 * still there (the compaction only starts once the rename is durable).  Start: the
 * snapshot is loaded, then WAL replay skips records below its LSN.
 *
 * The file: "KVSNAP01", the LSN and the key count (8 bytes each, little-endian as the
 * machine), then per key its length and the value's (4 bytes each), the key, the value;
 * last the CRC-32C of everything before it (4 bytes).  A snapshot that does not check
 * stops the start: the WAL below its LSN may be gone, so there is no way around it. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "labs/05-wal-replication/kv_server.h"
#include "replication/crc32c.h"

#define SNAP_MAGIC    "KVSNAP01"
#define SNAP_RETRY_MS 1000

enum { CK_CHILD, CK_FLUSH, CK_FINISH };

struct kv_ckpt {
    int state;
    pid_t pid;
    uint64_t lsn, compact_to, keys;
    pthread_t th;
    _Atomic int done;
    int rc, renamed;
    char err[512];
    struct kv_server *s;
};

static void snap_path(char *out, size_t n, const char *dir, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

/* ---- writing (the child) ----------------------------------------------------------- */

struct snap_out {
    int fd;
    uint32_t crc;
    size_t len;
    unsigned char buf[1 << 16];
};

static int out_flush(struct snap_out *o)
{
    size_t done = 0;
    while (done < o->len) {
        ssize_t k = write(o->fd, o->buf + done, o->len - done);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        done += (size_t)k;
    }
    o->len = 0;
    return 0;
}

static int out_put(struct snap_out *o, const void *p, size_t n)
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

/* In the child: no allocation, no lock, only the map as the fork left it (o was
 * allocated before the fork).  The exit status is 0, or the errno of the step that
 * failed. */
static int snap_write(const struct kv_server *s, struct snap_out *o, const char *path, uint64_t lsn)
{
    o->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (o->fd < 0) return errno ? errno : EIO;
    o->crc = 0;
    o->len = 0;
    uint64_t n = s->map.n;
    int bad = out_put(o, SNAP_MAGIC, 8) || out_put(o, &lsn, 8) || out_put(o, &n, 8);
    struct dict_iter it;
    for (struct dict_entry *e = dict_first(&s->map, &it); e && !bad; e = dict_next(&s->map, &it)) {
        const struct kv_value *v = e->val;
        uint32_t kl = (uint32_t)e->klen, vl = (uint32_t)v->len;
        bad = out_put(o, &kl, 4) || out_put(o, &vl, 4) || out_put(o, e->key, e->klen) ||
              out_put(o, v->v, v->len);
    }
    uint32_t crc = o->crc;
    if (!bad) bad = out_put(o, &crc, 4) || out_flush(o) || fsync(o->fd) < 0;
    int e = bad ? (errno ? errno : EIO) : 0;
    if (close(o->fd) < 0 && !e) e = errno;
    return e;
}

/* ---- loading ------------------------------------------------------------------------ */

struct snap_in {
    FILE *f;
    uint32_t crc;
};

static int in_get(struct snap_in *in, void *p, size_t n)
{
    if (n && fread(p, 1, n, in->f) != n) return -1;
    in->crc = crc32c(in->crc, p, n);
    return 0;
}

int kv_snap_load(struct kv_server *s, char *err, size_t errlen)
{
    char path[4096], tmp[4096];
    snap_path(tmp, sizeof(tmp), s->dir, "snapshot.tmp");
    if (unlink(tmp) == 0) /* a checkpoint a crash interrupted: its WAL is all still there */
        fprintf(stderr, "kv-server: removed %s, left by an interrupted checkpoint\n", tmp);
    snap_path(path, sizeof(path), s->dir, "snapshot");
    struct snap_in in = {.f = fopen(path, "rb")};
    if (!in.f) {
        if (errno == ENOENT) return 0;
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    char magic[8];
    uint64_t lsn, n, i = 0;
    char *buf = NULL;
    size_t cap = 0;
    const char *why = NULL;
    if (in_get(&in, magic, 8) || memcmp(magic, SNAP_MAGIC, 8) || in_get(&in, &lsn, 8) ||
        in_get(&in, &n, 8)) {
        why = "not a kv-server snapshot (bad header)";
        goto out;
    }
    for (; i < n; i++) {
        uint32_t kl, vl;
        if (in_get(&in, &kl, 4) || in_get(&in, &vl, 4)) break;
        if ((size_t)kl + vl > WAL_MAX_PAYLOAD) {
            why = "an entry larger than any WAL record";
            goto out;
        }
        if ((size_t)kl + vl > cap) {
            cap = (size_t)kl + vl;
            char *b = realloc(buf, cap ? cap : 1);
            if (!b) {
                why = "out of memory";
                goto out;
            }
            buf = b;
        }
        if (in_get(&in, buf, (size_t)kl + vl)) break;
        if (kv_put(s, buf, kl, buf + kl, vl, lsn) < 0) {
            why = "out of memory";
            goto out;
        }
    }
    uint32_t want = in.crc, crc;
    if (i < n || fread(&crc, 1, 4, in.f) != 4)
        why = "cut short";
    else if (crc != want)
        why = "checksum mismatch";
    else if (fgetc(in.f) != EOF)
        why = "data after the checksum";
out:
    free(buf);
    fclose(in.f);
    if (why) {
        snprintf(err, errlen,
                 "%s: %s (after %" PRIu64 " keys): the WAL before its LSN may be gone, so "
                 "the store cannot be rebuilt without it; move it aside only with a copy of "
                 "the whole WAL",
                 path, why, i);
        return -1;
    }
    s->snap_lsn = lsn;
    s->applied_end = lsn;
    fprintf(stderr, "kv-server: loaded %s: %" PRIu64 " keys at LSN %" PRIu64 "\n", path, n, lsn);
    return 0;
}

/* ---- the checkpoint's steps on the loop ---------------------------------------------- */

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
    struct kv_ckpt *k = arg;
    struct kv_server *s = k->s;
    char tmp[4096], path[4096];
    snap_path(tmp, sizeof(tmp), s->dir, "snapshot.tmp");
    snap_path(path, sizeof(path), s->dir, "snapshot");
    k->rc = -1;
    if (rename(tmp, path) < 0) {
        snprintf(k->err, sizeof(k->err), "rename %.300s: %s", tmp, strerror(errno));
    } else if (fsync_dir(s->dir) < 0) {
        snprintf(k->err, sizeof(k->err), "fsync %.300s: %s", s->dir, strerror(errno));
    } else {
        k->renamed = 1;
        k->rc = wal_compact(s->wal, k->compact_to, k->err, sizeof(k->err));
    }
    atomic_store(&k->done, 1);
    return NULL;
}

static void ckpt_start(struct kv_server *s)
{
    char tmp[4096];
    snap_path(tmp, sizeof(tmp), s->dir, "snapshot.tmp");
    struct kv_ckpt *k = calloc(1, sizeof(*k));
    if (!k) return;
    struct snap_out *o = malloc(sizeof(*o));
    if (!o) {
        free(k);
        return;
    }
    k->s = s;
    k->lsn = s->applied_end;
    k->keys = s->map.n;
    pid_t parent = getpid();
    k->pid = fork();
    if (k->pid == 0) {
        /* it dies with the server: an orphan still writing snapshot.tmp would share that
         * file with the next server's checkpoint */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(ECHILD);
        _exit(snap_write(s, o, tmp, k->lsn));
    }
    int e = errno;
    free(o); /* the child has its own copy */
    if (k->pid < 0) {
        fprintf(stderr, "kv-server: checkpoint: fork: %s\n", strerror(e));
        free(k);
        s->ckpt_retry_ms = ev_now_ms() + SNAP_RETRY_MS;
        return;
    }
    k->state = CK_CHILD;
    s->ckpt = k;
}

static void ckpt_end(struct kv_server *s, const char *why)
{
    struct kv_ckpt *k = s->ckpt;
    if (why) {
        char tmp[4096];
        snap_path(tmp, sizeof(tmp), s->dir, "snapshot.tmp");
        unlink(tmp);
        fprintf(stderr, "kv-server: checkpoint at LSN %" PRIu64 " abandoned: %s\n", k->lsn, why);
        s->ckpt_retry_ms = ev_now_ms() + SNAP_RETRY_MS;
    }
    free(k);
    s->ckpt = NULL;
}

void kv_ckpt_tick(struct kv_server *s)
{
    struct kv_ckpt *k = s->ckpt;
    char err[256];
    if (!k) {
        if (s->ckpt_every && s->applied_end - s->snap_lsn >= s->ckpt_every &&
            ev_now_ms() >= s->ckpt_retry_ms && !wal_failed(s->wal, err, sizeof(err)))
            ckpt_start(s);
        return;
    }
    if (k->state == CK_CHILD) {
        int st;
        pid_t r = waitpid(k->pid, &st, WNOHANG);
        if (r == 0) return;
        if (r < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
            snprintf(err, sizeof(err), "writing the snapshot: %s",
                     r < 0            ? strerror(errno)
                     : !WIFEXITED(st) ? "the child was killed"
                                      : strerror(WEXITSTATUS(st)));
            ckpt_end(s, err);
            return;
        }
        k->state = CK_FLUSH;
    }
    if (k->state == CK_FLUSH) {
        if (wal_failed(s->wal, err, sizeof(err))) {
            ckpt_end(s, err);
            return;
        }
        if (wal_flush_lsn(s->wal) < k->lsn) return;
        uint64_t rep = walsnd_min(s->snd, WALSND_FLUSH);
        k->compact_to = rep < k->lsn ? rep : k->lsn;
        if (pthread_create(&k->th, NULL, finish_main, k) != 0) {
            ckpt_end(s, "cannot start a thread");
            return;
        }
        k->state = CK_FINISH;
        return;
    }
    if (!atomic_load(&k->done)) return;
    pthread_join(k->th, NULL);
    if (k->renamed) s->snap_lsn = k->lsn;
    if (k->rc < 0 && !k->renamed) {
        ckpt_end(s, k->err);
        return;
    }
    if (k->rc < 0) { /* the snapshot is in place; only the compaction failed */
        fprintf(stderr, "kv-server: checkpoint at LSN %" PRIu64 ": %s\n", k->lsn, k->err);
        s->ckpt_retry_ms = ev_now_ms() + SNAP_RETRY_MS;
    } else {
        fprintf(stderr,
                "kv-server: checkpoint at LSN %" PRIu64 ": %" PRIu64 " keys; %d WAL segments "
                "removed (the WAL now starts at LSN %" PRIu64 ")\n",
                k->lsn, k->keys, k->rc, wal_oldest_lsn(s->wal));
    }
    ckpt_end(s, NULL);
}

void kv_ckpt_stop(struct kv_server *s)
{
    struct kv_ckpt *k = s->ckpt;
    if (!k) return;
    if (k->state == CK_CHILD) {
        kill(k->pid, SIGKILL);
        waitpid(k->pid, NULL, 0);
        ckpt_end(s, "the server is stopping");
    } else if (k->state == CK_FINISH) {
        pthread_join(k->th, NULL);
        ckpt_end(s, NULL);
    } else {
        ckpt_end(s, "the server is stopping");
    }
}
