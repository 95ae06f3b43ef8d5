/* iom: routes, command line and process setup shared by the three servers. */
#include "io/cli.h"
#include "labs/03-io-models/iom.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "io/ev.h"
#include "io/net.h"

#define HELLO "Hello, World!"
#define TEXT  "Content-Type: text/plain\r\n"

static void usage(FILE *f, const char *prog, const char *what, int with_iterative)
{
    fprintf(f,
            "usage: %s [--host ADDR] [--port N] [--idle-timeout S] [--request-timeout S]\n"
            "       [--max-body-memory BYTES]%s [--help]\n"
            "  %s\n"
            "  --host ADDR             address to bind (default 127.0.0.1)\n"
            "  --port N                port, 0 picks one and prints it (default 8080)\n"
            "  --idle-timeout S        close a connection with nothing to do (no request, no\n"
            "                          byte of one, nothing written) for this long; also cut a\n"
            "                          peer that reads none of its responses for this long\n"
            "                          (default 10, may be fractional)\n"
            "  --request-timeout S     a request must arrive whole within this long of its\n"
            "                          first byte, else 408 and close (default 10)\n"
            "  --max-body-memory BYTES request bodies held at once, over all connections;\n"
            "                          past it a request gets 503 (default 268435456)\n"
            "%s"
            "  routes: GET / and /plaintext, POST /echo, GET /delay?ms=N (0..10000)\n",
            prog, with_iterative ? " [--iterative]" : "", what,
            with_iterative ? "  --iterative             one thread, one connection at a time\n"
                           : "");
}

/* Seconds (fractional) on the command line, milliseconds inside; -1 when bad. */
static long seconds_ms(const char *s)
{
    char *end;
    errno = 0;
    double secs = strtod(s, &end);
    if (errno || end == s || *end || !(secs > 0 && secs <= 86400)) return -1;
    long ms = (long)(secs * 1000 + 0.5);
    return ms > 0 ? ms : 1;
}

void iom_parse_args(int argc, char **argv, const char *prog, const char *what, int with_iterative,
                    struct iom_opts *o)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"idle-timeout", required_argument, NULL, 't'},
        {"request-timeout", required_argument, NULL, 'r'},
        {"max-body-memory", required_argument, NULL, 'm'},
        {"iterative", no_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    o->host = "127.0.0.1";
    o->port = 8080;
    o->idle_ms = 10000;
    o->request_ms = 10000;
    o->max_body_memory = 256u << 20;
    o->iterative = 0;
    int ch;
    opterr = 0; /* cli_getopt_error says it, in the one format */
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        char *end;
        long ms;
        unsigned long long bytes;
        switch (ch) {
        case 'H':
            if (net_parse_host(optarg) < 0) {
                fprintf(stderr, "%s: error: bad --host '%s' (an IPv4 address or localhost)\n", prog,
                        optarg);
                goto bad;
            }
            o->host = optarg;
            break;
        case 'p':
            if ((o->port = net_parse_port(optarg)) < 0) {
                fprintf(stderr, "%s: error: bad --port '%s' (0..65535)\n", prog, optarg);
                goto bad;
            }
            break;
        case 't':
        case 'r':
            if ((ms = seconds_ms(optarg)) < 0) {
                fprintf(stderr, "%s: error: bad --%s '%s' (seconds, >0)\n", prog,
                        ch == 't' ? "idle-timeout" : "request-timeout", optarg);
                goto bad;
            }
            *(ch == 't' ? &o->idle_ms : &o->request_ms) = (uint32_t)ms;
            break;
        case 'm':
            errno = 0;
            bytes = strtoull(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] == '-' || bytes < 1024 ||
                bytes > (1ull << 40)) {
                fprintf(stderr, "%s: error: bad --max-body-memory '%s' (bytes, 1024..2^40)\n", prog,
                        optarg);
                goto bad;
            }
            o->max_body_memory = (size_t)bytes;
            break;
        case 'i':
            if (!with_iterative) {
                fprintf(stderr, "%s: error: --iterative is for server-blocking\n", prog);
                goto bad;
            }
            o->iterative = 1;
            break;
        case 'h':
            usage(stdout, prog, what, with_iterative);
            exit(0);
        default:
            cli_getopt_error(prog, argv, optind);
        }
    }
    if (optind == argc) return;
    fprintf(stderr, "%s: error: unexpected argument '%s'\n", prog, argv[optind]);
bad:
    fprintf(stderr, "try '%s --help'\n", prog);
    exit(2);
}

long iom_setup_process(void (*on_stop)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    return (long)rl.rlim_cur;
}

static uint64_t iom_clock(void *app)
{
    (void)app;
    return ev_now_ns();
}

struct hconn_config iom_hconn_config(const struct iom_opts *o, struct hconn_budget *budget)
{
    budget->max = o->max_body_memory;
    struct hconn_config cfg = {
        .limits = {8192, 64, 1u << 20},
        .clock_ns = iom_clock,
        .idle_timeout_ms = o->idle_ms,
        .request_timeout_ms = o->request_ms,
        .budget = budget,
    };
    return cfg;
}

static int path_is(const struct hconn_req *r, const char *p)
{
    return r->path_len == strlen(p) && memcmp(r->path, p, r->path_len) == 0;
}

static int method_is(const struct hconn_req *r, const char *m)
{
    return r->method_len == strlen(m) && memcmp(r->method, m, r->method_len) == 0;
}

/* ms=N from the query string: 0..10000, or -1. */
static long delay_ms(const struct hconn_req *r)
{
    const char *q = r->query, *end = r->query ? r->query + r->query_len : NULL;
    while (q && q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *stop = amp ? amp : end;
        if (stop - q > 3 && memcmp(q, "ms=", 3) == 0) {
            long v = 0;
            for (const char *d = q + 3; d < stop; d++) {
                if (*d < '0' || *d > '9' || (v = v * 10 + (*d - '0')) > 10000) return -1;
            }
            return v;
        }
        q = amp ? amp + 1 : NULL;
    }
    return -1;
}

long iom_route(struct hconn *c, const struct hconn_req *r)
{
    int get = method_is(r, "GET") || method_is(r, "HEAD");
    if (path_is(r, "/") || path_is(r, "/plaintext")) {
        if (get)
            hconn_respond(c, 200, TEXT, HELLO, sizeof HELLO - 1);
        else
            hconn_respond(c, 405, "Allow: GET, HEAD\r\n" TEXT, "method not allowed\n", 19);
    } else if (path_is(r, "/echo")) {
        if (method_is(r, "POST"))
            hconn_respond(c, 200, "Content-Type: application/octet-stream\r\n", r->body,
                          r->body_len);
        else
            hconn_respond(c, 405, "Allow: POST\r\n" TEXT, "method not allowed\n", 19);
    } else if (path_is(r, "/delay")) {
        if (!get) {
            hconn_respond(c, 405, "Allow: GET, HEAD\r\n" TEXT, "method not allowed\n", 19);
            return -1;
        }
        long ms = delay_ms(r);
        if (ms < 0) {
            hconn_respond(c, 400, TEXT, "want /delay?ms=N with N in 0..10000\n", 36);
            return -1;
        }
        return ms;
    } else {
        hconn_respond(c, 404, TEXT, "not found\n", 10);
    }
    return -1;
}

void iom_delay_done(struct hconn *c, long ms)
{
    char body[48];
    int n = snprintf(body, sizeof body, "delayed %ld ms\n", ms);
    hconn_respond(c, 200, TEXT, body, (size_t)n);
}
