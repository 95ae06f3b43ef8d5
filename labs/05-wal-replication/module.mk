# labs/05-wal-replication: kv-server (WAL + commit levels + replication), wal-dump and
# the crash harness.  See NOTES.md.
PROGS += kv-server wal-dump
kv-server_SRCS := labs/05-wal-replication/kv_server.c labs/05-wal-replication/kv_repl.c \
                  labs/05-wal-replication/kv_store.c
wal-dump_SRCS := labs/05-wal-replication/wal_dump.c
DEPS_APT += redis-server redis-tools
