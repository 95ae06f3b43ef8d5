/* xml_hand: the hand-written XML 1.0 + Namespaces parser: elements,
 * attributes, namespaces and character data (contract and dump format in xml.h).
 * One pass over the buffer, no copies except for values that need normalizing; the
 * open elements live on an explicit stack, so nesting never grows the C stack. */
#include "parsers/utf8.h"
#include "parsers/xml/xml_int.h"

#include <stdlib.h>
#include <string.h>

/* Appends character data to the pending text (only when dumping). */
static int xml_text(struct xml_ctx *c, const void *s, size_t n)
{
    if (c->dump && xml_text_add(&c->text, s, n))
        return xml_fail(c, s, "text longer than %u bytes or out of memory", XML_MAX_VALUE);
    return 0;
}

/* ---- namespace bindings: a stack (c->nsb, popped with the element that made them)
 * and a table from prefix to its innermost binding, so a lookup does not scan every
 * binding in scope ---------------------------------------------------------------- */

#define XML_NS_SCAN 8 /* up to this many bindings in scope a scan is cheaper than a hash */

static const void *xml_nsb_key(const struct xml_ctx *c, const void *v, size_t *n)
{
    const struct xml_nsb *b = &c->nsb[(uintptr_t)v - 1];
    *n = b->plen;
    return b->prefix;
}

/* Finds the namespace bound to prefix; 0 and *uri set, or -1 when unbound. */
static int xml_ns_lookup(struct xml_ctx *c, const uint8_t *pfx, size_t plen, const char **uri,
                         size_t *ulen)
{
    size_t idx = 0;
    if (c->nnsb <= XML_NS_SCAN) {
        for (size_t i = c->nnsb; i-- > 0;)
            if (c->nsb[i].plen == plen && memcmp(c->nsb[i].prefix, pfx, plen) == 0) {
                idx = i + 1;
                break;
            }
    } else {
        idx = (uintptr_t)xml_map_get(c, &c->ns, xml_hash(c, pfx, plen), pfx, plen, xml_nsb_key);
    }
    if (idx) {
        const struct xml_nsb *b = &c->nsb[idx - 1];
        *uri = b->uri_len ? (const char *)c->nsstr.p + b->uri_off : "";
        *ulen = b->uri_len;
        return 0;
    }
    if (plen == 3 && memcmp(pfx, "xml", 3) == 0) {
        *uri = XML_NS_XML;
        *ulen = sizeof XML_NS_XML - 1;
        return 0;
    }
    *uri = "";
    *ulen = 0;
    return plen == 0 ? 0 : -1;
}

/* Pops the bindings made after mark: each prefix goes back to the binding it hid. */
static void xml_ns_pop(struct xml_ctx *c, size_t mark)
{
    while (c->nnsb > mark) {
        struct xml_nsb *b = &c->nsb[--c->nnsb];
        if (b->shadows) /* a replacement: never grows the table, so never fails */
            xml_map_put(c, &c->ns, b->h, b->prefix, b->plen, (void *)(uintptr_t)b->shadows,
                        xml_nsb_key);
        else
            xml_map_del(c, &c->ns, b->h, b->prefix, b->plen, xml_nsb_key);
    }
}

/* Offset of the single colon of a QName, 0 when none; -1 when not a QName. */
static long xml_qname_colon(const uint8_t *n, size_t len)
{
    const uint8_t *col = memchr(n, ':', len);
    if (!col) return 0;
    size_t off = (size_t)(col - n);
    if (off == 0 || off + 1 == len || memchr(col + 1, ':', len - off - 1)) return -1;
    /* the local part must start with a NameStartChar (a digit, '-' or '.' cannot) */
    if (col[1] < 0x80 && !(xml_cls[col[1]] & XC_NSTART)) return -1;
    return (long)off;
}

/* Doubles an array (*arr of *cap elements of size elem) when it is full; -1 on OOM. */
static int xml_grow(struct xml_ctx *c, void *arr, size_t *cap, size_t used, size_t elem)
{
    if (used < *cap) return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *old, *np;
    memcpy(&old, arr, sizeof old); /* arr is a T **: copied, not aliased as void ** */
    if (!(np = realloc(old, ncap * elem))) return xml_oom(c);
    memcpy(arr, &np, sizeof np);
    *cap = ncap;
    return 0;
}

/* A QName at p: its end, *colon as xml_qname_colon; all-ASCII names take the fast
 * path, anything else the general Name scanner. */
static inline const uint8_t *xml_qname(struct xml_ctx *c, const uint8_t *p, const uint8_t *end,
                                       long *colon)
{
    const uint8_t *s = p;
    *colon = 0;
    if (p < end && (xml_cls[*p] & XC_NCSTART)) {
        p++;
        while (p < end && (xml_cls[*p] & XC_NCCHAR))
            p++;
        if (p + 1 < end && *p == ':' && (xml_cls[p[1]] & XC_NCSTART)) {
            *colon = p - s;
            p += 2;
            while (p < end && (xml_cls[*p] & XC_NCCHAR))
                p++;
        }
        if ((p >= end || (*p < 0x80 && *p != ':')) && p - s <= XML_MAX_NAME) return p;
    }
    const uint8_t *e = xml_scan_name(c, s, end, 0);
    if (e) *colon = xml_qname_colon(s, (size_t)(e - s));
    return e;
}

static int xml_bind(struct xml_ctx *c, const uint8_t *at, const uint8_t *pfx, size_t plen,
                    const uint8_t *uri, size_t ulen)
{
    int is_xml_uri = ulen == sizeof XML_NS_XML - 1 && memcmp(uri, XML_NS_XML, ulen) == 0;
    int is_xmlns_uri = ulen == sizeof XML_NS_XMLNS - 1 && memcmp(uri, XML_NS_XMLNS, ulen) == 0;
    if (plen == 5 && memcmp(pfx, "xmlns", 5) == 0)
        return xml_fail(c, at, "the prefix 'xmlns' must not be declared");
    if (plen == 3 && memcmp(pfx, "xml", 3) == 0) {
        if (!is_xml_uri)
            return xml_fail(c, at, "the prefix 'xml' can only be bound to " XML_NS_XML);
        return 0;
    }
    if (is_xml_uri || is_xmlns_uri)
        return xml_fail(c, at, "the namespace %s cannot be bound here",
                        is_xml_uri ? XML_NS_XML : XML_NS_XMLNS);
    if (plen && ulen == 0)
        return xml_fail(c, at, "a prefix cannot be undeclared (xmlns:%.*s=\"\")", (int)plen, pfx);
    if (c->nnsb >= XML_MAX_NS)
        return xml_fail(c, at, "more than %d namespace bindings in scope", XML_MAX_NS);
    if (xml_grow(c, &c->nsb, &c->nsb_cap, c->nnsb, sizeof *c->nsb)) return -1;
    struct xml_nsb *b = &c->nsb[c->nnsb++];
    b->prefix = pfx;
    b->plen = plen;
    b->uri_off = c->nsstr.len;
    b->uri_len = ulen;
    b->h = xml_hash(c, pfx, plen);
    b->shadows = (uintptr_t)xml_map_get(c, &c->ns, b->h, pfx, plen, xml_nsb_key);
    if (xml_map_put(c, &c->ns, b->h, pfx, plen, (void *)(uintptr_t)c->nnsb, xml_nsb_key)) return -1;
    return xml_buf_add(c, &c->nsstr, uri, ulen);
}

static struct xml_att *xml_att_new(struct xml_ctx *c, const uint8_t *at)
{
    if (c->natt >= XML_MAX_ATTS) {
        xml_fail(c, at, "more than %d attributes on one element", XML_MAX_ATTS);
        return NULL;
    }
    if (xml_grow(c, &c->att, &c->att_cap, c->natt, sizeof *c->att)) return NULL;
    struct xml_att *a = &c->att[c->natt++];
    memset(a, 0, sizeof *a);
    return a;
}

/* ---- attribute names of one element: a set, when there are more than a few ---- */

#define XML_ATT_SCAN 8    /* up to this many attributes pairs are compared directly */
#define XML_ATTSET   2048 /* slots: more than twice XML_MAX_ATTS, so at most half full */

/* Generation-stamped, so starting over for the next element clears nothing. */
struct xml_attset {
    uint32_t gen;
    struct {
        uint32_t gen, idx;
        uint64_t h;
    } s[XML_ATTSET];
};

static int xml_attset_start(struct xml_ctx *c)
{
    if (!c->attset && !(c->attset = calloc(1, sizeof *c->attset))) return xml_oom(c);
    if (++c->attset->gen == 0) { /* wrapped: the stamps of 2^32 elements ago come back */
        memset(c->attset, 0, sizeof *c->attset);
        c->attset->gen = 1;
    }
    return 0;
}

/* The equality the set uses: raw names (expanded = 0), or namespace and local name. */
static inline int xml_att_same(const struct xml_att *a, const struct xml_att *b, int expanded)
{
    if (!expanded) return a->nlen == b->nlen && memcmp(a->name, b->name, a->nlen) == 0;
    return a->ulen == b->ulen && memcmp(a->uri, b->uri, a->ulen) == 0 &&
           a->nlen - a->colon == b->nlen - b->colon &&
           memcmp(a->name + a->colon, b->name + b->colon, a->nlen - a->colon) == 0;
}

static uint64_t xml_att_hash(const struct xml_ctx *c, const struct xml_att *a, int expanded)
{
    if (!expanded) return xml_hash(c, a->name, a->nlen);
    return xml_hash(c, a->uri, a->ulen) * 0x9E3779B97F4A7C15ull ^
           xml_hash(c, a->name + a->colon, a->nlen - a->colon);
}

/* Looks up attribute a in the set (h its hash); inserts it as index i when it is not
 * there (i >= 0).  Returns the index of an equal attribute already in it, or -1. */
static long xml_attset_find(struct xml_ctx *c, const struct xml_att *a, uint64_t h, long i,
                            int expanded)
{
    struct xml_attset *t = c->attset;
    for (size_t k = (size_t)h & (XML_ATTSET - 1);; k = (k + 1) & (XML_ATTSET - 1)) {
        if (t->s[k].gen != t->gen) {
            if (i >= 0) t->s[k].gen = t->gen, t->s[k].idx = (uint32_t)i, t->s[k].h = h;
            return -1;
        }
        if (t->s[k].h == h && xml_att_same(&c->att[t->s[k].idx], a, expanded)) return t->s[k].idx;
    }
}

/* Prefixed attributes are the ones whose namespace must be unique with their local
 * name (an unprefixed attribute is in no namespace; xmlns declarations are not
 * attributes). */
static inline int xml_att_prefixed(const struct xml_att *a)
{
    return a->colon && !a->is_ns;
}

/* The index of an attribute among [0, n) that repeats an earlier one (raw names, or
 * expanded names of the prefixed ones), or -1; -2 out of memory (recorded).  Pairs are
 * compared while there are few, a set takes over past XML_ATT_SCAN. */
static inline long xml_att_dup(struct xml_ctx *c, size_t n, int expanded)
{
    size_t m = n;
    if (n < 2) return -1;
    if (expanded) { /* only prefixed attributes take part: usually none or one */
        m = 0;
        for (size_t i = 0; i < n; i++)
            m += xml_att_prefixed(&c->att[i]);
        if (m < 2) return -1;
    }
    if (m <= XML_ATT_SCAN) {
        for (size_t i = 1; i < n; i++) {
            const struct xml_att *a = &c->att[i];
            if (expanded && !xml_att_prefixed(a)) continue;
            for (size_t j = 0; j < i; j++) {
                const struct xml_att *b = &c->att[j];
                if (expanded ? xml_att_prefixed(b) && xml_att_same(a, b, 1)
                             : a->nlen == b->nlen && memcmp(a->name, b->name, a->nlen) == 0)
                    return (long)i;
            }
        }
        return -1;
    }
    if (xml_attset_start(c)) return -2;
    for (size_t i = 0; i < n; i++)
        if ((!expanded || xml_att_prefixed(&c->att[i])) &&
            xml_attset_find(c, &c->att[i], xml_att_hash(c, &c->att[i], expanded), (long)i,
                            expanded) >= 0)
            return (long)i;
    return -1;
}

/* Whether the element's first nspec attributes specify the raw name (name, n): by
 * comparison for a few, else in the set xml_att_dup just filled. */
static int xml_specified(struct xml_ctx *c, size_t nspec, const uint8_t *name, size_t n)
{
    struct xml_att probe = {.name = name, .nlen = n};
    if (nspec <= XML_ATT_SCAN) {
        for (size_t k = 0; k < nspec; k++)
            if (xml_att_same(&c->att[k], &probe, 0)) return 1;
        return 0;
    }
    return xml_attset_find(c, &probe, xml_hash(c, name, n), -1, 0) >= 0;
}

#define XML_NOT_QNAME ((size_t)-1) /* a default record's colon when its name is no QName */

/* The element's defaults as attribute records, built at the first element that needs
 * them (the DTD is complete by then): the QName checked once, the budget they cost
 * summed once. */
static int xml_dflt_atts(struct xml_ctx *c, struct xml_eldecl *e)
{
    if (e->datts || !e->ndflt) return 0;
    if (!(e->datts = calloc(e->ndflt, sizeof *e->datts))) return xml_oom(c);
    size_t k = 0;
    for (const struct xml_attdecl *d = e->dflt; d; d = d->next, k++) {
        struct xml_att *a = &e->datts[k];
        long col = xml_qname_colon(d->key + d->elen + 1, d->alen);
        a->name = d->key + d->elen + 1;
        a->nlen = d->alen;
        a->colon = col < 0 ? XML_NOT_QNAME : (size_t)col; /* refused when applied */
        a->val = d->dflt;
        a->vlen = d->dlen;
        e->dbytes += d->alen + d->dlen;
        e->dbad |= col < 0;
    }
    return 0;
}

/* Appends one default record, failing on a name that is not a QName. */
static int xml_dflt_one(struct xml_ctx *c, const struct xml_att *d, const uint8_t *tag)
{
    if (d->colon == XML_NOT_QNAME)
        return xml_fail(c, tag, "declared attribute '%.*s' is not a valid QName", (int)d->nlen,
                        d->name);
    struct xml_att *a = xml_att_new(c, tag);
    if (!a) return -1;
    *a = *d;
    return 0;
}

/* Appends the declared defaults of attributes the tag did not specify, in declaration
 * order (XML 1.0 section 5.1: a non-validating processor supplies what it has read).
 * They cost their names and values against the expansion budget: defaults multiply
 * what a document holds (n elements times m defaults) as entities do. */
static int xml_add_defaults(struct xml_ctx *c, struct xml_eldecl *e, const uint8_t *tag)
{
    size_t nspec = c->natt;
    if (xml_dflt_atts(c, e)) return -1;
    if (nspec == 0 && !e->dbad) { /* nothing specified: all of them, in one go */
        c->expanded += e->dbytes;
        if (c->expanded > c->expand_limit) goto over;
        if (e->ndflt > XML_MAX_ATTS)
            return xml_fail(c, tag, "more than %d attributes on one element", XML_MAX_ATTS);
        if (c->att_cap < e->ndflt) {
            struct xml_att *na = realloc(c->att, e->ndflt * sizeof *na);
            if (!na) return xml_oom(c);
            c->att = na;
            c->att_cap = e->ndflt;
        }
        memcpy(c->att, e->datts, e->ndflt * sizeof *c->att);
        c->natt = e->ndflt;
        return 0;
    }
    for (size_t k = 0; k < e->ndflt; k++) {
        const struct xml_att *d = &e->datts[k];
        if (xml_specified(c, nspec, d->name, d->nlen)) continue;
        c->expanded += d->nlen + d->vlen;
        if (c->expanded > c->expand_limit) goto over;
        if (xml_dflt_one(c, d, tag)) return -1;
    }
    return 0;
over:
    return xml_fail(c, tag,
                    "defaulted attributes and entities past the expansion limit (%zu bytes)",
                    c->expand_limit);
}

/* Everything after the attributes are read: namespaces, uniqueness, the dump. */
static int xml_start_done(struct xml_ctx *c, const uint8_t *tag, const uint8_t *name, size_t nlen,
                          long ecol)
{
    /* What the DTD declares for this element: one hash lookup, skipped when the element
     * is the one looked up last (documents repeat their record element). */
    struct xml_eldecl *e = NULL;
    if (c->el.n) {
        if (nlen == c->last_el_len && memcmp(name, c->last_el, nlen) == 0) {
            e = c->last_eldecl;
        } else {
            e = (struct xml_eldecl *)xml_eldecl_find(c, name, nlen);
            c->last_el = name;
            c->last_el_len = nlen;
            c->last_eldecl = e;
        }
    }
    /* Values in scratch become pointers only now: scratch may move while growing. */
    for (size_t i = 0; e && e->noncdata && i < c->natt; i++) {
        struct xml_att *a = &c->att[i];
        const struct xml_attdecl *d = xml_attdecl_find(c, e, a->name, a->nlen);
        if (!d || d->cdata) continue;
        if (a->val) { /* a raw slice of the input: copy it to edit it */
            a->voff = c->scratch.len;
            if (xml_buf_add(c, &c->scratch, a->val, a->vlen)) return -1;
            a->val = NULL;
        }
        if (a->vlen) a->vlen = xml_collapse(c->scratch.p + a->voff, a->vlen);
    }
    for (size_t i = 0; i < c->natt; i++) {
        struct xml_att *a = &c->att[i];
        if (!a->val) a->val = c->scratch.p ? c->scratch.p + a->voff : (const uint8_t *)"";
    }
    /* WFC Unique Att Spec on the raw names of what the tag specifies (defaults never
     * repeat one: they are added only when not specified). */
    size_t nspec = c->natt;
    long dup = xml_att_dup(c, nspec, 0);
    if (dup == -2) return -1;
    if (dup >= 0)
        return xml_fail(c, c->att[dup].name, "duplicate attribute '%.*s'", (int)c->att[dup].nlen,
                        c->att[dup].name);
    if (e && e->dflt && xml_add_defaults(c, e, tag)) return -1;
    /* Namespace declarations first: they apply to this element and its attributes. */
    for (size_t i = 0; i < c->natt; i++) {
        struct xml_att *a = &c->att[i];
        if (a->nlen == 5 && memcmp(a->name, "xmlns", 5) == 0) {
            a->is_ns = 1;
            if (xml_bind(c, a->name, a->name, 0, a->val, a->vlen)) return -1;
        } else if (a->colon == 5 && memcmp(a->name, "xmlns", 5) == 0) {
            a->is_ns = 1;
            if (xml_bind(c, a->name, a->name + 6, a->nlen - 6, a->val, a->vlen)) return -1;
        }
    }
    /* Namespace defaults from ATTLIST declarations (xmlns with a default value). */
    for (const struct xml_attdecl *d = e ? e->ns : NULL; d; d = d->next) {
        const uint8_t *an = d->key + d->elen + 1;
        int dflt_ns = d->alen == 5;
        if (!xml_specified(c, nspec, an, d->alen) &&
            xml_bind(c, tag, dflt_ns ? an : an + 6, dflt_ns ? 0 : d->alen - 6, d->dflt, d->dlen))
            return -1;
    }
    const char *uri;
    size_t ulen;
    size_t lo = ecol ? (size_t)ecol + 1 : 0;
    if (ecol && nlen - lo == 0) return xml_fail(c, name, "bad element name");
    if (xml_ns_lookup(c, name, ecol ? (size_t)ecol : 0, &uri, &ulen))
        return xml_fail(c, name, "undeclared namespace prefix '%.*s'", (int)ecol, name);
    if (ecol == 5 && memcmp(name, "xmlns", 5) == 0)
        return xml_fail(c, name, "an element cannot have the prefix 'xmlns'");
    /* Resolve attribute prefixes; unprefixed attributes are in no namespace. */
    for (size_t i = 0; i < c->natt; i++) {
        struct xml_att *a = &c->att[i];
        if (a->is_ns) continue;
        if (a->colon) {
            if (xml_ns_lookup(c, a->name, a->colon, &a->uri, &a->ulen) || a->ulen == 0)
                return xml_fail(c, a->name, "undeclared namespace prefix '%.*s'", (int)a->colon,
                                a->name);
        } else {
            a->uri = "";
            a->ulen = 0;
        }
    }
    /* Namespaces constraint: no two attributes with the same expanded name. */
    dup = xml_att_dup(c, c->natt, 1);
    if (dup == -2) return -1;
    if (dup >= 0)
        return xml_fail(c, c->att[dup].name, "attribute '%.*s' appears twice (namespaces)",
                        (int)c->att[dup].nlen, c->att[dup].name);
    if (c->dump) {
        xml_text_flush(&c->text, c->dump);
        xml_dump_name(c->dump, "start", uri, ulen, (const char *)name + lo, nlen - lo);
        for (size_t i = 0; i < c->natt; i++) {
            struct xml_att *a = &c->att[i];
            if (a->is_ns) continue;
            size_t al = a->colon ? a->colon + 1 : 0;
            xml_dump_attr(c->dump, a->uri, a->ulen, (const char *)a->name + al, a->nlen - al,
                          (const char *)a->val, a->vlen);
        }
    }
    struct xml_open *o = &c->open[c->depth - 1];
    uintptr_t u = (uintptr_t)uri, base = (uintptr_t)c->nsstr.p;
    o->uri_off = 0;
    o->uri_len = ulen;
    if (ulen && c->nsstr.p && u >= base && u < base + c->nsstr.len) {
        o->uri_off = (size_t)(u - base);
    } else if (ulen) { /* the xml namespace, a constant: keep a copy for the end tag */
        o->uri_off = c->nsstr.len;
        if (xml_buf_add(c, &c->nsstr, uri, ulen)) return -1;
    }
    o->local_off = lo;
    return 0;
}

/* A start tag, p at '<' before a name start; *empty for <x/>. */
static const uint8_t *xml_start_tag(struct xml_ctx *c, const uint8_t *p, const uint8_t *end,
                                    int *empty)
{
    const uint8_t *tag = p;
    const uint8_t *name = p + 1;
    long ecol;
    const uint8_t *ne = xml_qname(c, name, end, &ecol);
    if (!ne) return NULL;
    size_t nlen = (size_t)(ne - name);
    if (nlen == 0 || ecol < 0) {
        xml_fail(c, name, "element name is not a valid QName");
        return NULL;
    }
    if (c->depth >= XML_MAX_DEPTH) {
        xml_fail(c, tag, "elements nested deeper than %d", XML_MAX_DEPTH);
        return NULL;
    }
    if (xml_grow(c, &c->open, &c->open_cap, c->depth, sizeof *c->open)) return NULL;
    struct xml_open *o = &c->open[c->depth++];
    o->name = name;
    o->nlen = nlen;
    o->nsb_mark = c->nnsb;
    o->nsstr_mark = c->nsstr.len;
    c->items++;
    if (c->depth > c->max_depth) c->max_depth = c->depth;
    c->natt = 0;
    c->scratch.len = 0;
    p = ne;
    for (;;) {
        const uint8_t *s = p;
        p = xml_skip_s(p, end);
        if (p >= end) {
            xml_fail(c, tag, "start tag not closed");
            return NULL;
        }
        if (*p == '>') {
            p++;
            *empty = 0;
            break;
        }
        if (*p == '/') {
            if (p + 1 < end && p[1] == '>') {
                p += 2;
                *empty = 1;
                break;
            }
            xml_fail(c, p, "'>' expected after '/'");
            return NULL;
        }
        if (p == s) {
            xml_fail(c, p, "space, '>' or '/>' expected in the start tag");
            return NULL;
        }
        const uint8_t *an = p;
        long acol;
        const uint8_t *ae = xml_qname(c, an, end, &acol);
        if (!ae) return NULL;
        if (ae == an || acol < 0) {
            xml_fail(c, an,
                     ae == an ? "attribute name expected" : "attribute name is not a valid QName");
            return NULL;
        }
        p = xml_skip_s(ae, end);
        if (p >= end || *p != '=') {
            xml_fail(c, p, "'=' expected after the attribute name");
            return NULL;
        }
        p = xml_skip_s(p + 1, end);
        if (p >= end) {
            xml_fail(c, tag, "start tag not closed");
            return NULL;
        }
        struct xml_att *a = xml_att_new(c, an);
        if (!a) return NULL;
        int raw;
        size_t voff = c->scratch.len;
        const uint8_t *q = xml_attvalue(c, p, end, &raw);
        if (!q) return NULL;
        a->name = an;
        a->nlen = (size_t)(ae - an);
        a->colon = (size_t)acol;
        a->val = raw ? p + 1 : NULL;
        a->vlen = raw ? (size_t)(q - 1 - (p + 1)) : c->scratch.len - voff;
        a->voff = voff;
        a->uri = NULL;
        a->ulen = 0;
        a->is_ns = 0;
        p = q;
    }
    if (xml_start_done(c, tag, name, nlen, ecol)) return NULL;
    return p;
}

static void xml_pop(struct xml_ctx *c)
{
    struct xml_open *o = &c->open[--c->depth];
    if (c->dump) {
        xml_text_flush(&c->text, c->dump);
        xml_dump_name(c->dump, "end", o->uri_len ? (const char *)c->nsstr.p + o->uri_off : "",
                      o->uri_len, (const char *)o->name + o->local_off, o->nlen - o->local_off);
    }
    xml_ns_pop(c, o->nsb_mark);
    c->nsstr.len = o->nsstr_mark;
}

static const uint8_t *xml_end_tag(struct xml_ctx *c, const uint8_t *p, const uint8_t *end,
                                  size_t base)
{
    const uint8_t *tag = p;
    const uint8_t *name = p + 2;
    const uint8_t *ne;
    if (c->depth > base) { /* fast: the name of the open element, then a non-name byte */
        struct xml_open *t = &c->open[c->depth - 1];
        ne = name + t->nlen;
        if (ne < end && memcmp(name, t->name, t->nlen) == 0 && *ne < 0x80 &&
            !(xml_cls[*ne] & XC_NCHAR))
            goto matched;
    }
    ne = xml_scan_name(c, name, end, 0);
    if (!ne) return NULL;
    if (c->depth <= base) {
        xml_fail(c, tag, "end tag '</%.*s>' without its start tag%s", (int)(ne - name), name,
                 c->ent_depth ? " in the same entity" : "");
        return NULL;
    }
    struct xml_open *o = &c->open[c->depth - 1];
    if ((size_t)(ne - name) != o->nlen || memcmp(name, o->name, o->nlen) != 0) {
        xml_fail(c, tag, "end tag '</%.*s>' does not match the start tag '<%.*s>'",
                 (int)(ne - name), name, (int)o->nlen, o->name);
        return NULL;
    }
matched:
    p = xml_skip_s(ne, end);
    if (p >= end || *p != '>') {
        xml_fail(c, p, "'>' expected to close the end tag");
        return NULL;
    }
    xml_pop(c);
    return p + 1;
}

static const uint8_t *xml_cdata(struct xml_ctx *c, const uint8_t *p, const uint8_t *end)
{
    const uint8_t *s = p;
    p += 9;
    for (;;) {
        const uint8_t *run = p;
        while (p < end && *p != ']' && *p != '\r' && *p >= 0x20 && *p < 0x80)
            p++;
        if (p > run && xml_text(c, run, (size_t)(p - run))) return NULL;
        if (p >= end) {
            xml_fail(c, s, "CDATA section not closed");
            return NULL;
        }
        if (*p == ']') {
            if (end - p >= 3 && p[1] == ']' && p[2] == '>') return p + 3;
            if (xml_text(c, p, 1)) return NULL;
            p++;
        } else if (*p == '\r') {
            if (xml_text(c, c->ent_depth ? "\r" : "\n", 1)) return NULL;
            p += (!c->ent_depth && p + 1 < end && p[1] == '\n') ? 2 : 1;
        } else {
            uint32_t cp;
            int n = xml_utf8_char(p, end, &cp);
            if (!n) return xml_bad_char(c, p);
            if (xml_text(c, p, (size_t)n)) return NULL;
            p += n;
        }
    }
}

/* A reference in content, p at '&'. */
static const uint8_t *xml_content_ref(struct xml_ctx *c, const uint8_t *p, const uint8_t *end)
{
    uint32_t cp;
    if (p + 1 < end && p[1] == '#') {
        uint8_t u[4];
        p = xml_scan_charref(c, p + 2, end, &cp);
        if (!p || xml_text(c, u, utf8_put(u, cp))) return NULL;
        return p;
    }
    const uint8_t *at = p, *n;
    size_t nl;
    p = xml_scan_ref(c, p, end, &n, &nl);
    if (!p) return NULL;
    int pre = xml_predefined(n, nl);
    if (pre) {
        uint8_t ch = (uint8_t)pre;
        return xml_text(c, &ch, 1) ? NULL : p;
    }
    struct xml_ent *e = xml_ent_find(c, &c->ge, xml_hash(c, n, nl), n, nl);
    if (!e) {
        if (c->dtd_incomplete && !c->standalone)
            return p; /* may be declared where we did not read */
        xml_fail(c, at, "undeclared entity '%.*s'", (int)nl, n);
        return NULL;
    }
    if (e->kind == XML_ENT_UNPARSED) {
        xml_fail(c, at, "reference to the unparsed entity '%.*s'", (int)nl, n);
        return NULL;
    }
    if (e->kind == XML_ENT_EXTERNAL) return p; /* external entities are never fetched: skipped */
    if (xml_ent_enter(c, e, at)) return NULL;
    const uint8_t *r = xml_content(c, e->val, e->val + e->vlen, 0);
    xml_ent_leave(c, e);
    return r ? p : NULL;
}

/* Content: top != 0 parses the root element (p at its '<') and returns after its end
 * tag; top == 0 parses an entity's replacement text to its end, which must close every
 * element it opened. */
const uint8_t *xml_content(struct xml_ctx *c, const uint8_t *p, const uint8_t *end, int top)
{
    size_t base = c->depth;
    for (;;) {
        const uint8_t *s = p;
        for (;;) { /* a run of character data, UTF-8 checked inline */
            p = xml_run(p, end, 0);
            if (p >= end || *p < 0x80) break;
            uint32_t cp;
            int n = xml_utf8_char(p, end, &cp);
            if (!n) return xml_bad_char(c, p);
            p += n;
        }
        if (p > s && c->dump && xml_text(c, s, (size_t)(p - s))) return NULL;
        if (p >= end) break;
        switch (*p) {
        case '<':
            if (p + 1 >= end) goto bad_markup;
            if (p[1] == '/') {
                p = xml_end_tag(c, p, end, base);
                if (p && top && c->depth == 0) return p;
            } else if (p[1] == '!') {
                if (XML_HAS(p, end, "<!--"))
                    p = xml_comment(c, p, end);
                else if (XML_HAS(p, end, "<![CDATA["))
                    p = xml_cdata(c, p, end);
                else
                    goto bad_markup;
            } else if (p[1] == '?') {
                p = xml_pi(c, p, end);
            } else {
                int empty;
                p = xml_start_tag(c, p, end, &empty);
                if (p && empty) {
                    xml_pop(c);
                    if (top && c->depth == 0) return p;
                }
            }
            break;
        case '&':
            p = xml_content_ref(c, p, end);
            break;
        case ']':
            if (end - p >= 3 && p[1] == ']' && p[2] == '>') {
                xml_fail(c, p, "']]>' not allowed in character data");
                return NULL;
            }
            if (xml_text(c, p, 1)) return NULL;
            p++;
            break;
        case '\r': /* in an entity, a CR can only come from a character reference */
            if (xml_text(c, c->ent_depth ? "\r" : "\n", 1)) return NULL;
            p += (!c->ent_depth && p + 1 < end && p[1] == '\n') ? 2 : 1;
            break;
        default: {
            uint32_t cp;
            int n = *p >= 0x80 ? xml_utf8_char(p, end, &cp) : 0;
            if (!n) return xml_bad_char(c, p);
            if (xml_text(c, p, (size_t)n)) return NULL;
            p += n;
        }
        }
        if (!p) return NULL;
    }
    if (top) {
        xml_fail(c, end, "document ends inside the element '<%.*s>'",
                 (int)c->open[c->depth - 1].nlen, c->open[c->depth - 1].name);
        return NULL;
    }
    if (c->depth != base) {
        xml_fail(c, end, "element '<%.*s>' not closed in the entity that opened it",
                 (int)c->open[c->depth - 1].nlen, c->open[c->depth - 1].name);
        return NULL;
    }
    return p;
bad_markup:
    xml_fail(c, p, "'<' must start a tag, a comment, a CDATA section or a PI in content");
    return NULL;
}
