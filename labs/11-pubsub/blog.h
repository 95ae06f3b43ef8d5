/* blog: the broker's log of state changes (stream entries, groups, deliveries, acks) on
 * the shared write-ahead log (replication/wal.h), replayed at start so a restart loses
 * no acknowledged entry.
 *
 * Each record (type BLOG_T_COMMAND) is one command as a RESP array, the form Redis's AOF
 * uses: XADD with its concrete ID, XGROUP, XACK, DEL, FLUSHALL, and every delivery as
 * XCLAIM key group consumer 0 id TIME t RETRYCOUNT n FORCE JUSTID LASTID last, so a
 * replay through the command table rebuilds the same streams and pending lists.
 *
 * Contract
 * - blog_open(cfg) opens (creates, with segments of cfg->segsize bytes; 0: the WAL's
 *   default) the WAL in cfg->dir, replays every record from cfg->skip_below on (the
 *   records below it are in the checkpoint loaded before) in order through
 *   cfg->replay(cfg->arg, argc, argv, argl) (a torn tail is cut by the WAL and reported
 *   on stderr), and returns NULL with a message in err when the log cannot be opened, is
 *   damaged (unless cfg->truncate_damaged: then the WAL cuts it at the damage and says
 *   what it cut), or a record is not a command.  cfg->wake(cfg->wake_arg) is called ON
 *   THE WAL WRITER THREAD when records became written or durable: use it to wake the
 *   loop.  blog_wal() is the WAL itself (for checkpoints: bsnap.c).
 * - blog_append() puts one record in the WAL buffer and returns its commit LSN (> 0), or
 *   0 when it cannot be logged (over BLOG_MAX_RECORD, buffer full, log failed).
 * - blog_room(l, nrec, payload): 0 when nrec records of at most `payload` bytes each
 *   can be appended now, else -1 with errno (ENOSPC: a full disk; ENOBUFS; EIO): the
 *   broker applies a command, then logs it, so it asks first and refuses the command
 *   before changing anything.  blog_cmd_bytes(argc, argl): a command's record size.
 * - blog_commit() asks the writer to write and fdatasync everything appended (group
 *   commit: one flush for all the commands of one event-loop round).
 * - blog_durable_lsn(): replies to commands whose records end at or below it may leave.
 *   BLOG_ALWAYS: fdatasync returned (nothing acknowledged is lost, even on power loss).
 *   BLOG_EVERYSEC: handed to the kernel (nothing acknowledged is lost on kill -9, as with
 *   Redis's appendfsync everysec; the fdatasync follows at once, so a power loss can lose
 *   one group commit rather than Redis's one second).  Which replies wait for which
 *   records is the broker's choice (xcmd_log: entries, acks, groups; not deliveries).
 * - A failed write or fdatasync is final: blog_failed() != 0; the broker then refuses
 *   writes rather than acknowledging what it cannot keep.
 */
#ifndef WIRELAB_LABS_PUBSUB_BLOG_H
#define WIRELAB_LABS_PUBSUB_BLOG_H

#include <stddef.h>
#include <stdint.h>

#include "replication/wal.h"

#define BLOG_T_COMMAND  1
#define BLOG_MAX_RECORD WAL_MAX_PAYLOAD

enum blog_fsync { BLOG_EVERYSEC, BLOG_ALWAYS };

typedef int (*blog_replay_fn)(void *arg, int argc, const char **argv, const size_t *argl);

struct blog;
struct blog_config {
    const char *dir;
    enum blog_fsync policy;
    size_t segsize;
    int truncate_damaged;
    uint64_t skip_below;
    blog_replay_fn replay;
    void *arg;
    void (*wake)(void *);
    void *wake_arg;
};

struct blog *blog_open(const struct blog_config *cfg, char *err, size_t errlen);
struct wal *blog_wal(struct blog *l);
void blog_close(struct blog *l);
uint64_t blog_append(struct blog *l, int argc, const char *const *argv, const size_t *argl);
int blog_room(struct blog *l, size_t nrec, size_t payload);
size_t blog_cmd_bytes(int argc, const size_t *argl);
void blog_commit(struct blog *l);
uint64_t blog_durable_lsn(const struct blog *l);
int blog_failed(const struct blog *l);
uint64_t blog_records(const struct blog *l); /* replayed + appended, for the log line */

#endif
