/* wal-dump: prints every record of a kv-server WAL directory (LSN, type, key, size,
 * CRC status), then the first bad record, if any, with its segment and offset. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "labs/05-wal-replication/kv_server.h"
#include "replication/wal.h"

struct dump {
    uint64_t n, bytes, last_lsn, end_lsn;
    const char *seg;
    int quiet;
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
        printf("end of valid WAL at segment %s offset %zu: %s", segment, offset,
               status == WAL_REC_ZERO ? "zeroes (clean end)" : wal_rec_status_name(status));
        if (status == WAL_REC_BADCRC)
            printf(" (stored 0x%08x, computed 0x%08x)", r->crc_stored, r->crc_computed);
        printf("\n");
        return;
    }
    if (d->seg != segment && (!d->seg || strcmp(d->seg, segment))) {
        if (!d->quiet) printf("# segment %s\n", segment);
        d->seg = segment;
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

int main(int argc, char **argv)
{
    int quiet = 0, ai = 1;
    if (argc > 1 && !strcmp(argv[1], "--help")) {
        printf("usage: wal-dump [--summary] DIR\n  prints each WAL record: LSN, type, key, size, "
               "CRC status\n");
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "--summary")) {
        quiet = 1;
        ai = 2;
    }
    if (argc != ai + 1) {
        fprintf(stderr, "usage: wal-dump [--summary] DIR\n");
        return 2;
    }
    struct dump d = {.quiet = quiet};
    char err[512];
    char seg[32] = "";
    d.seg = NULL;
    (void)seg;
    if (wal_walk(argv[ai], on_rec, &d, err, sizeof(err)) < 0) {
        fprintf(stderr, "wal-dump: %s\n", err);
        return 1;
    }
    printf("%" PRIu64 " records, %" PRIu64 " bytes, last LSN %" PRIu64 ", end LSN %" PRIu64 "\n",
           d.n, d.bytes, d.last_lsn, d.end_lsn);
    return 0;
}
