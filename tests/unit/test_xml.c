/* Unit tests of the hand-written XML parser (parsers/xml): well-formedness rules,
 * references, the DTD subset, namespaces, limits, and dumps equal to the libraries'. */
#include "parsers/xml/xml.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static int run(const struct parser_impl *impl, const char *doc, char **dump, struct parse_result *r)
{
    size_t dl;
    FILE *d = dump ? open_memstream(dump, &dl) : NULL;
    int rc = impl->parse((const uint8_t *)doc, strlen(doc), NULL, r, d);
    if (d) fclose(d);
    return rc;
}

static int hand(const char *doc)
{
    struct parse_result r;
    return run(&xml_hand_impl, doc, NULL, &r);
}

static char *hand_dump(const char *doc)
{
    struct parse_result r;
    char *d = NULL;
    int rc = run(&xml_hand_impl, doc, &d, &r);
    cr_assert_eq(rc, 0, "rejected: %s", r.err);
    return d;
}

Test(xml, accepts_simple)
{
    cr_assert_eq(hand("<a/>"), 0);
    cr_assert_eq(hand("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<a x='1'>t<b/></a>\n"), 0);
}

Test(xml, dump_format)
{
    char *d = hand_dump("<r xmlns='u' xmlns:p='v' p:a='1 \n2' b=\"&lt;\">x&amp;<![CDATA[<y>]]>"
                        "&#x41;<?pi  data?></r>");
    cr_assert_str_eq(d, "start {u}r\nattr {v}a=\"1  2\"\nattr b=\"<\"\ntext \"x&<y>A\"\n"
                        "pi pi \"data\"\nend {u}r\n");
    free(d);
}

/* Every rule: one small document that breaks it, each must be rejected. */
static const char *const not_wf[] = {
    "",
    "   ",
    "<a>",
    "<a></b>",
    "<a/><b/>",
    "<a/>text",
    "text<a/>",
    "<a>]]></a>",
    "<a><!-- a -- b --></a>",
    "<a><!-- a ---></a>",
    "<a x='1' x='2'/>",
    "<a xmlns:p='u' xmlns:q='u' p:x='1' q:x='2'/>",
    "<a x='<'/>",
    "<a x=1/>",
    "<a x/>",
    "<a x='1'y='2'/>",
    "<p:a/>",
    "<a xmlns:p=''/>",
    "<a xmlns:xml='urn:x'/>",
    "<a xmlns:xmlns='urn:x'/>",
    "<a xmlns:p='http://www.w3.org/XML/1998/namespace'/>",
    "<xmlns:a xmlns:xmlns='u'/>",
    "<a:b:c xmlns:a='u'/>",
    "<:a/>",
    "<a><?xml version='1.0'?></a>",
    " <?xml version='1.0'?><a/>",
    "<?xml version='2.0'?><a/>",
    "<?xml encoding='UTF-8'?><a/>",
    "<?xml version='1.0' standalone='maybe'?><a/>",
    "<?xml version='1.0' encoding='ISO-8859-1'?><a/>",
    "\xFE\xFF\0<\0a\0/\0>",
    "<a>\xC3</a>",
    "<a>\xC0\xAF</a>",
    "<a>\xED\xA0\x80</a>",
    "<a>\xEF\xBF\xBE</a>",
    "<a>\x01</a>",
    "<a>&#0;</a>",
    "<a>&#xD800;</a>",
    "<a>&#x110000;</a>",
    "<a>&#12a;</a>",
    "<a>&nope;</a>",
    "<a>& b</a>",
    "<a>&amp</a>",
    "<!DOCTYPE a [<!ENTITY e '&e;'>]><a>&e;</a>",
    "<!DOCTYPE a [<!ENTITY e '<b>'>]><a>&e;</b></a>",
    "<!DOCTYPE a [<!ENTITY e SYSTEM 'x'>]><a x='&e;'/>",
    "<!DOCTYPE a [<!NOTATION n SYSTEM 'n'><!ENTITY e SYSTEM 'x' NDATA n>]><a>&e;</a>",
    "<!DOCTYPE a [<!ENTITY % p 'x'><!ELEMENT a %p;>]><a/>",
    "<!DOCTYPE a [<!ENTITY e \"%p;\">]><a/>",
    "<!DOCTYPE a [<!ELEMENT a (b,c|d)>]><a/>",
    "<!DOCTYPE a [<!ELEMENT a (#PCDATA|b)>]><a/>",
    "<!DOCTYPE a [<!ATTLIST a x FOO #IMPLIED>]><a/>",
    "<!DOCTYPE a [<![INCLUDE[]]>]><a/>",
    "<!DOCTYPE a [<!ENTITY a:b 'x'>]><a/>",
    "<!DOCTYPE a [<!ENTITY % p SYSTEM 'x' NDATA n>]><a/>",
    "<!DOCTYPE a [",
    "<!DOCTYPE a><!DOCTYPE a><a/>",
    "<a/><!DOCTYPE a>",
    "<a><![CDATA[x</a>",
    "<a><?pi x</a>",
    "<a><? x?></a>",
    "<a><?p:i x?></a>",
    "<a><!x></a>",
    "<a b='1' / >",
    "<a></a >x",
};

Test(xml, rejects_not_well_formed)
{
    for (size_t i = 0; i < sizeof not_wf / sizeof not_wf[0]; i++) {
        struct parse_result r;
        const char *d = not_wf[i];
        size_t len = i == 30 ? 8 : strlen(d); /* the UTF-16 case has NUL bytes */
        int rc = xml_hand_impl.parse((const uint8_t *)d, len, NULL, &r, NULL);
        cr_expect_eq(rc, 1, "case %zu accepted: %s", i, d);
        if (rc == 1)
            cr_expect(r.err[0] && r.has_offset && r.err_offset <= len, "case %zu: no error", i);
    }
}

static const char *const wf[] = {
    "<a/>",
    "\xEF\xBB\xBF<a/>",
    "<?xml version='1.0'?><a/>",
    "<?xml version=\"1.1\" encoding=\"us-ascii\" standalone=\"yes\" ?><a/>",
    "<!-- c --><?pi?>\n<a/>\n<!-- d --><?pi x?>\n",
    "<a><![CDATA[]]>]]&gt;]</a>",
    "<a>&#x10FFFF;&#9;</a>",
    "<!DOCTYPE a><a/>",
    "<!DOCTYPE a SYSTEM 'a.dtd'><a>&undeclared;</a>",
    "<!DOCTYPE a PUBLIC '-//A//EN' 'a.dtd' [<!ELEMENT a ANY>]><a/>",
    "<!DOCTYPE a [<!ENTITY % p '<!ENTITY f \"z\">'> %p; <!ENTITY e 'y'>]><a>&e;&f;&other;</a>",
    "<!DOCTYPE a [<!ELEMENT a ((b|c)*,d?)+><!ELEMENT b EMPTY><!ELEMENT c (#PCDATA|b)*>"
    "<!ATTLIST a x (p|q) 'p' y NOTATION (n) #IMPLIED z CDATA #FIXED 'v'>"
    "<!NOTATION n PUBLIC 'n'><!ENTITY u SYSTEM 'u' NDATA n>]><a/>",
    "<!DOCTYPE a [<!ENTITY e SYSTEM 'x'>]><a>&e;</a>",
    "<a xmlns='' xmlns:p='u'><p:b p:x='1' x='2'/></a>",
    "<a xml:lang='en' xmlns:xml='http://www.w3.org/XML/1998/namespace'/>",
    "<\xC3\xA9l\xE2\x80\xBF/>",
};

Test(xml, accepts_well_formed)
{
    for (size_t i = 0; i < sizeof wf / sizeof wf[0]; i++) {
        struct parse_result r;
        int rc = xml_hand_impl.parse((const uint8_t *)wf[i], strlen(wf[i]), NULL, &r, NULL);
        cr_expect_eq(rc, 0, "case %zu rejected (%s): %s", i, r.err, wf[i]);
    }
}

/* Dumps identical to every library's on documents they all accept. */
static const char *const agree[] = {
    "<r xmlns='urn:d' xmlns:p='urn:p'><p:e p:a='1' b=' x\ty\n'>t\r\nu\rv</p:e><f/></r>",
    "<!DOCTYPE r [<!ENTITY e 'a<b c=\"&#38;#60;\">&f;</b>'><!ENTITY f 'ff'>"
    "<!ATTLIST r t NMTOKENS #IMPLIED>]><r t='  a  b  '>x&e;y<![CDATA[z\r\n]]></r>",
    "<?pi   data  ?><r xml:lang='fr'>\xC3\xA9<?p?></r><?q x?>",
    "<!DOCTYPE r [<?inner pi?><!ATTLIST r xmlns CDATA #FIXED 'urn:f' d CDATA 'dflt'>]><r/>",
    "<r a='&#10;&#9;&#13;&lt;&quot;&apos;'>&#10;&#13;&gt;</r>",
};

Test(xml, dumps_agree_with_libraries)
{
    const struct parser_impl *libs[] = {&xml_libxml2_sax_impl, &xml_libxml2_dom_impl,
                                        &xml_expat_impl};
    for (size_t i = 0; i < sizeof agree / sizeof agree[0]; i++) {
        char *h = hand_dump(agree[i]);
        for (size_t k = 0; k < 3; k++) {
            struct parse_result r;
            char *d = NULL;
            int rc = run(libs[k], agree[i], &d, &r);
            cr_expect_eq(rc, 0, "%s rejected case %zu: %s", libs[k]->name, i, r.err);
            if (rc == 0) cr_expect_str_eq(d, h, "case %zu: %s differs", i, libs[k]->name);
            free(d);
        }
        free(h);
    }
}

Test(xml, normalization_in_dump)
{
    char *d = hand_dump("<!DOCTYPE r [<!ATTLIST r t ID #IMPLIED>]>"
                        "<r t=' a&#32; b ' u='a&#10;b\r\nc'>x\r\ny</r>");
    cr_assert_str_eq(d, "start r\nattr t=\"a b\"\nattr u=\"a\\nb c\"\ntext \"x\\ny\"\nend r\n");
    free(d);
}

Test(xml, supplies_declared_defaults)
{
    char *d = hand_dump("<!DOCTYPE r [<!ATTLIST r b CDATA 'x' a NMTOKENS '  p   q ' p:c CDATA 'pc'"
                        " xmlns:p CDATA 'urn:p' i CDATA #IMPLIED>]><r z='1' b='y'/>");
    cr_assert_str_eq(d, "start r\nattr z=\"1\"\nattr b=\"y\"\nattr a=\"p q\"\n"
                        "attr {urn:p}c=\"pc\"\nend r\n");
    free(d);
}

/* A CR that reaches replacement text through a character reference is data, not a line
 * end, even when the entity is declared inside a parameter entity (found by
 * fuzz_xml_diff against expat). */
Test(xml, cr_from_character_references_stays)
{
    char *d = hand_dump("<!DOCTYPE a [<!ENTITY % p \"<!ENTITY q '&#13;b'>\">%p;"
                        "<!ENTITY r 'x&#13;&#10;y'>]><a t='&r;'>&q;&r;</a>");
    cr_assert_str_eq(d, "start a\nattr t=\"x  y\"\ntext \"\\rbx\\r\\ny\"\nend a\n");
    free(d);
}

Test(xml, error_offsets)
{
    struct parse_result r;
    cr_assert_eq(run(&xml_hand_impl, "<a>\n <b></c></a>", NULL, &r), 1);
    cr_expect_eq(r.err_offset, 8, "offset %zu: %s", r.err_offset, r.err);
    cr_assert_eq(run(&xml_hand_impl, "<!DOCTYPE a [<!ENTITY e '<b>'>]><a>&e;</a>", NULL, &r), 1);
    cr_expect_eq(r.err_offset, 35, "errors inside entities point at the reference: %zu",
                 r.err_offset);
}

static char *repeat(const char *s, size_t n, const char *tail)
{
    size_t l = strlen(s), t = strlen(tail);
    char *o = malloc(l * n + t + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(o + i * l, s, l);
    memcpy(o + l * n, tail, t + 1);
    return o;
}

Test(xml, limits_are_clear_errors)
{
    struct parse_result r;
    char *deep = repeat("<a>", XML_MAX_DEPTH + 1, "");
    cr_assert_eq(run(&xml_hand_impl, deep, NULL, &r), 1);
    cr_expect(strstr(r.err, "nested deeper than"), "%s", r.err);
    free(deep);
    char *ok = repeat("<a>", 1000, "");
    char *okd = repeat("</a>", 1000, "");
    char *both = malloc(strlen(ok) + strlen(okd) + 1);
    strcpy(both, ok);
    strcat(both, okd);
    cr_expect_eq(run(&xml_hand_impl, both, NULL, &r), 0, "1000 levels: %s", r.err);
    cr_expect_eq(r.depth, 1000);
    free(ok);
    free(okd);
    free(both);
    const char *laughs = "<!DOCTYPE l [<!ENTITY a 'aaaaaaaaaa'>"
                         "<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>"
                         "<!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;'>"
                         "<!ENTITY d '&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;'>"
                         "<!ENTITY e '&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;'>"
                         "<!ENTITY f '&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;'>"
                         "<!ENTITY g '&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;'>"
                         "<!ENTITY h '&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;'>]><l a='&h;'>&h;</l>";
    cr_assert_eq(run(&xml_hand_impl, laughs, NULL, &r), 1);
    cr_expect(strstr(r.err, "entity expansion limit"), "%s", r.err);
}

/* A growable string for the documents below. */
struct sb {
    char *p;
    size_t n, cap;
};

__attribute__((format(printf, 2, 3))) static void sbf(struct sb *b, const char *fmt, ...)
{
    char t[256];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(t, sizeof t, fmt, ap);
    va_end(ap);
    if (b->n + (size_t)k + 1 > b->cap) {
        b->cap = (b->n + (size_t)k + 1) * 2;
        b->p = realloc(b->p, b->cap);
        cr_assert(b->p);
    }
    memcpy(b->p + b->n, t, (size_t)k + 1);
    b->n += (size_t)k;
}

/* The limits that keep the tables bounded, each a clear error at its place. */
Test(xml, declaration_and_namespace_limits)
{
    struct parse_result r;
    struct sb b = {0};
    sbf(&b, "<!DOCTYPE r [");
    for (int k = 0; k < XML_MAX_DECLS; k++)
        sbf(&b, k % 2 ? "<!ENTITY e%d 'x'>" : "<!ATTLIST r a%d CDATA #IMPLIED>", k);
    size_t at = b.n;
    sbf(&b, "<!ENTITY over 'x'>]><r/>");
    cr_assert_eq(run(&xml_hand_impl, b.p, NULL, &r), 1);
    cr_expect(strstr(r.err, "declarations in the DTD"), "%s", r.err);
    cr_expect_eq(r.err_offset, at);
    b.n = 0;
    /* XML_MAX_NS bindings in scope, 256 per element (under XML_MAX_ATTS), then one
     * more (refused) or none (accepted) */
    int levels = XML_MAX_NS / 256;
    for (int extra = 0; extra < 2; extra++) {
        b.n = 0;
        for (int l = 0; l < levels; l++) {
            sbf(&b, "<e");
            for (int k = 0; k < 256; k++)
                sbf(&b, " xmlns:p%d='u'", l * 256 + k);
            sbf(&b, ">");
        }
        size_t bad = b.n + 3;
        sbf(&b, extra ? "<q xmlns:z='u'/>" : "<p65535:x/>");
        for (int l = 0; l < levels; l++)
            sbf(&b, "</e>");
        int rc = run(&xml_hand_impl, b.p, NULL, &r);
        if (!extra) {
            cr_expect_eq(rc, 0, "%d bindings: %s", XML_MAX_NS, r.err);
        } else {
            cr_assert_eq(rc, 1);
            cr_expect(strstr(r.err, "namespace bindings in scope"), "%s", r.err);
            cr_expect_eq(r.err_offset, bad);
        }
    }
    /* defaults cost the expansion budget: 1000 defaults on 4000 elements */
    b.n = 0;
    sbf(&b, "<!DOCTYPE r [<!ATTLIST e");
    for (int k = 0; k < 1000; k++)
        sbf(&b, " a%d CDATA 'v'", k);
    sbf(&b, ">]><r>");
    for (int k = 0; k < 4000; k++)
        sbf(&b, "<e/>");
    sbf(&b, "</r>");
    cr_assert_eq(run(&xml_hand_impl, b.p, NULL, &r), 1);
    cr_expect(strstr(r.err, "past the expansion limit"), "%s", r.err);
    free(b.p);
}

/* Big elements take the hashed paths (more than 8 attributes): duplicates, expanded
 * duplicates and defaults behave as on small ones. */
Test(xml, many_attributes_through_the_set)
{
    struct parse_result r;
    struct sb b = {0};
    sbf(&b, "<r xmlns:p='urn:1' xmlns:q='urn:1'><e");
    for (int k = 0; k < 1000; k++)
        sbf(&b, " a%d='v'", k);
    size_t dup = b.n + 1;
    sbf(&b, " a517='w'/></r>");
    cr_assert_eq(run(&xml_hand_impl, b.p, NULL, &r), 1);
    cr_expect(strstr(r.err, "duplicate attribute 'a517'"), "%s", r.err);
    cr_expect_eq(r.err_offset, dup);
    b.n = 0;
    sbf(&b, "<r xmlns:p='urn:1' xmlns:q='urn:1'><e");
    for (int k = 0; k < 20; k++)
        sbf(&b, " p:a%d='v'", k);
    dup = b.n + 1;
    sbf(&b, " q:a7='w'/></r>"); /* p and q are the same namespace */
    cr_assert_eq(run(&xml_hand_impl, b.p, NULL, &r), 1);
    cr_expect(strstr(r.err, "appears twice (namespaces)"), "%s", r.err);
    cr_expect_eq(r.err_offset, dup);
    /* a default is not added over a specified value, with 12 specified */
    b.n = 0;
    sbf(&b, "<!DOCTYPE e [<!ATTLIST e a3 CDATA 'dflt' z CDATA 'zz'>]><e");
    for (int k = 0; k < 12; k++)
        sbf(&b, " a%d='%d'", k, k);
    sbf(&b, "/>");
    char *d = hand_dump(b.p);
    cr_expect(strstr(d, "attr a3=\"3\"") && !strstr(d, "dflt") && strstr(d, "attr z=\"zz\""), "%s",
              d);
    free(d);
    free(b.p);
}

/* Every proper prefix of a document is rejected without reading past its end (each
 * prefix sits in its own exact-size heap block: ASan catches an over-read). */
Test(xml, every_prefix_rejected_without_overread)
{
    const char *doc = "<?xml version='1.0'?><!DOCTYPE r [<!ENTITY e 'x'><!ATTLIST r a CDATA "
                      "#IMPLIED>]><r a='&e;&#65;'>t<![CDATA[c]]><?p d?><!--c--><s/>&e;</r>";
    size_t n = strlen(doc);
    for (size_t i = 0; i < n; i++) {
        uint8_t *b = malloc(i ? i : 1);
        memcpy(b, doc, i);
        struct parse_result r;
        cr_expect_eq(xml_hand_impl.parse(b, i, NULL, &r, NULL), 1, "prefix %zu accepted", i);
        free(b);
    }
}
