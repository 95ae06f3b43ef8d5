/* cli.h: how a program answers a bad command line, the one way every program does
 * (docs/conventions.md, "Programs").
 *
 * Contract
 * - cli_usage_error(prog, fmt, ...) prints `PROG: error: WHAT` and then
 *   `try 'PROG --help'` on stderr, and exits with status 2.  It does not return.
 * - cli_getopt_error(prog, argv, optind) is the same for getopt_long's '?' (call
 *   getopt_long with opterr = 0, so getopt prints nothing of its own): it names the
 *   argument getopt stopped at, an unknown option or one missing its value.
 * - PROG is the program's name as installed (not argv[0], which carries a path).
 */
#ifndef WL_CLI_H
#define WL_CLI_H

_Noreturn void cli_usage_error(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
_Noreturn void cli_getopt_error(const char *prog, char *const argv[], int optind);

#endif
