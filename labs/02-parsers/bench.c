/* parse-bench: times one implementation on one input, for bench/sections/parsers.sh.
 *
 *   parse-bench --format F --impl NAME [--message T] [--op decode|encode]
 *               [--ms N] [--runs N] [--iters N] [--out FILE] FILE
 *   parse-bench --format json|xml --impl NAME --op write --records N [--seed S]
 *               [--ms N] [--runs N] [--iters N] [--out FILE]
 *
 * Each run repeats the operation for at least --ms milliseconds (default 200) and
 * records ns per operation; the median over --runs (default 5) is printed as
 *   FORMAT IMPL OP BYTES NS_PER_OP MB_PER_S
 * decode is impl->parse() without a dump (every parser builds its full result:
 * a DOM, a struct tree, or a header list).  encode re-serializes a message decoded
 * once beforehand (JSON: hand dump / cJSON_PrintUnformatted / json_dumps compact;
 * protobuf: proto_encode / protobuf_c_message_pack); --out writes that output once.
 * write serializes N generated orders (orders.h, the serialization comparison) from
 * their in-memory records with a purpose-built writer: json hand|cjson|jansson, xml
 * hand|libxml2-writer; BYTES is then the output size.  (protobuf's encode already starts from
 * records: the decoded struct tree or protobuf-c's message.)
 * --iters N runs exactly N operations once (for callgrind: instructions per byte).
 * Exit 1 when the input does not parse, 3 when the operation is not supported. */
#include "io/cli.h"
#include "labs/02-parsers/orders.h"
#include "parsers/json/json.h"
#include "parsers/proto/proto.h"
#include "parsers/proto/proto_impl.h"
#include "parsers/proto/wirelab.pb-c.h"
#include "parsers/registry.h"

#include <cjson/cJSON.h>
#include <jansson.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

struct enc {
    const char *format, *impl;
    const uint8_t *in;
    size_t len;
    int type;
    struct json_doc doc;
    cJSON *cj;
    json_t *jj;
    struct proto_arena arena;
    void *pmsg;
    ProtobufCMessage *pbc;
    uint8_t *obuf;
    size_t ocap;
};

static int enc_prepare(struct enc *e)
{
    if (!strcmp(e->format, "json")) {
        struct json_error err;
        if (!strcmp(e->impl, "hand"))
            return json_parse(&e->doc, (const char *)e->in, e->len, NULL, &err) ? -1 : 0;
        if (!strcmp(e->impl, "cjson"))
            return (e->cj = cJSON_ParseWithLength((const char *)e->in, e->len)) ? 0 : -1;
        if (!strcmp(e->impl, "jansson")) {
            json_error_t je;
            return (e->jj = json_loadb((const char *)e->in, e->len,
                                       JSON_DECODE_ANY | JSON_ALLOW_NUL, &je))
                       ? 0
                       : -1;
        }
    } else if (!strcmp(e->format, "proto")) {
        struct proto_error err;
        if (!strcmp(e->impl, "hand"))
            return proto_decode(e->type, e->in, e->len, &e->arena, &e->pmsg, &err) ? -1 : 0;
        if (!strcmp(e->impl, "protobuf-c")) {
            static const ProtobufCMessageDescriptor *const d[] = {
                &wirelab__order_batch__descriptor, &wirelab__order__descriptor,
                &wirelab__customer__descriptor, &wirelab__line_item__descriptor,
                &wirelab__category__descriptor};
            return (e->pbc = protobuf_c_message_unpack(d[e->type], NULL, e->len, e->in)) ? 0 : -1;
        }
    }
    return -3;
}

/* One encode; returns the output length, or -1.  *keep gets a malloc'd copy when not NULL. */
static long enc_once(struct enc *e, uint8_t **keep)
{
    uint8_t *out = NULL;
    size_t n = 0;
    if (e->cj || e->jj) {
        char *s = e->cj ? cJSON_PrintUnformatted(e->cj)
                        : json_dumps(e->jj, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!s) return -1;
        n = strlen(s);
        out = (uint8_t *)s;
    } else if (e->pbc) {
        n = protobuf_c_message_get_packed_size(e->pbc);
        if (!(out = malloc(n ? n : 1))) return -1;
        protobuf_c_message_pack(e->pbc, out);
    } else if (e->pmsg) {
        if (proto_encode(e->type, e->pmsg, &out, &n)) return -1;
    } else {
        if (!e->obuf) {
            e->ocap = e->len * 2 + 4096;
            if (!(e->obuf = malloc(e->ocap))) return -1;
        }
        FILE *f = fmemopen(e->obuf, e->ocap, "w");
        if (!f) return -1;
        json_dump(&e->doc, f);
        n = (size_t)ftell(f);
        fclose(f);
        if (keep && (*keep = malloc(n + 1))) memcpy(*keep, e->obuf, n);
        return (long)n;
    }
    if (keep)
        *keep = out;
    else
        free(out);
    return (long)n;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Runs op(ctx) for at least ms milliseconds per run (or exactly fixed_iters times),
 * `runs` times; returns the median ns per operation, or -1 when op fails (op != 0). */
static double bench_median(int (*op)(void *), void *ctx, int ms, int runs, long fixed_iters)
{
    double res[101];
    for (int k = 0; k < runs; k++) {
        long iters = 0;
        double t0 = now_ns(), t;
        /* The clock is read once per batch, not per operation: a clock read costs about
         * what parsing a minimal HTTP request does.  Batches grow to ~1/64 of the run. */
        long batch = 1;
        do {
            for (long b = 0; b < batch; b++)
                if (op(ctx)) return -1;
            iters += batch;
            t = now_ns();
            if (!fixed_iters && (t - t0) * 64 < ms * 1e6) batch *= 2;
            if (fixed_iters && iters + batch > fixed_iters) batch = fixed_iters - iters;
        } while (fixed_iters ? iters < fixed_iters : t - t0 < ms * 1e6);
        res[k] = (t - t0) / iters;
    }
    qsort(res, (size_t)runs, sizeof res[0], cmp_d);
    return runs % 2 ? res[runs / 2] : (res[runs / 2 - 1] + res[runs / 2]) / 2;
}

struct write_ctx {
    const char *format, *impl;
    const struct proto_order_batch *batch;
    struct jw *w;
};

static int write_op(void *arg)
{
    struct write_ctx *c = arg;
    struct orders_out o;
    if (orders_write(c->format, c->impl, c->batch, c->w, &o)) return -1;
    orders_out_free(&o);
    return 0;
}

/* --op write: times orders_write(); prints the result line.  0, or 1 when it fails. */
static int bench_write(const char *format, const char *impl, long records, uint64_t seed, int ms,
                       int runs, long fixed_iters, const char *outf)
{
    struct proto_arena a = {0};
    struct proto_order_batch batch;
    struct jw w = JW_INIT;
    struct orders_out o;
    int rc = 1;
    if (orders_gen(&a, seed, (size_t)records, &batch)) goto out;
    int wrc = orders_write(format, impl, &batch, &w, &o);
    if (wrc == -3) {
        fprintf(stderr,
                "parse-bench: no %s writer named %s (json: hand cjson jansson; xml: hand "
                "libxml2-writer)\n",
                format, impl);
        rc = 3;
        goto out;
    }
    if (wrc) goto fail;
    size_t len = o.len;
    if (outf) {
        FILE *of = fopen(outf, "wb");
        if (!of || fwrite(o.p, 1, o.len, of) != o.len || fclose(of)) {
            perror(outf);
            orders_out_free(&o);
            goto out;
        }
    }
    orders_out_free(&o);
    struct write_ctx wc = {format, impl, &batch, &w};
    double med = bench_median(write_op, &wc, ms, runs, fixed_iters);
    if (med < 0) goto fail;
    printf("%s %s write %zu %.1f %.1f\n", format, impl, len, med, len / med * 1e3);
    rc = 0;
    goto out;
fail:
    fprintf(stderr,
            "parse-bench: the %s %s writer failed (out of memory or an unrepresentable value)\n",
            format, impl);
out:
    jw_free(&w);
    proto_arena_free(&a);
    return rc;
}

struct run_ctx {
    struct enc *e;
    const struct parser_impl *p;
    const uint8_t *buf;
    size_t len;
    const struct parse_opts *opts;
    struct parse_result r;
};

/* One timed decode (impl->parse, no dump) or encode (enc_once). */
static int run_op(void *arg)
{
    struct run_ctx *c = arg;
    if (c->p == NULL) return enc_once(c->e, NULL) < 0 ? -1 : 0;
    c->p->parse(c->buf, c->len, c->opts, &c->r, NULL); /* parse() sets what it reports */
    return 0;
}

int main(int argc, char **argv)
{
    const char *format = NULL, *impl = NULL, *file = NULL, *op = "decode", *outf = NULL;
    struct parse_opts opts = {0};
    int ms = 200, runs = 5;
    long fixed_iters = 0, records = 0;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) {
            printf("usage: parse-bench --format F --impl NAME [--message T] [--op decode|encode] "
                   "[--ms N] "
                   "[--runs N] [--iters N] [--out FILE] FILE\n"
                   "       parse-bench --format json|xml --impl NAME --op write --records N "
                   "[--seed S] [--ms N] "
                   "[--runs N] [--iters N] [--out FILE]\n");
            return 0;
        } else if (i + 1 < argc && !strcmp(argv[i], "--format"))
            format = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--impl"))
            impl = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--message"))
            opts.message = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--op"))
            op = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--out"))
            outf = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--ms"))
            ms = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--runs"))
            runs = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--iters"))
            fixed_iters = atol(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--records"))
            records = atol(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--seed"))
            seed = strtoull(argv[++i], NULL, 10);
        else if (argv[i][0] != '-' && !file)
            file = argv[i];
        else {
            cli_usage_error("parse-bench", "bad argument '%s'", argv[i]);
        }
    }
    if (!strcmp(op, "write")) {
        if (!format || !impl || records < 1 || records > 10000000 || ms < 1 || runs < 1 ||
            runs > 101) {
            cli_usage_error("parse-bench",
                            "--op write needs --format, --impl and --records 1..10000000");
        }
        mallopt(M_MMAP_MAX, 0);
        mallopt(M_TRIM_THRESHOLD, 1 << 30);
        return bench_write(format, impl, records, seed, ms, runs, fixed_iters, outf);
    }
    const struct parser_impl *p = format && impl ? registry_find(format, impl) : NULL;
    if (!p || !file || ms < 1 || runs < 1 || runs > 101 ||
        (strcmp(op, "decode") && strcmp(op, "encode"))) {
        cli_usage_error("parse-bench",
                        "need --format, a registered --impl (parse --list), FILE, a valid --op");
    }
    /* Keep freed memory in the heap for every implementation alike: otherwise glibc
     * returns big blocks to the kernel after each iteration and the next one pays
     * page faults, which measures the allocator, not the parser.  (No mmap at all: the
     * mmap threshold cannot be raised past 32 MiB.) */
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    FILE *f = fopen(file, "rb");
    if (!f) {
        perror(file);
        return 2;
    }
    fseek(f, 0, SEEK_END);
    long flen = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(flen > 0 ? (size_t)flen : 1);
    size_t len = buf ? fread(buf, 1, (size_t)(flen > 0 ? flen : 0), f) : 0;
    fclose(f);
    if (!buf || (long)len != flen) {
        fprintf(stderr, "parse-bench: error: cannot read %s\n", file);
        return 2;
    }
    int enc_mode = !strcmp(op, "encode");
    struct enc e = {.format = format, .impl = impl, .in = buf, .len = len};
    e.type = proto_type_by_name(opts.message ? opts.message : PROTO_DEFAULT_MESSAGE);
    if (e.type < 0) e.type = 0;
    struct parse_result r;
    if (enc_mode) {
        int prc = enc_prepare(&e);
        if (prc == -3) {
            fprintf(stderr, "parse-bench: encode not supported for %s %s\n", format, impl);
            return 3;
        }
        if (prc) {
            fprintf(stderr, "parse-bench: %s does not parse with %s\n", file, impl);
            return 1;
        }
        if (outf) {
            uint8_t *o = NULL;
            long n = enc_once(&e, &o);
            FILE *of = fopen(outf, "wb");
            if (n < 0 || !of || fwrite(o, 1, (size_t)n, of) != (size_t)n) return 2;
            fclose(of);
            free(o);
        }
    } else {
        memset(&r, 0, sizeof r);
        if (p->parse(buf, len, &opts, &r, NULL) != 0) {
            fprintf(stderr, "parse-bench: %s: invalid for %s: %s\n", file, impl, r.err);
            return 1;
        }
    }
    struct run_ctx rc = {.e = &e, .p = enc_mode ? NULL : p, .buf = buf, .len = len, .opts = &opts};
    double med = bench_median(run_op, &rc, ms, runs, fixed_iters);
    if (med < 0) return 2;
    printf("%s %s %s %zu %.1f %.1f\n", format, impl, op, len, med, len / med * 1e3);
    json_doc_free(&e.doc);
    if (e.cj) cJSON_Delete(e.cj);
    if (e.jj) json_decref(e.jj);
    if (e.pbc) protobuf_c_message_free_unpacked(e.pbc, NULL);
    proto_arena_free(&e.arena);
    free(e.obuf);
    free(buf);
    return 0;
}
