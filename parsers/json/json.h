/* json: a strict RFC 8259 JSON parser that builds a compact DOM in one array.
 *
 * Contract
 * - json_parse(doc, buf, len, lim, err) reads exactly len bytes (no NUL needed; buf
 *   may sit against a guard page).  It returns 0 and fills doc; -1 with errno EINVAL
 *   and err set (message + byte offset of the offending byte) on invalid input or a
 *   limit reached; -1 with errno ENOMEM when out of memory.
 *   It never recurses: nesting is kept on a heap stack bounded by lim->max_depth
 *   (default JSON_DEFAULT_MAX_DEPTH), so 1,000,000 '[' get a fast, clear error.
 * - Strict: no comments, trailing commas, leading zeros, NaN/Infinity, single
 *   quotes or raw control characters in strings; the text must be valid UTF-8
 *   (no overlongs, no surrogates encoded in UTF-8, nothing past U+10FFFF); \u
 *   escapes must form valid surrogate pairs; one value, surrounded only by
 *   whitespace.  Any value may be the top-level value.  Duplicate keys are kept
 *   (both members, in order): RFC 8259 leaves their meaning to the application.
 * - Numbers: an integer literal that fits int64 is JSON_NUM_INT (exact, v.i);
 *   a longer integer literal is JSON_NUM_BIG (kept exact as its text, v.d is an
 *   approximation); anything else is a double (v.d, correctly rounded).  A
 *   number whose magnitude overflows a double is an error, never inf.  Every
 *   number also keeps its source text (s, len) exactly as written.
 * - Strings and keys are decoded (escapes resolved) into doc-owned memory, NUL
 *   terminated; len is the byte length (a string may contain "\u0000").
 * - The DOM is pre-order: a node's children follow it, skip is the size of its
 *   subtree (1 for scalars), so the next sibling is node + node->skip.  An object's
 *   children alternate key (a string node) and value.  Node pointers stay valid
 *   until the doc is parsed into again or freed.
 * - Memory: O(len) (one node per value, strings at most len+1 bytes), bounded by
 *   lim->max_nodes.  A doc may be reused across parses: its buffers are kept.
 *
 * Usage (e.g. a request body {"work_ms": 500, "callback": "http://..."}):
 *     struct json_doc doc = JSON_DOC_INIT;
 *     struct json_error err;
 *     if (json_parse(&doc, body, body_len, NULL, &err) != 0) reply_400(err.msg);
 *     int64_t ms;
 *     const struct json_node *cb = json_get(json_root(&doc), "callback");
 *     if (json_get_int(json_get(json_root(&doc), "work_ms"), &ms) != 0) ...;
 *     const char *url = json_get_str(cb, NULL);   // NULL when missing / not a string
 *     json_doc_free(&doc);
 */
#ifndef WIRELAB_PARSERS_JSON_H
#define WIRELAB_PARSERS_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_DEFAULT_MAX_DEPTH 10000
#define JSON_DEFAULT_MAX_NODES (1u << 26) /* 64 Mi values: 2 GiB of nodes */

enum json_type {
    JSON_T_NULL,
    JSON_T_FALSE,
    JSON_T_TRUE,
    JSON_T_NUMBER,
    JSON_T_STRING,
    JSON_T_ARRAY,
    JSON_T_OBJECT
};
enum json_num_kind { JSON_NUM_DOUBLE, JSON_NUM_INT, JSON_NUM_BIG };

struct json_node {
    uint8_t type;     /* enum json_type */
    uint8_t num_kind; /* enum json_num_kind, for JSON_T_NUMBER */
    uint32_t skip;    /* subtree size in nodes (1 for scalars) */
    uint32_t len;     /* string/number: byte length of s; array/object: member count */
    const char *s;    /* string: decoded, NUL-terminated; number: source text (not terminated) */
    union {
        int64_t i;
        double d;
    } v;
};

/* The widest vector code a parse may use.  0 (JSON_SIMD_BEST) asks the CPU at run time:
 * AVX2 where it has it, else SSE2 (the x86_64 baseline); the narrower ones exist so the
 * tests can hold every path to the same answers. */
enum json_simd { JSON_SIMD_BEST, JSON_SIMD_SSE2, JSON_SIMD_NONE };

struct json_limits {
    size_t max_depth;    /* containers open at once; 0 = JSON_DEFAULT_MAX_DEPTH */
    size_t max_nodes;    /* values + keys; 0 = JSON_DEFAULT_MAX_NODES */
    enum json_simd simd; /* 0: the best the CPU has */
};

struct json_error {
    size_t offset; /* byte offset of the error in the input */
    char msg[120];
};

struct json_doc {
    struct json_node *nodes;
    size_t n, cap; /* nodes used / allocated */
    char *strs;    /* decoded strings */
    size_t strs_cap;
    uint32_t *stack; /* open containers while parsing */
    size_t stack_cap;
    size_t depth;  /* deepest nesting seen by the last parse */
    size_t values; /* values (not counting keys) in the last parse */
};

#define JSON_DOC_INIT                                                                              \
    {                                                                                              \
        0                                                                                          \
    }

int json_parse(struct json_doc *doc, const char *buf, size_t len, const struct json_limits *lim,
               struct json_error *err);
void json_doc_free(struct json_doc *doc);

/* The top-level value of a parsed doc. */
static inline const struct json_node *json_root(const struct json_doc *doc)
{
    return doc->nodes;
}

/* Children: for (c = json_first(n); c; c = json_next(n, c)).  For objects that
 * visits keys only: the value of key k is k + 1. */
const struct json_node *json_first(const struct json_node *container);
const struct json_node *json_next(const struct json_node *container, const struct json_node *child);
/* Member value of the first key equal to key, or NULL (also when obj is NULL or not an object). */
const struct json_node *json_get(const struct json_node *obj, const char *key);
/* i-th element of an array, or NULL. */
const struct json_node *json_at(const struct json_node *arr, size_t i);
/* 0 and *out when n is an integer that fits int64 (JSON_NUM_INT, or a double with an
 * integral value in range), -1 otherwise (also when n is NULL). */
int json_get_int(const struct json_node *n, int64_t *out);
/* 0 and *out for any number; -1 otherwise. */
int json_get_double(const struct json_node *n, double *out);
/* The decoded string (NUL-terminated) and its length, or NULL when n is not a string. */
const char *json_get_str(const struct json_node *n, size_t *len);

/* Canonical dump (the `parse --dump` form shared by every JSON implementation):
 * compact JSON, members in original order, no whitespace, then "\n".  Strings
 * escape '"', '\\' and control characters (\b \f \n \r \t, else \u00XX, lower-case
 * hex) and write every other byte as is.  Numbers: integer literals exactly as
 * written; a double with an integral value below 2^63 in magnitude as an integer,
 * "-0" for negative zero, otherwise the shortest of %.15g/%.16g/%.17g that reads
 * back to the same double. */
int json_dump(const struct json_doc *doc, FILE *out);
/* The pieces, for the library adapters. */
void json_dump_string(FILE *out, const char *s, size_t len);
void json_dump_double(FILE *out, double d);

#endif
