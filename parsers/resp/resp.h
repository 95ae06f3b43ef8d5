/* resp: a sans-I/O RESP2 codec (the Redis protocol): the request parser a server runs,
 * the reply parser a client runs, and the encoders both use.
 *
 * Contract of the request parser
 * - A client sends either a multibulk array of bulk strings
 *   ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n") or an inline command ("GET k\r\n", also "\n"
 *   alone; words split on spaces and tabs, "double quotes" with \n \r \t \b \a \\ \"
 *   \xHH escapes and 'single quotes' with \' as in redis-cli).
 * - resp_parse(p, buf, len) is called with ALL the bytes the caller has received and
 *   not yet consumed, starting at the first byte of the current frame; between calls
 *   the caller may only append bytes (the buffer may move: the parser keeps offsets,
 *   not pointers). The parser resumes where it stopped, so feeding a frame one byte at
 *   a time costs O(frame length) in total.  It never reads past buf[len-1].
 * - Return value (docs/conventions.md):
 *     > 0  one frame of that many bytes is complete: p->argc arguments at p->argv[i]
 *          (p->argl[i] bytes, NOT NUL-terminated) pointing into buf, valid until the
 *          caller drops or moves those bytes or calls resp_parse again.  An empty frame
 *          ("*0\r\n", "*-1\r\n", a blank inline line) has argc == 0: drop its bytes,
 *          reply nothing (as Redis does).
 *     -2   incomplete: append more bytes and call again (same start).
 *     -1   protocol error: p->err holds the reply text; the stream cannot be delimited
 *          any more or a limit was reached.  Reply the error and close, as Redis does.
 * - Redis 7's rules and words: counts and lengths are decimal without '+' or leading
 *   zeros ("invalid multibulk length", "invalid bulk length"); a "*N"/"$N" line with no
 *   CR within max_inline bytes is "too big mbulk/bulk count string"; a bulk header not
 *   starting with '$' is "expected '$', got 'c'" (checked once its line is complete);
 *   an inline line over max_inline bytes is "too big inline request"; unbalanced
 *   quotes end the connection.  Stricter than Redis, on purpose: a line must end in
 *   CRLF and a bulk must be followed by CRLF (Redis skips any two bytes), and a NUL
 *   byte is data (Redis's strchr stops at it and waits).
 * - Messages in p->err are complete RESP error texts without the leading '-' and the
 *   CRLF, e.g. "ERR Protocol error: invalid bulk length".
 * - Inline commands are decoded IN PLACE (buf is written: an unescaped argument is
 *   never longer than its quoted source).  Multibulk arguments are not copied.
 * - Limits (struct resp_limits, 0 = default): max_args arguments per command (default
 *   and hard cap RESP_ARGS_MAX, 1024 * 1024), max_bulk bytes per bulk string (default
 *   8 MiB), max_inline bytes per inline line and per count line (default 64 KiB, Redis's
 *   PROTO_INLINE_MAX_SIZE).  Past max_args: "N arguments over the limit of M"; past
 *   max_bulk: "invalid bulk length" (Redis's words for its own 512 MiB limit).
 * - Memory: the argument arrays grow with the arguments actually received (24 bytes per
 *   argument, each at least 6 bytes of input), never with a declared count; an
 *   allocation failure is a protocol error ("ERR Protocol error: out of memory").
 *   resp_free() releases them.  No I/O, no global state: one parser per connection.
 *
 * Contract of the reply parser (what a client reads)
 * - resp_reply_parse(r, buf, len) parses ONE complete reply (simple string, error,
 *   integer, bulk, null, array of any of these, nested) at the start of buf, with the
 *   same calling rule and return convention as resp_parse (> 0 bytes, -2 incomplete,
 *   -1 invalid with the reason in r->err).  It resumes where it stopped.
 * - On > 0 the reply is r->elem[0 .. r->nelem) in pre-order: an array's elements follow
 *   it.  resp_reply_skip(r, i) is the index just past element i and everything under
 *   it, to walk siblings.  String bytes point into buf (valid as for resp_parse).
 * - Bounds (resp_reply_init): at most max_elems elements in one reply (default 1 M),
 *   max_bulk bytes per string (default 512 MiB), RESP_REPLY_DEPTH levels of nesting.
 *
 * Contract of the encoders
 * - struct resp_out is an output buffer that grows (realloc) up to its limit; each
 *   resp_add_* appends one reply element and returns 0, or -1 when the limit would be
 *   exceeded or memory runs out (nothing is appended and out->overflow is set, so a
 *   server can check once per command and close that client).
 * - resp_add_array() writes only the "*N\r\n" header: the caller adds N elements.
 *   resp_add_argv() writes a whole command (array of bulks), all or nothing: clients
 *   and logs encode commands with it.
 */
#ifndef WIRELAB_PARSERS_RESP_H
#define WIRELAB_PARSERS_RESP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RESP_ARGS_MAX    (1024 * 1024)
#define RESP_REPLY_DEPTH 32

struct resp_limits {
    size_t max_args;   /* <= RESP_ARGS_MAX */
    size_t max_bulk;   /* bytes in one bulk string */
    size_t max_inline; /* bytes in one inline line or count line, CRLF included */
};

struct resp_parser {
    /* outputs, valid after resp_parse() returned > 0 (see contract) */
    int argc;
    const char **argv;
    size_t *argl;
    char err[160];
    /* private: where the parse of the current frame stopped */
    struct resp_limits lim;
    int state;    /* RESP_ST_* in resp.c */
    size_t pos;   /* bytes of the current frame already parsed */
    size_t scan;  /* bytes already searched for the end of the current line */
    long nargs;   /* declared multibulk length */
    long bulklen; /* declared length of the bulk being read */
    size_t *off;  /* argument offsets in the frame (the buffer may move) */
    size_t cap;   /* entries in argv, argl, off */
};

void resp_init(struct resp_parser *p, const struct resp_limits *lim);
void resp_free(struct resp_parser *p);
ssize_t resp_parse(struct resp_parser *p, char *buf, size_t len);

/* ---- replies (client side) ---- */
struct resp_elem {
    char type;     /* '+', '-', ':', '$', '*' */
    char null;     /* "$-1" or "*-1" */
    long long n;   /* ':' the value; '+' '-' '$' the byte count; '*' the element count */
    const char *p; /* '+' '-' '$': the bytes, NOT NUL-terminated, into buf */
    size_t off;    /* private */
};

struct resp_reply {
    size_t nelem;
    struct resp_elem *elem;
    char err[128];
    /* private */
    size_t cap, pos, max_elems, max_bulk;
    int depth;
    long long left[RESP_REPLY_DEPTH]; /* elements still to read at each open array */
    int done;
};

void resp_reply_init(struct resp_reply *r, size_t max_elems, size_t max_bulk);
void resp_reply_free(struct resp_reply *r);
ssize_t resp_reply_parse(struct resp_reply *r, const char *buf, size_t len);
size_t resp_reply_skip(const struct resp_reply *r, size_t i);

/* ---- encoders ---- */
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
/* formatted text appended as it is, no framing (the lines of an INFO reply; at most 1 KiB) */
int resp_add_rawf(struct resp_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int resp_add_int(struct resp_out *o, long long v);              /* :v\r\n */
int resp_add_bulk(struct resp_out *o, const void *p, size_t n); /* $n\r\n...\r\n */
int resp_add_cstr(struct resp_out *o, const char *s);           /* bulk of a C string */
int resp_add_null(struct resp_out *o);                          /* $-1\r\n (RESP2 nil) */
int resp_add_null_array(struct resp_out *o);                    /* *-1\r\n */
int resp_add_array(struct resp_out *o, long long n);            /* *n\r\n */
/* *argc then argc bulks; argl NULL means NUL-terminated strings */
int resp_add_argv(struct resp_out *o, int argc, const char *const *argv, const size_t *argl);

#endif
