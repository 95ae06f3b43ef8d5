/* parse-hostile: the parsers' complexity test.  Each hostile generator (hostile_gen.c)
 * builds its input at growing scales; a parser is timed on each, in CPU time (the
 * minimum of a few rounds, so a busy machine adds little), and the time per byte is
 * held against two rules:
 *   - linear: from one scale to the next (4x the input), time per byte may at most
 *     double (a quadratic parser's quadruples), taken end to end (the smallest scale to
 *     the largest, per step on average) so one noisy step does not decide it;
 *   - bounded: time per byte stays within 10x the format's normal corpus (the lab's
 *     orders; pipelined browser requests for HTTP, fed the same way as the input).
 *     protobuf is held to this per unit of work, input or output: an empty message is
 *     2 bytes on the wire and a whole struct decoded, so for protobuf a byte is one of
 *     input, or of decoded size (proto.h's D, as arena bytes) over the normal corpus's
 *     ratio of the two, whichever there are more of.
 *
 *   parse-hostile --list
 *   parse-hostile --gen FORMAT/NAME --scale N --out FILE     one input, to look at
 *   parse-hostile [--format F] [--gen NAME] [--scales 1,4,16] [--impls hand,LIB,...]
 *                 [--ms N] [--check] [--markdown]
 *
 * Prints one line per generator, scale and implementation:
 *   FORMAT GEN SCALE BYTES IMPL valid|invalid NS NS_PER_BYTE
 * --check (hand only) adds an ok/FAIL line per generator and exits 1 on any FAIL.
 * --markdown prints the complexity table of the bench instead.  Exit 2: usage. */
#include "labs/02-parsers/hostile.h"
#include "parsers/http/http1.h"
#include "parsers/proto/proto.h"
#include "parsers/registry.h"

#include <llhttp.h>
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GROWTH_MAX    2.0  /* time per byte, next scale over this one */
#define NORMAL_FACTOR 10.0 /* time per byte, hostile over normal */
#define CAP_NS        2e9  /* one parse longer than this is not repeated, nor scaled up */

static double cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* ---- one parse ------------------------------------------------------------------ */

struct job {
    const struct parser_impl *impl; /* NULL: the bytewise feeds below */
    const char *lib;                /* bytewise: "hand" or "llhttp" */
    const uint8_t *in;
    size_t len;
    uint8_t *scratch; /* bytewise: the buffer fed a byte at a time */
};

/* http1 fed one byte more per call: what a server sees from a slow client.  Returns
 * 0 when every request parsed, 1 otherwise. */
static int feed_hand(const struct job *j)
{
    const struct http1_limits lim = HTTP1_LIMITS_DEFAULT;
    struct http1_header h[64];
    struct http1_parser p;
    size_t start = 0;
    http1_init(&p, &lim, h);
    for (size_t k = 0; k < j->len; k++) {
        j->scratch[k] = j->in[k];
        ssize_t n = http1_parse(&p, j->scratch + start, k + 1 - start);
        if (n == HTTP1_ERROR) return 1;
        if (n > 0) {
            start += (size_t)n;
            http1_reset(&p);
        }
    }
    return start == j->len ? 0 : 1;
}

static int lh_done(llhttp_t *p)
{
    ++*(int *)p->data;
    return 0;
}

static int feed_llhttp(const struct job *j)
{
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_complete = lh_done;
    llhttp_t p;
    int done = 0;
    llhttp_init(&p, HTTP_REQUEST, &s);
    p.data = &done;
    for (size_t k = 0; k < j->len; k++)
        if (llhttp_execute(&p, (const char *)j->in + k, 1) != HPE_OK) return 1;
    return done ? 0 : 1;
}

static int run_once(const struct job *j)
{
    if (!j->impl) return !strcmp(j->lib, "hand") ? feed_hand(j) : feed_llhttp(j);
    struct parse_result r;
    memset(&r, 0, sizeof r);
    return j->impl->parse(j->in, j->len, NULL, &r, NULL);
}

/* CPU ns of one run: the minimum over `rounds` rounds of at least ms each.  *rc gets
 * the parse's verdict. */
static double time_job(const struct job *j, int rounds, double ms, int *rc)
{
    double best = 0;
    for (int k = 0; k < rounds; k++) {
        double t0 = cpu_ns(), t;
        long n = 0;
        do {
            *rc = run_once(j);
            n++;
            t = cpu_ns();
        } while (t - t0 < ms * 1e6);
        double one = (t - t0) / (double)n;
        if (k == 0 || one < best) best = one;
        if (one > CAP_NS) break;
    }
    return best;
}

/* The decoded size of a protobuf batch (arena bytes of the hand decoder, which proto.h
 * keeps near D), or 0 when it does not decode. */
static double proto_decoded(const uint8_t *p, size_t len)
{
    struct proto_arena a = {0};
    struct proto_error e;
    void *m;
    double d = proto_decode(PROTO_ORDER_BATCH, p, len, &a, &m, &e) == 0 ? (double)a.used : 0;
    proto_arena_free(&a);
    return d;
}

/* ---- arguments ------------------------------------------------------------------- */

static void usage(FILE *o)
{
    fprintf(
        o,
        "usage: parse-hostile --list\n"
        "       parse-hostile --gen FORMAT/NAME --scale N --out FILE\n"
        "       parse-hostile [--format F] [--gen NAME] [--scales 1,4,16] [--impls hand,LIB...]\n"
        "                     [--ms N] [--rounds N] [--check] [--markdown]\n"
        "  --scales  sizes of each input, in multiples of its first (default 1,4,16)\n"
        "  --impls   parsers to time (default hand; 'libs' = hand and the libraries)\n"
        "  --ms      least CPU time of one timing round (default 10)\n"
        "  --rounds  timing rounds, the fastest kept (default 3)\n"
        "  --check   fail (exit 1) when hand's time per byte more than doubles from\n"
        "            one scale to the next or passes 10x the normal corpus's\n");
}

#define MAX_SCALES 8
#define MAX_IMPLS  8

/* The implementations to time for a format: "hand", a list, or "libs". */
static int impl_list(const char *format, const char *spec, const char **out)
{
    static const char *const libs[][4] = {{"http", "llhttp", "picohttpparser", NULL},
                                          {"json", "cjson", NULL, NULL},
                                          {"xml", "libxml2-sax", "expat", NULL},
                                          {"proto", "protobuf-c", NULL, NULL}};
    int n = 0;
    if (!strcmp(spec, "libs")) {
        out[n++] = "hand";
        for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++)
            if (!strcmp(libs[i][0], format))
                for (int k = 1; k < 4 && libs[i][k]; k++)
                    out[n++] = libs[i][k];
        return n;
    }
    static char copy[256];
    snprintf(copy, sizeof copy, "%s", spec);
    for (char *t = strtok(copy, ","); t && n < MAX_IMPLS; t = strtok(NULL, ","))
        out[n++] = t;
    return n;
}

static int write_one(const char *spec, unsigned scale, const char *path)
{
    for (size_t i = 0; i < hostile_ngens; i++) {
        const struct hostile_gen *g = &hostile_gens[i];
        size_t fl = strlen(g->format);
        if (strncmp(spec, g->format, fl) || spec[fl] != '/' || strcmp(spec + fl + 1, g->name))
            continue;
        struct hbuf b = {0};
        g->gen(&b, scale);
        FILE *f = b.oom ? NULL : fopen(path, "wb");
        int ok = f && fwrite(b.p, 1, b.len, f) == b.len;
        if (f && fclose(f)) ok = 0;
        hbuf_free(&b);
        if (!ok) {
            fprintf(stderr, "parse-hostile: error: cannot write %s\n", path);
            return 1;
        }
        return 0;
    }
    fprintf(stderr,
            "parse-hostile: error: no generator %s (see --list)\ntry 'parse-hostile --help'\n",
            spec);
    return 2;
}

int main(int argc, char **argv)
{
    const char *format = NULL, *gen = NULL, *impls = "hand", *out = NULL;
    unsigned scales[MAX_SCALES] = {1, 4, 16}, nscales = 3, one_scale = 0;
    double ms = 10;
    int rounds = 3, check = 0, markdown = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--list")) {
            for (size_t k = 0; k < hostile_ngens; k++)
                printf("%s/%s\t%s\n", hostile_gens[k].format, hostile_gens[k].name,
                       hostile_gens[k].what);
            return 0;
        } else if (!strcmp(a, "--check")) {
            check = 1;
        } else if (!strcmp(a, "--markdown")) {
            markdown = 1;
        } else if (i + 1 < argc && !strcmp(a, "--format")) {
            format = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--gen")) {
            gen = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--impls")) {
            impls = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--out")) {
            out = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--scale")) {
            one_scale = (unsigned)atoi(argv[++i]);
        } else if (i + 1 < argc && !strcmp(a, "--ms")) {
            ms = atof(argv[++i]);
        } else if (i + 1 < argc && !strcmp(a, "--rounds")) {
            rounds = atoi(argv[++i]);
        } else if (i + 1 < argc && !strcmp(a, "--scales")) {
            nscales = 0;
            for (char *t = strtok(argv[++i], ","); t && nscales < MAX_SCALES; t = strtok(NULL, ","))
                scales[nscales++] = (unsigned)atoi(t);
        } else {
            fprintf(stderr,
                    "parse-hostile: error: unknown or incomplete option '%s'\n"
                    "try 'parse-hostile --help'\n",
                    a);
            return 2;
        }
    }
    if (out) {
        if (!gen || !one_scale) {
            fprintf(stderr, "parse-hostile: error: --out needs --gen FORMAT/NAME and --scale N\n"
                            "try 'parse-hostile --help'\n");
            return 2;
        }
        return write_one(gen, one_scale, out);
    }
    if (nscales == 0 || rounds < 1 || ms <= 0) {
        fprintf(stderr, "parse-hostile: error: --scales, --rounds and --ms need positive values\n"
                        "try 'parse-hostile --help'\n");
        return 2;
    }
    for (unsigned k = 0; k < nscales; k++)
        if (scales[k] < 1 || scales[k] > 64) {
            fprintf(stderr,
                    "parse-hostile: error: scales run from 1 to 64\ntry 'parse-hostile --help'\n");
            return 2;
        }

    /* Every parse gets its memory from a warm heap (no mmap, no trimming), for every
     * implementation alike: otherwise each run pays the page faults of first touch
     * again, which measures the VM's fault path (linear in the memory, and bounded by
     * each parser's contract) rather than the parser. */
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    int failed = 0, ran = 0;
    const char *last_format = "";
    double normal = 0;    /* ns per byte of the normal corpus, hand, for this format */
    double out_ratio = 0; /* protobuf: decoded bytes per input byte of the normal corpus */
    double normal_bw = 0; /* the same fed a byte per call (HTTP), for bytewise inputs */
    if (markdown)
        printf(
            "| format | input | what it attacks | scale | bytes | impl | verdict | ms | ns/byte |\n"
            "| --- | --- | --- | ---: | ---: | --- | --- | ---: | ---: |\n");
    for (size_t gi = 0; gi < hostile_ngens; gi++) {
        const struct hostile_gen *g = &hostile_gens[gi];
        if ((format && strcmp(format, g->format)) || (gen && strcmp(gen, g->name))) continue;
        if (strcmp(last_format, g->format)) { /* the yardstick, once per format */
            last_format = g->format;
            struct hbuf nb = {0};
            if (hostile_normal(g->format, &nb)) {
                fprintf(stderr, "parse-hostile: error: out of memory\n");
                return 1;
            }
            struct job j = {registry_find(g->format, "hand"), "hand", nb.p, nb.len, NULL};
            int rc;
            normal = time_job(&j, rounds, ms, &rc) / (double)nb.len;
            if (!strcmp(g->format, "proto"))
                out_ratio = proto_decoded(nb.p, nb.len) / (double)nb.len;
            if (!strcmp(g->format, "http")) {
                struct job bw = {NULL, "hand", nb.p, nb.len, malloc(nb.len)};
                int brc;
                if (!bw.scratch) return 1;
                normal_bw = time_job(&bw, rounds, ms, &brc) / (double)nb.len;
                free(bw.scratch);
            }
            if (!markdown)
                printf("%s normal 1 %zu hand %s %.0f %.3f\n", g->format, nb.len,
                       rc ? "invalid" : "valid", normal * (double)nb.len, normal);
            else
                printf("| %s | normal corpus | the lab's orders%s | 1 | %zu | hand | %s | %.2f | "
                       "%.2f |\n",
                       g->format, strcmp(g->format, "http") ? "" : " (browser requests)", nb.len,
                       rc ? "invalid" : "valid", normal * (double)nb.len / 1e6, normal);
            hbuf_free(&nb);
        }
        const char *names[MAX_IMPLS];
        int nimpl = impl_list(g->format, impls, names);
        for (int ii = 0; ii < nimpl; ii++) {
            const struct parser_impl *impl = registry_find(g->format, names[ii]);
            if (g->bytewise && strcmp(names[ii], "hand") && strcmp(names[ii], "llhttp")) continue;
            if (!impl && !g->bytewise) {
                fprintf(stderr, "parse-hostile: error: no %s parser named %s\n", g->format,
                        names[ii]);
                return 2;
            }
            double first = 0, worst_factor = 0, growth = 0;
            int capped = 0;
            for (unsigned si = 0; si < nscales; si++) {
                struct hbuf b = {0};
                g->gen(&b, scales[si]);
                if (b.oom) {
                    fprintf(stderr, "parse-hostile: error: out of memory\n");
                    return 1;
                }
                struct job j = {g->bytewise ? NULL : impl, names[ii], b.p, b.len, NULL};
                if (g->bytewise && !(j.scratch = malloc(b.len))) return 1;
                int rc = 0;
                double ns = capped ? 0 : time_job(&j, rounds, ms, &rc);
                double per = ns / (double)b.len;
                ran++;
                if (capped) {
                    if (markdown)
                        printf("| %s | %s | %s | %u | %zu | %s | - | over %.0f s at a smaller "
                               "scale | - |\n",
                               g->format, g->name, g->what, scales[si], b.len, names[ii],
                               CAP_NS / 1e9);
                } else if (markdown) {
                    printf("| %s | %s | %s | %u | %zu | %s | %s | %.2f | %.2f |\n", g->format,
                           g->name, g->what, scales[si], b.len, names[ii], rc ? "invalid" : "valid",
                           ns / 1e6, per);
                } else {
                    printf("%s %s %u %zu %s %s %.0f %.3f\n", g->format, g->name, scales[si], b.len,
                           names[ii], rc ? "invalid" : "valid", ns, per);
                }
                fflush(stdout);
                if (si == 0) first = per;
                if (!capped && si > 0 && first > 0)
                    growth = pow(per / first, 1.0 / (double)si); /* per step, end to end */
                double yard = g->bytewise ? normal_bw : normal, units = (double)b.len;
                if (out_ratio > 0 && proto_decoded(b.p, b.len) / out_ratio > units)
                    units = proto_decoded(b.p, b.len) / out_ratio;
                if (!capped && ns / units / yard > worst_factor) worst_factor = ns / units / yard;
                capped |= ns > CAP_NS;
                free(j.scratch);
                hbuf_free(&b);
            }
            if (check && !strcmp(names[ii], "hand")) {
                int bad = growth > GROWTH_MAX || worst_factor > NORMAL_FACTOR;
                failed |= bad;
                printf("%s %s/%s: time per byte grows %.2fx per 4x of input (limit %.1f), "
                       "at most %.1fx the normal corpus's (limit %.0f)\n",
                       bad ? "FAIL" : "ok", g->format, g->name, growth, GROWTH_MAX, worst_factor,
                       NORMAL_FACTOR);
            }
        }
    }
    if (!ran) {
        fprintf(stderr, "parse-hostile: error: no generator matches (see --list)\n"
                        "try 'parse-hostile --help'\n");
        return 2;
    }
    return failed ? 1 : 0;
}
