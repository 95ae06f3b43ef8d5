/* crc32c: CRC-32C (Castagnoli), the checksum of every WAL record.
 *
 * Contract
 * - crc32c(crc, p, n) extends crc over n bytes; start with 0.  crc32c(0, "123456789", 9)
 *   is 0xE3069283 (the standard check value).
 * - Uses the SSE4.2 crc32 instruction when the CPU has it (checked once per call with
 *   __builtin_cpu_supports, which is cheap), else an 8-bit table computed at compile
 *   time.  crc32c_sw() is the table version alone, for tests and for comparison.
 * - Thread-safe, no allocation, no mutable global state.
 */
#ifndef WIRELAB_REPLICATION_CRC32C_H
#define WIRELAB_REPLICATION_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32c(uint32_t crc, const void *p, size_t n);
uint32_t crc32c_sw(uint32_t crc, const void *p, size_t n);
int crc32c_hw_available(void);

#endif
