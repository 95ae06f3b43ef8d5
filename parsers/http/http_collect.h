/* http_collect: what the callback-based library adapters (http_lib_httpparser.c,
 * http_lib_llhttp.c) share: collecting one request's pieces from their callbacks and
 * writing http1.h's canonical dump, so hand and library dumps can be diffed.
 *
 * Contract: the adapter feeds the whole input in one execute call, so every piece
 * the callbacks report is a contiguous range of the input (pieces of one token that
 * arrive in several calls are still joined, as long as they are adjacent).  At most
 * HTTP_COLLECT_MAX_HEADERS fields per request: more is an error (the hand parser
 * answers 431 at 64 by default). */
#ifndef WIRELAB_PARSERS_HTTP_COLLECT_H
#define WIRELAB_PARSERS_HTTP_COLLECT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HTTP_COLLECT_MAX_HEADERS 256

struct http_collect_span {
    size_t off, len;
};

struct http_collect {
    const uint8_t *base;
    FILE *dump;
    size_t nreq, items; /* requests completed, header lines over all of them */
    int in_message;     /* a request has begun and not completed */
    int too_many;       /* HTTP_COLLECT_MAX_HEADERS exceeded */
    int last_was_value;
    const char *method; /* method_len bytes, valid until http_collect_complete() */
    size_t method_len;
    int major, minor;
    struct http_collect_span target;
    struct http_collect_span name[HTTP_COLLECT_MAX_HEADERS], value[HTTP_COLLECT_MAX_HEADERS];
    size_t nheaders;    /* header and trailer fields so far */
    size_t head_fields; /* fields before the end of the head; the rest are trailers */
    size_t body;
};

void http_collect_begin(struct http_collect *q);
/* 0, or -1 when the request has too many header fields. */
int http_collect_url(struct http_collect *q, const char *at, size_t len);
int http_collect_field(struct http_collect *q, const char *at, size_t len);
int http_collect_value(struct http_collect *q, const char *at, size_t len);
/* The head is complete: fields collected from now on are trailer fields. */
void http_collect_head_done(struct http_collect *q, const char *method, size_t method_len,
                            int major, int minor);
/* Writes the dump of the completed request (when q->dump) and counts it. */
void http_collect_complete(struct http_collect *q);

#endif
