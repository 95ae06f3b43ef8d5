# labs/04-disk-io: diskbench, pread vs threads vs libaio vs io_uring, measured against fio.
PROGS += diskbench
diskbench_SRCS := labs/04-disk-io/diskbench.c
diskbench_LIBS = $(shell pkg-config --libs liburing) -laio
DEPS_APT += fio liburing-dev libaio-dev
