/* json_dump: the canonical text form every JSON implementation prints for
 * `parse --dump` (rules in json.h), so hand and library outputs can be diffed. */
#include "parsers/json/json.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void json_dump_string(FILE *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    putc('"', out);
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        fwrite(s + run, 1, i - run, out);
        run = i + 1;
        switch (c) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\b': fputs("\\b", out); break;
        case '\f': fputs("\\f", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default: fprintf(out, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
        }
    }
    fwrite(s + run, 1, len - run, out);
    putc('"', out);
}

void json_dump_double(FILE *out, double d)
{
    if (d == 0) {
        fputs(signbit(d) ? "-0" : "0", out);
        return;
    }
    if (d == floor(d) && fabs(d) < 9223372036854775808.0) {
        fprintf(out, "%lld", (long long)d);
        return;
    }
    char b[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(b, sizeof b, "%.*g", prec, d);
        if (strtod(b, NULL) == d) break;
    }
    fputs(b, out);
}

static void jd_scalar(FILE *out, const struct json_node *n)
{
    switch (n->type) {
    case JSON_T_NULL: fputs("null", out); break;
    case JSON_T_FALSE: fputs("false", out); break;
    case JSON_T_TRUE: fputs("true", out); break;
    case JSON_T_STRING: json_dump_string(out, n->s, n->len); break;
    case JSON_T_NUMBER:
        if (n->num_kind == JSON_NUM_INT) fprintf(out, "%lld", (long long)n->v.i);
        else if (n->num_kind == JSON_NUM_BIG) fwrite(n->s, 1, n->len, out);
        else json_dump_double(out, n->v.d);
        break;
    default: break;
    }
}

int json_dump(const struct json_doc *doc, FILE *out)
{
    struct frame {
        const struct json_node *end;
        bool object;
        size_t count;
    } *st = malloc((doc->depth + 1) * sizeof *st);
    if (!st) return -1;
    size_t sp = 0;
    const struct json_node *n = doc->nodes, *end = doc->nodes + doc->n;
    for (; n < end; n++) {
        while (sp && n == st[sp - 1].end) {
            sp--;
            putc(st[sp].object ? '}' : ']', out);
        }
        if (sp) {
            struct frame *f = &st[sp - 1];
            bool key = f->object && f->count % 2 == 0;
            if (f->count && (!f->object || key)) putc(',', out);
            f->count++;
            if (key) {
                jd_scalar(out, n);
                putc(':', out);
                continue;
            }
        }
        if (n->type == JSON_T_ARRAY || n->type == JSON_T_OBJECT) {
            putc(n->type == JSON_T_OBJECT ? '{' : '[', out);
            st[sp++] = (struct frame){n + n->skip, n->type == JSON_T_OBJECT, 0};
        } else {
            jd_scalar(out, n);
        }
    }
    while (sp) {
        sp--;
        putc(st[sp].object ? '}' : ']', out);
    }
    putc('\n', out);
    free(st);
    return 0;
}
