/* xml_lib_expat: the expat adapter ("expat"), with namespace processing, writing the dump
 * of xml.h.  Expat never fetches: it has no I/O of its own and no external entity
 * handler is set.  Parameter-entity parsing is on (unless standalone) so that internal
 * parameter entities in the internal subset are expanded, as the hand parser and
 * libxml2 do; with it off expat skips even those (and the declarations they hold).  Attribute
 * defaults from the internal subset are reported after the specified attributes and PIs inside the
 * DTD skipped, like the hand parser. */
#include "parsers/xml/xml.h"

#include <expat.h>
#include <limits.h>
#include <string.h>

#define XML_EXPAT_SEP '\x01'

struct xml_ex {
    XML_Parser p;
    FILE *dump;
    struct xml_text text;
    size_t items, depth, max_depth;
    int in_dtd, oom;
};

/* "uri\x01local" or "local" */
static void xml_ex_name(FILE *out, const char *kind, const char *n)
{
    const char *sep = strchr(n, XML_EXPAT_SEP);
    if (sep)
        xml_dump_name(out, kind, n, (size_t)(sep - n), sep + 1, strlen(sep + 1));
    else
        xml_dump_name(out, kind, "", 0, n, strlen(n));
}

static void XMLCALL xml_ex_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct xml_ex *x = ud;
    x->items++;
    if (++x->depth > x->max_depth) x->max_depth = x->depth;
    if (!x->dump) return;
    xml_text_flush(&x->text, x->dump);
    xml_ex_name(x->dump, "start", name);
    for (int i = 0; atts[i]; i += 2) { /* specified, then defaulted from the DTD */
        const char *n = atts[i], *sep = strchr(n, XML_EXPAT_SEP);
        const char *uri = sep ? n : "", *local = sep ? sep + 1 : n;
        xml_dump_attr(x->dump, uri, sep ? (size_t)(sep - n) : 0, local, strlen(local), atts[i + 1],
                      strlen(atts[i + 1]));
    }
}

static void XMLCALL xml_ex_end(void *ud, const XML_Char *name)
{
    struct xml_ex *x = ud;
    x->depth--;
    if (!x->dump) return;
    xml_text_flush(&x->text, x->dump);
    xml_ex_name(x->dump, "end", name);
}

static void XMLCALL xml_ex_chars(void *ud, const XML_Char *s, int n)
{
    struct xml_ex *x = ud;
    if (x->dump && xml_text_add(&x->text, s, (size_t)n)) x->oom = 1;
}

static void XMLCALL xml_ex_pi(void *ud, const XML_Char *target, const XML_Char *data)
{
    struct xml_ex *x = ud;
    if (!x->dump || x->in_dtd) return;
    xml_text_flush(&x->text, x->dump);
    xml_dump_pi(x->dump, target, strlen(target), data, strlen(data));
}

static void XMLCALL xml_ex_dtd_start(void *ud, const XML_Char *name, const XML_Char *sys,
                                     const XML_Char *pub, int has_internal)
{
    (void)name;
    (void)sys;
    (void)pub;
    (void)has_internal;
    ((struct xml_ex *)ud)->in_dtd = 1;
}

static void XMLCALL xml_ex_dtd_end(void *ud)
{
    ((struct xml_ex *)ud)->in_dtd = 0;
}

static int xml_expat_parse(const uint8_t *buf, size_t len, const struct parse_opts *opts,
                           struct parse_result *r, FILE *dump)
{
    (void)opts;
    memset(r, 0, sizeof *r);
    struct xml_ex x = {.dump = dump};
    x.p = XML_ParserCreateNS(NULL, XML_EXPAT_SEP);
    if (!x.p) {
        snprintf(r->err, sizeof r->err, "out of memory");
        return 2;
    }
    XML_SetUserData(x.p, &x);
    XML_SetElementHandler(x.p, xml_ex_start, xml_ex_end);
    XML_SetCharacterDataHandler(x.p, xml_ex_chars);
    XML_SetProcessingInstructionHandler(x.p, xml_ex_pi);
    XML_SetDoctypeDeclHandler(x.p, xml_ex_dtd_start, xml_ex_dtd_end);
    XML_SetParamEntityParsing(x.p, XML_PARAM_ENTITY_PARSING_UNLESS_STANDALONE);
    enum XML_Status st = XML_STATUS_OK;
    size_t off = 0;
    do { /* XML_Parse takes an int length */
        size_t n = len - off > (size_t)INT_MAX / 2 ? (size_t)INT_MAX / 2 : len - off;
        st = XML_Parse(x.p, (const char *)buf + off, (int)n, off + n == len);
        off += n;
    } while (st == XML_STATUS_OK && off < len);
    int rc = 0;
    if (st != XML_STATUS_OK || x.oom) {
        enum XML_Error e = XML_GetErrorCode(x.p);
        rc = (x.oom || e == XML_ERROR_NO_MEMORY) ? 2 : 1;
        snprintf(r->err, sizeof r->err, "%s", x.oom ? "out of memory" : XML_ErrorString(e));
        XML_Index bi = XML_GetCurrentByteIndex(x.p);
        if (bi >= 0) {
            r->has_offset = 1;
            r->err_offset = (size_t)bi;
        }
        r->err_line = XML_GetCurrentLineNumber(x.p);
        r->err_col = XML_GetCurrentColumnNumber(x.p) + 1;
    } else {
        if (dump) xml_text_flush(&x.text, dump);
        r->items = x.items;
        r->depth = x.max_depth;
    }
    xml_text_free(&x.text);
    XML_ParserFree(x.p);
    return rc;
}

const struct parser_impl xml_expat_impl = {"xml", "expat", xml_expat_parse};
