/* acceptor: the accept loop every event-loop server needs, with the out-of-descriptors
 * pause, written once.
 *
 * Contract
 * - acceptor_start(loop, lfd, name, cb, arg) watches the non-blocking listening socket
 *   lfd on loop.  Each round it accepts up to ACCEPTOR_BATCH connections and hands each
 *   to cb(loop, fd, arg): fd is non-blocking, close-on-exec, with TCP_NODELAY set, and
 *   belongs to cb from then on (cb closes it when it cannot take it).
 * - Out of descriptors (EMFILE/ENFILE): a level-triggered listener would fire again at
 *   once and spin a core, so the acceptor stops watching lfd for ACCEPTOR_PAUSE_MS and
 *   lets pending clients wait in the kernel's backlog.  It logs the first pause and then
 *   at most one line every ACCEPTOR_LOG_MS with the number of pauses since the last line
 *   ("NAME: accept: Too many open files: pausing accepts (N times in 10 s)").
 * - That log is also for accept loops that are not an acceptor (a blocking accept
 *   thread, an io_uring multishot accept): acceptor_log_pause(&log, name, err, now_ms)
 *   counts one pause and writes a line when one is due; it returns 1 when it wrote.
 *   A zeroed struct acceptor_log starts it.
 * - acceptor_pause()/acceptor_resume() stop and restart accepting on the program's own
 *   terms (e.g. at a client limit); a pause for descriptors ends on its own timer unless
 *   the program paused too.  acceptor_stop() unwatches, cancels the timer and frees; it
 *   does not close lfd.
 * - Errors: acceptor_start returns NULL with errno set (ev_watch failed, no memory).
 *   accept errors other than EAGAIN/EINTR/ECONNABORTED/EMFILE/ENFILE are logged to
 *   stderr with the name and the loop goes on.
 */
#ifndef WIRELAB_IO_ACCEPTOR_H
#define WIRELAB_IO_ACCEPTOR_H

#include "io/ev.h"

#include <stdint.h>

#define ACCEPTOR_BATCH    64
#define ACCEPTOR_PAUSE_MS 100
#define ACCEPTOR_LOG_MS   10000

struct acceptor_log {
    unsigned long pauses;   /* in all */
    unsigned long unlogged; /* since the last line */
    uint64_t logged_ms;     /* when the last line was written; 0: never */
};

struct acceptor;
typedef void (*acceptor_cb)(struct ev_loop *loop, int fd, void *arg);

struct acceptor *acceptor_start(struct ev_loop *loop, int lfd, const char *name, acceptor_cb cb,
                                void *arg);
void acceptor_pause(struct acceptor *a);
void acceptor_resume(struct acceptor *a);
void acceptor_stop(struct acceptor *a);
/* Pauses for descriptors so far (tests and INFO-style reports). */
unsigned long acceptor_emfile_pauses(const struct acceptor *a);
int acceptor_log_pause(struct acceptor_log *log, const char *name, int err, uint64_t now_ms);

#endif
