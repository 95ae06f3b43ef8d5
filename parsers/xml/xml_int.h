/* xml_int: internals shared by the files of the hand-written XML parser
 * (xml_lex.c: characters, names, buffers, errors; xml_dtd.c: DOCTYPE and the internal
 * subset; xml_hand.c: elements, attributes, namespaces, content; xml_doc.c: the
 * document; xml_map.c: the hash tables).
 * Every function that can fail returns -1 after recording the error in the context
 * (xml_fail), so callers only propagate. */
#ifndef WIRELAB_PARSERS_XML_XML_INT_H
#define WIRELAB_PARSERS_XML_XML_INT_H

#include "parsers/xml/xml.h"

#include <stdint.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define XML_NS_XML   "http://www.w3.org/XML/1998/namespace"
#define XML_NS_XMLNS "http://www.w3.org/2000/xmlns/"

/* Byte classes (xml_cls). */
enum {
    XC_TSTOP = 1,  /* stops a run of character data: < & ] CR controls non-ASCII */
    XC_NSTART = 2, /* ASCII NameStartChar */
    XC_NCHAR = 4,  /* ASCII NameChar */
    XC_SPACE = 8,  /* S: SP TAB LF CR */
    XC_ASTOP = 16, /* stops a run in an attribute value: < & quotes TAB LF CR controls non-ASCII */
    XC_NCSTART = 32, /* ASCII NameStartChar but ':' */
    XC_NCCHAR = 64,  /* ASCII NameChar but ':' */
};
extern const uint8_t xml_cls[256];

/* A growable byte buffer with the XML_MAX_VALUE bound. */
struct xml_buf {
    uint8_t *p;
    size_t len, cap;
};

struct xml_ctx;
struct xml_attset; /* xml_hand.c */

/* A hash table (xml_map.c): open addressing, at most half full, under a keyed hash
 * (SipHash-1-3, keyed per parse).  Values are non-NULL pointers (or an index + 1); the
 * key of a value is given by a key function, so the table holds no copies. */
struct xml_map_slot {
    uint64_t h;
    void *v;
};
struct xml_map {
    struct xml_map_slot *s;
    size_t cap, n;
};
typedef const void *(*xml_map_key_fn)(const struct xml_ctx *c, const void *v, size_t *n);

enum { XML_ENT_INTERNAL, XML_ENT_EXTERNAL, XML_ENT_UNPARSED };

struct xml_ent {         /* one allocation: the record, then its name, then its text */
    struct xml_ent *all; /* every entity, for freeing */
    uint8_t *name;
    size_t nlen;
    uint8_t *val; /* replacement text (internal entities) */
    size_t vlen;
    uint8_t kind;
    uint8_t open; /* being expanded: a reference now is recursion */
};

/* An attribute declared in the internal subset: its type (for normalization) and its
 * default, supplied by xml_hand.c to elements that do not specify it. */
struct xml_attdecl {
    struct xml_attdecl *all;  /* every declaration, for freeing */
    struct xml_attdecl *next; /* the element's next one with a default (xml_eldecl) */
    uint8_t *key;             /* element name, NUL, attribute name (after the record) */
    size_t elen, alen;
    uint8_t cdata, is_ns;
    uint8_t *dflt; /* NULL when #REQUIRED/#IMPLIED */
    size_t dlen;
};

/* What the internal subset declares for one element name: its attributes with a
 * default, in declaration order (xmlns ones apart: they bind namespaces), and whether
 * any attribute has a non-CDATA type (values to normalize).  One lookup per start tag
 * finds all of it. */
struct xml_eldecl {
    struct xml_eldecl *all;
    const uint8_t *name; /* the key of its first attdecl */
    size_t nlen;
    struct xml_map atts; /* attdecls by attribute name */
    struct xml_attdecl *dflt, **dflt_tail, *ns, **ns_tail;
    size_t ndflt;
    int noncdata;
    struct xml_att *datts; /* the ndflt defaults as attribute records (xml_hand.c) */
    size_t dbytes;         /* what applying all of them costs the expansion budget */
    int dbad;              /* one of them is not a QName */
};

struct xml_open {
    const uint8_t *name; /* raw QName, for matching the end tag */
    size_t nlen;
    size_t nsb_mark; /* number of namespace bindings before this element */
    size_t nsstr_mark;
    size_t uri_off, uri_len; /* resolved namespace, in nsstr (for the end dump) */
    size_t local_off;        /* offset of the local part in name */
};

struct xml_nsb {
    const uint8_t *prefix; /* empty (len 0) for the default namespace */
    size_t plen;
    size_t uri_off, uri_len; /* in nsstr */
    size_t shadows;          /* index + 1 of the binding of the same prefix it hides, or 0 */
    uint64_t h;              /* xml_hash of the prefix */
};

struct xml_att {
    const uint8_t *name;
    size_t nlen, colon; /* colon: offset of ':' in name, or 0 */
    const uint8_t *val; /* raw slice, or NULL when the value is in scratch */
    size_t voff, vlen;
    const char *uri;
    size_t ulen;
    int is_ns;
};

struct xml_ctx {
    const uint8_t *doc, *doc_end;
    struct parse_result *r;
    FILE *dump;
    int failed, oom;
    struct xml_open *open;
    size_t depth, open_cap;
    struct xml_nsb *nsb;
    size_t nnsb, nsb_cap;
    struct xml_buf nsstr;
    struct xml_att *att;
    size_t natt, att_cap;
    struct xml_buf scratch;
    struct xml_text text;
    uint64_t hkey[2];             /* the key of xml_hash */
    struct xml_map ge, pe;        /* general and parameter entities by name */
    struct xml_map el;            /* eldecls by element name */
    struct xml_map ns;            /* prefix -> index + 1 of its innermost binding */
    struct xml_ent *ents;         /* every entity (freeing) */
    struct xml_buf entval;        /* an entity value being read */
    struct xml_attdecl *attdecls; /* every attdecl (freeing) */
    struct xml_eldecl *eldecls;   /* every eldecl (freeing) */
    const uint8_t *last_el;       /* the element name looked up last ... */
    size_t last_el_len;
    struct xml_eldecl *last_eldecl; /* ... and what it found (NULL: nothing declared) */
    size_t ndecls;                  /* markup declarations read, against XML_MAX_DECLS */
    struct xml_attset *attset;      /* attribute names of one element (big elements) */
    int dtd_incomplete; /* external subset or unread PE: undeclared entities tolerated */
    int skip_decls;     /* after an unread PE: ENTITY/ATTLIST no longer processed */
    int standalone;
    int in_dtd;
    size_t expanded, expand_limit;
    int ent_depth;
    size_t ref_off; /* offset of the outermost entity reference being expanded */
    size_t items, max_depth;
};

/* Records the first error (at: where in the document or an entity) and returns -1. */
int xml_fail(struct xml_ctx *c, const uint8_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int xml_oom(struct xml_ctx *c);

int xml_buf_add(struct xml_ctx *c, struct xml_buf *b, const void *s, size_t n);
int xml_buf_byte(struct xml_ctx *c, struct xml_buf *b, uint8_t ch);

/* Decodes one UTF-8 sequence (parsers/utf8.h) that is an XML Char; returns its length
 * or 0.  p < end. */
int xml_utf8_char(const uint8_t *p, const uint8_t *end, uint32_t *cp);
int xml_is_char(uint32_t c);
/* Returns the end of the Name (or Nmtoken when nmtoken) at p, p when there is none,
 * NULL after recording an error (bad UTF-8, too long). */
const uint8_t *xml_scan_name(struct xml_ctx *c, const uint8_t *p, const uint8_t *end, int nmtoken);
/* Parses "&#...;" with p after "&#"; returns the position after ';' or NULL. */
const uint8_t *xml_scan_charref(struct xml_ctx *c, const uint8_t *p, const uint8_t *end,
                                uint32_t *cp);
static inline const uint8_t *xml_skip_s(const uint8_t *p, const uint8_t *end)
{
    while (p < end && (xml_cls[*p] & XC_SPACE))
        p++;
    return p;
}
/* The end of a run of bytes without XC_TSTOP (text) or XC_ASTOP (attribute values);
 * 16 bytes at a time with SSE2, never reading at or past end. */
static inline const uint8_t *xml_run(const uint8_t *p, const uint8_t *end, int attr)
{
#ifdef __SSE2__
    const __m128i c1 = _mm_set1_epi8('<'), c2 = _mm_set1_epi8('&');
    const __m128i c3 = _mm_set1_epi8(attr ? '"' : ']'), c4 = _mm_set1_epi8(attr ? '\'' : '\r');
    const __m128i sp = _mm_set1_epi8(0x20), tab = _mm_set1_epi8('\t'), nl = _mm_set1_epi8('\n');
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, c1), _mm_cmpeq_epi8(x, c2)),
                                 _mm_or_si128(_mm_cmpeq_epi8(x, c3), _mm_cmpeq_epi8(x, c4)));
        /* signed compare: below 0x20, and every byte >= 0x80 */
        __m128i low = _mm_cmplt_epi8(x, sp);
        if (!attr) /* TAB and LF are plain text; in attributes they are normalized */
            low =
                _mm_andnot_si128(_mm_or_si128(_mm_cmpeq_epi8(x, tab), _mm_cmpeq_epi8(x, nl)), low);
        int mask = _mm_movemask_epi8(_mm_or_si128(m, low));
        if (mask) return p + __builtin_ctz((unsigned)mask);
        p += 16;
    }
#endif
    uint8_t stop = attr ? XC_ASTOP : XC_TSTOP;
    while (p < end && !(xml_cls[*p] & stop))
        p++;
    return p;
}

static inline int xml_has(const uint8_t *p, const uint8_t *end, const char *lit, size_t n)
{
    return (size_t)(end - p) >= n && __builtin_memcmp(p, lit, n) == 0;
}
#define XML_HAS(p, end, lit) xml_has(p, end, lit, sizeof(lit) - 1)

/* ---- hash tables (xml_map.c) ---- */
void xml_map_seed(struct xml_ctx *c);
uint64_t xml_hash(const struct xml_ctx *c, const void *key, size_t n);
/* The value stored under key (hash h), or NULL. */
void *xml_map_get(const struct xml_ctx *c, const struct xml_map *m, uint64_t h, const void *key,
                  size_t n, xml_map_key_fn keyof);
/* Stores v under key (replacing a value with the same key); 0, or -1 (out of memory,
 * recorded). */
int xml_map_put(struct xml_ctx *c, struct xml_map *m, uint64_t h, const void *key, size_t n,
                void *v, xml_map_key_fn keyof);
void xml_map_del(const struct xml_ctx *c, struct xml_map *m, uint64_t h, const void *key, size_t n,
                 xml_map_key_fn keyof);
void xml_map_free(struct xml_map *m);

/* Collapses runs of spaces and trims (values of a non-CDATA declared type); new length. */
size_t xml_collapse(uint8_t *v, size_t n);
/* An entity by name (h = xml_hash of it) in c->ge or c->pe, or NULL; adding one: 0 or
 * -1 (recorded). */
struct xml_ent *xml_ent_find(const struct xml_ctx *c, const struct xml_map *tab, uint64_t h,
                             const uint8_t *name, size_t n);
int xml_ent_add(struct xml_ctx *c, struct xml_map *tab, uint64_t h, struct xml_ent *e);
/* What the subset declares for element name, or NULL. */
const struct xml_eldecl *xml_eldecl_find(const struct xml_ctx *c, const uint8_t *name, size_t n);
/* The declaration of attribute at for the element e (NULL: none), or NULL. */
const struct xml_attdecl *xml_attdecl_find(const struct xml_ctx *c, const struct xml_eldecl *e,
                                           const uint8_t *at, size_t alen);

/* Records "control character" / "invalid UTF-8 ..." for the byte at p; returns NULL. */
const uint8_t *xml_bad_char(struct xml_ctx *c, const uint8_t *p);
/* Checks characters up to the next byte stop (or end); returns its position, or NULL. */
const uint8_t *xml_chars_until(struct xml_ctx *c, const uint8_t *p, const uint8_t *end,
                               uint8_t stop);

/* Comments and PIs (p at "<!--" / "<?"); return the position after, or NULL. */
const uint8_t *xml_comment(struct xml_ctx *c, const uint8_t *p, const uint8_t *end);
const uint8_t *xml_pi(struct xml_ctx *c, const uint8_t *p, const uint8_t *end);

/* Parses an attribute value literal at p (the quote).  When the raw text between the
 * quotes is already the normalized value, sets *raw = 1 and copies nothing; else sets
 * *raw = 0 and appends the normalized value to c->scratch.  Returns the position after
 * the closing quote, or NULL. */
const uint8_t *xml_attvalue(struct xml_ctx *c, const uint8_t *p, const uint8_t *end, int *raw);

/* Entity references: '&' at p, returns after ';' with the name, or NULL. */
const uint8_t *xml_scan_ref(struct xml_ctx *c, const uint8_t *p, const uint8_t *end,
                            const uint8_t **name, size_t *nlen);
/* The character of a predefined entity (lt gt amp apos quot), or 0. */
int xml_predefined(const uint8_t *n, size_t len);
/* Checks recursion, nesting and the expansion budget before expanding e. */
int xml_ent_enter(struct xml_ctx *c, struct xml_ent *e, const uint8_t *at);
void xml_ent_leave(struct xml_ctx *c, struct xml_ent *e);

/* Content (xml_hand.c): top != 0 parses the root element, p at its '<', and returns
 * after its end tag; top == 0 parses an entity's replacement text to its end, which
 * must close every element it opened. */
const uint8_t *xml_content(struct xml_ctx *c, const uint8_t *p, const uint8_t *end, int top);

/* <!DOCTYPE ...> at p; returns the position after it, or NULL. */
const uint8_t *xml_doctype(struct xml_ctx *c, const uint8_t *p, const uint8_t *end);
void xml_dtd_free(struct xml_ctx *c);

#endif
