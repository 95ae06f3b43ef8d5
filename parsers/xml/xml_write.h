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
 * - xw_attr(name, s, n): ` name="value"` (name a string literal) with '&', '<', '"' escaped and
 * TAB, LF, CR as
 *   &#9; &#10; &#13; (attribute-value normalization would turn raw ones into spaces).
 * - Any other byte below 0x20, and U+FFFE / U+FFFF, are not XML 1.0 characters, not
 *   even as character references: the writer sets w->err = JW_EINVAL (and writes
 *   nothing for them) rather than produce a document no conforming parser accepts.
 */
#ifndef WIRELAB_PARSERS_XML_XML_WRITE_H
#define WIRELAB_PARSERS_XML_XML_WRITE_H

#include "parsers/json/json_write.h"

void xw_text(struct jw *w, const char *s, size_t n);
/* The attribute writers take the name as a string literal: ` name="` is assembled at
 * compile time, one memcpy of known length (no strlen per attribute). */
#define XW_PRE(name)           " " name "=\"", sizeof(" " name "=\"") - 1
#define xw_attr(w, name, s, n) xw_attr_pre((w), XW_PRE(name), (s), (n))
/* ` name="123"`, ` name="-4"`, ` name="0.25"` (numbers need no escaping). */
#define xw_attr_u64(w, name, v)    xw_attr_u64_pre((w), XW_PRE(name), (v))
#define xw_attr_i64(w, name, v)    xw_attr_i64_pre((w), XW_PRE(name), (v))
#define xw_attr_double(w, name, d) xw_attr_double_pre((w), XW_PRE(name), (d))
void xw_attr_pre(struct jw *w, const char *pre, size_t plen, const char *s, size_t n);
void xw_attr_u64_pre(struct jw *w, const char *pre, size_t plen, uint64_t v);
void xw_attr_i64_pre(struct jw *w, const char *pre, size_t plen, int64_t v);
void xw_attr_double_pre(struct jw *w, const char *pre, size_t plen, double d);

#endif
