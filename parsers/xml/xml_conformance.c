/* xml_conformance (the xmlconf program): runs the XML conformance cases listed by
 * xml_conformance_cases.py through every XML implementation, in one process, and prints a Markdown
 * pass-rate table.  A case passes when a 'valid' or 'invalid' document is accepted and a 'not-wf'
 * one rejected.  On every valid/invalid case that the hand parser and a library both accept, their
 * dumps must be byte-identical; mismatches are counted and listed. xmlconf CASES [--md FILE]
 * [--failures FILE] stdout: the table, then `hand-pass N/M` and `mismatch IMPL N` lines for
 * scripts. */
#include "io/cli.h"
#include "parsers/xml/xml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { NIMPL = 4 };

static const struct parser_impl *const xmlconf_impls[NIMPL] = {
    &xml_hand_impl, &xml_libxml2_sax_impl, &xml_libxml2_dom_impl, &xml_expat_impl};

static uint8_t *xmlconf_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    uint8_t *b = malloc(cap);
    size_t got;
    while (b && (got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *nb = realloc(b, cap *= 2);
            if (!nb) {
                free(b);
                b = NULL;
            }
            b = nb;
        }
    }
    fclose(f);
    *len = n;
    return b;
}

struct xmlconf_tally {
    size_t pass[3], total[3]; /* valid, invalid, not-wf */
    size_t mismatch;
    size_t refused_encoding; /* hand: documents refused as not UTF-8, by design */
};

static int xmlconf_type(const char *t)
{
    return !strcmp(t, "valid") ? 0 : !strcmp(t, "invalid") ? 1 : 2;
}

static void xmlconf_table(FILE *o, struct xmlconf_tally *t)
{
    static const char *const type_names[3] = {"valid accepted", "invalid accepted",
                                              "not-wf rejected"};
    fprintf(o, "| implementation |");
    for (int k = 0; k < 3; k++)
        fprintf(o, " %s |", type_names[k]);
    fprintf(o, " all | pass rate | dumps differing from hand |\n|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < NIMPL; i++) {
        size_t p = 0, n = 0;
        fprintf(o, "| %s |", xmlconf_impls[i]->name);
        for (int k = 0; k < 3; k++) {
            fprintf(o, " %zu/%zu |", t[i].pass[k], t[i].total[k]);
            p += t[i].pass[k];
            n += t[i].total[k];
        }
        fprintf(o, " %zu/%zu | %.1f%% |", p, n, n ? 100.0 * (double)p / (double)n : 0.0);
        if (i == 0)
            fprintf(o, " - |\n");
        else
            fprintf(o, " %zu |\n", t[i].mismatch);
    }
    fprintf(o,
            "\nhand misses %zu case(s) by design: documents in UTF-16 (or declaring another "
            "encoding than UTF-8), which it refuses with \"unsupported encoding\".\n",
            t[0].refused_encoding);
}

int main(int argc, char **argv)
{
    const char *cases = NULL, *md = NULL, *failures = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--md") && i + 1 < argc)
            md = argv[++i];
        else if (!strcmp(argv[i], "--failures") && i + 1 < argc)
            failures = argv[++i];
        else if (!strcmp(argv[i], "--help")) {
            printf("usage: xmlconf CASES [--md FILE] [--failures FILE]\n");
            return 0;
        } else if (!cases && argv[i][0] != '-')
            cases = argv[i];
        else {
            cli_usage_error("xmlconf", "unknown argument '%s'", argv[i]);
        }
    }
    if (!cases) {
        fprintf(stderr, "usage: xmlconf CASES [--md FILE] [--failures FILE]\n");
        return 2;
    }
    FILE *in = fopen(cases, "r");
    if (!in) {
        cli_usage_error("xmlconf", "%s: %s", cases, strerror(errno));
    }
    FILE *fail = failures ? fopen(failures, "w") : NULL;
    struct xmlconf_tally t[NIMPL];
    memset(t, 0, sizeof t);
    char line[4096];
    while (fgets(line, sizeof line, in)) {
        line[strcspn(line, "\n")] = 0;
        char *type = strtok(line, "\t"), *id = strtok(NULL, "\t"), *path = strtok(NULL, "\t");
        if (!type || !id || !path) continue;
        size_t len;
        uint8_t *buf = xmlconf_slurp(path, &len);
        if (!buf) {
            cli_usage_error("xmlconf", "%s: %s", path, strerror(errno));
        }
        int k = xmlconf_type(type);
        char *dumps[NIMPL] = {0};
        int rcs[NIMPL];
        for (int i = 0; i < NIMPL; i++) {
            size_t dl;
            FILE *d = open_memstream(&dumps[i], &dl);
            struct parse_result r;
            rcs[i] = xmlconf_impls[i]->parse(buf, len, NULL, &r, d);
            fclose(d);
            int pass = k == 2 ? rcs[i] == 1 : rcs[i] == 0;
            t[i].total[k]++;
            t[i].pass[k] += (size_t)pass;
            if (!pass && rcs[i] == 1 && strstr(r.err, "unsupported encoding"))
                t[i].refused_encoding++;
            if (!pass && fail)
                fprintf(fail, "FAIL %s %s %s %s: %s\n", xmlconf_impls[i]->name, type, id, path,
                        rcs[i] ? r.err : "accepted");
        }
        for (int i = 1; i < NIMPL && k != 2; i++) {
            if (rcs[0] == 0 && rcs[i] == 0 && strcmp(dumps[0], dumps[i]) != 0) {
                t[i].mismatch++;
                if (fail)
                    fprintf(fail, "MISMATCH hand %s %s %s\n", xmlconf_impls[i]->name, id, path);
            }
        }
        for (int i = 0; i < NIMPL; i++)
            free(dumps[i]);
        free(buf);
    }
    fclose(in);
    if (fail) fclose(fail);
    xmlconf_table(stdout, t);
    if (md) {
        FILE *o = fopen(md, "w");
        if (!o) {
            cli_usage_error("xmlconf", "%s: %s", md, strerror(errno));
        }
        fprintf(o, "### XML conformance (W3C xmlts20130923, non-validating subset)\n\n");
        xmlconf_table(o, t);
        fclose(o);
    }
    size_t hp = t[0].pass[0] + t[0].pass[1] + t[0].pass[2];
    size_t hn = t[0].total[0] + t[0].total[1] + t[0].total[2];
    printf("hand-pass %zu/%zu\n", hp, hn);
    for (int i = 1; i < NIMPL; i++)
        printf("mismatch %s %zu\n", xmlconf_impls[i]->name, t[i].mismatch);
    return 0;
}
