/* parse: check (and optionally dump) one input with any registered parser.
 *
 *   parse --format http|json|xml|proto --impl hand|lib [--lib NAME] [--dump]
 *         [--message TYPE] [FILE|-]
 *
 * Exit 0 valid (one summary line on stdout), 1 invalid (one line on stderr,
 * FILE:LINE:COL: error: WHAT, or FILE:@OFFSET: error: WHAT for protobuf), 2 usage
 * or I/O error.  The dump goes to a memory stream first so an invalid input never
 * leaves half a dump on stdout. */
#include "io/cli.h"
#include "parsers/registry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PARSE_MAX_INPUT ((size_t)1 << 30) /* inputs are read whole: bound them */

static void usage(FILE *o)
{
    fprintf(o, "usage: parse --format http|json|xml|proto --impl hand|lib [--lib NAME] [--dump]\n"
               "             [--message TYPE] [FILE|-]\n"
               "       parse --list     (every registered implementation)\n"
               "exit 0: valid, 1: invalid (FILE:LINE:COL: error: WHAT), 2: usage or I/O error\n");
}

static int read_all(FILE *f, uint8_t **out, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = malloc(cap);
    if (!b) return -1;
    for (;;) {
        if (n == cap) {
            if (cap >= PARSE_MAX_INPUT) {
                free(b);
                errno = EFBIG;
                return -1;
            }
            uint8_t *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                return -1;
            }
            b = nb;
            cap *= 2;
        }
        size_t k = fread(b + n, 1, cap - n, f);
        n += k;
        if (k == 0) break;
    }
    if (ferror(f)) {
        free(b);
        return -1;
    }
    *out = b;
    *len = n;
    return 0;
}

int main(int argc, char **argv)
{
    const char *format = NULL, *impl = NULL, *lib = NULL, *file = "-";
    struct parse_opts opts = {0};
    int dump = 0, nfiles = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--list")) {
            for (size_t k = 0; k < registry_count(); k++)
                printf("%s %s\n", registry_at(k)->format, registry_at(k)->name);
            return 0;
        } else if (!strcmp(a, "--dump")) {
            dump = 1;
        } else if ((!strcmp(a, "--format") || !strcmp(a, "--impl") || !strcmp(a, "--lib") ||
                    !strcmp(a, "--message")) &&
                   i + 1 < argc) {
            const char *v = argv[++i];
            if (a[2] == 'f')
                format = v;
            else if (a[2] == 'i')
                impl = v;
            else if (a[2] == 'l')
                lib = v;
            else
                opts.message = v;
        } else if (a[0] == '-' && a[1]) {
            cli_usage_error("parse", "unknown or incomplete option '%s'", a);
        } else {
            file = a;
            nfiles++;
        }
    }
    if (!format || nfiles > 1) {
        cli_usage_error("parse", "%s", !format ? "--format is required" : "one FILE at most");
    }
    if (!impl) impl = lib ? "lib" : "hand";
    const struct parser_impl *p = NULL;
    if (!strcmp(impl, "hand") && !lib)
        p = registry_find(format, "hand");
    else if (!strcmp(impl, "lib"))
        p = lib ? registry_find(format, lib) : registry_lib(format);
    else {
        cli_usage_error("parse", "--impl must be hand or lib (--lib NAME picks the library)");
    }
    if (!p) {
        cli_usage_error("parse", "no implementation %s%s%s for format '%s' (see parse --list)",
                        impl, lib ? " --lib " : "", lib ? lib : "", format);
    }

    FILE *in = strcmp(file, "-") ? fopen(file, "rb") : stdin;
    if (!in) {
        fprintf(stderr, "parse: error: %s: %s\n", file, strerror(errno));
        return 2;
    }
    uint8_t *buf;
    size_t len;
    int rrc = read_all(in, &buf, &len);
    int rerr = errno;
    if (in != stdin) fclose(in);
    if (rrc != 0) {
        fprintf(stderr, "parse: error: %s: %s\n", file,
                rerr == EFBIG ? "input larger than 1 GiB" : strerror(rerr));
        return 2;
    }
    const char *name = strcmp(file, "-") ? file : "<stdin>";

    char *dbuf = NULL;
    size_t dlen = 0;
    /* Without --dump the walk still runs (into /dev/null): that is where the
     * library adapters count items and depth for the summary line. */
    FILE *d = dump ? open_memstream(&dbuf, &dlen) : fopen("/dev/null", "w");
    if (!d) {
        fprintf(stderr, "parse: error: out of memory\n");
        return 2;
    }
    struct parse_result r;
    memset(&r, 0, sizeof r);
    int rc = p->parse(buf, len, &opts, &r, d);
    if (d) fclose(d);
    if (rc == 0) {
        if (dump)
            fwrite(dbuf, 1, dlen, stdout);
        else
            printf("%s: valid %s (%s), %zu bytes, %zu %s, depth %zu\n", name, format, p->name, len,
                   r.items,
                   !strcmp(format, "proto")  ? "fields"
                   : !strcmp(format, "http") ? "headers"
                                             : "items",
                   r.depth);
    } else if (rc == 1) {
        int binary = !strcmp(format, "proto");
        if (r.has_offset && binary) {
            fprintf(stderr, "%s:@%zu: error: %s\n", name, r.err_offset, r.err);
        } else {
            size_t line = r.err_line, col = r.err_col;
            if (r.has_offset) {
                size_t off = r.err_offset < len ? r.err_offset : len, bol = 0;
                line = 1;
                for (size_t i = 0; i < off; i++)
                    if (buf[i] == '\n') {
                        line++;
                        bol = i + 1;
                    }
                col = off - bol + 1;
            }
            fprintf(stderr, "%s:%zu:%zu: error: %s\n", name, line ? line : 1, col ? col : 1, r.err);
        }
    } else {
        fprintf(stderr, "parse: %s: %s\n", name, r.err[0] ? r.err : "internal error");
        rc = 2;
    }
    free(dbuf);
    free(buf);
    return rc;
}
