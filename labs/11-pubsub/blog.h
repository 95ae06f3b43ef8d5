/* blog: the broker's log of state changes (stream entries, groups, deliveries, acks),
 * replayed at start so a restart loses no acknowledged entry.
 *
 * STOPGAP (see NOTES.md): the shared WAL (replication/) was not committed when the
 * broker needed it, so this is a Redis-AOF-style file of its own: DIR/broker.aof holds
 * the logged commands as RESP arrays, exactly what a replay sends through the command
 * table.  The interface is shaped for the WAL (append returns an LSN, commit asks for
 * durability, durable_lsn says what may be acknowledged) so the backend can be swapped
 * without touching the broker.
 *
 * Contract
 * - blog_open(dir, policy, replay, arg) creates DIR if needed, replays every complete
 *   record in order through replay(arg, argc, argv, argl), truncates a torn tail (an
 *   incomplete last record: the write a crash interrupted) and says so on stderr, and
 *   refuses to open (NULL, message in err) when a record in the middle is not RESP.
 * - blog_append() buffers one record in memory and returns its LSN (bytes of log up to
 *   and including it); 0 when the record is over BLOG_MAX_RECORD or memory ran out.
 * - blog_commit() hands everything buffered to the kernel (write), and with policy
 *   ALWAYS fdatasyncs it before returning; EVERYSEC fdatasyncs from a background thread
 *   once a second (Redis's appendfsync everysec), NO leaves it to the kernel.  After
 *   blog_commit() returns, blog_durable_lsn() covers every appended record: the broker
 *   acknowledges only then, so kill -9 loses nothing acknowledged (power loss may lose
 *   the last second with EVERYSEC, nothing with ALWAYS).
 * - A failed write or fsync is final: blog_failed() != 0 and the broker stops
 *   acknowledging writes (it replies errors) instead of pretending.
 */
#ifndef WIRELAB_LABS_PUBSUB_BLOG_H
#define WIRELAB_LABS_PUBSUB_BLOG_H

#include <stddef.h>
#include <stdint.h>

#define BLOG_MAX_RECORD (64u << 20)

enum blog_fsync { BLOG_FSYNC_NO, BLOG_FSYNC_EVERYSEC, BLOG_FSYNC_ALWAYS };

typedef int (*blog_replay_fn)(void *arg, int argc, const char **argv, const size_t *argl);

struct blog;
struct blog *blog_open(const char *dir, enum blog_fsync policy, blog_replay_fn replay, void *arg,
                       char *err, size_t errlen);
void blog_close(struct blog *l);
uint64_t blog_append(struct blog *l, int argc, const char *const *argv, const size_t *argl);
int blog_commit(struct blog *l);
uint64_t blog_durable_lsn(const struct blog *l);
int blog_failed(const struct blog *l);
uint64_t blog_records(const struct blog *l); /* replayed + appended, for the log line */

#endif
