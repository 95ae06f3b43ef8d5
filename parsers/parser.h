/* parser: the one small interface every format's implementations share.
 *
 * Each format (http, json, xml, proto) has a hand-written parser and one or more
 * library adapters.  All of them are a `struct parser_impl`, so the `parse` tool,
 * the conformance runners, the fuzzers and the bench treat them alike.
 *
 * Contract of parse():
 * - Reads exactly len bytes at buf (no NUL terminator is assumed; buf may sit
 *   against a guard page).  It must not crash, hang or use unbounded memory on
 *   any input: depth, size and expansion limits are part of each parser.
 * - Returns 0 when the input is valid, filling r->items (elements, values or
 *   fields seen) and r->depth (deepest nesting); 1 when invalid, filling r->err
 *   (a short message, no location) and either r->err_offset (byte offset of the
 *   error, r->has_offset = 1) or r->err_line/r->err_col (1-based, when the
 *   library reports only those); 2 on an internal failure such as out of memory.
 * - When dump is not NULL, writes the canonical text form of what was parsed
 *   (format-specific, documented in the format's header).  For the same valid
 *   input, every implementation of a format writes byte-identical dumps.
 * - opts is format-specific (e.g. the protobuf message type); NULL means defaults.
 */
#ifndef WIRELAB_PARSERS_PARSER_H
#define WIRELAB_PARSERS_PARSER_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>

struct parse_result {
    size_t items;
    size_t depth;
    int has_offset;
    size_t err_offset;
    size_t err_line, err_col;
    char err[200];
};

struct parse_opts {
    const char *message; /* protobuf: message type to decode, e.g. "wirelab.Order" */
};

struct parser_impl {
    const char *format; /* "http", "json", "xml", "proto" */
    const char *name;   /* "hand", or the library: "cjson", "jansson", "libxml2-sax", ... */
    int (*parse)(const uint8_t *buf, size_t len, const struct parse_opts *opts,
                 struct parse_result *r, FILE *dump);
};

/* Fills r for an input that is invalid at byte offset off, with a printf-style
 * message, and returns 1: what parse() returns for invalid input.  Every
 * implementation that knows the offset reports its errors through this. */
__attribute__((format(printf, 3, 4))) static inline int
parse_invalid(struct parse_result *r, size_t off, const char *fmt, ...)
{
    va_list ap;
    r->has_offset = 1;
    r->err_offset = off;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    return 1;
}

#endif
