/* worker: one service of the job-queue lab (transcode, thumbnail or notify).  It reads
 * the uploads stream through its own consumer group (the group is the service: each
 * upload is done once per service; several workers of one service share its tasks).
 *
 * The lesson is in when it acknowledges:
 *   --ack early  XACK on receipt, then work: at-most-once.  A worker killed mid-task
 *                loses that task forever (the "Celery ghost task").
 *   --ack late   work, then XACK: at-least-once.  A task whose worker died stays in
 *                the group's pending list; after --visibility-timeout ms any worker
 *                takes it over with XAUTOCLAIM and does it again, so handlers must be
 *                idempotent.
 * Each task prints `ROLE CONSUMER start video=N id=ID` and `... done video=N id=ID` so a
 * script can count lost and duplicated work. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io/cli.h"
#include "io/net.h"
#include "labs/06-job-queue/rc.h"

struct opts {
    char host[256];
    int port;
    const char *role, *stream;
    char consumer[64];
    int late;
    long vt_ms, work_ms, exit_idle_ms;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: worker --role transcode|thumbnail|notify --ack early|late\n"
               "              --visibility-timeout MS [--redis HOST:PORT] [--stream NAME]\n"
               "              [--consumer NAME] [--work-ms MS] [--exit-idle-ms MS]\n"
               "  --redis        the broker or a real Redis (default 127.0.0.1:6380)\n"
               "  --visibility-timeout  a pending task idle this long is taken over (XAUTOCLAIM)\n"
               "  --work-ms      simulated work per task (default: transcode 300, thumbnail 100,\n"
               "                 notify 20)\n"
               "  --exit-idle-ms exit after this long without a task (default 0: never)\n");
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static struct rc_reply *cmd(struct rc *c, int argc, const char **argv)
{
    char err[256];
    struct rc_reply *r = rc_command(c, argc, argv, err, sizeof(err));
    if (!r) {
        fprintf(stderr, "worker: %s: %s\n", argv[0], err);
        exit(1); /* the broker is gone: a supervisor would restart us */
    }
    return r;
}

/* The value of field "video" in an entry [id, [f, v, ...]]. */
static const char *video_of(const struct rc_reply *e)
{
    if (e->type != '*' || e->n != 2 || e->elem[1]->type != '*') return "?";
    const struct rc_reply *f = e->elem[1];
    for (size_t i = 0; i + 1 < f->n; i += 2)
        if (f->elem[i]->str && !strcmp(f->elem[i]->str, "video") && f->elem[i + 1]->str)
            return f->elem[i + 1]->str;
    return "?";
}

static void ack(struct rc *c, const struct opts *o, const char *id)
{
    const char *a[] = {"XACK", o->stream, o->role, id};
    rc_reply_free(cmd(c, 4, a));
}

static void handle(struct rc *c, const struct opts *o, const struct rc_reply *e, int reclaimed)
{
    if (e->type != '*' || e->n != 2 || !e->elem[0]->str) return;
    const char *id = e->elem[0]->str, *video = video_of(e);
    if (!o->late) ack(c, o, id); /* at-most-once: from here a crash loses the task */
    printf("%s %s start video=%s id=%s%s\n", o->role, o->consumer, video, id,
           reclaimed ? " reclaimed" : "");
    fflush(stdout);
    usleep((useconds_t)o->work_ms * 1000);
    printf("%s %s done video=%s id=%s\n", o->role, o->consumer, video, id);
    fflush(stdout);
    if (o->late) ack(c, o, id); /* at-least-once: a crash before this line means a redo */
}

int main(int argc, char **argv)
{
    struct opts o = {
        .host = "127.0.0.1", .port = 6380, .stream = "videos", .vt_ms = -1, .work_ms = -1};
    const char *ackmode = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        char *e = NULL;
        if (!strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--redis") && more) {
            if (net_parse_hostport(argv[++i], o.host, sizeof(o.host), &o.port) < 0) {
                cli_usage_error("worker", "bad --redis '%s' (want HOST:PORT)", argv[i]);
            }
        } else if (!strcmp(a, "--role") && more) {
            o.role = argv[++i];
        } else if (!strcmp(a, "--ack") && more) {
            ackmode = argv[++i];
        } else if (!strcmp(a, "--stream") && more) {
            o.stream = argv[++i];
        } else if (!strcmp(a, "--consumer") && more) {
            snprintf(o.consumer, sizeof(o.consumer), "%s", argv[++i]);
        } else if (!strcmp(a, "--visibility-timeout") && more) {
            o.vt_ms = strtol(argv[++i], &e, 10);
        } else if (!strcmp(a, "--work-ms") && more) {
            o.work_ms = strtol(argv[++i], &e, 10);
        } else if (!strcmp(a, "--exit-idle-ms") && more) {
            o.exit_idle_ms = strtol(argv[++i], &e, 10);
        } else {
            cli_usage_error("worker", "unknown or incomplete option '%s'", a);
        }
        if (e && (*e || e == argv[i] || strtol(argv[i], NULL, 10) < 0)) {
            cli_usage_error("worker", "%s wants a number of milliseconds, not '%s'", a, argv[i]);
        }
    }
    long defwork = -1;
    if (o.role && !strcmp(o.role, "transcode"))
        defwork = 300;
    else if (o.role && !strcmp(o.role, "thumbnail"))
        defwork = 100;
    else if (o.role && !strcmp(o.role, "notify"))
        defwork = 20;
    if (defwork < 0) {
        cli_usage_error("worker", "--role must be transcode, thumbnail or notify");
    }
    if (!ackmode || (strcmp(ackmode, "early") && strcmp(ackmode, "late"))) {
        cli_usage_error("worker", "--ack must be early or late");
    }
    if (o.vt_ms < 0) {
        cli_usage_error("worker", "--visibility-timeout MS is required");
    }
    o.late = !strcmp(ackmode, "late");
    if (o.work_ms < 0) o.work_ms = defwork;
    if (!o.consumer[0]) snprintf(o.consumer, sizeof(o.consumer), "%s-%d", o.role, (int)getpid());
    char err[256], vt[24];
    snprintf(vt, sizeof(vt), "%ld", o.vt_ms);
    struct rc *c = rc_connect(o.host, o.port, err, sizeof(err));
    if (!c) {
        fprintf(stderr, "worker: cannot connect to %s:%d: %s\n", o.host, o.port, err);
        return 1;
    }
    /* The group is the service; "0" so a service started late still sees every upload. */
    const char *mk[] = {"XGROUP", "CREATE", o.stream, o.role, "0", "MKSTREAM"};
    struct rc_reply *r = cmd(c, 6, mk);
    if (r->type == '-' && strncmp(r->str, "BUSYGROUP", 9) != 0) {
        fprintf(stderr, "worker: XGROUP CREATE: %s\n", r->str);
        return 1;
    }
    rc_reply_free(r);
    fprintf(stderr, "worker %s: role=%s ack=%s visibility-timeout=%ldms work=%ldms on %s:%d\n",
            o.consumer, o.role, ackmode, o.vt_ms, o.work_ms, o.host, o.port);
    long idle_since = now_ms();
    for (;;) {
        /* First the tasks of dead workers: pending longer than the visibility timeout. */
        const char *claim[] = {"XAUTOCLAIM", o.stream, o.role, o.consumer, vt, "0-0", "COUNT", "1"};
        r = cmd(c, 8, claim);
        int got = 0;
        if (r->type == '*' && r->n >= 2 && r->elem[1]->type == '*' && r->elem[1]->n > 0) {
            handle(c, &o, r->elem[1]->elem[0], 1);
            got = 1;
        }
        rc_reply_free(r);
        if (!got) {
            const char *rd[] = {"XREADGROUP", "GROUP", o.role,    o.consumer, "COUNT", "1",
                                "BLOCK",      "500",   "STREAMS", o.stream,   ">"};
            r = cmd(c, 11, rd);
            if (r->type == '-') {
                fprintf(stderr, "worker: XREADGROUP: %s\n", r->str);
                return 1;
            }
            if (r->type == '*' && !r->is_null && r->n > 0 && r->elem[0]->n == 2) {
                const struct rc_reply *entries = r->elem[0]->elem[1];
                for (size_t i = 0; i < entries->n; i++)
                    handle(c, &o, entries->elem[i], 0);
                got = entries->n > 0;
            }
            rc_reply_free(r);
        }
        if (got)
            idle_since = now_ms();
        else if (o.exit_idle_ms > 0 && now_ms() - idle_since >= o.exit_idle_ms)
            break;
    }
    fprintf(stderr, "worker %s: idle for %ld ms, exiting\n", o.consumer, o.exit_idle_ms);
    rc_close(c);
    return 0;
}
