/* xcmd.h: helpers the stream command files (xcmd.c, xgroup.c, xclaim.c) share. */
#ifndef WIRELAB_LABS_PUBSUB_XCMD_H
#define WIRELAB_LABS_PUBSUB_XCMD_H

#include <stddef.h>

#include "labs/11-pubsub/broker.h"
#include "labs/11-pubsub/stream.h"

#define XERR_ID     "ERR Invalid stream ID specified as stream command argument"
#define XERR_INT    "ERR value is not an integer or out of range"
#define XERR_SYNTAX "ERR syntax error"

uint64_t xcmd_now_ms(void); /* wall clock: delivery times survive a restart, as Redis's */
struct stream *xcmd_lookup(struct broker *b, const char *key, size_t n);
/* A COUNT argument: negative counts become 0 (as Redis); replies the error, returns -1. */
int xcmd_count(struct rsrv_client *c, const char *a, size_t n, long long *count);
/* The group of key, or NULL after replying Redis's NOGROUP error (suffix appended). */
struct stream_group *xcmd_group(struct rsrv_client *c, const char *key, size_t kl, const char *g,
                                size_t gl, const char *suffix, struct stream **s);
/* A range bound: '-', '+', "(id" (exclusive, when allowed), "ms" or "ms-seq".  end != 0
 * fills a missing seq with its maximum.  Replies the error and returns -1 when bad. */
int xcmd_range_id(struct rsrv_client *c, const char *a, size_t n, int end, int allow_excl,
                  struct stream_id *id);
void xcmd_reply_id(struct rsrv_client *c, struct stream_id id);
void xcmd_reply_entry(struct rsrv_client *c, const struct stream_entry *e);
/* Logs a delivery as Redis's AOF does: XCLAIM key group consumer 0 id TIME t
 * RETRYCOUNT n FORCE JUSTID LASTID last, which restores the PEL entry exactly. */
/* Before a command changes anything: can its nrec records of at most `payload` bytes
 * each be logged now?  0 (also without a log or during replay), or -1 after replying
 * the reason (MISCONF ... No space left on device).  The command then changes nothing. */
int xcmd_log_room(struct rsrv_client *c, size_t nrec, size_t payload);
/* The largest delivery record (xcmd_log_claim) for these names. */
size_t xcmd_claim_bytes(size_t keyl, size_t groupl, size_t consumerl);
void xcmd_log_claim(struct rsrv_client *c, const char *key, size_t keyl,
                    const struct stream_group *g, const struct stream_pel *p);

#endif
