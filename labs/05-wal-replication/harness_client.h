/* harness_client: a tiny blocking RESP client for the crash harness (hc_ prefix).
 *
 * Contract
 * - hc_connect() connects to 127.0.0.1:port with a receive timeout (so a harness never
 *   hangs on a dead peer); -1 on failure.
 * - hc_send() writes one command (resp_add_argv); hc_read() reads one reply
 *   (resp_reply_parse): type is '+', '-', ':', '$' (str/len; len -1 for nil) or '*'
 *   (n elements in len, their contents skipped).  str is NUL-terminated (the text of a
 *   line, a bulk, or an integer's digits) and valid until the next hc_read().  Both
 *   return -1 on EOF, timeout, error or a malformed reply.
 */
#ifndef WIRELAB_LABS_HARNESS_CLIENT_H
#define WIRELAB_LABS_HARNESS_CLIENT_H

#include <stddef.h>

#include "parsers/resp/resp.h"

struct hc {
    int fd;
    char *buf; /* received, not yet parsed */
    size_t len, cap;
    struct resp_reply rp;
    struct resp_out out;
    char *str; /* the last reply's text, NUL-terminated */
    size_t strcap;
};

struct hc_reply {
    char type;
    long long len; /* bulk length (-1 nil), array length, integer value */
    const char *str;
};

int hc_connect(struct hc *c, int port, int timeout_ms);
void hc_close(struct hc *c);
int hc_send(struct hc *c, int argc, const char *const *argv);
int hc_read(struct hc *c, struct hc_reply *r);
/* INFO field: copies the value of "name:" from an INFO reply text into out. */
int hc_info_field(const char *info, const char *name, char *out, size_t cap);

#endif
