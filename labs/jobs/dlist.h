/* dlist: the one way labs/jobs links and unlinks its intrusive doubly linked
 * lists (connections, streams, a job's followers, long-poll waiters, webhook
 * deliveries).
 *
 * Contract
 * - A list is a head pointer (NULL when empty); an element carries a prev and
 *   a next pointer, named by the caller because one struct sits on several
 *   lists at once (a jobs_conn is on the connection list, the stream list and
 *   a follower list).  That is why these are macros and not functions.
 * - DLIST_PUSH(head, e, prev, next) puts e first; e must not be on that list.
 * - DLIST_UNLINK(head, e, prev, next) takes e off the list whose head is head
 *   and clears e's two pointers; e must be on it.  O(1).
 * - head is an lvalue and is evaluated more than once: no side effects in it
 *   (`*w->head` is fine).
 */
#ifndef WIRELAB_LABS_JOBS_DLIST_H
#define WIRELAB_LABS_JOBS_DLIST_H

#include <stddef.h>

#define DLIST_PUSH(head, e, prev, next)                                                            \
    do {                                                                                           \
        (e)->prev = NULL;                                                                          \
        (e)->next = (head);                                                                        \
        if (head) (head)->prev = (e);                                                              \
        (head) = (e);                                                                              \
    } while (0)

#define DLIST_UNLINK(head, e, prev, next)                                                          \
    do {                                                                                           \
        if ((e)->prev)                                                                             \
            (e)->prev->next = (e)->next;                                                           \
        else                                                                                       \
            (head) = (e)->next;                                                                    \
        if ((e)->next) (e)->next->prev = (e)->prev;                                                \
        (e)->prev = (e)->next = NULL;                                                              \
    } while (0)

#endif
