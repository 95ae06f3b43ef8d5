/* fuzz_write: libFuzzer target for the JSON and XML writers (parsers/json/json_write.h,
 * parsers/xml/xml_write.h).  Any valid UTF-8 input written as a JSON string must parse
 * back (hand parser) to exactly the input; written as an XML attribute value and as
 * character data it must parse back (hand parser, --dump) to exactly the input, unless
 * the writer refused it (JW_EINVAL), which it may only do for characters XML 1.0 cannot
 * carry (C0 controls other than TAB/LF/CR, U+FFFE, U+FFFF). */
#include "parsers/json/json.h"
#include "parsers/json/json_write.h"
#include "parsers/utf8.h"
#include "parsers/xml/xml.h"
#include "parsers/xml/xml_write.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int xml_unwritable(const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (d[i] < 0x20 && d[i] != '\t' && d[i] != '\n' && d[i] != '\r') return 1;
        if (d[i] == 0xEF && i + 2 < n && d[i + 1] == 0xBF && (d[i + 2] & 0xFE) == 0xBE) return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!utf8_valid(data, size)) return 0; /* the writers' contract: UTF-8 in */
    const char *s = (const char *)data;
    struct jw w = JW_INIT;
    jw_str(&w, s, size);
    if (w.err) abort();
    struct json_doc d = JSON_DOC_INIT;
    struct json_error e;
    if (json_parse(&d, w.p, w.len, NULL, &e) != 0) abort();
    size_t len;
    const char *back = json_get_str(json_root(&d), &len);
    if (!back || len != size || memcmp(back, s, size) != 0) abort();
    json_doc_free(&d);

    jw_reset(&w);
    jw_lit(&w, "<r");
    xw_attr(&w, "a", s, size);
    jw_ch(&w, '>');
    xw_text(&w, s, size);
    jw_lit(&w, "</r>");
    int refused = w.err == JW_EINVAL;
    if (refused != xml_unwritable(data, size)) abort();
    if (!refused) {
        char *got = NULL, *want = NULL;
        size_t gl, wl;
        FILE *g = open_memstream(&got, &gl), *f = open_memstream(&want, &wl);
        struct parse_result r = {0};
        if (!g || !f || xml_hand_impl.parse((const uint8_t *)w.p, w.len, NULL, &r, g) != 0) abort();
        xml_dump_name(f, "start", NULL, 0, "r", 1);
        xml_dump_attr(f, NULL, 0, "a", 1, s, size);
        struct xml_text t = {0};
        if (xml_text_add(&t, s, size)) abort();
        xml_text_flush(&t, f);
        xml_text_free(&t);
        xml_dump_name(f, "end", NULL, 0, "r", 1);
        fclose(g);
        fclose(f);
        if (gl != wl || memcmp(got, want, gl) != 0) abort();
        free(got);
        free(want);
    }
    jw_free(&w);
    return 0;
}
