# io/disk/: the disk I/O engines (pread, threads, libaio, io_uring) and the runner.
# libaio ships no .pc file: programs link it with -laio.
WL_SRCS += io/disk/util.c io/disk/engine_sync.c io/disk/engine_aio.c \
           io/disk/engine_uring.c io/disk/run.c
PKGS += liburing
DEPS_APT += liburing-dev libaio-dev

UNIT_TESTS += test_disk
test_disk_SRCS := tests/unit/test_disk.c
test_disk_LIBS = $(shell pkg-config --libs liburing) -laio
