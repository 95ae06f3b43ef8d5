/* rr-client: one HTTP request, and its timeline.  The notes' request-response
 * travel (created t0, received and parsed t2, processed t10, response prepared
 * t11, received and processed t13) drawn from two sources: this client's own
 * clock for what happens here, the server's Server-Timing header for what
 * happens there.  It is blocking on purpose: one request, read top to bottom.
 *
 *   rr-client [--method M] [--data BODY] [--requests N] [--json] http://127.0.0.1:PORT/path
 *
 * --requests N sends N requests one after the other on one kept-alive connection:
 * the first pays for the connection, the others do not, and each gets its timeline.
 */
#include "io/cli.h"
#include "io/ev.h"
#include "io/httpc/httpc.h"
#include "io/net.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_METRICS 16

struct metric {
    char name[32];
    double dur_ms; /* -1 when the metric has no dur */
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: rr-client [--method GET|POST|...] [--data BODY] [--requests N] [--json] URL\n"
            "  URL is http://HOST:PORT/path (HOST an IPv4 address or localhost)\n"
            "  Prints the timeline of one request: the client's own clock plus the\n"
            "  server's Server-Timing phases, and where the time went.\n"
            "  --requests N: N requests on one kept-alive connection (default 1), a\n"
            "  timeline each: the first on a new connection, the others without one.\n"
            "  --json: one line of JSON per request.\n");
}

/* http://HOST:PORT/path -> host, port, path */
static int parse_url(const char *url, char *host, size_t hl, int *port, char *path, size_t pl)
{
    if (strncmp(url, "http://", 7) != 0) return -1;
    const char *hp = url + 7, *slash = strchr(hp, '/');
    char hostport[300];
    size_t n = slash ? (size_t)(slash - hp) : strlen(hp);
    if (n == 0 || n >= sizeof hostport) return -1;
    memcpy(hostport, hp, n);
    hostport[n] = 0;
    if (!strchr(hostport, ':')) {
        if (n >= hl) return -1;
        memcpy(host, hostport, n + 1);
        *port = 80;
    } else if (net_parse_hostport(hostport, host, hl, port) != 0) {
        return -1;
    }
    snprintf(path, pl, "%s", slash ? slash : "/");
    return 0;
}

/* Server-Timing: name;dur=1.2;desc="x", name2;dur=0.3 (RFC-style list, W3C spec). */
static int parse_server_timing(const char *v, struct metric *m, int max)
{
    int n = 0;
    while (v && *v && n < max) {
        while (*v == ' ' || *v == ',')
            v++;
        if (!*v) break;
        size_t len = strcspn(v, ",");
        char item[256];
        snprintf(item, sizeof item, "%.*s", (int)(len < 255 ? len : 255), v);
        v += len;
        size_t nl = strcspn(item, "; ");
        snprintf(m[n].name, sizeof m[n].name, "%.*s", (int)(nl < 31 ? nl : 31), item);
        m[n].dur_ms = -1;
        char *d = strstr(item, "dur=");
        if (d) m[n].dur_ms = strtod(d + 4, NULL);
        n++;
    }
    return n;
}

static double ms(uint64_t a_ns, uint64_t b_ns)
{
    return (double)(b_ns - a_ns) / 1e6;
}

/* The server's phase whose name starts with any of the given prefixes, or -1. */
static double phase(const struct metric *m, int n, const char *a, const char *b)
{
    for (int i = 0; i < n; i++)
        if ((a && strncmp(m[i].name, a, strlen(a)) == 0) ||
            (b && strncmp(m[i].name, b, strlen(b)) == 0))
            return m[i].dur_ms;
    return -1;
}

/* One request, on a new connection when *fd < 0 (it is left in *fd) or on the kept-alive
 * one; its response read and parsed, its timeline printed.  Returns the HTTP status, or
 * -1 when the exchange failed (the reason is printed). */
struct rr {
    const char *method, *url, *data;
    char host[256], path[2048];
    int port, json;
};

static int one_request(const struct rr *o, int *fdp, int idx, int last)
{
    /* t0: the request is created */
    uint64_t t_created = ev_now_ns();
    char req[4096], clen[80] = "";
    if (o->data)
        snprintf(clen, sizeof clen, "Content-Type: application/json\r\nContent-Length: %zu\r\n",
                 strlen(o->data));
    int rl = snprintf(req, sizeof req,
                      "%s %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: wirelab-rr-client\r\n"
                      "Accept: */*\r\n%s%s\r\n%s",
                      o->method, o->path, o->host, o->port, clen,
                      last ? "Connection: close\r\n" : "", o->data ? o->data : "");
    if (rl < 0 || (size_t)rl >= sizeof req) {
        fprintf(stderr, "rr-client: request too large\n");
        return -1;
    }
    uint64_t t_built = ev_now_ns();
    int new_conn = *fdp < 0, fd = *fdp;
    if (new_conn) {
        char err[256];
        if ((fd = *fdp = net_connect(o->host, o->port, err, sizeof err)) < 0) {
            fprintf(stderr, "rr-client: %s\n", err);
            return -1;
        }
    }
    uint64_t t_connected = ev_now_ns();
    /* On loopback the server may read and even answer the request before write()
     * returns to us (it runs on the other core), so the server's phases are placed
     * from the moment we start sending. */
    for (int off = 0; off < rl;) {
        ssize_t w = write(fd, req + off, (size_t)(rl - off));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            fprintf(stderr, "rr-client: write: %s\n", strerror(errno));
            return -1;
        }
        off += (int)w;
    }
    uint64_t t_sent = ev_now_ns();

    /* read until the response is complete; parse as bytes arrive */
    static struct httpc p;
    httpc_init(&p, strcmp(o->method, "HEAD") == 0);
    uint8_t buf[16384];
    uint64_t t_first = 0, t_last = 0, parse_ns = 0;
    size_t body = 0, wire = 0;
    int done = 0;
    while (!done) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            fprintf(stderr, "rr-client: read: %s\n", strerror(errno));
            return -1;
        }
        uint64_t now = ev_now_ns();
        if (!t_first) t_first = now;
        if (r == 0) {
            if (!httpc_eof(&p)) {
                fprintf(stderr, "rr-client: connection closed before the response was complete\n");
                return -1;
            }
            t_last = now;
            break;
        }
        t_last = now;
        wire += (size_t)r;
        const uint8_t *d = buf;
        size_t len = (size_t)r;
        while (!done) { /* until the parser needs more: DONE may come with no bytes left */
            struct httpc_event ev;
            uint64_t a = ev_now_ns();
            size_t used = httpc_parse(&p, d, len, &ev);
            parse_ns += ev_now_ns() - a;
            d += used;
            len -= used;
            if (ev.type == HTTPC_ERROR) {
                fprintf(stderr, "rr-client: bad response: %s\n", p.err);
                return -1;
            }
            if (ev.type == HTTPC_BODY) body += ev.len;
            if (ev.type == HTTPC_DONE) done = 1;
            if (ev.type == HTTPC_NONE) break;
        }
    }
    uint64_t t_parsed = ev_now_ns();
    if (!last) {
        const char *conn = httpc_header(&p, "connection");
        if (conn && strcasecmp(conn, "close") == 0) {
            fprintf(stderr, "rr-client: the server closed the connection after request %d\n", idx);
            return -1;
        }
    }

    struct metric m[MAX_METRICS];
    const char *st = httpc_header(&p, "server-timing");
    int nm = parse_server_timing(st, m, MAX_METRICS);
    double s_recv = phase(m, nm, "recv", "receive"), s_parse = phase(m, nm, "parse", NULL);
    double s_proc = phase(m, nm, "process", "proc"), s_resp = phase(m, nm, "respond", "resp");
    double server = 0;
    for (int i = 0; i < nm; i++)
        if (m[i].dur_ms > 0 && strcmp(m[i].name, "total") != 0) server += m[i].dur_ms;
    double total = ms(t_created, t_parsed);
    double wait = ms(t_connected, t_first);                 /* request out -> first byte back */
    double network = wait - server > 0 ? wait - server : 0; /* both ways, kernel included */

    if (o->json) {
        printf("{\"request\":%d,\"new_connection\":%s,\"status\":%d,\"total_ms\":%.3f,"
               "\"build_ms\":%.3f,\"connect_ms\":%.3f,\"send_ms\":%.3f,\"wait_ms\":%.3f,"
               "\"receive_ms\":%.3f,\"parse_ms\":%.3f,\"server_ms\":%.3f,\"network_ms\":%.3f,"
               "\"server_timing\":%s,\"metrics\":{",
               idx, new_conn ? "true" : "false", p.status, total, ms(t_created, t_built),
               ms(t_built, t_connected), ms(t_connected, t_sent), wait, ms(t_first, t_last),
               (double)parse_ns / 1e6, server, network, st ? "true" : "false");
        for (int i = 0; i < nm; i++)
            printf("%s\"%s\":%.3f", i ? "," : "", m[i].name, m[i].dur_ms);
        printf("},\"body_bytes\":%zu,\"wire_bytes\":%zu}\n", body, wire);
        return p.status;
    }
    if (idx > 1) printf("\n");
    printf("%s %s -> %d, %zu body bytes, %zu bytes on the wire%s\n", o->method, o->url, p.status,
           body, wire, new_conn ? "" : " (kept-alive connection)");
    printf("timeline (ms since the request was created; ~ = placed from Server-Timing)\n");
    printf("  %9.3f  request created                      client\n", 0.0);
    printf("  %9.3f  request built                        client\n", ms(t_created, t_built));
    char conn[64];
    if (new_conn)
        snprintf(conn, sizeof conn, "connected (TCP handshake %.3f ms)", ms(t_built, t_connected));
    else
        snprintf(conn, sizeof conn, "connection kept alive: no handshake");
    printf("  %9.3f  %-36s client\n", ms(t_created, t_connected), conn);
    printf("  %9.3f  request sent (write returned)        client\n", ms(t_created, t_sent));
    if (nm) {
        /* the server's phases sit between "sent" and "first byte"; the rest of that
         * gap is the network (here: loopback and the kernel) split evenly both ways */
        double at = ms(t_created, t_connected) + network / 2;
        double rv = s_recv > 0 ? s_recv : 0, pa = s_parse > 0 ? s_parse : 0;
        double pr = s_proc > 0 ? s_proc : 0, re = s_resp > 0 ? s_resp : 0;
        printf(" ~%9.3f  server received the request          recv    %.3f ms\n", at + rv, rv);
        printf(" ~%9.3f  server parsed it                     parse   %.3f ms\n", at + rv + pa, pa);
        printf(" ~%9.3f  server processed it                  process %.3f ms\n", at + rv + pa + pr,
               pr);
        printf(" ~%9.3f  server prepared the response         respond %.3f ms\n",
               at + rv + pa + pr + re, re);
    } else {
        printf("             (no Server-Timing header: the server's phases are unknown)\n");
    }
    printf("  %9.3f  response first byte                  client\n", ms(t_created, t_first));
    printf("  %9.3f  response received (last byte)       client\n", ms(t_created, t_last));
    printf("  %9.3f  response parsed                      client (parser %.3f ms)\n", total,
           (double)parse_ns / 1e6);
    printf("where the time went (total %.3f ms)\n", total);
    struct {
        const char *what;
        double v;
    } parts[] = {
        {"connect (TCP handshake)", ms(t_built, t_connected)},
        {"client builds the request", ms(t_created, t_built)},
        {"server (Server-Timing sum)", server},
        {"send + network + kernel, both ways", network},
        {"client receives + parses the response", ms(t_first, t_parsed)},
    };
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        printf("  %-40s %9.3f ms  %5.1f%%\n", parts[i].what, parts[i].v,
               total > 0 ? 100.0 * parts[i].v / total : 0);
    if (nm) {
        printf("server phases:");
        for (int i = 0; i < nm; i++)
            printf(" %s=%.3f", m[i].name, m[i].dur_ms);
        printf(" ms\n");
    }
    return p.status;
}

int main(int argc, char **argv)
{
    static struct rr o = {.method = "GET"};
    long nreq = 1;
    static const struct option opts[] = {
        {"method", required_argument, 0, 'm'},   {"data", required_argument, 0, 'd'},
        {"requests", required_argument, 0, 'n'}, {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    int c;
    char *end;
    opterr = 0; /* cli_getopt_error says it, in the one format */
    while ((c = getopt_long(argc, argv, "m:d:n:jh", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            o.method = optarg;
            break;
        case 'd':
            o.data = optarg;
            break;
        case 'n':
            nreq = strtol(optarg, &end, 10);
            if (*end || nreq < 1 || nreq > 1000) {
                cli_usage_error("rr-client", "--requests wants 1..1000, not '%s'", optarg);
            }
            break;
        case 'j':
            o.json = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            cli_getopt_error("rr-client", argv, optind);
        }
    }
    if (optind != argc - 1)
        cli_usage_error("rr-client", "%s",
                        optind == argc ? "a URL is required" : "one URL at most");
    o.url = argv[optind];
    if (parse_url(o.url, o.host, sizeof o.host, &o.port, o.path, sizeof o.path) != 0) {
        cli_usage_error("rr-client", "bad URL '%s' (want http://HOST:PORT/path)", o.url);
    }
    if (o.data && strcmp(o.method, "GET") == 0) o.method = "POST";

    int fd = -1, worst = 0;
    for (long i = 0; i < nreq; i++) {
        int st = one_request(&o, &fd, (int)i + 1, i == nreq - 1);
        if (st < 0) {
            if (fd >= 0) close(fd);
            return 1;
        }
        if (st > worst) worst = st;
    }
    close(fd);
    return worst >= 200 && worst < 400 ? 0 : 1;
}
