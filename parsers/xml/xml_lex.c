/* xml_lex: the lexical layer of the hand-written XML parser: byte classes, UTF-8 and
 * XML Char checks, names, character references, comments, PIs and attribute values
 * (with entity expansion under the limits of xml.h), buffers and error recording. */
#include "parsers/utf8.h"
#include "parsers/xml/xml_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const uint8_t xml_cls[256] = {
    17,  17,  17,  17,  17,  17,  17,  17,  17,  24,  24,  17,  17,  25,  17,  17,  17,  17,  17,
    17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  8,   0,   16,  0,   0,   0,
    17,  16,  0,   0,   0,   0,   0,   68,  68,  0,   68,  68,  68,  68,  68,  68,  68,  68,  68,
    68,  6,   0,   17,  0,   0,   0,   0,   102, 102, 102, 102, 102, 102, 102, 102, 102, 102, 102,
    102, 102, 102, 102, 102, 102, 102, 102, 102, 102, 102, 102, 102, 102, 102, 0,   0,   1,   0,
    102, 0,   102, 102, 102, 102, 102, 102, 102, 102, 102, 102, 102, 102, 102, 102, 102, 102, 102,
    102, 102, 102, 102, 102, 102, 102, 102, 102, 0,   0,   0,   0,   0,   17,  17,  17,  17,  17,
    17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,
    17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,
    17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,
    17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,
    17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,
    17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,  17,
    17,  17,  17,  17,  17,  17,  17,  17,  17,
};

int xml_fail(struct xml_ctx *c, const uint8_t *at, const char *fmt, ...)
{
    if (c->failed) return -1;
    c->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->r->err, sizeof c->r->err, fmt, ap);
    va_end(ap);
    c->r->has_offset = 1;
    /* Inside an entity's replacement text the error is placed at the outermost
     * reference in the document. */
    if ((uintptr_t)at >= (uintptr_t)c->doc && (uintptr_t)at <= (uintptr_t)c->doc_end)
        c->r->err_offset = (size_t)(at - c->doc);
    else
        c->r->err_offset = c->ref_off;
    return -1;
}

int xml_oom(struct xml_ctx *c)
{
    if (!c->failed) {
        c->failed = 1;
        c->oom = 1;
        snprintf(c->r->err, sizeof c->r->err, "out of memory");
    }
    return -1;
}

int xml_buf_add(struct xml_ctx *c, struct xml_buf *b, const void *s, size_t n)
{
    if (b->len + n > b->cap) {
        if (b->len + n > XML_MAX_VALUE)
            return xml_fail(c, NULL, "value longer than %u bytes", XML_MAX_VALUE);
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *np = realloc(b->p, cap);
        if (!np) return xml_oom(c);
        b->p = np;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

int xml_buf_byte(struct xml_ctx *c, struct xml_buf *b, uint8_t ch)
{
    if (b->len < b->cap) {
        b->p[b->len++] = ch;
        return 0;
    }
    return xml_buf_add(c, b, &ch, 1);
}

int xml_is_char(uint32_t c)
{
    if (c < 0x20) return c == 0x9 || c == 0xA || c == 0xD;
    if (c <= 0xD7FF) return 1;
    if (c < 0xE000) return 0;
    if (c <= 0xFFFD) return 1;
    return c >= 0x10000 && c <= 0x10FFFF;
}

int xml_utf8_char(const uint8_t *p, const uint8_t *end, uint32_t *cp)
{
    size_t n = utf8_decode(p, (size_t)(end - p), cp);
    return n && xml_is_char(*cp) ? (int)n : 0; /* not a Char: controls, U+FFFE, U+FFFF */
}

/* XML 1.0 5th edition, productions [4] and [4a]. */
static int xml_name_start(uint32_t c)
{
    return (c >= 0xC0 && c <= 0xD6) || (c >= 0xD8 && c <= 0xF6) || (c >= 0xF8 && c <= 0x2FF) ||
           (c >= 0x370 && c <= 0x37D) || (c >= 0x37F && c <= 0x1FFF) ||
           (c >= 0x200C && c <= 0x200D) || (c >= 0x2070 && c <= 0x218F) ||
           (c >= 0x2C00 && c <= 0x2FEF) || (c >= 0x3001 && c <= 0xD7FF) ||
           (c >= 0xF900 && c <= 0xFDCF) || (c >= 0xFDF0 && c <= 0xFFFD) ||
           (c >= 0x10000 && c <= 0xEFFFF);
}

static int xml_name_char(uint32_t c)
{
    return xml_name_start(c) || c == 0xB7 || (c >= 0x300 && c <= 0x36F) ||
           (c >= 0x203F && c <= 0x2040);
}

const uint8_t *xml_scan_name(struct xml_ctx *c, const uint8_t *p, const uint8_t *end, int nmtoken)
{
    const uint8_t *s = p;
    int first = !nmtoken;
    while (p < end) {
        uint8_t b = *p;
        if (b < 0x80) {
            if (!(xml_cls[b] & (first ? XC_NSTART : XC_NCHAR))) break;
            p++;
        } else {
            uint32_t cp;
            int n = xml_utf8_char(p, end, &cp);
            if (n == 0) return xml_bad_char(c, p);
            if (!(first ? xml_name_start(cp) : xml_name_char(cp))) break;
            p += n;
        }
        first = 0;
    }
    if (p - s > XML_MAX_NAME) {
        xml_fail(c, s, "name longer than %d bytes", XML_MAX_NAME);
        return NULL;
    }
    return p;
}

const uint8_t *xml_scan_charref(struct xml_ctx *c, const uint8_t *p, const uint8_t *end,
                                uint32_t *cp)
{
    const uint8_t *s = p;
    uint32_t v = 0;
    int digits = 0;
    if (p < end && *p == 'x') {
        p++;
        for (; p < end && *p != ';'; p++, digits++) {
            uint8_t b = *p;
            uint32_t d;
            if (b >= '0' && b <= '9')
                d = b - '0';
            else if ((b | 0x20) >= 'a' && (b | 0x20) <= 'f')
                d = (uint32_t)((b | 0x20) - 'a' + 10);
            else
                break;
            if (v > 0x10FFFF) break;
            v = v * 16 + d;
        }
    } else {
        for (; p < end && *p != ';'; p++, digits++) {
            if (*p < '0' || *p > '9' || v > 0x10FFFF) break;
            v = v * 10 + (uint32_t)(*p - '0');
        }
    }
    if (p >= end || *p != ';' || digits == 0) {
        xml_fail(c, s - 2, "malformed character reference");
        return NULL;
    }
    if (!xml_is_char(v)) {
        xml_fail(c, s - 2, "character reference to a character not allowed in XML");
        return NULL;
    }
    *cp = v;
    return p + 1;
}

size_t xml_collapse(uint8_t *v, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] == ' ' && (o == 0 || v[o - 1] == ' ')) continue;
        v[o++] = v[i];
    }
    if (o && v[o - 1] == ' ') o--;
    return o;
}

static const void *xml_ent_key(const struct xml_ctx *c, const void *v, size_t *n)
{
    const struct xml_ent *e = v;
    *n = e->nlen;
    return e->name;
}

struct xml_ent *xml_ent_find(const struct xml_ctx *c, const struct xml_map *tab, uint64_t h,
                             const uint8_t *name, size_t n)
{
    return tab->n ? xml_map_get(c, tab, h, name, n, xml_ent_key) : NULL;
}

int xml_ent_add(struct xml_ctx *c, struct xml_map *tab, uint64_t h, struct xml_ent *e)
{
    return xml_map_put(c, tab, h, e->name, e->nlen, e, xml_ent_key);
}

const uint8_t *xml_bad_char(struct xml_ctx *c, const uint8_t *p)
{
    xml_fail(c, p,
             *p < 0x80 ? "control character not allowed in XML"
                       : "invalid UTF-8 or a character not allowed in XML");
    return NULL;
}

const uint8_t *xml_chars_until(struct xml_ctx *c, const uint8_t *p, const uint8_t *end,
                               uint8_t stop)
{
    for (;;) {
        while (p < end && *p != stop && *p >= 0x20 && *p < 0x80)
            p++;
        if (p >= end || *p == stop) return p;
        uint32_t cp;
        int n = xml_utf8_char(p, end, &cp);
        if (!n) return xml_bad_char(c, p);
        p += n;
    }
}

const uint8_t *xml_comment(struct xml_ctx *c, const uint8_t *p, const uint8_t *end)
{
    const uint8_t *s = p;
    p += 4;
    for (;;) {
        if (!(p = xml_chars_until(c, p, end, '-'))) return NULL;
        if (p >= end) {
            xml_fail(c, s, "comment not closed");
            return NULL;
        }
        if (p + 1 < end && p[1] == '-') {
            if (p + 2 < end && p[2] == '>') return p + 3;
            xml_fail(c, p, "'--' not allowed inside a comment");
            return NULL;
        }
        p++;
    }
}

const uint8_t *xml_pi(struct xml_ctx *c, const uint8_t *p, const uint8_t *end)
{
    const uint8_t *s = p;
    const uint8_t *t = p + 2;
    const uint8_t *te = xml_scan_name(c, t, end, 0);
    if (!te) return NULL;
    if (te == t) {
        xml_fail(c, s, "processing instruction without a target");
        return NULL;
    }
    if (te - t == 3 && (t[0] | 0x20) == 'x' && (t[1] | 0x20) == 'm' && (t[2] | 0x20) == 'l') {
        xml_fail(c, s, "the PI target 'xml' is reserved (an XML declaration must be first)");
        return NULL;
    }
    if (memchr(t, ':', (size_t)(te - t))) {
        xml_fail(c, t, "a PI target must not contain ':' (Namespaces)");
        return NULL;
    }
    p = te;
    if (!XML_HAS(p, end, "?>")) {
        if (p >= end || !(xml_cls[*p] & XC_SPACE)) {
            xml_fail(c, p, "space or '?>' expected after the PI target");
            return NULL;
        }
        p = xml_skip_s(p, end);
    }
    const uint8_t *d = p;
    for (;;) {
        if (!(p = xml_chars_until(c, p, end, '?'))) return NULL;
        if (p >= end) {
            xml_fail(c, s, "processing instruction not closed");
            return NULL;
        }
        if (p + 1 < end && p[1] == '>') break;
        p++;
    }
    if (c->dump && !c->in_dtd) {
        xml_text_flush(&c->text, c->dump);
        const uint8_t *data = d;
        size_t dlen = (size_t)(p - d);
        /* Line ends normalized, as everywhere else; in an entity a CR can only come from a
         * character reference and stays. */
        if (!c->ent_depth && memchr(d, '\r', dlen)) {
            c->scratch.len = 0;
            for (const uint8_t *q = d; q < p; q++) {
                if (*q == '\r' && q + 1 < p && q[1] == '\n') continue;
                if (xml_buf_byte(c, &c->scratch, *q == '\r' ? '\n' : *q)) return NULL;
            }
            data = c->scratch.p;
            dlen = c->scratch.len;
        }
        xml_dump_pi(c->dump, (const char *)t, (size_t)(te - t), (const char *)data, dlen);
    }
    return p + 2;
}

int xml_predefined(const uint8_t *n, size_t len)
{
    switch (len) {
    case 2:
        if (n[1] == 't' && (n[0] == 'l' || n[0] == 'g')) return n[0] == 'l' ? '<' : '>';
        return 0;
    case 3:
        return memcmp(n, "amp", 3) == 0 ? '&' : 0;
    case 4:
        if (memcmp(n, "apos", 4) == 0) return '\'';
        return memcmp(n, "quot", 4) == 0 ? '"' : 0;
    }
    return 0;
}

const uint8_t *xml_scan_ref(struct xml_ctx *c, const uint8_t *p, const uint8_t *end,
                            const uint8_t **name, size_t *nlen)
{
    const uint8_t *n = p + 1;
    const uint8_t *ne = xml_scan_name(c, n, end, 0);
    if (!ne) return NULL;
    if (ne == n || ne >= end || *ne != ';') {
        xml_fail(c, p, "malformed entity reference ('&' must start a reference)");
        return NULL;
    }
    *name = n;
    *nlen = (size_t)(ne - n);
    return ne + 1;
}

int xml_ent_enter(struct xml_ctx *c, struct xml_ent *e, const uint8_t *at)
{
    if (e->open)
        return xml_fail(c, at, "recursive reference to entity '%.*s'", (int)e->nlen, e->name);
    if (c->ent_depth == 0) c->ref_off = (size_t)(at - c->doc);
    if (c->ent_depth >= XML_MAX_ENT_DEPTH)
        return xml_fail(c, at, "entity references nested deeper than %d", XML_MAX_ENT_DEPTH);
    c->expanded += e->vlen;
    if (c->expanded > c->expand_limit)
        return xml_fail(c, at, "entity expansion limit exceeded (%zu bytes): billion laughs?",
                        c->expand_limit);
    e->open = 1;
    c->ent_depth++;
    return 0;
}

void xml_ent_leave(struct xml_ctx *c, struct xml_ent *e)
{
    e->open = 0;
    c->ent_depth--;
}

/* The normalizing loop of an attribute value (quote != 0: the literal in the document,
 * stops at the quote; quote == 0: an entity's replacement text, runs to end). */
static const uint8_t *xml_attval_run(struct xml_ctx *c, const uint8_t *p, const uint8_t *end,
                                     uint8_t quote)
{
    struct xml_buf *b = &c->scratch;
    for (;;) {
        const uint8_t *s = p;
        while (p < end && !(xml_cls[*p] & XC_ASTOP))
            p++;
        if (p > s && xml_buf_add(c, b, s, (size_t)(p - s))) return NULL;
        if (p >= end) {
            if (quote) {
                xml_fail(c, p, "attribute value not closed");
                return NULL;
            }
            return p;
        }
        uint8_t ch = *p;
        if (ch == quote) return p + 1;
        if (ch == '"' || ch == '\'') {
            if (xml_buf_byte(c, b, ch)) return NULL;
            p++;
        } else if (ch == '<') {
            xml_fail(c, p, "'<' not allowed in an attribute value");
            return NULL;
        } else if (ch == '\t' || ch == '\n' || ch == '\r') {
            if (xml_buf_byte(c, b, ' ')) return NULL;
            p++;
            /* CR LF is one line end in the document; a CR in replacement text (even of a
             * PE holding this ATTLIST) came from a character reference. */
            if (ch == '\r' && quote && !c->ent_depth && p < end && *p == '\n') p++;
        } else if (ch == '&') {
            uint32_t cp;
            if (p + 1 < end && p[1] == '#') {
                uint8_t u[4];
                p = xml_scan_charref(c, p + 2, end, &cp);
                if (!p || xml_buf_add(c, b, u, utf8_put(u, cp))) return NULL;
                continue;
            }
            const uint8_t *n;
            size_t nl;
            const uint8_t *at = p;
            p = xml_scan_ref(c, p, end, &n, &nl);
            if (!p) return NULL;
            int pre = xml_predefined(n, nl);
            if (pre) {
                if (xml_buf_byte(c, b, (uint8_t)pre)) return NULL;
                continue;
            }
            struct xml_ent *e = xml_ent_find(c, &c->ge, xml_hash(c, n, nl), n, nl);
            if (!e) {
                if (c->dtd_incomplete && !c->standalone)
                    continue; /* may be declared in what we did not read */
                xml_fail(c, at, "undeclared entity '%.*s'", (int)nl, n);
                return NULL;
            }
            if (e->kind != XML_ENT_INTERNAL) {
                xml_fail(c, at, "reference to %s entity '%.*s' in an attribute value",
                         e->kind == XML_ENT_UNPARSED ? "unparsed" : "external", (int)nl, n);
                return NULL;
            }
            if (xml_ent_enter(c, e, at)) return NULL;
            const uint8_t *r = xml_attval_run(c, e->val, e->val + e->vlen, 0);
            xml_ent_leave(c, e);
            if (!r) return NULL;
        } else if (ch < 0x80) {
            return xml_bad_char(c, p);
        } else {
            uint32_t cp;
            int n = xml_utf8_char(p, end, &cp);
            if (!n) return xml_bad_char(c, p);
            if (xml_buf_add(c, b, p, (size_t)n)) return NULL;
            p += n;
        }
    }
}

const uint8_t *xml_attvalue(struct xml_ctx *c, const uint8_t *p, const uint8_t *end, int *raw)
{
    uint8_t quote = p < end ? *p : 0;
    if (quote != '"' && quote != '\'') {
        xml_fail(c, p, "attribute value must be quoted");
        return NULL;
    }
    const uint8_t *s = ++p;
    /* Fast path: most values need no copy (no references, no whitespace to normalize). */
    for (;;) {
        p = xml_run(p, end, 1);
        if (p < end && *p >= 0x80) {
            uint32_t cp;
            int n = xml_utf8_char(p, end, &cp);
            if (!n) return xml_bad_char(c, p);
            p += n;
            continue;
        }
        if (p < end && (*p == '"' || *p == '\'') && *p != quote) {
            p++;
            continue;
        }
        break;
    }
    if (p < end && *p == quote) {
        *raw = 1;
        return p + 1;
    }
    *raw = 0;
    if (xml_buf_add(c, &c->scratch, s, (size_t)(p - s))) return NULL;
    return xml_attval_run(c, p, end, quote);
}
