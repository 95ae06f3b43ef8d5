/* orders: generator and writers of the serialization comparison's records
 * (contract in orders.h). */
#include "labs/02-parsers/orders.h"
#include "parsers/xml/xml_write.h"

#include <cjson/cJSON.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t orders_rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}
#define R(n) (orders_rnd(seed) % (n))

/* Some strings need escaping in both formats (quotes, '&', '<', '>', TAB, LF, CR) and
 * some are non-ASCII UTF-8, so every writer's escaping is exercised by the dataset. */
static const char *const first[] = {"Ada", "Alan",   "Grace",    "Linus", "Barbara",
                                    "Ken", "Dennis", "Margaret", "Zoë",   "Frances"};
static const char *const last[] = {"Lovelace", "Turing",  "Hopper", "Torvalds", "Liskov",
                                   "Thompson", "Ritchie", "O'Hara", "Dijkstra", "Łukasiewicz"};
static const char *const notes[] = {
    "leave at the door", "call before delivery",      "gift: no prices & no invoice",
    "fragile <glass>",   "say \"hi\"\tthen\r\nleave", "café → Zürich ✓ > 2 kg"};
static const char *const cats[] = {"electronics", "books", "home & garden", "kitchen"};
static const char *const subs[] = {"phones", "cables", "12\" pans", "<tools>", "novels"};
static const char *const status_names[] = {"STATUS_UNKNOWN", "PENDING", "PAID", "SHIPPED",
                                           "CANCELLED"};

const char *orders_status_name(int32_t status)
{
    return status >= 0 && status < 5 ? status_names[status] : "STATUS_UNKNOWN";
}

static struct proto_str orders_dup(struct proto_arena *a, const char *s)
{
    size_t n = strlen(s);
    char *p = proto_arena_alloc(a, n + 1);
    if (p) memcpy(p, s, n + 1);
    return (struct proto_str){(const uint8_t *)p, p ? n : 0};
}

static void *orders_zalloc(struct proto_arena *a, size_t n)
{
    void *p = proto_arena_alloc(a, n ? n : 1);
    if (p) memset(p, 0, n ? n : 1);
    return p;
}

static int orders_one(struct proto_arena *a, uint64_t *seed, uint64_t i, struct proto_order *o)
{
    char b[160];
    memset(o, 0, sizeof *o);
    o->id = i + 1;
    struct proto_customer *c = o->customer = orders_zalloc(a, sizeof *o->customer);
    if (!c) return -1;
    const char *f = first[R(10)], *l = last[R(10)];
    c->id = 1000 + R(1000000);
    snprintf(b, sizeof b, "%s %s", f, l);
    c->name = orders_dup(a, b);
    snprintf(b, sizeof b, "%s.%s%u@example.com", f, l, (unsigned)R(100));
    c->email = orders_dup(a, b);
    static const int tz[] = {-480, -300, 0, 60, 330, 540};
    c->tz_offset_min = tz[R(6)];
    c->vip = R(10) == 0;
    o->n_items = 1 + R(5);
    if (!(o->items = orders_zalloc(a, o->n_items * sizeof *o->items))) return -1;
    for (size_t k = 0; k < o->n_items; k++) {
        struct proto_line_item *it = &o->items[k];
        snprintf(b, sizeof b, "SKU-%05u", (unsigned)R(100000));
        it->sku = orders_dup(a, b);
        it->quantity = 1 + (uint32_t)R(10);
        it->price_cents = 99 + (int64_t)R(100000);
        it->weight_kg = (double)(1 + R(20000)) / 1000;
        static const float disc[] = {0, 0, 0.25f, 0.5f, 0.125f};
        it->discount = disc[R(5)];
    }
    o->status = 1 + (int32_t)R(4);
    o->created_ms = 1700000000000ull + i * 1000 + R(1000);
    o->zone = (int32_t)R(21) - 10;
    o->flags = (uint32_t)R(16);
    o->balance = (int64_t)R(200000) - 100000;
    o->priority = (int32_t)R(5);
    uint8_t *tok = orders_zalloc(a, 8);
    if (!tok) return -1;
    for (int k = 0; k < 8; k++)
        tok[k] = (uint8_t)R(256);
    o->token = (struct proto_str){tok, 8};
    o->n_tags = R(5);
    o->tags = orders_zalloc(a, 4 * o->n_tags);
    for (size_t k = 0; o->tags && k < o->n_tags; k++)
        o->tags[k] = (uint32_t)R(1000);
    o->n_adjustments = R(3);
    o->adjustments = orders_zalloc(a, 4 * o->n_adjustments);
    for (size_t k = 0; o->adjustments && k < o->n_adjustments; k++)
        o->adjustments[k] = (int32_t)R(101) - 50;
    o->ref = (int64_t)(orders_rnd(seed) >> 1);
    o->n_samples = R(4);
    o->samples = orders_zalloc(a, 8 * o->n_samples);
    for (size_t k = 0; o->samples && k < o->n_samples; k++)
        o->samples[k] = (double)R(1000000) / 1000;
    if (!o->tags || !o->adjustments || !o->samples) return -1;
    if (R(3) == 0) o->note = orders_dup(a, notes[R(6)]);
    if (R(2) == 0) {
        struct proto_category *cat = o->category = orders_zalloc(a, sizeof *o->category);
        if (!cat || !(cat->sub = orders_zalloc(a, sizeof *cat->sub))) return -1;
        cat->name = orders_dup(a, cats[R(4)]);
        cat->n_sub = 1;
        cat->sub->name = orders_dup(a, subs[R(5)]);
    }
    return 0;
}

int orders_gen(struct proto_arena *a, uint64_t seed_v, size_t n, struct proto_order_batch *batch)
{
    uint64_t s = seed_v * 0x9E3779B97F4A7C15ull + 1, *seed = &s;
    memset(batch, 0, sizeof *batch);
    if (!(batch->orders = orders_zalloc(a, n * sizeof *batch->orders))) return -1;
    batch->n_orders = n;
    for (size_t i = 0; i < n; i++)
        if (orders_one(a, seed, i, &batch->orders[i])) return -1;
    return 0;
}

/* ---- hand JSON ---------------------------------------------------------------- */

#define JSTR(w, s) jw_str((w), (const char *)(s).p, (s).len)

static void orders_json_one(struct jw *w, const struct proto_order *o)
{
    const struct proto_customer *c = o->customer;
    jw_lit(w, "{\"id\":");
    jw_u64(w, o->id);
    jw_lit(w, ",\"customer\":{\"id\":");
    jw_u64(w, c->id);
    jw_lit(w, ",\"name\":");
    JSTR(w, c->name);
    jw_lit(w, ",\"email\":");
    JSTR(w, c->email);
    jw_lit(w, ",\"tz_offset_min\":");
    jw_i64(w, c->tz_offset_min);
    if (c->vip)
        jw_lit(w, ",\"vip\":true},\"items\":[");
    else
        jw_lit(w, ",\"vip\":false},\"items\":[");
    for (size_t k = 0; k < o->n_items; k++) {
        const struct proto_line_item *it = &o->items[k];
        if (k) jw_ch(w, ',');
        jw_lit(w, "{\"sku\":");
        JSTR(w, it->sku);
        jw_lit(w, ",\"quantity\":");
        jw_u64(w, it->quantity);
        jw_lit(w, ",\"price_cents\":");
        jw_i64(w, it->price_cents);
        jw_lit(w, ",\"weight_kg\":");
        jw_double(w, it->weight_kg);
        jw_lit(w, ",\"discount\":");
        jw_double(w, it->discount);
        jw_ch(w, '}');
    }
    jw_lit(w, "],\"status\":\"");
    const char *st = orders_status_name(o->status);
    jw_raw(w, st, strlen(st));
    jw_lit(w, "\",\"created_ms\":");
    jw_u64(w, o->created_ms);
    jw_lit(w, ",\"zone\":");
    jw_i64(w, o->zone);
    jw_lit(w, ",\"flags\":");
    jw_u64(w, o->flags);
    jw_lit(w, ",\"balance\":");
    jw_i64(w, o->balance);
    jw_lit(w, ",\"priority\":");
    jw_i64(w, o->priority);
    jw_lit(w, ",\"token\":\"");
    jw_hex(w, o->token.p, o->token.len);
    jw_lit(w, "\",\"tags\":[");
    for (size_t k = 0; k < o->n_tags; k++) {
        if (k) jw_ch(w, ',');
        jw_u64(w, o->tags[k]);
    }
    jw_lit(w, "],\"adjustments\":[");
    for (size_t k = 0; k < o->n_adjustments; k++) {
        if (k) jw_ch(w, ',');
        jw_i64(w, o->adjustments[k]);
    }
    jw_lit(w, "],\"ref\":");
    jw_i64(w, o->ref);
    jw_lit(w, ",\"samples\":[");
    for (size_t k = 0; k < o->n_samples; k++) {
        if (k) jw_ch(w, ',');
        jw_double(w, o->samples[k]);
    }
    jw_ch(w, ']');
    if (o->note.len) {
        jw_lit(w, ",\"note\":");
        JSTR(w, o->note);
    }
    if (o->category) {
        jw_lit(w, ",\"category\":{\"name\":");
        JSTR(w, o->category->name);
        jw_lit(w, ",\"sub\":[{\"name\":");
        JSTR(w, o->category->sub->name);
        jw_lit(w, "}]}");
    }
    jw_ch(w, '}');
}

static void orders_json(struct jw *w, const struct proto_order_batch *b)
{
    jw_lit(w, "{\"orders\":[\n");
    for (size_t i = 0; i < b->n_orders; i++) {
        if (i) jw_lit(w, ",\n");
        orders_json_one(w, &b->orders[i]);
    }
    jw_lit(w, "\n]}\n");
}

/* ---- hand XML ----------------------------------------------------------------- */

#define XTEXT(w, s)    xw_text((w), (const char *)(s).p, (s).len)
#define XATTR(w, n, s) xw_attr((w), n, (const char *)(s).p, (s).len) /* n: a literal */

static void orders_xml_one(struct jw *w, const struct proto_order *o)
{
    const struct proto_customer *c = o->customer;
    jw_lit(w, "<order");
    xw_attr_u64(w, "id", o->id);
    const char *st = orders_status_name(o->status);
    xw_attr(w, "status", st, strlen(st));
    xw_attr_u64(w, "created_ms", o->created_ms);
    xw_attr_i64(w, "zone", o->zone);
    xw_attr_u64(w, "flags", o->flags);
    xw_attr_i64(w, "balance", o->balance);
    xw_attr_i64(w, "priority", o->priority);
    xw_attr_i64(w, "ref", o->ref);
    jw_lit(w, "><customer");
    xw_attr_u64(w, "id", c->id);
    xw_attr_i64(w, "tz_offset_min", c->tz_offset_min);
    if (c->vip)
        jw_lit(w, " vip=\"true\"><name>");
    else
        jw_lit(w, " vip=\"false\"><name>");
    XTEXT(w, c->name);
    jw_lit(w, "</name><email>");
    XTEXT(w, c->email);
    jw_lit(w, "</email></customer>");
    for (size_t k = 0; k < o->n_items; k++) {
        const struct proto_line_item *it = &o->items[k];
        jw_lit(w, "<item");
        XATTR(w, "sku", it->sku);
        xw_attr_u64(w, "quantity", it->quantity);
        xw_attr_i64(w, "price_cents", it->price_cents);
        xw_attr_double(w, "weight_kg", it->weight_kg);
        xw_attr_double(w, "discount", it->discount);
        jw_lit(w, "/>");
    }
    jw_lit(w, "<token>");
    jw_hex(w, o->token.p, o->token.len);
    jw_lit(w, "</token>");
    for (size_t k = 0; k < o->n_tags; k++) {
        jw_lit(w, "<tag>");
        jw_u64(w, o->tags[k]);
        jw_lit(w, "</tag>");
    }
    for (size_t k = 0; k < o->n_adjustments; k++) {
        jw_lit(w, "<adjustment>");
        jw_i64(w, o->adjustments[k]);
        jw_lit(w, "</adjustment>");
    }
    for (size_t k = 0; k < o->n_samples; k++) {
        jw_lit(w, "<sample>");
        jw_double(w, o->samples[k]);
        jw_lit(w, "</sample>");
    }
    if (o->note.len) {
        jw_lit(w, "<note>");
        XTEXT(w, o->note);
        jw_lit(w, "</note>");
    }
    if (o->category) {
        jw_lit(w, "<category");
        XATTR(w, "name", o->category->name);
        jw_lit(w, "><category");
        XATTR(w, "name", o->category->sub->name);
        jw_lit(w, "/></category>");
    }
    jw_lit(w, "</order>\n");
}

static void orders_xml(struct jw *w, const struct proto_order_batch *b)
{
    jw_lit(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<orders>\n");
    for (size_t i = 0; i < b->n_orders; i++)
        orders_xml_one(w, &b->orders[i]);
    jw_lit(w, "</orders>\n");
}

/* ---- dispatch ------------------------------------------------------------------ */

enum { ORD_HAND, ORD_CJSON, ORD_JANSSON, ORD_LIBXML2 };

int orders_write(const char *format, const char *impl, const struct proto_order_batch *b,
                 struct jw *w, struct orders_out *out)
{
    int json = !strcmp(format, "json"), xml = !strcmp(format, "xml");
    memset(out, 0, sizeof *out);
    if ((json || xml) && !strcmp(impl, "hand")) {
        jw_reset(w);
        if (json)
            orders_json(w, b);
        else
            orders_xml(w, b);
        if (w->err) return -1;
        out->p = w->p;
        out->len = w->len;
        out->kind = ORD_HAND;
        return 0;
    }
    if (json && (!strcmp(impl, "cjson") || !strcmp(impl, "jansson"))) {
        int cj = impl[0] == 'c';
        char *s = cj ? orders_cjson(b) : orders_jansson(b);
        if (!s) return -1;
        out->p = out->owner = s;
        out->len = strlen(s);
        out->kind = cj ? ORD_CJSON : ORD_JANSSON;
        return 0;
    }
    if (xml && !strcmp(impl, "libxml2-writer")) {
        xmlBufferPtr buf = orders_libxml2(b);
        if (!buf) return -1;
        out->owner = buf;
        out->p = (const char *)xmlBufferContent(buf);
        out->len = (size_t)xmlBufferLength(buf);
        out->kind = ORD_LIBXML2;
        return 0;
    }
    return -3;
}

void orders_out_free(struct orders_out *out)
{
    if (out->kind == ORD_CJSON)
        cJSON_free(out->owner);
    else if (out->kind == ORD_JANSSON)
        free(out->owner); /* jansson's default allocator */
    else if (out->kind == ORD_LIBXML2)
        xmlBufferFree(out->owner);
    memset(out, 0, sizeof *out);
}
