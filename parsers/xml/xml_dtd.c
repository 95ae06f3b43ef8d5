/* xml_dtd: the DOCTYPE declaration and the internal DTD subset of the hand-written XML
 * parser, checked for well-formedness only.  Entity declarations feed the entity table
 * (replacement texts with character references already resolved); ATTLIST declarations
 * record types and xmlns defaults.  External identifiers are checked, never fetched. */
#include "parsers/utf8.h"
#include "parsers/xml/xml_int.h"

#include <stdlib.h>
#include <string.h>

static void xml_pe_in_decl(struct xml_ctx *c, const uint8_t *p)
{
    xml_fail(c, p,
             "parameter-entity reference inside a markup declaration (not allowed in "
             "the internal subset)");
}

static const uint8_t *xml_need_s(struct xml_ctx *c, const uint8_t *p, const uint8_t *end,
                                 const char *where)
{
    if (p < end && (xml_cls[*p] & XC_SPACE)) {
        p = xml_skip_s(p, end);
        if (p < end) return p; /* callers may look at *p */
        xml_fail(c, p, "document ends inside a declaration");
        return NULL;
    }
    if (p < end && *p == '%')
        xml_pe_in_decl(c, p);
    else
        xml_fail(c, p, "space expected %s", where);
    return NULL;
}

/* A Name at p; with nocolon, Namespaces forbid ':' (entity, notation names). */
static const uint8_t *xml_dtd_name(struct xml_ctx *c, const uint8_t *p, const uint8_t *end,
                                   int nocolon, const char *what)
{
    const uint8_t *e = xml_scan_name(c, p, end, 0);
    if (!e) return NULL;
    if (e == p) {
        if (p < end && *p == '%')
            xml_pe_in_decl(c, p);
        else
            xml_fail(c, p, "%s expected", what);
        return NULL;
    }
    const uint8_t *col = memchr(p, ':', (size_t)(e - p));
    if (col &&
        (nocolon || col == p || col + 1 == e || memchr(col + 1, ':', (size_t)(e - col - 1)))) {
        xml_fail(c, p, "%s '%.*s' is not allowed by Namespaces", what, (int)(e - p), p);
        return NULL;
    }
    return e;
}

static const uint8_t *xml_literal(struct xml_ctx *c, const uint8_t *p, const uint8_t *end,
                                  int pubid)
{
    if (p >= end || (*p != '"' && *p != '\'')) {
        xml_fail(c, p, "quoted literal expected");
        return NULL;
    }
    uint8_t q = *p++;
    while (p < end && *p != q) {
        uint32_t cp;
        int n = xml_utf8_char(p, end, &cp);
        if (!n) return xml_bad_char(c, p);
        if (pubid &&
            !(cp == ' ' || cp == '\r' || cp == '\n' ||
              (cp < 0x80 && ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z')) ||
              (cp >= '0' && cp <= '9') || (cp < 0x80 && strchr("-'()+,./:=?;!*#@$_%", (int)cp)))) {
            xml_fail(c, p, "character not allowed in a public identifier");
            return NULL;
        }
        p += n;
    }
    if (p >= end) {
        xml_fail(c, p, "literal not closed");
        return NULL;
    }
    return p + 1;
}

/* ExternalID (or PublicID when public_only is allowed); *got = 0 when none is there. */
static const uint8_t *xml_extid(struct xml_ctx *c, const uint8_t *p, const uint8_t *end,
                                int allow_public_only, int *got)
{
    *got = 1;
    if (XML_HAS(p, end, "SYSTEM")) {
        if (!(p = xml_need_s(c, p + 6, end, "after SYSTEM"))) return NULL;
        return xml_literal(c, p, end, 0);
    }
    if (!XML_HAS(p, end, "PUBLIC")) {
        *got = 0;
        return p;
    }
    if (!(p = xml_need_s(c, p + 6, end, "after PUBLIC")) || !(p = xml_literal(c, p, end, 1)))
        return NULL;
    const uint8_t *s = p;
    p = xml_skip_s(p, end);
    if (p < end && (*p == '"' || *p == '\'')) {
        if (p == s) {
            xml_fail(c, p, "space expected between the public and system literals");
            return NULL;
        }
        return xml_literal(c, p, end, 0);
    }
    if (!allow_public_only) {
        xml_fail(c, p, "system literal expected after the public identifier");
        return NULL;
    }
    return s;
}

static const uint8_t *xml_decl_end(struct xml_ctx *c, const uint8_t *p, const uint8_t *end)
{
    p = xml_skip_s(p, end);
    if (p >= end || *p != '>') {
        xml_fail(c, p, "'>' expected to end the declaration");
        return NULL;
    }
    return p + 1;
}

/* A content-model group after its '(' (children: choice or seq), recursion bounded. */
static const uint8_t *xml_cp_group(struct xml_ctx *c, const uint8_t *p, const uint8_t *end,
                                   int depth)
{
    uint8_t sep = 0;
    if (depth > 64) {
        xml_fail(c, p, "content model nested deeper than 64");
        return NULL;
    }
    for (;;) {
        p = xml_skip_s(p, end);
        if (p < end && *p == '(')
            p = xml_cp_group(c, p + 1, end, depth + 1);
        else
            p = xml_dtd_name(c, p, end, 0, "element name or '(' in the content model");
        if (!p) return NULL;
        if (p < end && (*p == '?' || *p == '*' || *p == '+')) p++;
        p = xml_skip_s(p, end);
        if (p < end && *p == ')') break;
        if (p < end && (*p == '|' || *p == ',') && (!sep || sep == *p)) {
            sep = *p++;
            continue;
        }
        xml_fail(c, p, "')', '|' or ',' expected in the content model (not both '|' and ',')");
        return NULL;
    }
    p++;
    if (p < end && (*p == '?' || *p == '*' || *p == '+')) p++;
    return p;
}

static const uint8_t *xml_elementdecl(struct xml_ctx *c, const uint8_t *p, const uint8_t *end)
{
    if (!(p = xml_need_s(c, p + 9, end, "after <!ELEMENT")) ||
        !(p = xml_dtd_name(c, p, end, 0, "element name")) ||
        !(p = xml_need_s(c, p, end, "after the element name")))
        return NULL;
    if (XML_HAS(p, end, "EMPTY")) return xml_decl_end(c, p + 5, end);
    if (XML_HAS(p, end, "ANY")) return xml_decl_end(c, p + 3, end);
    if (p >= end || *p != '(') {
        xml_fail(c, p, "EMPTY, ANY or '(' expected in the element declaration");
        return NULL;
    }
    const uint8_t *q = xml_skip_s(p + 1, end);
    if (!XML_HAS(q, end, "#PCDATA")) {
        p = xml_cp_group(c, p + 1, end, 0);
        return p ? xml_decl_end(c, p, end) : NULL;
    }
    p = xml_skip_s(q + 7, end);
    if (p < end && *p == ')') {
        p++;
        if (p < end && *p == '*') p++;
        return xml_decl_end(c, p, end);
    }
    while (p < end && *p == '|') {
        p = xml_skip_s(p + 1, end);
        if (!(p = xml_dtd_name(c, p, end, 0, "element name"))) return NULL;
        p = xml_skip_s(p, end);
    }
    if (!XML_HAS(p, end, ")*")) {
        xml_fail(c, p, "mixed content must end with ')*'");
        return NULL;
    }
    return xml_decl_end(c, p + 2, end);
}

static int xml_ieq_lit(const uint8_t *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

static const uint8_t *xml_enum(struct xml_ctx *c, const uint8_t *p, const uint8_t *end, int names)
{
    if (p >= end || *p != '(') {
        xml_fail(c, p, "'(' expected for the enumeration");
        return NULL;
    }
    p++;
    for (;;) {
        p = xml_skip_s(p, end);
        const uint8_t *e = xml_scan_name(c, p, end, !names);
        if (!e) return NULL;
        if (e == p) {
            xml_fail(c, p, "name expected in the enumeration");
            return NULL;
        }
        p = xml_skip_s(e, end);
        if (p < end && *p == ')') return p + 1;
        if (p >= end || *p != '|') {
            xml_fail(c, p, "'|' or ')' expected in the enumeration");
            return NULL;
        }
        p++;
    }
}

/* The key of an attdecl in its element's table: the attribute name. */
static const void *xml_attdecl_key(const struct xml_ctx *c, const void *v, size_t *n)
{
    const struct xml_attdecl *d = v;
    *n = d->alen;
    return d->key + d->elen + 1;
}

static const void *xml_eldecl_key(const struct xml_ctx *c, const void *v, size_t *n)
{
    const struct xml_eldecl *e = v;
    *n = e->nlen;
    return e->name;
}

/* One more declaration the tables keep (an entity, an attribute definition); -1 past
 * XML_MAX_DECLS. */
static int xml_decl_count(struct xml_ctx *c, const uint8_t *at)
{
    if (++c->ndecls > XML_MAX_DECLS)
        return xml_fail(c, at, "more than %d declarations in the DTD", XML_MAX_DECLS);
    return 0;
}

const struct xml_eldecl *xml_eldecl_find(const struct xml_ctx *c, const uint8_t *name, size_t n)
{
    return c->el.n ? xml_map_get(c, &c->el, xml_hash(c, name, n), name, n, xml_eldecl_key) : NULL;
}

const struct xml_attdecl *xml_attdecl_find(const struct xml_ctx *c, const struct xml_eldecl *e,
                                           const uint8_t *an, size_t alen)
{
    return e ? xml_map_get(c, &e->atts, xml_hash(c, an, alen), an, alen, xml_attdecl_key) : NULL;
}

static int xml_attdecl_add(struct xml_ctx *c, const uint8_t *el, size_t elen, const uint8_t *an,
                           size_t alen, int cdata, const uint8_t *dflt, size_t dlen)
{
    struct xml_eldecl *e = (struct xml_eldecl *)xml_eldecl_find(c, el, elen);
    uint64_t h = xml_hash(c, an, alen);
    if (e && xml_map_get(c, &e->atts, h, an, alen, xml_attdecl_key))
        return 0; /* the first declaration is binding */
    /* The record and its key in one block. */
    struct xml_attdecl *d = calloc(1, sizeof *d + elen + alen + 1);
    if (!d) return xml_oom(c);
    d->key = (uint8_t *)(d + 1);
    d->all = c->attdecls;
    c->attdecls = d;
    memcpy(d->key, el, elen);
    d->key[elen] = 0;
    memcpy(d->key + elen + 1, an, alen);
    d->elen = elen;
    d->alen = alen;
    d->cdata = (uint8_t)cdata;
    d->is_ns =
        (alen == 5 && memcmp(an, "xmlns", 5) == 0) || (alen > 6 && memcmp(an, "xmlns:", 6) == 0);
    if (dflt) { /* a non-validating processor must supply defaults it has read (5.1) */
        if (!(d->dflt = malloc(dlen ? dlen : 1))) return xml_oom(c);
        if (dlen) memcpy(d->dflt, dflt, dlen);
        d->dlen = cdata ? dlen : xml_collapse(d->dflt, dlen);
    }
    if (!e) { /* the element's record: every declaration for it, one lookup away */
        if (!(e = calloc(1, sizeof *e))) return xml_oom(c);
        e->all = c->eldecls;
        c->eldecls = e;
        e->name = d->key;
        e->nlen = elen;
        e->dflt_tail = &e->dflt;
        e->ns_tail = &e->ns;
        if (xml_map_put(c, &c->el, xml_hash(c, el, elen), el, elen, e, xml_eldecl_key)) return -1;
    }
    if (xml_map_put(c, &e->atts, h, an, alen, d, xml_attdecl_key)) return -1;
    e->noncdata |= !cdata;
    /* Defaults in declaration order (supplied in that order, as libxml2 and expat do),
     * xmlns defaults apart: they bind namespaces. */
    if (d->dflt) {
        struct xml_attdecl ***tail = d->is_ns ? &e->ns_tail : &e->dflt_tail;
        **tail = d;
        *tail = &d->next;
        e->ndflt += !d->is_ns;
    }
    return 0;
}

static const uint8_t *xml_attlistdecl(struct xml_ctx *c, const uint8_t *p, const uint8_t *end)
{
    const uint8_t *el, *ee;
    if (!(p = xml_need_s(c, p + 9, end, "after <!ATTLIST"))) return NULL;
    el = p;
    if (!(ee = p = xml_dtd_name(c, p, end, 0, "element name"))) return NULL;
    for (;;) {
        const uint8_t *s = p;
        p = xml_skip_s(p, end);
        if (p < end && *p == '>') return p + 1;
        if (p == s) {
            xml_need_s(c, p, end, "before the attribute name");
            return NULL;
        }
        const uint8_t *an = p, *ae;
        if (xml_decl_count(c, p)) return NULL;
        if (!(ae = p = xml_dtd_name(c, p, end, 0, "attribute name")) ||
            !(p = xml_need_s(c, p, end, "after the attribute name")))
            return NULL;
        const uint8_t *t = p;
        const uint8_t *te = xml_scan_name(c, p, end, 0);
        if (!te) return NULL;
        size_t tl = (size_t)(te - t);
        int cdata = 0;
        if (xml_ieq_lit(t, tl, "CDATA")) {
            cdata = 1;
            p = te;
        } else if (xml_ieq_lit(t, tl, "ID") || xml_ieq_lit(t, tl, "IDREF") ||
                   xml_ieq_lit(t, tl, "IDREFS") || xml_ieq_lit(t, tl, "ENTITY") ||
                   xml_ieq_lit(t, tl, "ENTITIES") || xml_ieq_lit(t, tl, "NMTOKEN") ||
                   xml_ieq_lit(t, tl, "NMTOKENS")) {
            p = te;
        } else if (xml_ieq_lit(t, tl, "NOTATION")) {
            if (!(p = xml_need_s(c, te, end, "after NOTATION")) || !(p = xml_enum(c, p, end, 1)))
                return NULL;
        } else if (tl == 0 && p < end && *p == '(') {
            if (!(p = xml_enum(c, p, end, 0))) return NULL;
        } else {
            xml_fail(c, t, "unknown attribute type '%.*s'", (int)tl, t);
            return NULL;
        }
        if (!(p = xml_need_s(c, p, end, "after the attribute type"))) return NULL;
        const uint8_t *dv = NULL;
        size_t dl = 0;
        if (XML_HAS(p, end, "#REQUIRED")) {
            p += 9;
        } else if (XML_HAS(p, end, "#IMPLIED")) {
            p += 8;
        } else {
            if (XML_HAS(p, end, "#FIXED") && !(p = xml_need_s(c, p + 6, end, "after #FIXED")))
                return NULL;
            int raw;
            c->scratch.len = 0;
            const uint8_t *q = xml_attvalue(c, p, end, &raw);
            if (!q) return NULL;
            dv = raw ? p + 1 : c->scratch.p;
            dl = raw ? (size_t)(q - p - 2) : c->scratch.len;
            p = q;
        }
        if (!c->skip_decls &&
            xml_attdecl_add(c, el, (size_t)(ee - el), an, (size_t)(ae - an), cdata, dv, dl))
            return NULL;
    }
}

/* The literal of an internal entity: character references resolved, entity references
 * checked and kept, line ends normalized.  Stores it in e->val. */
static const uint8_t *xml_entity_value(struct xml_ctx *c, const uint8_t *p, const uint8_t *end,
                                       struct xml_buf *out)
{
    uint8_t q = *p++;
    for (;;) {
        const uint8_t *s = p;
        while (p < end && *p != q && *p != '%' && *p != '&' && *p >= 0x20 && *p < 0x80)
            p++;
        if (p > s && xml_buf_add(c, out, s, (size_t)(p - s))) return NULL;
        if (p >= end) {
            xml_fail(c, p, "entity value not closed");
            return NULL;
        }
        if (*p == q) return p + 1;
        if (*p == '%') {
            xml_fail(c, p,
                     "parameter-entity reference inside an entity value (not allowed in "
                     "the internal subset)");
            return NULL;
        }
        if (*p == '&') {
            uint32_t cp;
            if (p + 1 < end && p[1] == '#') {
                uint8_t u[4];
                if (!(p = xml_scan_charref(c, p + 2, end, &cp)) ||
                    xml_buf_add(c, out, u, utf8_put(u, cp)))
                    return NULL;
                continue;
            }
            const uint8_t *n, *r = p;
            size_t nl;
            if (!(p = xml_scan_ref(c, p, end, &n, &nl)) || xml_buf_add(c, out, r, (size_t)(p - r)))
                return NULL;
            continue;
        }
        if (*p == '\r' && !c->ent_depth) { /* in a PE's text a CR is a char reference's */
            p += (p + 1 < end && p[1] == '\n') ? 2 : 1;
            if (xml_buf_byte(c, out, '\n')) return NULL;
            continue;
        }
        uint32_t cp;
        int n = xml_utf8_char(p, end, &cp);
        if (!n) return xml_bad_char(c, p);
        if (xml_buf_add(c, out, p, (size_t)n)) return NULL;
        p += n;
    }
}

static const uint8_t *xml_entitydecl(struct xml_ctx *c, const uint8_t *p, const uint8_t *end)
{
    int pe = 0, got;
    if (xml_decl_count(c, p)) return NULL;
    if (!(p = xml_need_s(c, p + 8, end, "after <!ENTITY"))) return NULL;
    if (*p == '%') {
        pe = 1;
        if (!(p = xml_need_s(c, p + 1, end, "after '%' in the entity declaration"))) return NULL;
    }
    const uint8_t *n = p;
    if (!(p = xml_dtd_name(c, p, end, 1, "entity name"))) return NULL;
    size_t nl = (size_t)(p - n);
    if (!(p = xml_need_s(c, p, end, "after the entity name"))) return NULL;
    struct xml_buf *val = &c->entval; /* reused: one allocation per entity, below */
    val->len = 0;
    int kind = XML_ENT_INTERNAL;
    if (p < end && (*p == '"' || *p == '\'')) {
        if (!(p = xml_entity_value(c, p, end, val))) return NULL;
    } else {
        kind = XML_ENT_EXTERNAL;
        if (!(p = xml_extid(c, p, end, 0, &got))) return NULL;
        if (!got) {
            xml_fail(c, p, "entity value or external identifier expected");
            return NULL;
        }
        const uint8_t *s = p;
        p = xml_skip_s(p, end);
        if (XML_HAS(p, end, "NDATA")) {
            if (pe || p == s) {
                xml_fail(c, p,
                         pe ? "a parameter entity cannot be unparsed (NDATA)"
                            : "space expected before NDATA");
                return NULL;
            }
            if (!(p = xml_need_s(c, p + 5, end, "after NDATA")) ||
                !(p = xml_dtd_name(c, p, end, 1, "notation name")))
                return NULL;
            kind = XML_ENT_UNPARSED;
        }
    }
    if (!(p = xml_decl_end(c, p, end))) return NULL;
    struct xml_map *tab = pe ? &c->pe : &c->ge;
    uint64_t h = xml_hash(c, n, nl);
    if (c->skip_decls || xml_ent_find(c, tab, h, n, nl) || (!pe && xml_predefined(n, nl)))
        return p; /* the first declaration is binding; predefined ones stay built in */
    /* The record, its name and its replacement text in one block. */
    struct xml_ent *e = malloc(sizeof *e + nl + val->len);
    if (!e) {
        xml_oom(c);
        return NULL;
    }
    e->all = c->ents;
    c->ents = e;
    e->name = (uint8_t *)(e + 1);
    memcpy(e->name, n, nl);
    e->nlen = nl;
    e->val = e->name + nl; /* never NULL, even for an empty text */
    if (val->len) memcpy(e->val, val->p, val->len);
    e->vlen = val->len;
    e->kind = (uint8_t)kind;
    e->open = 0;
    return xml_ent_add(c, tab, h, e) ? NULL : p;
}

static const uint8_t *xml_notationdecl(struct xml_ctx *c, const uint8_t *p, const uint8_t *end)
{
    int got;
    if (!(p = xml_need_s(c, p + 10, end, "after <!NOTATION")) ||
        !(p = xml_dtd_name(c, p, end, 1, "notation name")) ||
        !(p = xml_need_s(c, p, end, "after the notation name")) ||
        !(p = xml_extid(c, p, end, 1, &got)))
        return NULL;
    if (!got) {
        xml_fail(c, p, "SYSTEM or PUBLIC expected in the notation declaration");
        return NULL;
    }
    return xml_decl_end(c, p, end);
}

/* Markup declarations and PE references; in_pe: a PE's replacement text (to its end). */
static const uint8_t *xml_subset(struct xml_ctx *c, const uint8_t *p, const uint8_t *end, int in_pe)
{
    for (;;) {
        p = xml_skip_s(p, end);
        if (p >= end) {
            if (in_pe) return p;
            xml_fail(c, p, "internal DTD subset not closed");
            return NULL;
        }
        if (*p == ']' && !in_pe) return p;
        if (*p == '%') {
            const uint8_t *at = p, *n;
            size_t nl;
            const uint8_t *ne = xml_scan_name(c, p + 1, end, 0);
            if (!ne) return NULL;
            if (ne == p + 1 || ne >= end || *ne != ';') {
                xml_fail(c, p, "malformed parameter-entity reference");
                return NULL;
            }
            n = p + 1;
            nl = (size_t)(ne - n);
            p = ne + 1;
            struct xml_ent *e = xml_ent_find(c, &c->pe, xml_hash(c, n, nl), n, nl);
            /* Any PE reference turns undeclared entities into validity errors only
             * (WFC: Entity Declared, 3rd edition errata). */
            c->dtd_incomplete = 1;
            if (!e || e->kind != XML_ENT_INTERNAL) {
                /* Not read (undeclared or external): section 5.1 says later entity and
                 * attribute declarations must not be processed. */
                c->dtd_incomplete = 1;
                c->skip_decls = 1;
                continue;
            }
            if (xml_ent_enter(c, e, at)) return NULL;
            const uint8_t *r = xml_subset(c, e->val, e->val + e->vlen, 1);
            xml_ent_leave(c, e);
            if (!r) return NULL;
            continue;
        }
        if (XML_HAS(p, end, "<!--"))
            p = xml_comment(c, p, end);
        else if (XML_HAS(p, end, "<?"))
            p = xml_pi(c, p, end);
        else if (XML_HAS(p, end, "<!ELEMENT"))
            p = xml_elementdecl(c, p, end);
        else if (XML_HAS(p, end, "<!ATTLIST"))
            p = xml_attlistdecl(c, p, end);
        else if (XML_HAS(p, end, "<!ENTITY"))
            p = xml_entitydecl(c, p, end);
        else if (XML_HAS(p, end, "<!NOTATION"))
            p = xml_notationdecl(c, p, end);
        else {
            xml_fail(c, p, "markup declaration expected in the internal subset");
            return NULL;
        }
        if (!p) return NULL;
    }
}

const uint8_t *xml_doctype(struct xml_ctx *c, const uint8_t *p, const uint8_t *end)
{
    int got;
    if (!(p = xml_need_s(c, p + 9, end, "after <!DOCTYPE")) ||
        !(p = xml_dtd_name(c, p, end, 0, "document type name")))
        return NULL;
    const uint8_t *s = p;
    p = xml_skip_s(p, end);
    if (p > s) {
        if (!(p = xml_extid(c, p, end, 0, &got))) return NULL;
        if (got) {
            c->dtd_incomplete = 1; /* the external subset is never read */
            p = xml_skip_s(p, end);
        }
    }
    if (p < end && *p == '[') {
        c->in_dtd = 1;
        p = xml_subset(c, p + 1, end, 0);
        c->in_dtd = 0;
        if (!p) return NULL;
        p = xml_skip_s(p + 1, end);
    }
    if (p >= end || *p != '>') {
        xml_fail(c, p, "'>' expected to end the DOCTYPE declaration");
        return NULL;
    }
    return p + 1;
}

void xml_dtd_free(struct xml_ctx *c)
{
    for (struct xml_ent *e = c->ents, *nx; e; e = nx) {
        nx = e->all;
        free(e);
    }
    free(c->entval.p);
    for (struct xml_attdecl *d = c->attdecls, *nx; d; d = nx) {
        nx = d->all;
        free(d->dflt);
        free(d);
    }
    for (struct xml_eldecl *e = c->eldecls, *nx; e; e = nx) {
        nx = e->all;
        xml_map_free(&e->atts);
        free(e->datts);
        free(e);
    }
    xml_map_free(&c->ge);
    xml_map_free(&c->pe);
    xml_map_free(&c->el);
}
