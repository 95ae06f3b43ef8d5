/* Unit tests of the hand-written XML parser (parsers/xml): well-formedness rules,
 * references, the DTD subset, namespaces, limits, and dumps equal to the libraries'. */
#include "parsers/xml/xml.h"

#include <criterion/criterion.h>
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
