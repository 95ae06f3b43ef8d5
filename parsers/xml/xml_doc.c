/* xml_doc: the document level of the hand-written XML parser: encoding checks, the XML
 * declaration, prolog and epilog, and the parser_impl entry point (contract in xml.h). */
#include "parsers/xml/xml_int.h"

#include <stdlib.h>
#include <string.h>

/* S? '=' S? and a quoted literal of the XML declaration; *v, *vlen its content. */
static const uint8_t *xml_decl_value(struct xml_ctx *c, const uint8_t *p, const uint8_t *end,
                                     const uint8_t **v, size_t *vlen)
{
    p = xml_skip_s(p, end);
    if (p >= end || *p != '=') {
        xml_fail(c, p, "'=' expected in the XML declaration");
        return NULL;
    }
    p = xml_skip_s(p + 1, end);
    if (p >= end || (*p != '"' && *p != '\'')) {
        xml_fail(c, p, "quoted value expected in the XML declaration");
        return NULL;
    }
    const uint8_t *q = memchr(p + 1, *p, (size_t)(end - p - 1));
    if (!q) {
        xml_fail(c, p, "value not closed in the XML declaration");
        return NULL;
    }
    *v = p + 1;
    *vlen = (size_t)(q - p - 1);
    return q + 1;
}

static int xml_ieq(const uint8_t *s, size_t n, const char *lit)
{
    size_t i;
    for (i = 0; i < n && lit[i]; i++)
        if ((s[i] | 0x20) != (lit[i] | 0x20)) return 0;
    return i == n && lit[i] == 0;
}

/* <?xml version="1.x" encoding="..." standalone="..."?> with p at "<?xml". */
static const uint8_t *xml_decl(struct xml_ctx *c, const uint8_t *p, const uint8_t *end)
{
    const uint8_t *s = p, *v, *q;
    size_t vl;
    p += 5;
    q = xml_skip_s(p, end);
    if (q == p || !XML_HAS(q, end, "version")) {
        xml_fail(c, s, "the XML declaration must start with version=\"1.0\"");
        return NULL;
    }
    if (!(p = xml_decl_value(c, q + 7, end, &v, &vl))) return NULL;
    int ok = vl >= 3 && v[0] == '1' && v[1] == '.';
    for (size_t i = 2; ok && i < vl; i++)
        ok = v[i] >= '0' && v[i] <= '9';
    if (!ok) {
        xml_fail(c, v, "unsupported XML version '%.*s'", (int)vl, v);
        return NULL;
    }
    q = xml_skip_s(p, end);
    if (q > p && XML_HAS(q, end, "encoding")) {
        if (!(p = xml_decl_value(c, q + 8, end, &v, &vl))) return NULL;
        ok = vl > 0 && ((v[0] | 0x20) >= 'a' && (v[0] | 0x20) <= 'z');
        for (size_t i = 1; ok && i < vl; i++)
            ok = (xml_cls[v[i]] & XC_NCHAR) && v[i] != ':';
        if (!ok) {
            xml_fail(c, v, "malformed encoding name '%.*s'", (int)vl, v);
            return NULL;
        }
        if (!xml_ieq(v, vl, "UTF-8") && !xml_ieq(v, vl, "US-ASCII")) {
            xml_fail(c, v, "unsupported encoding '%.*s': this parser reads only UTF-8", (int)vl, v);
            return NULL;
        }
        q = xml_skip_s(p, end);
    }
    if (q > p && XML_HAS(q, end, "standalone")) {
        if (!(p = xml_decl_value(c, q + 10, end, &v, &vl))) return NULL;
        if (vl == 3 && memcmp(v, "yes", 3) == 0)
            c->standalone = 1;
        else if (!(vl == 2 && memcmp(v, "no", 2) == 0)) {
            xml_fail(c, v, "standalone must be \"yes\" or \"no\"");
            return NULL;
        }
        q = xml_skip_s(p, end);
    }
    if (!XML_HAS(q, end, "?>")) {
        xml_fail(c, q, "'?>' expected to end the XML declaration");
        return NULL;
    }
    return q + 2;
}

/* Comments, PIs and white space before or after the root element. */
static const uint8_t *xml_misc(struct xml_ctx *c, const uint8_t *p, const uint8_t *end)
{
    for (;;) {
        p = xml_skip_s(p, end);
        if (XML_HAS(p, end, "<!--"))
            p = xml_comment(c, p, end);
        else if (XML_HAS(p, end, "<?"))
            p = xml_pi(c, p, end);
        else
            return p;
        if (!p) return NULL;
    }
}

static int xml_document(struct xml_ctx *c)
{
    const uint8_t *p = c->doc, *end = c->doc_end;
    if (XML_HAS(p, end, "\xEF\xBB\xBF"))
        p += 3;
    else if (XML_HAS(p, end, "\xFE\xFF") || XML_HAS(p, end, "\xFF\xFE") ||
             (end - p >= 2 && (p[0] == 0 || p[1] == 0)))
        return xml_fail(c, p,
                        "unsupported encoding (UTF-16 or UTF-32): this parser reads "
                        "only UTF-8");
    if (XML_HAS(p, end, "<?xml") && end - p > 5 && (xml_cls[p[5]] & XC_SPACE))
        if (!(p = xml_decl(c, p, end))) return -1;
    if (!(p = xml_misc(c, p, end))) return -1;
    if (XML_HAS(p, end, "<!DOCTYPE")) {
        if (!(p = xml_doctype(c, p, end))) return -1;
        if (!(p = xml_misc(c, p, end))) return -1;
    }
    if (p >= end) return xml_fail(c, p, "no root element");
    if (*p != '<' || p + 1 >= end || p[1] == '!' || p[1] == '/' || p[1] == '?')
        return xml_fail(c, p, "the root element expected here");
    if (!(p = xml_content(c, p, end, 1))) return -1;
    if (!(p = xml_misc(c, p, end))) return -1;
    if (p < end)
        return xml_fail(c, p, "only comments, PIs and white space may follow the root element");
    return 0;
}

static int xml_hand_parse(const uint8_t *buf, size_t len, const struct parse_opts *opts,
                          struct parse_result *r, FILE *dump)
{
    memset(r, 0, sizeof *r);
    struct xml_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(r->err, sizeof r->err, "out of memory");
        return 2;
    }
    xml_map_seed(c);
    c->doc = buf;
    c->doc_end = buf + len;
    c->r = r;
    c->dump = dump;
    c->expand_limit =
        len > XML_EXPAND_MIN / XML_EXPAND_FACTOR ? len * XML_EXPAND_FACTOR : XML_EXPAND_MIN;
    int rc = 0;
    if (xml_document(c))
        rc = c->oom ? 2 : 1;
    else {
        r->items = c->items;
        r->depth = c->max_depth;
    }
    xml_text_free(&c->text);
    xml_dtd_free(c);
    free(c->open);
    free(c->nsb);
    xml_map_free(&c->ns);
    free(c->attset);
    free(c->nsstr.p);
    free(c->att);
    free(c->scratch.p);
    free(c);
    return rc;
}

const struct parser_impl xml_hand_impl = {"xml", "hand", xml_hand_parse};
