/* rc: a tiny blocking Redis (RESP2) client for the job-queue lab programs, so they work
 * the same against the broker and against a real redis-server.  Commands are encoded with
 * resp_add_argv and replies read with resp_reply_parse (parsers/resp).
 *
 * Contract
 * - rc_connect() returns a connected client or NULL with a reason in err.
 * - rc_command() sends one command (argc byte strings, NUL-terminated) and returns its
 *   reply tree, or NULL on I/O or protocol failure (reason in err; the connection is
 *   then unusable).  A Redis error reply is a reply of type '-', not a failure.
 * - Replies: type '+' '-' (str/len), ':' (integer), '$' (str/len; null when is_null),
 *   '*' (n elements in elem; null arrays have is_null set).  Bounded: nesting depth
 *   RC_MAX_DEPTH, bulk strings RC_MAX_BULK, RC_MAX_ELEMS elements in one reply.
 * - rc_reply_free() frees a tree; rc_close() closes and frees the client.
 */
#ifndef WIRELAB_LABS_JOBQ_RC_H
#define WIRELAB_LABS_JOBQ_RC_H

#include <stddef.h>

#define RC_MAX_DEPTH 8
#define RC_MAX_BULK  (64u << 20)
#define RC_MAX_ELEMS (1u << 20)

struct rc_reply {
    char type;
    int is_null;
    long long integer;
    char *str;
    size_t len;
    size_t n;
    struct rc_reply **elem;
};

struct rc;
struct rc *rc_connect(const char *host, int port, char *err, size_t errlen);
struct rc_reply *rc_command(struct rc *c, int argc, const char **argv, char *err, size_t errlen);
void rc_reply_free(struct rc_reply *r);
void rc_close(struct rc *c);

#endif
