/* dataset: the serialization comparison's input, the same orders written as
 * protobuf (wirelab.OrderBatch), JSON and XML, generated deterministically from a
 * seed and a record count (orders.c: same seed, same bytes, on any machine).
 *
 *   dataset [--records N] [--seed S] --out DIR   -> DIR/orders.{pb,json,xml}
 *
 * The three files carry the same information and are written by the hand writers
 * that `parse-bench --op write` times (orders.h): JSON uses the protobuf field names
 * (bytes as hex, the enum by name); XML puts scalars in attributes and repeated values
 * in child elements, the way such documents are usually written. */
#include "io/cli.h"
#include "labs/02-parsers/orders.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int dataset_save(const char *dir, const char *name, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
        perror(path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    long records = 1000;
    uint64_t seed = 42;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) {
            printf("usage: dataset [--records N] [--seed S] --out DIR   (writes "
                   "DIR/orders.{pb,json,xml})\n");
            return 0;
        } else if (i + 1 < argc && !strcmp(argv[i], "--records"))
            records = atol(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--seed"))
            seed = strtoull(argv[++i], NULL, 10);
        else if (i + 1 < argc && !strcmp(argv[i], "--out"))
            dir = argv[++i];
        else {
            cli_usage_error("dataset", "bad argument '%s'", argv[i]);
        }
    }
    if (!dir || records < 1 || records > 10000000) {
        cli_usage_error("dataset", "--out DIR is required, --records between 1 and 10000000");
    }
    int rc = 2;
    struct proto_arena a = {0};
    struct proto_order_batch batch;
    struct jw w = JW_INIT;
    struct orders_out o;
    uint8_t *pb = NULL;
    size_t pblen;
    if (orders_gen(&a, seed, (size_t)records, &batch) ||
        proto_encode(PROTO_ORDER_BATCH, &batch, &pb, &pblen)) {
        fprintf(stderr, "dataset: out of memory\n");
        goto out;
    }
    if (dataset_save(dir, "orders.pb", pb, pblen)) goto out;
    if (orders_write("json", "hand", &batch, &w, &o) ||
        dataset_save(dir, "orders.json", o.p, o.len))
        goto out;
    if (orders_write("xml", "hand", &batch, &w, &o) || dataset_save(dir, "orders.xml", o.p, o.len))
        goto out;
    printf("%ld records -> %s/orders.{pb,json,xml}\n", records, dir);
    rc = 0;
out:
    free(pb);
    jw_free(&w);
    proto_arena_free(&a);
    return rc;
}
