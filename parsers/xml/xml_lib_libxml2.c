/* xml_lib_libxml2: the libxml2 adapters, SAX2 callbacks ("libxml2-sax") and a parsed tree
 * walked after xmlReadMemory ("libxml2-dom"), both writing the dump of xml.h.
 * Never fetching: XML_PARSE_NONET, no DTD loading, no entity substitution from outside
 * (the DOM keeps entity reference nodes and the walk descends into their content), and
 * an external entity loader that refuses everything (libxml2 only has a process-wide
 * hook for that in 2.9; installing the same refusing loader from every call is
 * idempotent).  Default attributes declared in the internal subset are supplied
 * (XML_PARSE_DTDATTR), like the hand parser does.  libxml2 keeps namespace
 * errors apart (nsWellFormed) from XML ones (wellFormed); as namespace-aware parsers
 * all four must reject both, so both count. */
#include "parsers/xml/xml.h"

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <string.h>

struct xml_lx {
    FILE *dump;
    struct xml_text text;
    size_t items, depth, max_depth;
    size_t chars, budget; /* character data delivered, and its bound */
    int oom, over_budget;
    xmlParserCtxtPtr ctxt;
};

static xmlParserInputPtr xml_lx_no_fetch(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    (void)url;
    (void)id;
    (void)ctxt;
    return NULL;
}

/* What both adapters do first; -1 when libxml2 cannot take the input (int lengths). */
static int xml_lx_begin(struct parse_result *r, size_t len)
{
    memset(r, 0, sizeof *r);
    if (len > INT_MAX) {
        snprintf(r->err, sizeof r->err, "input larger than libxml2 accepts");
        return -1;
    }
    xmlSetExternalEntityLoader(xml_lx_no_fetch);
    return 0;
}

static void xml_lx_error(struct parse_result *r, const xmlError *e, const char *fallback)
{
    if (e && e->message) {
        snprintf(r->err, sizeof r->err, "%s", e->message);
        size_t n = strlen(r->err);
        while (n && (r->err[n - 1] == '\n' || r->err[n - 1] == ' '))
            r->err[--n] = 0;
        r->err_line = e->line > 0 ? (size_t)e->line : 0;
        r->err_col = e->int2 > 0 ? (size_t)e->int2 : 0;
    } else {
        snprintf(r->err, sizeof r->err, "%s", fallback);
    }
}

/* Errors come back through the result; nothing is printed (not even the "validity"
 * remarks libxml2 makes while reading a DTD it does not validate against). */
static void xml_lx_quiet(xmlParserCtxtPtr ctxt)
{
    ctxt->vctxt.error = NULL;
    ctxt->vctxt.warning = NULL;
    ctxt->sax->error = NULL;
    ctxt->sax->warning = NULL;
}

static int xml_lx_options(void)
{
    /* DTDATTR: supply default attributes from the DTD read, as XML 1.0 5.1 requires of a
     * non-validating processor (the external subset stays unread: loader refuses). */
    return XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_DTDATTR;
}

/* The hand parser's expansion budget: max(XML_EXPAND_MIN, XML_EXPAND_FACTOR x input). */
static size_t xml_lx_budget(size_t len)
{
    return len > XML_EXPAND_MIN / XML_EXPAND_FACTOR ? len * XML_EXPAND_FACTOR : XML_EXPAND_MIN;
}

/* ---- SAX ---- */

static void xml_sax_start(void *ud, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri,
                          int nns, const xmlChar **ns, int natt, int ndefaulted,
                          const xmlChar **att)
{
    struct xml_lx *x = ((xmlParserCtxtPtr)ud)->_private;
    (void)prefix;
    (void)nns;
    (void)ns;
    x->items++;
    if (++x->depth > x->max_depth) x->max_depth = x->depth;
    if (!x->dump) return;
    xml_text_flush(&x->text, x->dump);
    xml_dump_name(x->dump, "start", (const char *)uri, uri ? strlen((const char *)uri) : 0,
                  (const char *)local, strlen((const char *)local));
    for (int i = 0; i < natt; i++) { /* specified, then defaulted (DTDATTR) */
        const xmlChar **a = att + 5 * i;
        xml_dump_attr(x->dump, (const char *)a[2], a[2] ? strlen((const char *)a[2]) : 0,
                      (const char *)a[0], strlen((const char *)a[0]), (const char *)a[3],
                      (size_t)(a[4] - a[3]));
    }
}

static void xml_sax_end(void *ud, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri)
{
    struct xml_lx *x = ((xmlParserCtxtPtr)ud)->_private;
    (void)prefix;
    x->depth--;
    if (!x->dump) return;
    xml_text_flush(&x->text, x->dump);
    xml_dump_name(x->dump, "end", (const char *)uri, uri ? strlen((const char *)uri) : 0,
                  (const char *)local, strlen((const char *)local));
}

/* libxml2 2.9's own amplification check lets the quadratic blow-up through (50,000
 * references to a 50 KB entity: 2.5 GB of text in 8 s), so the adapter charges the
 * character data it is given to the hand parser's budget and stops past it. */
static void xml_sax_chars(void *ud, const xmlChar *s, int n)
{
    xmlParserCtxtPtr ctxt = ud;
    struct xml_lx *x = ctxt->_private;
    if (x->over_budget) return;
    x->chars += (size_t)n;
    if (x->chars > x->budget) {
        x->over_budget = 1;
        xmlStopParser(ctxt);
        return;
    }
    if (x->dump && xml_text_add(&x->text, s, (size_t)n)) x->oom = 1;
}

static void xml_sax_pi(void *ud, const xmlChar *target, const xmlChar *data)
{
    xmlParserCtxtPtr ctxt = ud;
    struct xml_lx *x = ctxt->_private;
    if (!x->dump || ctxt->inSubset) return;
    xml_text_flush(&x->text, x->dump);
    xml_dump_pi(x->dump, (const char *)target, strlen((const char *)target),
                data ? (const char *)data : "", data ? strlen((const char *)data) : 0);
}

static int xml_sax_parse(const uint8_t *buf, size_t len, const struct parse_opts *opts,
                         struct parse_result *r, FILE *dump)
{
    (void)opts;
    if (xml_lx_begin(r, len)) return 1;
    struct xml_lx x = {.dump = dump};
    x.budget = xml_lx_budget(len);
    xmlSAXHandler h;
    memset(&h, 0, sizeof h);
    xmlSAXVersion(&h, 2); /* the defaults keep the DTD bookkeeping (entities) */
    h.startElementNs = xml_sax_start;
    h.endElementNs = xml_sax_end;
    h.characters = xml_sax_chars;
    h.ignorableWhitespace = xml_sax_chars;
    h.cdataBlock = xml_sax_chars;
    h.processingInstruction = xml_sax_pi;
    h.comment = NULL;
    h.externalSubset = NULL; /* never load the external subset */
    h.startElement = NULL;
    h.endElement = NULL;
    if (len == 0) {
        /* libxml2 refuses to make a context for zero bytes (NULL, as for out of
         * memory); an empty input is simply not a document: no root element. */
        return parse_invalid(r, 0, "no root element");
    }
    xmlParserCtxtPtr ctxt = xmlCreateMemoryParserCtxt((const char *)buf, (int)len);
    if (!ctxt) {
        snprintf(r->err, sizeof r->err, "out of memory");
        return 2;
    }
    *ctxt->sax = h;
    ctxt->_private = &x;
    xml_lx_quiet(ctxt);
    ctxt->userData = ctxt; /* callbacks get the context, to see inSubset */
    /* NOENT: internal entities are delivered as their content through the callbacks. */
    xmlCtxtUseOptions(ctxt, xml_lx_options() | XML_PARSE_NOENT);
    int rc = xmlParseDocument(ctxt);
    int ok = rc == 0 && ctxt->wellFormed && ctxt->nsWellFormed && !x.oom && !x.over_budget;
    if (ok) {
        if (dump) xml_text_flush(&x.text, dump);
        r->items = x.items;
        r->depth = x.max_depth;
    } else if (x.over_budget) {
        snprintf(r->err, sizeof r->err,
                 "entity expansion limit exceeded (%zu bytes of text; adapter's bound)", x.budget);
        r->err_line = (size_t)xmlSAX2GetLineNumber(ctxt);
        r->err_col = (size_t)xmlSAX2GetColumnNumber(ctxt);
    } else {
        xml_lx_error(r, xmlCtxtGetLastError(ctxt),
                     x.oom ? "dump text over the size limit, or out of memory" : "not well-formed");
    }
    if (ctxt->myDoc) xmlFreeDoc(ctxt->myDoc);
    xmlFreeParserCtxt(ctxt);
    xml_text_free(&x.text);
    return ok ? 0 : (x.oom ? 2 : 1);
}

/* ---- DOM ---- */

static void xml_dom_start(struct xml_lx *x, xmlNodePtr n)
{
    x->items++;
    if (!x->dump) return;
    xml_text_flush(&x->text, x->dump);
    const char *uri = n->ns && n->ns->href ? (const char *)n->ns->href : "";
    xml_dump_name(x->dump, "start", uri, strlen(uri), (const char *)n->name,
                  strlen((const char *)n->name));
    for (xmlAttrPtr a = n->properties; a; a = a->next) {
        const char *auri = a->ns && a->ns->href ? (const char *)a->ns->href : "";
        xmlChar *v = xmlNodeListGetString(n->doc, a->children, 1);
        xml_dump_attr(x->dump, auri, strlen(auri), (const char *)a->name,
                      strlen((const char *)a->name), v ? (const char *)v : "",
                      v ? strlen((const char *)v) : 0);
        xmlFree(v);
    }
}

static void xml_dom_end(struct xml_lx *x, xmlNodePtr n)
{
    if (!x->dump) return;
    xml_text_flush(&x->text, x->dump);
    const char *uri = n->ns && n->ns->href ? (const char *)n->ns->href : "";
    xml_dump_name(x->dump, "end", uri, strlen(uri), (const char *)n->name,
                  strlen((const char *)n->name));
}

/* Depth-first walk without recursion; entity reference nodes are entered through
 * their entity's children (returning through a small stack of references, bounded by
 * libxml2's own entity nesting limit). */
static void xml_dom_walk(struct xml_lx *x, xmlNodePtr root)
{
    xmlNodePtr refs[64];
    int nrefs = 0;
    size_t depth = 0;
    xmlNodePtr n = root;
    while (n) {
        xmlNodePtr down = NULL;
        switch (n->type) {
        case XML_ELEMENT_NODE:
            xml_dom_start(x, n);
            if (++depth > x->max_depth) x->max_depth = depth;
            down = n->children;
            if (!down) {
                xml_dom_end(x, n);
                depth--;
            }
            break;
        case XML_TEXT_NODE:
        case XML_CDATA_SECTION_NODE: {
            /* The tree shares an entity's nodes between its references: walking them
             * is where the expansion happens, so the budget is charged here. */
            size_t tl = n->content ? strlen((const char *)n->content) : 0;
            x->chars += tl;
            if (x->chars > x->budget) {
                x->over_budget = 1;
                return;
            }
            if (x->dump && tl && xml_text_add(&x->text, n->content, tl)) x->oom = 1;
            break;
        }
        case XML_PI_NODE:
            if (x->dump) {
                xml_text_flush(&x->text, x->dump);
                xml_dump_pi(x->dump, (const char *)n->name, strlen((const char *)n->name),
                            n->content ? (const char *)n->content : "",
                            n->content ? strlen((const char *)n->content) : 0);
            }
            break;
        case XML_ENTITY_REF_NODE: {
            xmlEntityPtr e = xmlGetDocEntity(n->doc, n->name);
            if (e && e->children && nrefs < 64) {
                refs[nrefs++] = n;
                down = e->children;
            }
            break;
        }
        default:
            break;
        }
        if (down) {
            n = down;
            continue;
        }
        /* next sibling, climbing out of finished elements and entity contents */
        for (;;) {
            if (n == root && depth == 0) return;
            if (n->next) {
                n = n->next;
                break;
            }
            xmlNodePtr up = n->parent;
            if (up && up->type == XML_ENTITY_DECL) {
                n = refs[--nrefs];
                continue;
            }
            if (!up || up->type != XML_ELEMENT_NODE) return;
            n = up;
            xml_dom_end(x, n);
            depth--;
            if (n == root) return;
        }
    }
}

static int xml_dom_parse(const uint8_t *buf, size_t len, const struct parse_opts *opts,
                         struct parse_result *r, FILE *dump)
{
    (void)opts;
    if (xml_lx_begin(r, len)) return 1;
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        snprintf(r->err, sizeof r->err, "out of memory");
        return 2;
    }
    xml_lx_quiet(ctxt);
    xmlDocPtr doc =
        xmlCtxtReadMemory(ctxt, (const char *)buf, (int)len, NULL, NULL, xml_lx_options());
    if (!doc || !ctxt->wellFormed || !ctxt->nsWellFormed) {
        xml_lx_error(r, xmlCtxtGetLastError(ctxt), "not well-formed");
        if (doc) xmlFreeDoc(doc);
        xmlFreeParserCtxt(ctxt);
        return 1;
    }
    struct xml_lx x = {.dump = dump, .budget = xml_lx_budget(len)};
    for (xmlNodePtr n = doc->children; n && !x.over_budget; n = n->next) {
        if (n->type == XML_ELEMENT_NODE)
            xml_dom_walk(&x, n);
        else if (n->type == XML_PI_NODE && dump)
            xml_dump_pi(dump, (const char *)n->name, strlen((const char *)n->name),
                        n->content ? (const char *)n->content : "",
                        n->content ? strlen((const char *)n->content) : 0);
    }
    if (dump) xml_text_flush(&x.text, dump);
    r->items = x.items;
    r->depth = x.max_depth;
    xml_text_free(&x.text);
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    if (x.over_budget) {
        snprintf(r->err, sizeof r->err,
                 "entity expansion limit exceeded (%zu bytes of text; adapter's bound)", x.budget);
        return 1;
    }
    if (x.oom) {
        snprintf(r->err, sizeof r->err, "dump text over the size limit, or out of memory");
        return 2;
    }
    return 0;
}

const struct parser_impl xml_libxml2_sax_impl = {"xml", "libxml2-sax", xml_sax_parse};
const struct parser_impl xml_libxml2_dom_impl = {"xml", "libxml2-dom", xml_dom_parse};
