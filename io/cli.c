/* cli.c: usage errors, one format for every program (see cli.h). */
#include "io/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void cli_usage_error(const char *prog, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: error: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\ntry '%s --help'\n", prog);
    exit(2);
}

void cli_getopt_error(const char *prog, char *const argv[], int optind)
{
    /* getopt_long has moved optind past the argument it rejected. */
    const char *a = optind > 0 ? argv[optind - 1] : "?";
    cli_usage_error(prog, "unknown option or missing value: %s", a);
}
