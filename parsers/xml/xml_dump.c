/* xml_dump: the canonical --dump lines every XML implementation writes (format in xml.h). */
#include "parsers/xml/xml.h"

#include <stdlib.h>
#include <string.h>

int xml_text_add(struct xml_text *t, const void *s, size_t n)
{
    if (n == 0) return 0;
    if (t->len + n > XML_MAX_VALUE) return -1;
    if (t->len + n > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        while (cap < t->len + n)
            cap *= 2;
        char *np = realloc(t->p, cap);
        if (!np) return -1;
        t->p = np;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    return 0;
}

void xml_text_flush(struct xml_text *t, FILE *out)
{
    if (t->len == 0) return;
    fputs("text ", out);
    xml_dump_quoted(out, t->p, t->len);
    fputc('\n', out);
    t->len = 0;
}

void xml_text_free(struct xml_text *t)
{
    free(t->p);
    t->p = NULL;
    t->len = t->cap = 0;
}

void xml_dump_quoted(FILE *out, const char *s, size_t n)
{
    fputc('"', out);
    if (n == 0) { /* s may be NULL then */
        fputc('"', out);
        return;
    }
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        const char *esc = NULL;
        char hex[5];
        switch (ch) {
        case '\\':
            esc = "\\\\";
            break;
        case '"':
            esc = "\\\"";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\r':
            esc = "\\r";
            break;
        default:
            if (ch < 0x20 || ch == 0x7f) {
                snprintf(hex, sizeof hex, "\\x%02x", ch);
                esc = hex;
            }
        }
        if (esc) {
            fwrite(s + run, 1, i - run, out);
            fputs(esc, out);
            run = i + 1;
        }
    }
    fwrite(s + run, 1, n - run, out);
    fputc('"', out);
}

static void xml_dump_qname(FILE *out, const char *uri, size_t ulen, const char *local, size_t llen)
{
    if (ulen) {
        fputc('{', out);
        fwrite(uri, 1, ulen, out);
        fputc('}', out);
    }
    fwrite(local, 1, llen, out);
}

void xml_dump_name(FILE *out, const char *kind, const char *uri, size_t ulen, const char *local,
                   size_t llen)
{
    fputs(kind, out);
    fputc(' ', out);
    xml_dump_qname(out, uri, ulen, local, llen);
    fputc('\n', out);
}

void xml_dump_attr(FILE *out, const char *uri, size_t ulen, const char *local, size_t llen,
                   const char *val, size_t vlen)
{
    fputs("attr ", out);
    xml_dump_qname(out, uri, ulen, local, llen);
    fputc('=', out);
    xml_dump_quoted(out, val, vlen);
    fputc('\n', out);
}

void xml_dump_pi(FILE *out, const char *target, size_t tlen, const char *data, size_t dlen)
{
    fputs("pi ", out);
    fwrite(target, 1, tlen, out);
    fputc(' ', out);
    xml_dump_quoted(out, data, dlen);
    fputc('\n', out);
}
