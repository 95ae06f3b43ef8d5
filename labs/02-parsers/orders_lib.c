/* orders_lib: the library writers of the serialization comparison (cJSON, jansson,
 * libxml2's xmlTextWriter), called through orders_write() (contract in orders.h). */
#include "labs/02-parsers/orders.h"

#include <cjson/cJSON.h>
#include <jansson.h>
#include <libxml/xmlwriter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- cJSON: a tree built from the records, then its own printer ----------------- */

/* cJSON numbers are doubles: an integer beyond 2^53 (ref) would print rounded, so it
 * goes in as raw JSON text, the way a cJSON user keeps int64 exact. */
static cJSON *orders_cj_int(int64_t v)
{
    if (v > -9007199254740992ll && v < 9007199254740992ll) return cJSON_CreateNumber((double)v);
    char b[24];
    snprintf(b, sizeof b, "%lld", (long long)v);
    return cJSON_CreateRaw(b);
}

static cJSON *orders_cj_str(struct proto_str s)
{
    /* cJSON strings are C strings: ours never contain NUL */
    char b[256];
    size_t n = s.len < sizeof b - 1 ? s.len : sizeof b - 1;
    memcpy(b, s.p, n);
    b[n] = 0;
    return cJSON_CreateString(b);
}

static cJSON *orders_cj_one(const struct proto_order *o)
{
    const struct proto_customer *c = o->customer;
    char hex[40];
    struct jw hw = {.p = hex, .cap = sizeof hex}; /* no growth: 8 bytes -> 16 digits */
    cJSON *j = cJSON_CreateObject(), *cu = cJSON_CreateObject(), *items = cJSON_CreateArray();
    cJSON_AddItemToObject(j, "id", orders_cj_int((int64_t)o->id));
    cJSON_AddItemToObject(j, "customer", cu);
    cJSON_AddItemToObject(cu, "id", orders_cj_int((int64_t)c->id));
    cJSON_AddItemToObject(cu, "name", orders_cj_str(c->name));
    cJSON_AddItemToObject(cu, "email", orders_cj_str(c->email));
    cJSON_AddNumberToObject(cu, "tz_offset_min", c->tz_offset_min);
    cJSON_AddBoolToObject(cu, "vip", c->vip);
    cJSON_AddItemToObject(j, "items", items);
    for (size_t k = 0; k < o->n_items; k++) {
        const struct proto_line_item *it = &o->items[k];
        cJSON *i = cJSON_CreateObject();
        cJSON_AddItemToObject(i, "sku", orders_cj_str(it->sku));
        cJSON_AddNumberToObject(i, "quantity", it->quantity);
        cJSON_AddItemToObject(i, "price_cents", orders_cj_int(it->price_cents));
        cJSON_AddNumberToObject(i, "weight_kg", it->weight_kg);
        cJSON_AddNumberToObject(i, "discount", it->discount);
        cJSON_AddItemToArray(items, i);
    }
    cJSON_AddStringToObject(j, "status", orders_status_name(o->status));
    cJSON_AddItemToObject(j, "created_ms", orders_cj_int((int64_t)o->created_ms));
    cJSON_AddNumberToObject(j, "zone", o->zone);
    cJSON_AddNumberToObject(j, "flags", o->flags);
    cJSON_AddItemToObject(j, "balance", orders_cj_int(o->balance));
    cJSON_AddNumberToObject(j, "priority", o->priority);
    jw_hex(&hw, o->token.p, o->token.len);
    hex[hw.len] = 0;
    cJSON_AddStringToObject(j, "token", hex);
    cJSON *a = cJSON_AddArrayToObject(j, "tags");
    for (size_t k = 0; k < o->n_tags; k++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(o->tags[k]));
    a = cJSON_AddArrayToObject(j, "adjustments");
    for (size_t k = 0; k < o->n_adjustments; k++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(o->adjustments[k]));
    cJSON_AddItemToObject(j, "ref", orders_cj_int(o->ref));
    a = cJSON_AddArrayToObject(j, "samples");
    for (size_t k = 0; k < o->n_samples; k++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(o->samples[k]));
    if (o->note.len) cJSON_AddItemToObject(j, "note", orders_cj_str(o->note));
    if (o->category) {
        cJSON *cat = cJSON_AddObjectToObject(j, "category"), *sub = cJSON_CreateObject();
        cJSON_AddItemToObject(cat, "name", orders_cj_str(o->category->name));
        cJSON_AddItemToArray(cJSON_AddArrayToObject(cat, "sub"), sub);
        cJSON_AddItemToObject(sub, "name", orders_cj_str(o->category->sub->name));
    }
    return j;
}

char *orders_cjson(const struct proto_order_batch *b)
{
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "orders");
    for (size_t i = 0; i < b->n_orders; i++)
        cJSON_AddItemToArray(arr, orders_cj_one(&b->orders[i]));
    /* cJSON's allocation failures surface as a NULL print */
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

/* ---- jansson: a tree built from the records, then json_dumps ------------------ */

static json_t *orders_jj_str(struct proto_str s)
{
    return json_stringn((const char *)s.p, s.len);
}

static json_t *orders_jj_one(const struct proto_order *o)
{
    const struct proto_customer *c = o->customer;
    char hex[40];
    struct jw hw = {.p = hex, .cap = sizeof hex};
    json_t *j = json_object(), *cu = json_object(), *items = json_array(), *a;
    json_object_set_new(j, "id", json_integer((json_int_t)o->id));
    json_object_set_new(j, "customer", cu);
    json_object_set_new(cu, "id", json_integer((json_int_t)c->id));
    json_object_set_new(cu, "name", orders_jj_str(c->name));
    json_object_set_new(cu, "email", orders_jj_str(c->email));
    json_object_set_new(cu, "tz_offset_min", json_integer(c->tz_offset_min));
    json_object_set_new(cu, "vip", json_boolean(c->vip));
    json_object_set_new(j, "items", items);
    for (size_t k = 0; k < o->n_items; k++) {
        const struct proto_line_item *it = &o->items[k];
        json_t *i = json_object();
        json_object_set_new(i, "sku", orders_jj_str(it->sku));
        json_object_set_new(i, "quantity", json_integer(it->quantity));
        json_object_set_new(i, "price_cents", json_integer(it->price_cents));
        json_object_set_new(i, "weight_kg", json_real(it->weight_kg));
        json_object_set_new(i, "discount", json_real(it->discount));
        json_array_append_new(items, i);
    }
    json_object_set_new(j, "status", json_string(orders_status_name(o->status)));
    json_object_set_new(j, "created_ms", json_integer((json_int_t)o->created_ms));
    json_object_set_new(j, "zone", json_integer(o->zone));
    json_object_set_new(j, "flags", json_integer(o->flags));
    json_object_set_new(j, "balance", json_integer(o->balance));
    json_object_set_new(j, "priority", json_integer(o->priority));
    jw_hex(&hw, o->token.p, o->token.len);
    json_object_set_new(j, "token", json_stringn(hex, hw.len));
    json_object_set_new(j, "tags", a = json_array());
    for (size_t k = 0; k < o->n_tags; k++)
        json_array_append_new(a, json_integer(o->tags[k]));
    json_object_set_new(j, "adjustments", a = json_array());
    for (size_t k = 0; k < o->n_adjustments; k++)
        json_array_append_new(a, json_integer(o->adjustments[k]));
    json_object_set_new(j, "ref", json_integer(o->ref));
    json_object_set_new(j, "samples", a = json_array());
    for (size_t k = 0; k < o->n_samples; k++)
        json_array_append_new(a, json_real(o->samples[k]));
    if (o->note.len) json_object_set_new(j, "note", orders_jj_str(o->note));
    if (o->category) {
        json_t *cat = json_object(), *sub = json_object(), *subs_a = json_array();
        json_object_set_new(cat, "name", orders_jj_str(o->category->name));
        json_object_set_new(sub, "name", orders_jj_str(o->category->sub->name));
        json_array_append_new(subs_a, sub);
        json_object_set_new(cat, "sub", subs_a);
        json_object_set_new(j, "category", cat);
    }
    return j;
}

char *orders_jansson(const struct proto_order_batch *b)
{
    json_t *root = json_object(), *arr = json_array();
    json_object_set_new(root, "orders", arr);
    for (size_t i = 0; i < b->n_orders; i++)
        json_array_append_new(arr, orders_jj_one(&b->orders[i]));
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return s;
}

/* ---- libxml2: xmlTextWriter (streaming, its own escaping) --------------------- */

/* Numbers are formatted by jw_* so both XML writers carry the same text. */
static int orders_lx_num(xmlTextWriterPtr x, const char *name, struct jw *nb)
{
    jw_ch(nb, 0);
    int rc = nb->err ? -1 : xmlTextWriterWriteAttribute(x, BAD_CAST name, BAD_CAST nb->p);
    jw_reset(nb);
    return rc < 0 ? -1 : 0;
}

static int orders_lx_str(xmlTextWriterPtr x, const char *name, struct proto_str s, struct jw *nb)
{
    jw_raw(nb, (const char *)s.p, s.len); /* libxml2 wants C strings */
    return orders_lx_num(x, name, nb);
}

static int orders_lx_text(xmlTextWriterPtr x, const char *elem, const char *s, size_t n,
                          struct jw *nb)
{
    if (n) jw_raw(nb, s, n);
    jw_ch(nb, 0);
    int rc = nb->err ? -1 : xmlTextWriterWriteElement(x, BAD_CAST elem, BAD_CAST nb->p);
    jw_reset(nb);
    return rc < 0 ? -1 : 0;
}

#define LX(call)                                                                                   \
    do {                                                                                           \
        if ((call) < 0) goto fail;                                                                 \
    } while (0)
#define LXN(name, fn, v) (fn(nb, (v)), orders_lx_num(x, (name), nb))

static int orders_lx_one(xmlTextWriterPtr x, const struct proto_order *o, struct jw *nb)
{
    const struct proto_customer *c = o->customer;
    LX(xmlTextWriterStartElement(x, BAD_CAST "order"));
    LX(LXN("id", jw_u64, o->id));
    LX(xmlTextWriterWriteAttribute(x, BAD_CAST "status", BAD_CAST orders_status_name(o->status)));
    LX(LXN("created_ms", jw_u64, o->created_ms));
    LX(LXN("zone", jw_i64, o->zone));
    LX(LXN("flags", jw_u64, o->flags));
    LX(LXN("balance", jw_i64, o->balance));
    LX(LXN("priority", jw_i64, o->priority));
    LX(LXN("ref", jw_i64, o->ref));
    LX(xmlTextWriterStartElement(x, BAD_CAST "customer"));
    LX(LXN("id", jw_u64, c->id));
    LX(LXN("tz_offset_min", jw_i64, c->tz_offset_min));
    LX(xmlTextWriterWriteAttribute(x, BAD_CAST "vip", BAD_CAST(c->vip ? "true" : "false")));
    LX(orders_lx_text(x, "name", (const char *)c->name.p, c->name.len, nb));
    LX(orders_lx_text(x, "email", (const char *)c->email.p, c->email.len, nb));
    LX(xmlTextWriterEndElement(x));
    for (size_t k = 0; k < o->n_items; k++) {
        const struct proto_line_item *it = &o->items[k];
        LX(xmlTextWriterStartElement(x, BAD_CAST "item"));
        LX(orders_lx_str(x, "sku", it->sku, nb));
        LX(LXN("quantity", jw_u64, it->quantity));
        LX(LXN("price_cents", jw_i64, it->price_cents));
        LX(LXN("weight_kg", jw_double, it->weight_kg));
        LX(LXN("discount", jw_double, it->discount));
        LX(xmlTextWriterEndElement(x));
    }
    char hex[40];
    struct jw hw = {.p = hex, .cap = sizeof hex};
    jw_hex(&hw, o->token.p, o->token.len);
    LX(orders_lx_text(x, "token", hex, hw.len, nb));
    for (size_t k = 0; k < o->n_tags; k++) {
        jw_u64(nb, o->tags[k]);
        LX(orders_lx_text(x, "tag", NULL, 0, nb));
    }
    for (size_t k = 0; k < o->n_adjustments; k++) {
        jw_i64(nb, o->adjustments[k]);
        LX(orders_lx_text(x, "adjustment", NULL, 0, nb));
    }
    for (size_t k = 0; k < o->n_samples; k++) {
        jw_double(nb, o->samples[k]);
        LX(orders_lx_text(x, "sample", NULL, 0, nb));
    }
    if (o->note.len) LX(orders_lx_text(x, "note", (const char *)o->note.p, o->note.len, nb));
    if (o->category) {
        LX(xmlTextWriterStartElement(x, BAD_CAST "category"));
        LX(orders_lx_str(x, "name", o->category->name, nb));
        LX(xmlTextWriterStartElement(x, BAD_CAST "category"));
        LX(orders_lx_str(x, "name", o->category->sub->name, nb));
        LX(xmlTextWriterEndElement(x));
        LX(xmlTextWriterEndElement(x));
    }
    LX(xmlTextWriterEndElement(x));
    LX(xmlTextWriterWriteRaw(x, BAD_CAST "\n"));
    return 0;
fail:
    return -1;
}

void *orders_libxml2(const struct proto_order_batch *b)
{
    xmlBufferPtr buf = xmlBufferCreate();
    xmlTextWriterPtr x = buf ? xmlNewTextWriterMemory(buf, 0) : NULL;
    struct jw nb = JW_INIT; /* scratch: numbers and NUL-terminated copies */
    if (!x) goto fail;
    LX(xmlTextWriterStartDocument(x, "1.0", "UTF-8", NULL));
    LX(xmlTextWriterStartElement(x, BAD_CAST "orders"));
    LX(xmlTextWriterWriteRaw(x, BAD_CAST "\n"));
    for (size_t i = 0; i < b->n_orders; i++)
        LX(orders_lx_one(x, &b->orders[i], &nb));
    LX(xmlTextWriterEndDocument(x));
    xmlFreeTextWriter(x); /* flushes into buf */
    jw_free(&nb);
    return buf;
fail:
    if (x) xmlFreeTextWriter(x);
    if (buf) xmlBufferFree(buf);
    jw_free(&nb);
    return NULL;
}
