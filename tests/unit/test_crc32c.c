/* Unit tests for replication/crc32c: check values, hardware = table, incremental. */
#include <criterion/criterion.h>
#include <string.h>

#include "replication/crc32c.h"

Test(crc32c, standard_check_value)
{
    cr_assert_eq(crc32c(0, "123456789", 9), 0xE3069283u);
    cr_assert_eq(crc32c_sw(0, "123456789", 9), 0xE3069283u);
    cr_assert_eq(crc32c(0, "", 0), 0u);
}

Test(crc32c, hardware_matches_table_at_every_length_and_alignment)
{
    unsigned char buf[300];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)(i * 131 + 7);
    for (size_t a = 0; a < 8; a++)
        for (size_t n = 0; n + a <= sizeof(buf); n += 7)
            cr_assert_eq(crc32c(0, buf + a, n), crc32c_sw(0, buf + a, n), "a=%zu n=%zu", a, n);
}

Test(crc32c, incremental_equals_one_shot)
{
    const char *s = "the quick brown fox jumps over the lazy dog";
    size_t n = strlen(s);
    for (size_t k = 0; k <= n; k++)
        cr_assert_eq(crc32c(crc32c(0, s, k), s + k, n - k), crc32c(0, s, n));
}
