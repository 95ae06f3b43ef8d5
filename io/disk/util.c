/* disk util: O_DIRECT alignment rules and their explanation, filesystem names, the
 * verify pattern and the latency histogram shared by every engine (see disk.h). */
#include "io/disk/disk.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

uint64_t disk_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int disk_dio_align_get(int fd, struct disk_dio_align *a)
{
    struct statx sx;
    memset(a, 0, sizeof *a);
    if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 && (sx.stx_mask & STATX_DIOALIGN) &&
        sx.stx_dio_offset_align != 0) {
        a->offset_align = sx.stx_dio_offset_align;
        a->mem_align = sx.stx_dio_mem_align;
        a->source = "statx STATX_DIOALIGN";
        return 0;
    }
    /* Fallback: the logical block size of the device under the file, i.e. what the
     * BLKSSZGET ioctl answers, read from sysfs (works without the /dev node). */
    struct stat st;
    if (fstat(fd, &st) != 0) return -1;
    char path[96];
    snprintf(path, sizeof path, "/sys/dev/block/%u:%u/queue/logical_block_size", major(st.st_dev),
             minor(st.st_dev));
    FILE *f = fopen(path, "r");
    if (!f) { /* a partition: its queue/ is in the parent directory */
        snprintf(path, sizeof path, "/sys/dev/block/%u:%u/../queue/logical_block_size",
                 major(st.st_dev), minor(st.st_dev));
        f = fopen(path, "r");
    }
    if (!f) return -1;
    unsigned lbs = 0;
    int ok = fscanf(f, "%u", &lbs) == 1 && lbs > 0;
    fclose(f);
    if (!ok) return -1;
    a->offset_align = a->mem_align = lbs;
    a->source = "device logical block size (BLKSSZGET, via sysfs)";
    return 0;
}

int disk_dio_explain(const struct disk_dio_align *a, uint64_t off, uint64_t len, const void *buf,
                     char *out, size_t outlen)
{
    size_t n = 0;
    int bad = 0;
    uintptr_t p = (uintptr_t)buf;
    out[0] = '\0';
#define DX_ADD(...)                                                                                \
    do {                                                                                           \
        if (n < outlen) n += (size_t)snprintf(out + n, outlen - n, __VA_ARGS__);                   \
    } while (0)
    if (a->offset_align && off % a->offset_align) {
        DX_ADD("offset %" PRIu64 " is not a multiple of %u; ", off, a->offset_align);
        bad = 1;
    }
    if (a->offset_align && len % a->offset_align) {
        DX_ADD("size %" PRIu64 " is not a multiple of %u; ", len, a->offset_align);
        bad = 1;
    }
    if (a->mem_align && p % a->mem_align) {
        DX_ADD("buffer address %p is not a multiple of %u (it is %u bytes past); ", buf,
               a->mem_align, (unsigned)(p % a->mem_align));
        bad = 1;
    }
    if (bad)
        DX_ADD("O_DIRECT on this file needs offset and size aligned to %u and the "
               "buffer to %u (from %s)",
               a->offset_align, a->mem_align, a->source);
#undef DX_ADD
    return bad;
}

const char *disk_fs_name(int fd, char *out, size_t outlen)
{
    static const struct {
        unsigned long magic;
        const char *name;
    } fs[] = {
        {0xEF53, "ext4"},      {0x58465342, "xfs"},       {0x9123683E, "btrfs"},
        {0x01021994, "tmpfs"}, {0x794c7630, "overlayfs"}, {0x6969, "nfs"},
        {0x65735546, "fuse"},  {0xF2F52010, "f2fs"},      {0x858458f6, "ramfs"},
        {0x2fc12fc1, "zfs"},   {0x4d44, "vfat"},          {0x5346544e, "ntfs"},
    };
    struct statfs sf;
    if (fstatfs(fd, &sf) != 0) {
        snprintf(out, outlen, "unknown fs (%s)", strerror(errno));
        return out;
    }
    for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++)
        if ((unsigned long)sf.f_type == fs[i].magic) {
            snprintf(out, outlen, "%s", fs[i].name);
            return out;
        }
    snprintf(out, outlen, "fs 0x%lx", (unsigned long)sf.f_type);
    return out;
}

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static uint8_t pattern_byte(uint64_t q, uint64_t gen)
{
    uint64_t w = splitmix64((q >> 3) + gen * 0x9E3779B97F4A7C15ull);
    return (uint8_t)(w >> (8 * (q & 7)));
}

void disk_pattern_fill(void *buf, uint64_t off, size_t len, uint64_t gen)
{
    uint8_t *b = buf;
    size_t i = 0;
    for (; i < len && ((off + i) & 7); i++)
        b[i] = pattern_byte(off + i, gen);
    for (; i + 8 <= len; i += 8) {
        uint64_t w = splitmix64(((off + i) >> 3) + gen * 0x9E3779B97F4A7C15ull);
        for (int k = 0; k < 8; k++) /* little-endian on every host */
            b[i + k] = (uint8_t)(w >> (8 * k));
    }
    for (; i < len; i++)
        b[i] = pattern_byte(off + i, gen);
}

int64_t disk_pattern_check(const void *buf, uint64_t off, size_t len, uint64_t gen)
{
    const uint8_t *b = buf;
    uint8_t tmp[4096];
    for (size_t i = 0; i < len; i += sizeof tmp) {
        size_t n = len - i < sizeof tmp ? len - i : sizeof tmp;
        disk_pattern_fill(tmp, off + i, n, gen);
        if (memcmp(tmp, b + i, n) != 0)
            for (size_t k = 0; k < n; k++)
                if (tmp[k] != b[i + k]) return (int64_t)(i + k);
    }
    return -1;
}

/* Buckets: values below 64 ns exactly; above, 32 sub-buckets per power of two. */
static unsigned hist_index(uint64_t v)
{
    if (v < 64) return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned e = msb - 5;
    unsigned idx = e * 32 + (unsigned)(v >> e);
    return idx < DISK_HIST_BUCKETS ? idx : DISK_HIST_BUCKETS - 1;
}

static uint64_t hist_value(unsigned idx)
{
    if (idx < 64) return idx;
    unsigned e = idx / 32 - 1;
    uint64_t m = idx - e * 32;
    return (m << e) + ((1ull << e) >> 1); /* middle of the bucket */
}

void disk_hist_add(struct disk_hist *h, uint64_t ns)
{
    h->b[hist_index(ns)]++;
    h->n++;
    if (ns > h->max_ns) h->max_ns = ns;
}

void disk_hist_merge(struct disk_hist *into, const struct disk_hist *from)
{
    for (unsigned i = 0; i < DISK_HIST_BUCKETS; i++)
        into->b[i] += from->b[i];
    into->n += from->n;
    if (from->max_ns > into->max_ns) into->max_ns = from->max_ns;
}

uint64_t disk_hist_pct(const struct disk_hist *h, double pct)
{
    if (h->n == 0) return 0;
    if (pct >= 100) return h->max_ns;
    /* the smallest value v such that at least pct% of samples are <= v */
    uint64_t want = (uint64_t)((double)h->n * pct / 100.0 + 0.999999);
    if (want == 0) want = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < DISK_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= want) {
            uint64_t v = hist_value(i);
            return v > h->max_ns ? h->max_ns : v;
        }
    }
    assert(0 && "histogram count mismatch");
    return h->max_ns;
}
