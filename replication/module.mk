# replication/: the write-ahead log (records, CRC-32C, segments, recovery, group commit)
# and the primary/replica stream (walsnd, walrcv); checkpoints (ckpt).
WL_SRCS += replication/crc32c.c replication/wal.c replication/wal_seg.c replication/wal_recover.c \
           replication/wal_dir.c replication/walsnd.c replication/walrcv.c replication/ckpt.c

UNIT_TESTS += test_crc32c test_wal test_wal_disk test_walstream test_ckpt
test_crc32c_SRCS := tests/unit/test_crc32c.c
test_wal_SRCS := tests/unit/test_wal.c
test_wal_disk_SRCS := tests/unit/test_wal_disk.c
test_walstream_SRCS := tests/unit/test_walstream.c
test_ckpt_SRCS := tests/unit/test_ckpt.c
