/* dataset: the serialization comparison's input, the same orders written as
 * protobuf (wirelab.OrderBatch), JSON and XML, generated deterministically from a
 * seed and a record count (xorshift64*: same seed, same bytes, on any machine).
 *
 *   dataset [--records N] [--seed S] --out DIR   -> DIR/orders.{pb,json,xml}
 *
 * The three files carry the same information: JSON uses the protobuf field names
 * (bytes as hex, the enum by name); XML puts scalars in attributes and repeated
 * values in child elements, the way such documents are usually written. */
#include "parsers/json/json.h"
#include "parsers/proto/proto.h"

#include <stdlib.h>
#include <string.h>

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}
#define R(n) (rnd(seed) % (n))

static const char *const first[] = {"Ada", "Alan", "Grace", "Linus", "Barbara", "Ken", "Dennis", "Margaret", "Edsger", "Frances"};
static const char *const last[] = {"Lovelace", "Turing", "Hopper", "Torvalds", "Liskov", "Thompson", "Ritchie", "Hamilton", "Dijkstra", "Allen"};
static const char *const notes[] = {"leave at the door", "call before delivery", "gift: no prices & no invoice", "fragile <glass>"};
static const char *const cats[] = {"electronics", "books", "garden", "kitchen"};
static const char *const subs[] = {"phones", "cables", "novels", "tools", "pans"};
static const char *const status_names[] = {"STATUS_UNKNOWN", "PENDING", "PAID", "SHIPPED", "CANCELLED"};

static struct proto_str dup_str(struct proto_arena *a, const char *s)
{
    size_t n = strlen(s);
    char *p = proto_arena_alloc(a, n + 1);
    memcpy(p, s, n + 1);
    return (struct proto_str){(const uint8_t *)p, n};
}

static void make_order(struct proto_arena *a, uint64_t *seed, uint64_t i, struct proto_order *o)
{
    char b[160];
    memset(o, 0, sizeof *o);
    o->id = i + 1;
    o->customer = proto_arena_alloc(a, sizeof *o->customer);
    memset(o->customer, 0, sizeof *o->customer);
    const char *f = first[R(10)], *l = last[R(10)];
    o->customer->id = 1000 + R(1000000);
    snprintf(b, sizeof b, "%s %s", f, l);
    o->customer->name = dup_str(a, b);
    snprintf(b, sizeof b, "%s.%s%u@example.com", f, l, (unsigned)R(100));
    o->customer->email = dup_str(a, b);
    static const int tz[] = {-480, -300, 0, 60, 330, 540};
    o->customer->tz_offset_min = tz[R(6)];
    o->customer->vip = R(10) == 0;
    o->n_items = 1 + R(5);
    o->items = proto_arena_alloc(a, o->n_items * sizeof *o->items);
    memset(o->items, 0, o->n_items * sizeof *o->items);
    for (size_t k = 0; k < o->n_items; k++) {
        struct proto_line_item *it = &o->items[k];
        snprintf(b, sizeof b, "SKU-%05u", (unsigned)R(100000));
        it->sku = dup_str(a, b);
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
    uint8_t *tok = proto_arena_alloc(a, 8);
    for (int k = 0; k < 8; k++)
        tok[k] = (uint8_t)R(256);
    o->token = (struct proto_str){tok, 8};
    o->n_tags = R(5);
    o->tags = proto_arena_alloc(a, 4 * (o->n_tags + 1));
    for (size_t k = 0; k < o->n_tags; k++)
        o->tags[k] = (uint32_t)R(1000);
    o->n_adjustments = R(3);
    o->adjustments = proto_arena_alloc(a, 4 * (o->n_adjustments + 1));
    for (size_t k = 0; k < o->n_adjustments; k++)
        o->adjustments[k] = (int32_t)R(101) - 50;
    o->ref = (int64_t)(rnd(seed) >> 1);
    o->n_samples = R(4);
    o->samples = proto_arena_alloc(a, 8 * (o->n_samples + 1));
    for (size_t k = 0; k < o->n_samples; k++)
        o->samples[k] = (double)R(1000000) / 1000;
    if (R(3) == 0) o->note = dup_str(a, notes[R(4)]);
    if (R(2) == 0) {
        o->category = proto_arena_alloc(a, sizeof *o->category);
        memset(o->category, 0, sizeof *o->category);
        o->category->name = dup_str(a, cats[R(4)]);
        o->category->n_sub = 1;
        o->category->sub = proto_arena_alloc(a, sizeof *o->category->sub);
        memset(o->category->sub, 0, sizeof *o->category->sub);
        o->category->sub->name = dup_str(a, subs[R(5)]);
    }
}

static void xml_text(FILE *f, struct proto_str s)
{
    for (size_t i = 0; i < s.len; i++) {
        int c = s.p[i];
        if (c == '&') fputs("&amp;", f);
        else if (c == '<') fputs("&lt;", f);
        else if (c == '"') fputs("&quot;", f);
        else putc(c, f);
    }
}

static void write_json(FILE *f, const struct proto_order *o)
{
    const struct proto_customer *c = o->customer;
    fprintf(f, "{\"id\":%llu,\"customer\":{\"id\":%llu,\"name\":", (unsigned long long)o->id, (unsigned long long)c->id);
    json_dump_string(f, (const char *)c->name.p, c->name.len);
    fputs(",\"email\":", f);
    json_dump_string(f, (const char *)c->email.p, c->email.len);
    fprintf(f, ",\"tz_offset_min\":%d,\"vip\":%s},\"items\":[", c->tz_offset_min, c->vip ? "true" : "false");
    for (size_t k = 0; k < o->n_items; k++) {
        const struct proto_line_item *it = &o->items[k];
        fprintf(f, "%s{\"sku\":", k ? "," : "");
        json_dump_string(f, (const char *)it->sku.p, it->sku.len);
        fprintf(f, ",\"quantity\":%u,\"price_cents\":%lld,\"weight_kg\":", it->quantity, (long long)it->price_cents);
        json_dump_double(f, it->weight_kg);
        fputs(",\"discount\":", f);
        json_dump_double(f, it->discount);
        putc('}', f);
    }
    fprintf(f, "],\"status\":\"%s\",\"created_ms\":%llu,\"zone\":%d,\"flags\":%u,\"balance\":%lld,\"priority\":%d,\"token\":\"",
            status_names[o->status], (unsigned long long)o->created_ms, o->zone, o->flags, (long long)o->balance,
            o->priority);
    for (size_t k = 0; k < o->token.len; k++)
        fprintf(f, "%02x", o->token.p[k]);
    fputs("\",\"tags\":[", f);
    for (size_t k = 0; k < o->n_tags; k++)
        fprintf(f, "%s%u", k ? "," : "", o->tags[k]);
    fputs("],\"adjustments\":[", f);
    for (size_t k = 0; k < o->n_adjustments; k++)
        fprintf(f, "%s%d", k ? "," : "", o->adjustments[k]);
    fprintf(f, "],\"ref\":%lld,\"samples\":[", (long long)o->ref);
    for (size_t k = 0; k < o->n_samples; k++) {
        if (k) putc(',', f);
        json_dump_double(f, o->samples[k]);
    }
    putc(']', f);
    if (o->note.len) {
        fputs(",\"note\":", f);
        json_dump_string(f, (const char *)o->note.p, o->note.len);
    }
    if (o->category) {
        fputs(",\"category\":{\"name\":", f);
        json_dump_string(f, (const char *)o->category->name.p, o->category->name.len);
        fputs(",\"sub\":[{\"name\":", f);
        json_dump_string(f, (const char *)o->category->sub->name.p, o->category->sub->name.len);
        fputs("}]}", f);
    }
    putc('}', f);
}

static void write_xml(FILE *f, const struct proto_order *o)
{
    const struct proto_customer *c = o->customer;
    fprintf(f, "<order id=\"%llu\" status=\"%s\" created_ms=\"%llu\" zone=\"%d\" flags=\"%u\" balance=\"%lld\" "
               "priority=\"%d\" ref=\"%lld\">",
            (unsigned long long)o->id, status_names[o->status], (unsigned long long)o->created_ms, o->zone, o->flags,
            (long long)o->balance, o->priority, (long long)o->ref);
    fprintf(f, "<customer id=\"%llu\" tz_offset_min=\"%d\" vip=\"%s\"><name>", (unsigned long long)c->id,
            c->tz_offset_min, c->vip ? "true" : "false");
    xml_text(f, c->name);
    fputs("</name><email>", f);
    xml_text(f, c->email);
    fputs("</email></customer>", f);
    for (size_t k = 0; k < o->n_items; k++) {
        const struct proto_line_item *it = &o->items[k];
        fputs("<item sku=\"", f);
        xml_text(f, it->sku);
        fprintf(f, "\" quantity=\"%u\" price_cents=\"%lld\" weight_kg=\"%.17g\" discount=\"%g\"/>", it->quantity,
                (long long)it->price_cents, it->weight_kg, (double)it->discount);
    }
    fputs("<token>", f);
    for (size_t k = 0; k < o->token.len; k++)
        fprintf(f, "%02x", o->token.p[k]);
    fputs("</token>", f);
    for (size_t k = 0; k < o->n_tags; k++)
        fprintf(f, "<tag>%u</tag>", o->tags[k]);
    for (size_t k = 0; k < o->n_adjustments; k++)
        fprintf(f, "<adjustment>%d</adjustment>", o->adjustments[k]);
    for (size_t k = 0; k < o->n_samples; k++)
        fprintf(f, "<sample>%.17g</sample>", o->samples[k]);
    if (o->note.len) {
        fputs("<note>", f);
        xml_text(f, o->note);
        fputs("</note>", f);
    }
    if (o->category) {
        fputs("<category name=\"", f);
        xml_text(f, o->category->name);
        fputs("\"><category name=\"", f);
        xml_text(f, o->category->sub->name);
        fputs("\"/></category>", f);
    }
    fputs("</order>\n", f);
}

int main(int argc, char **argv)
{
    long records = 1000;
    uint64_t seed_v = 42;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) {
            printf("usage: dataset [--records N] [--seed S] --out DIR   (writes DIR/orders.{pb,json,xml})\n");
            return 0;
        } else if (i + 1 < argc && !strcmp(argv[i], "--records")) records = atol(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--seed")) seed_v = strtoull(argv[++i], NULL, 10);
        else if (i + 1 < argc && !strcmp(argv[i], "--out")) dir = argv[++i];
        else {
            fprintf(stderr, "dataset: bad argument '%s' (see --help)\n", argv[i]);
            return 2;
        }
    }
    if (!dir || records < 1 || records > 10000000) {
        fprintf(stderr, "dataset: --out DIR is required, --records between 1 and 10000000\n");
        return 2;
    }
    uint64_t s = seed_v * 0x9E3779B97F4A7C15ull + 1, *seed = &s;
    struct proto_arena a = {0};
    struct proto_order_batch batch = {0};
    batch.n_orders = (size_t)records;
    batch.orders = proto_arena_alloc(&a, batch.n_orders * sizeof *batch.orders);
    if (!batch.orders) return 2;
    for (long i = 0; i < records; i++)
        make_order(&a, seed, (uint64_t)i, &batch.orders[i]);

    char path[4096];
    uint8_t *pb;
    size_t pblen;
    if (proto_encode(PROTO_ORDER_BATCH, &batch, &pb, &pblen)) return 2;
    snprintf(path, sizeof path, "%s/orders.pb", dir);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(pb, 1, pblen, f) != pblen || fclose(f)) goto io;
    free(pb);
    snprintf(path, sizeof path, "%s/orders.json", dir);
    if (!(f = fopen(path, "w"))) goto io;
    fputs("{\"orders\":[\n", f);
    for (size_t i = 0; i < batch.n_orders; i++) {
        if (i) fputs(",\n", f);
        write_json(f, &batch.orders[i]);
    }
    fputs("\n]}\n", f);
    if (fclose(f)) goto io;
    snprintf(path, sizeof path, "%s/orders.xml", dir);
    if (!(f = fopen(path, "w"))) goto io;
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<orders>\n", f);
    for (size_t i = 0; i < batch.n_orders; i++)
        write_xml(f, &batch.orders[i]);
    fputs("</orders>\n", f);
    if (fclose(f)) goto io;
    proto_arena_free(&a);
    printf("%ld records -> %s/orders.{pb,json,xml}\n", records, dir);
    return 0;
io:
    perror(path);
    return 2;
}
