# labs/05-wal-replication: kv-server (WAL + commit levels + replication), wal-dump and
# the crash harness.  See NOTES.md.
PROGS += kv-server wal-dump crash-harness
kv-server_SRCS := labs/05-wal-replication/kv_server.c labs/05-wal-replication/kv_cmds.c \
                  labs/05-wal-replication/kv_commit.c labs/05-wal-replication/kv_snap.c
wal-dump_SRCS := labs/05-wal-replication/wal_dump.c
crash-harness_SRCS := labs/05-wal-replication/crash_harness.c labs/05-wal-replication/harness_client.c \
                      labs/05-wal-replication/harness_opts.c labs/05-wal-replication/harness_proc.c \
                      labs/05-wal-replication/harness_wal.c
DEPS_APT += redis-server redis-tools
# The real PostgreSQL beside the model: pg-pair.sh starts a primary and a synchronous
# standby; pg-crash-harness is crash-harness's twin over libpq.
PROGS += pg-crash-harness
pg-crash-harness_SRCS := labs/05-wal-replication/pg_crash_harness.c labs/05-wal-replication/pg_pair.c
pg-crash-harness_LIBS = $(shell pkg-config --libs libpq)
PKGS += libpq
DEPS_APT += postgresql-15 postgresql-client-15 libpq-dev
