/* xml_write: escaping for XML character data and attribute values (contract in
 * xml_write.h). */
#include "parsers/xml/xml_write.h"

/* Bytes that may need a reference or are refused: bit 0 in character data, bit 1 in
 * an attribute value.  One table load per byte keeps plain text a straight copy. */
#define XW_T 1
#define XW_A 2
static const unsigned char xw_special[64] = {
    /* 0x00-0x1f: not XML characters, except TAB and LF (plain in text) and CR */
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    XW_A,
    XW_A,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    ['"'] = XW_A,
    ['&'] = XW_T | XW_A,
    ['<'] = XW_T | XW_A,
    ['>'] = XW_T,
};

/* attr: 0 for character data, 1 for a double-quoted attribute value */
static void xw_escape(struct jw *w, const char *s, size_t n, int attr)
{
    /* worst case every byte becomes a 6-byte reference (&quot;) */
    if (jw_room(w, n * 6)) return;
    char *o = w->p + w->len;
    const unsigned char mask = attr ? XW_A : XW_T;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 64 ? c != 0xEF : !(xw_special[c] & mask)) {
            *o++ = (char)c;
            continue;
        }
        if (c == 0xEF) { /* U+FFFE and U+FFFF (EF BF BE/BF) are not XML characters */
            if (i + 2 < n && (unsigned char)s[i + 1] == 0xBF &&
                ((unsigned char)s[i + 2] & 0xFE) == 0xBE) {
                if (!w->err) w->err = JW_EINVAL;
                i += 2;
            } else
                *o++ = (char)c;
            continue;
        }
        const char *r;
        switch (c) {
        case '&':
            r = "&amp;";
            break;
        case '<':
            r = "&lt;";
            break;
        case '>':
            r = attr ? NULL : "&gt;";
            break;
        case '"':
            r = attr ? "&quot;" : NULL;
            break;
        case '\r':
            r = "&#13;";
            break;
        case '\t':
            r = attr ? "&#9;" : NULL;
            break;
        case '\n':
            r = attr ? "&#10;" : NULL;
            break;
        default:
            if (c < 0x20) {
                if (!w->err) w->err = JW_EINVAL;
                continue;
            }
            r = NULL;
        }
        if (!r) {
            *o++ = (char)c;
            continue;
        }
        size_t k = strlen(r);
        memcpy(o, r, k);
        o += k;
    }
    w->len = (size_t)(o - w->p);
}

void xw_text(struct jw *w, const char *s, size_t n)
{
    xw_escape(w, s, n, 0);
}

void xw_attr_pre(struct jw *w, const char *pre, size_t plen, const char *s, size_t n)
{
    jw_raw(w, pre, plen);
    xw_escape(w, s, n, 1);
    jw_ch(w, '"');
}

void xw_attr_u64_pre(struct jw *w, const char *pre, size_t plen, uint64_t v)
{
    jw_raw(w, pre, plen);
    jw_u64(w, v);
    jw_ch(w, '"');
}

void xw_attr_i64_pre(struct jw *w, const char *pre, size_t plen, int64_t v)
{
    jw_raw(w, pre, plen);
    jw_i64(w, v);
    jw_ch(w, '"');
}

void xw_attr_double_pre(struct jw *w, const char *pre, size_t plen, double d)
{
    jw_raw(w, pre, plen);
    jw_double(w, d);
    jw_ch(w, '"');
}
