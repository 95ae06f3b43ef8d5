/* resp: a sans-I/O RESP2 request parser and reply encoders (the Redis protocol).
 *
 * Contract of the parser
 * - A client sends either a multibulk array of bulk strings
 *   ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n") or an inline command ("GET k\r\n", also "\n"
 *   alone; words split on spaces and tabs, "double quotes" with \n \r \t \b \a \\ \"
 *   \xHH escapes and 'single quotes' with \' as in redis-cli).
 * - resp_parse(p, buf, len) is called with ALL the bytes the caller has received and
 *   not yet consumed, starting at the first byte of the current frame; between calls
 *   the caller may only append bytes (the buffer may move: the parser keeps offsets,
 *   not pointers). The parser resumes where it stopped, so feeding a frame one byte at
 *   a time costs O(frame length) in total.  It never reads past buf[len-1].
 * - Return value:
 *     > 0  one frame of that many bytes is complete.  If p->err[0] == 0 it is a
 *          command: p->argc arguments at p->argv[i] (p->argl[i] bytes, NOT
 *          NUL-terminated) pointing into buf, valid until the caller drops or moves
 *          those bytes.  If p->err[0] != 0 the frame was bad but delimited (inline
 *          command with unbalanced quotes): reply p->err and go on with the next frame.
 *          An empty frame ("*0\r\n", "*-1\r\n", a blank inline line) is returned
 *          with argc == 0: drop its bytes, reply nothing (as Redis does).
 *     0    incomplete: append more bytes and call again (same start).
 *     -1   fatal protocol error: p->err holds the message; the stream cannot be
 *          delimited any more or a limit was reached.  Reply the error and close
 *          (this is what Redis does).
 * - Messages in p->err are complete RESP error texts without the leading '-' and the
 *   CRLF, e.g. "ERR Protocol error: invalid bulk length" (Redis's wording).
 * - Inline commands are decoded IN PLACE (buf is written: an unescaped argument is
 *   never longer than its quoted source).  Multibulk arguments are not copied.
 * - Limits (struct resp_limits, 0 = default): max_args arguments per command (default
 *   and hard cap RESP_ARGV_MAX), max_bulk bytes per bulk string (default 8 MiB),
 *   max_inline bytes per inline line (default 64 KiB).  A frame over a limit is a
 *   fatal error naming the limit.  The caller's buffer must be able to hold one
 *   whole frame; resp_frame_limit() says how big that can get so the caller can
 *   bound its buffer.
 * - No allocation, no I/O, no global state: one struct resp_parser per connection.
 *
 * Contract of the encoders
 * - struct resp_out is an output buffer that grows (realloc) up to its limit; each
 *   resp_add_* appends one reply element and returns 0, or -1 when the limit would be
 *   exceeded or memory runs out (nothing is appended and out->overflow is set, so a
 *   server can check once per event and close that client).
 * - resp_add_array() writes only the "*N\r\n" header: the caller adds N elements.
 */
#ifndef WIRELAB_PARSERS_RESP_H
#define WIRELAB_PARSERS_RESP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RESP_ARGV_MAX 1024

struct resp_limits {
    size_t max_args;   /* <= RESP_ARGV_MAX */
    size_t max_bulk;   /* bytes in one bulk string */
    size_t max_inline; /* bytes in one inline line, CRLF included */
};

struct resp_parser {
    /* outputs, valid after resp_parse() returned > 0 (see contract) */
    int argc;
    const char *argv[RESP_ARGV_MAX];
    size_t argl[RESP_ARGV_MAX];
    char err[160];
    /* private: where the parse of the current frame stopped */
    struct resp_limits lim;
    int state;    /* RESP_ST_* in resp.c */
    size_t pos;   /* bytes of the current frame already parsed */
    long nargs;   /* declared multibulk length */
    long bulklen; /* declared length of the bulk being read */
    size_t off[RESP_ARGV_MAX];
};

void resp_init(struct resp_parser *p, const struct resp_limits *lim);
ssize_t resp_parse(struct resp_parser *p, char *buf, size_t len);
size_t resp_frame_limit(const struct resp_parser *p);

struct resp_out {
    char *data;
    size_t len, cap, limit;
    int overflow;
};

void resp_out_init(struct resp_out *o, size_t limit);
void resp_out_free(struct resp_out *o);
void resp_out_consume(struct resp_out *o, size_t n); /* drop n bytes from the front */
int resp_add_raw(struct resp_out *o, const void *p, size_t n);
int resp_add_simple(struct resp_out *o, const char *s);  /* +s\r\n (no CR/LF in s) */
int resp_add_error(struct resp_out *o, const char *msg); /* -msg\r\n (no CR/LF) */
int resp_add_errorf(struct resp_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int resp_add_int(struct resp_out *o, long long v);              /* :v\r\n */
int resp_add_bulk(struct resp_out *o, const void *p, size_t n); /* $n\r\n...\r\n */
int resp_add_cstr(struct resp_out *o, const char *s);           /* bulk of a C string */
int resp_add_null(struct resp_out *o);                          /* $-1\r\n (RESP2 nil) */
int resp_add_null_array(struct resp_out *o);                    /* *-1\r\n */
int resp_add_array(struct resp_out *o, long long n);            /* *n\r\n */

#endif
