/* waiters: long-poll waiter lists, one per job, bounded per server.
 *
 * A long poll (GET /jobs/ID?wait=S&since=V) that cannot be answered yet becomes a
 * waiter on its job's list; the server arms a timer for it.  When the job changes
 * the server pops every waiter whose `since` is now behind the job's version and
 * answers it; when the timer fires first it removes the waiter and answers with
 * the unchanged status.
 *
 * Contract
 * - Intrusive doubly linked lists: the caller owns the waiter memory; a waiter is
 *   on at most one list.  All operations O(1), except waiter_pop_ready which is
 *   O(waiters skipped).
 * - waiter_add refuses with -1 (errno EAGAIN) when the server-wide count reached
 *   its limit: the server answers 503 with Retry-After.
 * - waiter_remove on a waiter that is on no list is a no-op (so a timer and a
 *   wake-up racing in the same loop round cannot double-remove).
 */
#ifndef WIRELAB_LABS_JOBS_WAITERS_H
#define WIRELAB_LABS_JOBS_WAITERS_H

#include <stddef.h>
#include <stdint.h>

struct waiter {
    struct waiter *prev, *next;
    struct waiter **head; /* the list it is on, NULL when on none */
    uint32_t since;       /* answer once the job's version > since */
    uint64_t job;
    uint64_t timer;
    void *conn; /* the server's connection */
};

struct wait_limit {
    size_t count, max;
};

int waiter_add(struct wait_limit *lim, struct waiter **head, struct waiter *w);
void waiter_remove(struct wait_limit *lim, struct waiter *w);
/* Remove and return one waiter of the list with since < version, or NULL. */
struct waiter *waiter_pop_ready(struct wait_limit *lim, struct waiter **head, uint32_t version);

#endif
