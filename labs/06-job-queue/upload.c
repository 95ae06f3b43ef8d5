/* upload: the "video uploaded" producer of the job-queue lab.  Each upload is one XADD to
 * a stream; every service (transcode, thumbnail, notify) reads the stream through its own
 * consumer group, so one upload becomes one task per service.  It talks RESP, so it
 * works unchanged against the lab broker or a real Redis (--redis HOST:PORT). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io/cli.h"
#include "io/net.h"
#include "labs/06-job-queue/rc.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: upload [--redis HOST:PORT] [--stream NAME] [--count N] [--first N]\n"
            "              [--rate PER_SEC] [--quiet]\n"
            "  Publishes N 'video uploaded' jobs (XADD NAME * video I title ... size_mb ...).\n"
            "  --redis      the broker or a real Redis (default 127.0.0.1:6380)\n"
            "  --stream     stream name (default videos)\n"
            "  --count      jobs to publish (default 10); --first: number of the first video (1)\n"
            "  --rate       jobs per second (default 0: as fast as acknowledged)\n"
            "  --quiet      only the summary line\n");
}

static int parse_num(const char *s, long *out)
{
    char *e;
    long v = strtol(s, &e, 10);
    if (*s == 0 || *e || v < 0) return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    char host[256] = "127.0.0.1", err[256];
    int port = 6380, quiet = 0;
    const char *stream = "videos";
    long count = 10, first = 1, rate = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--redis") && more) {
            if (net_parse_hostport(argv[++i], host, sizeof(host), &port) < 0) {
                cli_usage_error("upload", "bad --redis '%s' (want HOST:PORT)", argv[i]);
            }
        } else if (!strcmp(a, "--stream") && more) {
            stream = argv[++i];
        } else if (!strcmp(a, "--count") && more && parse_num(argv[i + 1], &count) == 0) {
            i++;
        } else if (!strcmp(a, "--first") && more && parse_num(argv[i + 1], &first) == 0) {
            i++;
        } else if (!strcmp(a, "--rate") && more && parse_num(argv[i + 1], &rate) == 0) {
            i++;
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
        } else {
            cli_usage_error("upload", "unknown or bad option '%s'", a);
        }
    }
    struct rc *c = rc_connect(host, port, err, sizeof(err));
    if (!c) {
        fprintf(stderr, "upload: cannot connect to %s:%d: %s\n", host, port, err);
        return 1;
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long done = 0;
    for (long v = first; v < first + count; v++) {
        char vid[24], title[64], size[24];
        snprintf(vid, sizeof(vid), "%ld", v);
        snprintf(title, sizeof(title), "video-%ld.mp4", v);
        snprintf(size, sizeof(size), "%ld", 10 + (v * 37) % 990);
        const char *cmd[] = {"XADD", stream, "*", "video", vid, "title", title, "size_mb", size};
        struct rc_reply *r = rc_command(c, 9, cmd, err, sizeof(err));
        if (!r) {
            fprintf(stderr, "upload: %s after %ld jobs\n", err, done);
            rc_close(c);
            return 1;
        }
        if (r->type != '$') {
            fprintf(stderr, "upload: XADD refused: %s\n", r->str ? r->str : "?");
            rc_reply_free(r);
            rc_close(c);
            return 1;
        }
        if (!quiet) printf("uploaded video=%ld id=%s\n", v, r->str);
        fflush(stdout);
        rc_reply_free(r);
        done++;
        if (rate > 0) usleep((useconds_t)(1000000 / rate));
    }
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    printf("uploaded %ld videos to %s in %.1f ms\n", done, stream, ms);
    rc_close(c);
    return 0;
}
