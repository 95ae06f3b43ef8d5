/* hostile_gen: the hostile inputs of parse-hostile, one generator per attack, and each
 * format's normal corpus (contract in hostile.h).  Sizes: scale 1 is 50-500 KB, so
 * scale 16 stays within every limit a valid input must respect (HTTP's 1 MiB body,
 * XML's 100,000 levels and 65,536 namespace bindings, ...). */
#include "labs/02-parsers/hostile.h"
#include "labs/02-parsers/orders.h"
#include "parsers/json/json_write.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void hb_put(struct hbuf *b, const void *s, size_t n)
{
    if (b->oom) return;
    if (b->len + n > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 65536;
        while (nc < b->len + n)
            nc *= 2;
        uint8_t *np = realloc(b->p, nc);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void hb_str(struct hbuf *b, const char *s)
{
    hb_put(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void hb_fmt(struct hbuf *b, const char *fmt, ...)
{
    char t[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t, sizeof t, fmt, ap);
    va_end(ap);
    hb_put(b, t, (size_t)n);
}

static void hb_rep(struct hbuf *b, const char *s, size_t times)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < times; i++)
        hb_put(b, s, n);
}

static void hb_varint(struct hbuf *b, uint64_t v)
{
    uint8_t t[10];
    size_t n = 0;
    do {
        t[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    hb_put(b, t, n);
}

/* field f, wire type 2, then the bytes of m */
static void hb_msg(struct hbuf *b, uint32_t f, const struct hbuf *m)
{
    hb_varint(b, (uint64_t)f << 3 | 2);
    hb_varint(b, m->len);
    hb_put(b, m->p, m->len);
}

void hbuf_free(struct hbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ---- HTTP ---------------------------------------------------------------------- */

#define POST_CHUNKED "POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"

static void http_tiny_chunks(struct hbuf *b, unsigned s)
{
    hb_str(b, POST_CHUNKED);
    hb_rep(b, "1\r\nx\r\n", 8192u * s);
    hb_str(b, "0\r\n\r\n");
}

static void http_chunk_ext(struct hbuf *b, unsigned s)
{
    char ext[1100];
    int n = snprintf(ext, sizeof ext, "1;name=\"");
    memset(ext + n, 'v', 1000);
    memcpy(ext + n + 1000, "\"\r\nx\r\n", 7); /* and its NUL */
    hb_str(b, POST_CHUNKED);
    hb_rep(b, ext, 64u * s);
    hb_str(b, "0\r\n\r\n");
}

static void http_many_fields(struct hbuf *b, unsigned s)
{
    for (unsigned r = 0; r < 64u * s; r++) {
        hb_str(b, "GET /a HTTP/1.1\r\nHost: h\r\n");
        for (int k = 0; k < 62; k++)
            hb_fmt(b, "X-Field-%02d: value-%02d\r\n", k, k);
        hb_str(b, "\r\n");
    }
}

static void http_trailing_ows(struct hbuf *b, unsigned s)
{
    char sp[7001];
    memset(sp, ' ', 7000);
    sp[7000] = 0;
    for (unsigned r = 0; r < 16u * s; r++) {
        hb_str(b, "GET /a HTTP/1.1\r\nHost: h\r\nX: a");
        hb_str(b, sp);
        hb_str(b, "\r\n\r\n");
    }
}

static void http_empty_lines(struct hbuf *b, unsigned s)
{
    for (unsigned r = 0; r < 32u * s; r++) {
        hb_rep(b, "\r\n", 3000);
        hb_str(b, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
    }
}

static void http_pipelined(struct hbuf *b, unsigned s)
{
    hb_rep(b, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 4096u * s);
}

static void http_bytewise(struct hbuf *b, unsigned s)
{
    hb_str(b, POST_CHUNKED);
    hb_rep(b, "5;e=1\r\nhello\r\n", 1024u * s);
    hb_str(b, "0\r\nX-Trailer: t\r\n\r\n");
}

/* ---- JSON ---------------------------------------------------------------------- */

static void json_deep(struct hbuf *b, unsigned s)
{
    hb_str(b, "[");
    for (unsigned r = 0; r < 16u * s; r++) {
        hb_rep(b, "[", 5000);
        hb_rep(b, "]", 5000);
        hb_str(b, ",");
    }
    hb_str(b, "0]");
}

static void json_escapes(struct hbuf *b, unsigned s)
{
    hb_str(b, "[");
    for (unsigned r = 0; r < 256u * s; r++) {
        hb_str(b, "\"");
        hb_rep(b, "\\u00e9\\ud83d\\ude00\\n\\\"\\\\\\/", 32);
        hb_str(b, "\",");
    }
    hb_str(b, "0]");
}

static void json_utf8(struct hbuf *b, unsigned s)
{
    hb_str(b, "[");
    for (unsigned r = 0; r < 256u * s; r++) {
        hb_str(b, "\"");
        hb_rep(b, "\xf0\x9f\x98\x80\xc3\xa9\xe4\xb8\xad", 64);
        hb_str(b, "\",");
    }
    hb_str(b, "0]");
}

/* Numbers that leave every fast path: 25 significant digits and large exponents, and
 * exact halfway points between two doubles (only strtod decides those). */
static void json_hard_numbers(struct hbuf *b, unsigned s)
{
    hb_str(b, "[");
    for (unsigned r = 0; r < 2048u * s; r++) {
        hb_fmt(b, "1.%024ue-%u,", r * 2654435761u, 100 + r % 200);
        hb_str(b, r % 2 ? "9007199254740993.0," : "2.2250738585072011e-308,");
    }
    hb_str(b, "0]");
}

static void json_dup_keys(struct hbuf *b, unsigned s)
{
    hb_str(b, "{");
    hb_rep(b, "\"key\":1,", 16384u * s);
    hb_str(b, "\"key\":0}");
}

static void json_whitespace(struct hbuf *b, unsigned s)
{
    hb_str(b, "[");
    for (unsigned r = 0; r < 16u * s; r++) {
        hb_rep(b, " \n\t\r", 2500);
        hb_str(b, "1,");
    }
    hb_str(b, "0]");
}

/* ---- XML ----------------------------------------------------------------------- */

/* 1,000 attributes with a default on one element, then elements that take them all:
 * n elements times m defaults, stopped by the expansion budget. */
static void xml_defaults(struct hbuf *b, unsigned s)
{
    hb_str(b, "<!DOCTYPE r [<!ATTLIST e");
    for (int k = 0; k < 1000; k++)
        hb_fmt(b, " a%d CDATA \"v\"", k);
    hb_str(b, ">]><r>");
    hb_rep(b, "<e/>", 100000u * s);
    hb_str(b, "</r>");
}

static void xml_attlist(struct hbuf *b, unsigned s)
{
    hb_str(b, "<!DOCTYPE r [");
    for (unsigned k = 0; k < 4096u * s; k++)
        hb_fmt(b, "<!ATTLIST e a%u NMTOKEN #IMPLIED>", k);
    hb_str(b, "]><r>");
    for (unsigned k = 0; k < 1024u * s; k++)
        hb_fmt(b, "<e a%u=\" x \"/>", k * 4);
    hb_str(b, "</r>");
}

/* Entity names that all had one bucket in the old table (same length, same first,
 * middle and last byte), then a reference to each. */
static void xml_colliding_entities(struct hbuf *b, unsigned s)
{
    unsigned n = 4096u * s;
    hb_str(b, "<!DOCTYPE r [");
    for (unsigned k = 0; k < n; k++)
        hb_fmt(b, "<!ENTITY a%03xm%03xz \"%u\">", k >> 12, k & 0xfff, k);
    hb_str(b, "]><r>");
    for (unsigned k = 0; k < n; k++)
        hb_fmt(b, "&a%03xm%03xz;", k >> 12, k & 0xfff);
    hb_str(b, "</r>");
}

/* Bindings 256 to an element (under XML_MAX_ATTS), nested 4 levels per scale, then
 * children that look prefixes up all across them. */
static void xml_namespaces(struct hbuf *b, unsigned s)
{
    unsigned levels = 4 * s, n = 256 * levels;
    for (unsigned l = 0; l < levels; l++) {
        hb_str(b, "<r");
        for (unsigned k = 0; k < 256; k++)
            hb_fmt(b, " xmlns:p%u=\"urn:x:%u\"", l * 256 + k, l * 256 + k);
        hb_str(b, ">");
    }
    for (unsigned k = 0; k < n; k++)
        hb_fmt(b, "<p%u:c p%u:a=\"1\"/>", k, (k * 7) % n);
    hb_rep(b, "</r>", levels);
}

static void xml_attributes(struct hbuf *b, unsigned s)
{
    hb_str(b, "<r>");
    for (unsigned r = 0; r < 16u * s; r++) {
        hb_str(b, "<e");
        for (int k = 0; k < 1000; k++)
            hb_fmt(b, " a%d=\"v\"", k);
        hb_str(b, "/>");
    }
    hb_str(b, "</r>");
}

static void xml_ns_attributes(struct hbuf *b, unsigned s)
{
    hb_str(b, "<r xmlns:p=\"urn:p\" xmlns:q=\"urn:q\">");
    for (unsigned r = 0; r < 16u * s; r++) {
        hb_str(b, "<e");
        for (int k = 0; k < 500; k++)
            hb_fmt(b, " p:a%d=\"v\" q:a%d=\"w\"", k, k);
        hb_str(b, "/>");
    }
    hb_str(b, "</r>");
}

static void xml_nesting(struct hbuf *b, unsigned s)
{
    hb_rep(b, "<a>", 5000u * s);
    hb_rep(b, "</a>", 5000u * s);
}

static void xml_dashes(struct hbuf *b, unsigned s)
{
    hb_str(b, "<r><!--");
    hb_rep(b, "-a", 50000u * s);
    hb_str(b, "--><?p ");
    hb_rep(b, "?a", 50000u * s);
    hb_str(b, "?></r>");
}

/* ---- protobuf (wirelab.OrderBatch) ----------------------------------------------- */

static void pb_empty_orders(struct hbuf *b, unsigned s)
{
    for (unsigned r = 0; r < 65536u * s; r++)
        hb_put(b, "\x0a\x00", 2);
}

static void pb_deep_categories(struct hbuf *b, unsigned s)
{
    struct hbuf c = {0}, t = {0}, o = {0};
    hb_str(&c, "\x0a\x01x"); /* name "x" */
    for (int d = 0; d < 96; d++) {
        t.len = 0;
        hb_str(&t, "\x0a\x01x");
        hb_msg(&t, 2, &c);
        c.len = 0;
        hb_put(&c, t.p, t.len);
    }
    hb_msg(&o, 16, &c);
    for (unsigned r = 0; r < 32u * s; r++)
        hb_msg(b, 1, &o);
    b->oom |= c.oom | t.oom | o.oom;
    hbuf_free(&c);
    hbuf_free(&t);
    hbuf_free(&o);
}

static void pb_unknown_fields(struct hbuf *b, unsigned s)
{
    struct hbuf o = {0};
    for (int k = 0; k < 1000; k++) {
        hb_varint(&o, (uint64_t)(100 + k) << 3); /* fields 100.., varint */
        hb_varint(&o, (uint64_t)k * 1000003);
    }
    for (unsigned r = 0; r < 16u * s; r++)
        hb_msg(b, 1, &o);
    b->oom |= o.oom;
    hbuf_free(&o);
}

static void pb_packed(struct hbuf *b, unsigned s)
{
    struct hbuf t = {0}, o = {0};
    for (unsigned k = 0; k < 32768u * s; k++)
        hb_varint(&t, k * 2654435761u % 100000);
    hb_msg(&o, 11, &t);
    hb_msg(b, 1, &o);
    b->oom |= t.oom | o.oom;
    hbuf_free(&t);
    hbuf_free(&o);
}

static void pb_merged(struct hbuf *b, unsigned s)
{
    struct hbuf c = {0}, o = {0};
    hb_put(&c, "\x12\x03\x0a\x01y", 5); /* sub { name: "y" } */
    for (unsigned r = 0; r < 16384u * s; r++)
        hb_msg(&o, 16, &c);
    hb_msg(b, 1, &o);
    b->oom |= c.oom | o.oom;
    hbuf_free(&c);
    hbuf_free(&o);
}

static void pb_groups(struct hbuf *b, unsigned s)
{
    struct hbuf o = {0};
    for (int d = 0; d < 90; d++)
        hb_put(&o, "\x9b\x06", 2); /* field 99, start group */
    hb_put(&o, "\x08\x01", 2);
    for (int d = 0; d < 90; d++)
        hb_put(&o, "\x9c\x06", 2);
    for (unsigned r = 0; r < 256u * s; r++)
        hb_msg(b, 1, &o);
    b->oom |= o.oom;
    hbuf_free(&o);
}

const struct hostile_gen hostile_gens[] = {
    {"http", "tiny-chunks", "a body of one-byte chunks", http_tiny_chunks, 0},
    {"http", "chunk-ext", "1000-byte chunk extensions", http_chunk_ext, 0},
    {"http", "many-fields", "62 header fields per request, pipelined", http_many_fields, 0},
    {"http", "trailing-ows", "7000 spaces after a field value", http_trailing_ows, 0},
    {"http", "empty-lines", "3000 empty lines before each request", http_empty_lines, 0},
    {"http", "pipelined", "minimal requests back to back", http_pipelined, 0},
    {"http", "bytewise", "a chunked request fed one byte per call", http_bytewise, 1},
    {"json", "deep", "arrays nested 5000 deep, side by side", json_deep, 0},
    {"json", "escapes", "strings of \\u escapes and surrogate pairs", json_escapes, 0},
    {"json", "utf8", "strings of 2-, 3- and 4-byte UTF-8", json_utf8, 0},
    {"json", "hard-numbers", "25-digit numbers, big exponents, halfway points", json_hard_numbers,
     0},
    {"json", "dup-keys", "one object, one key, repeated", json_dup_keys, 0},
    {"json", "whitespace", "10,000-byte whitespace runs", json_whitespace, 0},
    {"xml", "defaults", "1000 defaulted attributes on every element", xml_defaults, 0},
    {"xml", "attlist", "one element's ATTLIST declarations by the thousand", xml_attlist, 0},
    {"xml", "entities", "entity names that collided in a fixed hash", xml_colliding_entities, 0},
    {"xml", "namespaces", "thousands of bindings in scope, each looked up", xml_namespaces, 0},
    {"xml", "attributes", "1000 attributes per element", xml_attributes, 0},
    {"xml", "ns-attributes", "1000 prefixed attributes per element", xml_ns_attributes, 0},
    {"xml", "nesting", "elements nested 5000 deep per scale", xml_nesting, 0},
    {"xml", "dashes", "a comment and a PI of stop bytes", xml_dashes, 0},
    {"proto", "empty-orders", "empty messages by the hundred thousand", pb_empty_orders, 0},
    {"proto", "deep-categories", "categories nested 97 deep", pb_deep_categories, 0},
    {"proto", "unknown-fields", "1000 unknown fields per order", pb_unknown_fields, 0},
    {"proto", "packed", "one packed run of varints", pb_packed, 0},
    {"proto", "merged", "a singular message repeated and merged", pb_merged, 0},
    {"proto", "groups", "unknown groups nested 90 deep", pb_groups, 0},
};
const size_t hostile_ngens = sizeof hostile_gens / sizeof hostile_gens[0];

static const char BROWSER_REQUEST[] =
    "GET /search?q=wirelab&lang=en HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 "
    "(X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
    "Safari/537.36\r\nAccept: "
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n"
    "Accept-Language: en-US,en;q=0.9\r\nAccept-Encoding: gzip, deflate, br\r\nConnection: "
    "keep-alive\r\nCookie: session=4f2a9c0e1b7d43a8; theme=dark\r\nUpgrade-Insecure-Requests: "
    "1\r\nSec-Fetch-Dest: document\r\nSec-Fetch-Mode: navigate\r\n\r\n";

int hostile_normal(const char *format, struct hbuf *b)
{
    if (!strcmp(format, "http")) {
        hb_rep(b, BROWSER_REQUEST, 400);
        return b->oom ? -1 : 0;
    }
    /* the lab's orders: the dataset generator's records, each format's writer */
    struct proto_arena a = {0};
    struct proto_order_batch batch;
    int rc = -1;
    if (orders_gen(&a, 1, 500, &batch)) goto out;
    if (!strcmp(format, "proto")) {
        uint8_t *out;
        size_t len;
        if (proto_encode(PROTO_ORDER_BATCH, &batch, &out, &len)) goto out;
        hb_put(b, out, len);
        free(out);
    } else {
        struct jw w = JW_INIT;
        struct orders_out o;
        if (orders_write(format, "hand", &batch, &w, &o) == 0) {
            hb_put(b, o.p, o.len);
            orders_out_free(&o);
        } else {
            b->oom = 1;
        }
        jw_free(&w);
    }
    rc = b->oom ? -1 : 0;
out:
    proto_arena_free(&a);
    return rc;
}
