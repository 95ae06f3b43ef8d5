# labs/05-wal-replication: kv-server (WAL + commit levels + replication), wal-dump and
# the crash harness.  See NOTES.md.
PROGS += kv-server wal-dump crash-harness
kv-server_SRCS := labs/05-wal-replication/kv_server.c labs/05-wal-replication/kv_cmds.c \
                  labs/05-wal-replication/kv_commit.c labs/05-wal-replication/kv_snap.c
wal-dump_SRCS := labs/05-wal-replication/wal_dump.c
crash-harness_SRCS := labs/05-wal-replication/crash_harness.c labs/05-wal-replication/harness_client.c \
                      labs/05-wal-replication/harness_wal.c
DEPS_APT += redis-server redis-tools
