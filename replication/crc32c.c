/* crc32c: CRC-32C with the SSE4.2 instruction, and a compile-time table fallback. */
#include "replication/crc32c.h"

#include <string.h>

/* Reflected Castagnoli polynomial.  The table is built by the preprocessor so that it
 * is const data: no initialisation race, no mutable global. */
#define CRC32C_POLY 0x82F63B78u
#define C1(c)       (((c)&1u) ? (((c) >> 1) ^ CRC32C_POLY) : ((c) >> 1))
#define C8(c)       C1(C1(C1(C1(C1(C1(C1(C1((uint32_t)(c)))))))))
#define T4(n)       C8(n), C8((n) + 1), C8((n) + 2), C8((n) + 3)
#define T16(n)      T4(n), T4((n) + 4), T4((n) + 8), T4((n) + 12)
#define T64(n)      T16(n), T16((n) + 16), T16((n) + 32), T16((n) + 48)
static const uint32_t crc32c_table[256] = {T64(0), T64(64), T64(128), T64(192)};

uint32_t crc32c_sw(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *b = p;
    crc = ~crc;
    while (n--)
        crc = crc32c_table[(crc ^ *b++) & 0xffu] ^ (crc >> 8);
    return ~crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t c = ~crc;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        c = __builtin_ia32_crc32di(c, w);
        b += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--)
        c32 = __builtin_ia32_crc32qi(c32, *b++);
    return ~c32;
}

int crc32c_hw_available(void)
{
    return __builtin_cpu_supports("sse4.2");
}

uint32_t crc32c(uint32_t crc, const void *p, size_t n)
{
    if (__builtin_cpu_supports("sse4.2")) return crc32c_hw(crc, p, n);
    return crc32c_sw(crc, p, n);
}
#else
int crc32c_hw_available(void)
{
    return 0;
}

uint32_t crc32c(uint32_t crc, const void *p, size_t n)
{
    return crc32c_sw(crc, p, n);
}
#endif
