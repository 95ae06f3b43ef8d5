/* wal-dump: prints every record of a kv-server WAL directory (LSN, type, key, size,
 * CRC status), where the valid records end, and what recovery would make of that end
 * (clean, a torn tail it cuts, damage it refuses); --compact drops the segments a
 * checkpoint no longer needs (kv-server stopped). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labs/05-wal-replication/kv_server.h"
#include "replication/wal.h"

struct dump {
    uint64_t n, bytes, last_lsn, end_lsn;
    char seg[32];
    int quiet;
    char stop_seg[32]; /* where the valid records end, and why */
    size_t stop_off;
    int stop_status, stopped;
    uint32_t crc_stored, crc_computed;
};

static void print_key(const struct wal_rec *r)
{
    uint32_t kl = 0;
    if (r->len >= 4) memcpy(&kl, r->payload, 4);
    if (r->len < 4 || kl > r->len - 4) {
        printf("-");
        return;
    }
    const unsigned char *k = (const unsigned char *)r->payload + 4;
    for (uint32_t i = 0; i < kl && i < 64; i++)
        printf(isprint(k[i]) && k[i] != ' ' ? "%c" : "\\x%02x", k[i]);
    if (kl > 64) printf("...");
}

static void on_rec(void *arg, const char *segment, size_t offset, int status,
                   const struct wal_rec *r)
{
    struct dump *d = arg;
    if (status != WAL_REC_OK) {
        snprintf(d->stop_seg, sizeof(d->stop_seg), "%s", segment);
        d->stop_off = offset;
        d->stop_status = status;
        d->stopped = 1;
        d->crc_stored = r->crc_stored;
        d->crc_computed = r->crc_computed;
        return;
    }
    if (strcmp(d->seg, segment)) {
        if (!d->quiet) printf("# segment %s\n", segment);
        snprintf(d->seg, sizeof(d->seg), "%s", segment);
    }
    d->n++;
    d->bytes += r->size;
    d->last_lsn = r->lsn;
    d->end_lsn = r->lsn + r->size;
    if (d->quiet) return;
    const char *t = r->type == KV_REC_SET     ? "SET"
                    : r->type == KV_REC_DEL   ? "DEL"
                    : r->type == WAL_T_SWITCH ? "SWITCH"
                                              : "?";
    printf("lsn=%" PRIu64 " prev=%" PRIu64 " type=%s key=", r->lsn, r->prev, t);
    print_key(r);
    printf(" size=%zu crc=%08x ok\n", r->size, r->crc_stored);
}

/* The end of the valid records and recovery's verdict on it; 1 when damaged. */
static int print_end(const struct dump *d, const struct wal_verdict *v)
{
    if (d->stopped) {
        printf("end of valid WAL at segment %s offset %zu: %s", d->stop_seg, d->stop_off,
               d->stop_status == WAL_REC_ZERO ? "zeroes" : wal_rec_status_name(d->stop_status));
        if (d->stop_status == WAL_REC_BADCRC)
            printf(" (stored 0x%08x, computed 0x%08x)", d->crc_stored, d->crc_computed);
        printf("%s\n", v->end == WAL_END_CLEAN ? " (clean end)" : "");
    }
    if (v->end == WAL_END_TORN || v->end == WAL_END_REFUSED)
        printf("%s: recovery cuts it: %s\n",
               v->end == WAL_END_TORN ? "torn tail" : "records a failed flush refused", v->why);
    if (v->end == WAL_END_DAMAGED)
        printf("DAMAGED: %s; recovery refuses to start (--wal-truncate-damaged cuts the log "
               "at LSN %" PRIu64 ")\n",
               v->why, v->valid_end);
    return v->end == WAL_END_DAMAGED;
}

static int compact(const char *dir, const char *lsn_arg)
{
    char *e, err[1024];
    errno = 0;
    unsigned long long lsn = strtoull(lsn_arg, &e, 10);
    if (*e || !*lsn_arg || lsn_arg[0] == '-' || errno) {
        fprintf(stderr, "wal-dump: error: --compact: '%s' is not an LSN\ntry 'wal-dump --help'\n",
                lsn_arg);
        return 2;
    }
    struct wal_opts o = {0};
    struct wal *w = wal_open(dir, &o, NULL, NULL, err, sizeof(err));
    if (!w) {
        fprintf(stderr, "wal-dump: error: %s\n", err);
        return 1;
    }
    int n = wal_compact(w, lsn, err, sizeof(err));
    if (n >= 0)
        printf("dropped %d segment(s) wholly before LSN %llu: the log starts at LSN %" PRIu64 "\n",
               n, lsn, wal_oldest_lsn(w));
    else
        fprintf(stderr, "wal-dump: error: %s\n", err);
    wal_close(w);
    return n < 0;
}

static int usage(FILE *f, int rc)
{
    fprintf(f, "usage: wal-dump [--summary] DIR\n"
               "       wal-dump --compact LSN DIR\n"
               "  prints each WAL record (LSN, type, key, size, CRC status), where the valid\n"
               "  records end, and what recovery makes of it: a clean end, a torn tail it cuts,\n"
               "  or damage it refuses (exit status 1)\n"
               "  --summary       the counts only\n"
               "  --compact LSN   drop the segments wholly before LSN, as a checkpoint does\n"
               "                  (the server must be stopped)\n");
    if (rc) fprintf(f, "try 'wal-dump --help'\n");
    return rc;
}

int main(int argc, char **argv)
{
    int quiet = 0, ai = 1;
    if (argc > 1 && !strcmp(argv[1], "--help")) return usage(stdout, 0);
    if (argc == 4 && !strcmp(argv[1], "--compact")) return compact(argv[3], argv[2]);
    if (argc > 1 && !strcmp(argv[1], "--summary")) {
        quiet = 1;
        ai = 2;
    }
    if (argc != ai + 1 || argv[ai][0] == '-') {
        if (argc == ai + 1)
            fprintf(stderr, "wal-dump: error: unknown option %s\n", argv[ai]);
        else
            fprintf(stderr, "wal-dump: error: one DIR is required\n");
        fprintf(stderr, "try 'wal-dump --help'\n");
        return 2;
    }
    struct dump d = {.quiet = quiet};
    struct wal_verdict v;
    char err[1024];
    if (wal_walk(argv[ai], on_rec, &d, err, sizeof(err)) < 0 ||
        wal_check(argv[ai], &v, err, sizeof(err)) < 0) {
        fprintf(stderr, "wal-dump: error: %s\n", err);
        return 1;
    }
    int damaged = print_end(&d, &v);
    printf("%" PRIu64 " records, %" PRIu64 " bytes, last LSN %" PRIu64 ", end LSN %" PRIu64 "\n",
           d.n, d.bytes, d.last_lsn, d.end_lsn);
    return damaged;
}
