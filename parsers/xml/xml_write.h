/* xml_write: an allocation-light XML 1.0 writer for application records
 * (labs/02-parsers/orders.c).  It writes into the JSON writer's byte buffer
 * (parsers/json/json_write.h: struct jw, its growth and error rules), so numbers are
 * printed by jw_u64/jw_i64/jw_double exactly as in JSON.  The parsers are untouched.
 *
 * Contract
 * - Names (element and attribute) are written as given: the caller passes valid XML
 *   names (they are literals in the record writer).
 * - xw_text(s, n): character data.  '&' -> &amp;, '<' -> &lt;, '>' -> &gt; (so "]]>"
 *   cannot appear), CR -> &#13; (a raw CR would be turned into LF by the parser's
 *   line-end normalization); TAB and LF as is; bytes >= 0x80 as is (UTF-8 passes
 *   through; the input must be UTF-8).
 * - xw_attr(name, s, n): ` name="value"` with '&', '<', '"' escaped and TAB, LF, CR as
 *   &#9; &#10; &#13; (attribute-value normalization would turn raw ones into spaces).
 * - Any other byte below 0x20 is not an XML 1.0 character, not even as a character
 *   reference: the writer sets w->err = JW_EINVAL (and writes nothing for that byte)
 *   rather than produce a document no conforming parser accepts.
 */
#ifndef WIRELAB_PARSERS_XML_XML_WRITE_H
#define WIRELAB_PARSERS_XML_XML_WRITE_H

#include "parsers/json/json_write.h"

void xw_text(struct jw *w, const char *s, size_t n);
void xw_attr(struct jw *w, const char *name, const char *s, size_t n);
/* ` name="123"`, ` name="-4"`, ` name="0.25"` (numbers need no escaping). */
void xw_attr_u64(struct jw *w, const char *name, uint64_t v);
void xw_attr_i64(struct jw *w, const char *name, int64_t v);
void xw_attr_double(struct jw *w, const char *name, double d);

#endif
