/* json_dump: the canonical text form every JSON implementation prints for
 * `parse --dump` (rules in json.h), so hand and library outputs can be diffed. */
#include "parsers/json/json.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The dump writes with the _unlocked stdio calls (glibc), a large share of its
 * cost otherwise; json_dump() takes the FILE's lock once around the whole dump, and
 * the two public helpers each take it around their own output. */
static void jd_int(FILE *out, long long v)
{
    char b[24], *p = b + sizeof b;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do
        *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0) *--p = '-';
    fwrite_unlocked(p, 1, (size_t)(b + sizeof b - p), out);
}

void json_dump_string(FILE *out, const char *s, size_t len)
{
    flockfile(out);
    static const char hex[] = "0123456789abcdef";
    putc_unlocked('"', out);
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        fwrite_unlocked(s + run, 1, i - run, out);
        run = i + 1;
        switch (c) {
        case '"':
            fputs_unlocked("\\\"", out);
            break;
        case '\\':
            fputs_unlocked("\\\\", out);
            break;
        case '\b':
            fputs_unlocked("\\b", out);
            break;
        case '\f':
            fputs_unlocked("\\f", out);
            break;
        case '\n':
            fputs_unlocked("\\n", out);
            break;
        case '\r':
            fputs_unlocked("\\r", out);
            break;
        case '\t':
            fputs_unlocked("\\t", out);
            break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            fwrite_unlocked(u, 1, 6, out);
        }
        }
    }
    fwrite_unlocked(s + run, 1, len - run, out);
    putc_unlocked('"', out);
    funlockfile(out);
}

void json_dump_double(FILE *out, double d)
{
    flockfile(out);
    if (d == 0) {
        fputs_unlocked(signbit(d) ? "-0" : "0", out);
        goto out;
    }
    if (d == floor(d) && fabs(d) < 9223372036854775808.0) {
        jd_int(out, (long long)d);
        goto out;
    }
    char b[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(b, sizeof b, "%.*g", prec, d);
        if (strtod(b, NULL) == d) break;
    }
    fputs_unlocked(b, out);
out:
    funlockfile(out);
}

static void jd_scalar(FILE *out, const struct json_node *n)
{
    switch (n->type) {
    case JSON_T_NULL:
        fputs_unlocked("null", out);
        break;
    case JSON_T_FALSE:
        fputs_unlocked("false", out);
        break;
    case JSON_T_TRUE:
        fputs_unlocked("true", out);
        break;
    case JSON_T_STRING:
        json_dump_string(out, n->s, n->len);
        break;
    case JSON_T_NUMBER:
        if (n->num_kind == JSON_NUM_INT)
            jd_int(out, n->v.i);
        else if (n->num_kind == JSON_NUM_BIG)
            fwrite_unlocked(n->s, 1, n->len, out);
        else
            json_dump_double(out, n->v.d);
        break;
    default:
        break;
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
    flockfile(out);
    size_t sp = 0;
    const struct json_node *n = doc->nodes, *end = doc->nodes + doc->n;
    for (; n < end; n++) {
        while (sp && n == st[sp - 1].end) {
            sp--;
            putc_unlocked(st[sp].object ? '}' : ']', out);
        }
        if (sp) {
            struct frame *f = &st[sp - 1];
            bool key = f->object && f->count % 2 == 0;
            if (f->count && (!f->object || key)) putc_unlocked(',', out);
            f->count++;
            if (key) {
                jd_scalar(out, n);
                putc_unlocked(':', out);
                continue;
            }
        }
        if (n->type == JSON_T_ARRAY || n->type == JSON_T_OBJECT) {
            putc_unlocked(n->type == JSON_T_OBJECT ? '{' : '[', out);
            st[sp++] = (struct frame){n + n->skip, n->type == JSON_T_OBJECT, 0};
        } else {
            jd_scalar(out, n);
        }
    }
    while (sp) {
        sp--;
        putc_unlocked(st[sp].object ? '}' : ']', out);
    }
    putc_unlocked('\n', out);
    funlockfile(out);
    free(st);
    return 0;
}
