/* waiters: bounded intrusive long-poll waiter lists.  Contract in waiters.h. */
#include "labs/jobs/waiters.h"

#include "labs/jobs/dlist.h"

#include <assert.h>
#include <errno.h>

int waiter_add(struct wait_limit *lim, struct waiter **head, struct waiter *w)
{
    assert(w->head == NULL);
    if (lim->count >= lim->max) {
        errno = EAGAIN;
        return -1;
    }
    DLIST_PUSH(*head, w, prev, next);
    w->head = head;
    lim->count++;
    return 0;
}

void waiter_remove(struct wait_limit *lim, struct waiter *w)
{
    if (!w->head) return;
    DLIST_UNLINK(*w->head, w, prev, next);
    w->head = NULL;
    assert(lim->count > 0);
    lim->count--;
}

struct waiter *waiter_pop_ready(struct wait_limit *lim, struct waiter **head, uint32_t version)
{
    for (struct waiter *w = *head; w; w = w->next) {
        if (w->since < version) {
            waiter_remove(lim, w);
            return w;
        }
    }
    return NULL;
}
