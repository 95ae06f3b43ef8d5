/* xml: the XML parsers of the parsers lab, all behind `struct parser_impl`.
 *
 *   xml_hand_impl         "hand"         hand-written, non-validating XML 1.0 (5th ed.) +
 *                                        Namespaces 1.0 parser (xml_hand.c, xml_dtd.c)
 *   xml_libxml2_sax_impl  "libxml2-sax"  libxml2 SAX2 callbacks (xml_lib_libxml2.c)
 *   xml_libxml2_dom_impl  "libxml2-dom"  libxml2 xmlReadMemory + tree walk
 *   xml_expat_impl        "expat"        expat with namespace processing (xml_lib_expat.c)
 *
 * What the hand parser accepts (the contract of parse() is in parsers/parser.h):
 * - UTF-8 only.  A UTF-8 BOM is skipped; encoding="UTF-8" or "US-ASCII" (any case) is
 *   accepted; any other declared encoding, a UTF-16/UTF-32 BOM or a document starting
 *   with NUL bytes is refused with "unsupported encoding ...".  Every byte sequence must
 *   be valid UTF-8 and every character an XML Char.
 * - Well-formedness of XML 1.0 5th edition (names use the 5th-edition NameStartChar /
 *   NameChar ranges), plus Namespaces 1.0 (QNames, declared prefixes, the xml and xmlns
 *   rules, unique expanded attribute names).  No validation.
 * - The internal DTD subset is parsed for well-formedness (ELEMENT, ATTLIST, ENTITY,
 *   NOTATION, PIs, comments, PE references between declarations).  Internal general
 *   entities are expanded in content and attribute values; internal parameter entities
 *   between declarations are expanded.  External entities (the external subset,
 *   SYSTEM/PUBLIC entities) are NEVER fetched: a reference to an external parsed entity
 *   in content is skipped, in an attribute value it is an error (as the spec says).
 *   After an unread parameter entity the remaining ENTITY/ATTLIST declarations are not
 *   processed, and undeclared entities are then tolerated (XML 1.0 section 5.1).
 * - Attribute values are normalized (CDATA rules; non-CDATA types declared in the
 *   internal subset are also trimmed and collapsed).  Default values declared in the
 *   internal subset are supplied (section 5.1), after the specified attributes, in
 *   declaration order; xmlns defaults bind namespaces.
 * - Limits, each a clear error with its offset: element depth XML_MAX_DEPTH, attributes
 *   per element XML_MAX_ATTS, entity and attribute declarations in the DTD
 *   XML_MAX_DECLS, namespace bindings in scope XML_MAX_NS, name length XML_MAX_NAME,
 *   entity nesting XML_MAX_ENT_DEPTH, bytes produced by entity expansion and by
 *   attribute defaults together max(XML_EXPAND_MIN, XML_EXPAND_FACTOR * input length)
 *   (billion laughs, or a thousand defaults on each of ten thousand elements, stop
 *   after a few MB of work), text/attribute value XML_MAX_VALUE.  Element nesting uses
 *   an explicit stack, never the C stack.
 * - Time: linear in the input, the expansion budget and the output.  Entities,
 *   declarations, namespace bindings and the attributes of a large element are looked
 *   up in hash tables under a key drawn per parse (SipHash), so names chosen to
 *   collide cost an attacker as much as any other names.
 *
 * The --dump format (identical for every implementation on the same valid input), one
 * line per event, in document order, nothing for the prolog, DOCTYPE, comments, text
 * outside the root element or PIs inside the DTD:
 *   start NAME                 an element starts
 *   attr NAME="VALUE"          one per attribute, right after its `start`: the specified
 *                              ones in document order, then the defaulted ones in
 *                              declaration order; namespace declarations (xmlns, xmlns:p)
 *                              are not listed; VALUE is the normalized value
 *   text "TEXT"                all character data between two other events, merged
 *                              (CDATA sections, character and entity references, line
 *                              ends normalized to \n); whitespace-only text included
 *   end NAME                   an element ends (also for <empty/>)
 *   pi TARGET "DATA"           a processing instruction in content or prolog/epilog;
 *                              DATA without the leading whitespace
 * NAME is `{URI}local` when the element or attribute is in a namespace, else `local`.
 * In "TEXT", "VALUE" and "DATA": \ -> \\, " -> \", LF -> \n, TAB -> \t, CR -> \r,
 * other bytes below 0x20 and 0x7f -> \xHH; everything else (UTF-8) is written as is.
 */
#ifndef WIRELAB_PARSERS_XML_XML_H
#define WIRELAB_PARSERS_XML_XML_H

#include "parsers/parser.h"

#define XML_MAX_DEPTH     100000
#define XML_MAX_ATTS      1024
#define XML_MAX_DECLS     100000
#define XML_MAX_NS        65536
#define XML_MAX_NAME      65536
#define XML_MAX_ENT_DEPTH 40
#define XML_EXPAND_MIN    (4u << 20)
#define XML_EXPAND_FACTOR 10
#define XML_MAX_VALUE     (256u << 20)

extern const struct parser_impl xml_hand_impl;
extern const struct parser_impl xml_libxml2_sax_impl;
extern const struct parser_impl xml_libxml2_dom_impl;
extern const struct parser_impl xml_expat_impl;

/* ---- dump helpers shared by the four implementations (xml_dump.c) ---- */

/* Pending character data, merged until the next event. */
struct xml_text {
    char *p;
    size_t len, cap;
};
/* Appends; returns 0, or -1 when out of memory or over XML_MAX_VALUE. */
int xml_text_add(struct xml_text *t, const void *s, size_t n);
/* Writes `text "..."` when something is pending, then empties t. */
void xml_text_flush(struct xml_text *t, FILE *out);
void xml_text_free(struct xml_text *t);

/* Writes `KIND {uri}local` (or `KIND local` when ulen is 0) and a newline. */
void xml_dump_name(FILE *out, const char *kind, const char *uri, size_t ulen, const char *local,
                   size_t llen);
/* Writes `attr NAME="VALUE"` and a newline. */
void xml_dump_attr(FILE *out, const char *uri, size_t ulen, const char *local, size_t llen,
                   const char *val, size_t vlen);
/* Writes `pi TARGET "DATA"` and a newline. */
void xml_dump_pi(FILE *out, const char *target, size_t tlen, const char *data, size_t dlen);
/* Writes s quoted and escaped as described above. */
void xml_dump_quoted(FILE *out, const char *s, size_t n);

#endif
