/* http_int: internals shared by the files of the hand-written HTTP/1.1 parser
 * (http_hand.c: the scanners, the field rules, the head fast path and the resumable
 * state machine; http_fields.c: the forms of the request target, the Connection list
 * and the lookups over a parsed request).  Contract of the whole in http1.h. */
#ifndef WIRELAB_PARSERS_HTTP_HTTP_INT_H
#define WIRELAB_PARSERS_HTTP_HTTP_INT_H

#include "parsers/http/http1.h"

/* The states of the resumable machine (http1_parser.state). */
enum {
    S_START, /* before the request line: empty lines skipped */
    S_START_LF,
    S_METHOD,
    S_TARGET,
    S_VERSION,
    S_RL_LF,
    S_H_START, /* a field line or the empty line that ends the head (or trailers) */
    S_H_NAME,
    S_H_OWS,
    S_H_VALUE,
    S_H_LF,
    S_H_END_LF, /* states up to here are bounded by max_head */
    S_BODY,
    S_CHUNK_SIZE,
    S_CHUNK_EXT, /* chunk-ext, with its own sub-state in ext_state */
    S_CHUNK_SIZE_LF,
    S_CHUNK_DATA,
    S_CHUNK_DATA_CR,
    S_CHUNK_DATA_LF,
    S_DONE,
    S_ERROR
};

static inline int http1_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

/* a[0..n) equals lit[0..litlen) ignoring ASCII case. */
static inline int http1_ieqn(const uint8_t *a, size_t n, const char *lit, size_t litlen)
{
    if (n != litlen) /* most strings are not the one asked for */
        return 0;
    for (size_t i = 0; i < n; i++)
        if (http1_lower(a[i]) != http1_lower((uint8_t)lit[i])) return 0;
    return 1;
}

/* For a string literal: its length is known at compile time. */
#define IEQ_LIT(a, n, lit) http1_ieqn((a), (n), (lit), sizeof(lit) - 1)

/* Checks the request target against the four forms of RFC 9112 3.2 for the method and
 * sets req.origin (and p->connect).  NULL when it is fine, else the error message
 * (status 400). */
const char *http1_target_form(struct http1_parser *p, const uint8_t *buf);

/* The tokens of a Connection field value (a comma-separated list) into p's flags. */
void http1_connection(struct http1_parser *p, const uint8_t *v, size_t n);

#endif
