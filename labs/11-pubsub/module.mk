# labs/11-pubsub: the Redis-protocol pub/sub broker with durable streams (build/bin/broker)
# and its bench driver (build/bin/broker-bench).
BROKER_CORE := labs/11-pubsub/pubsub.c labs/11-pubsub/stream.c
PROGS += broker
broker_SRCS := $(BROKER_CORE) labs/11-pubsub/broker.c labs/11-pubsub/block.c labs/11-pubsub/cmds.c \
               labs/11-pubsub/xcmd.c labs/11-pubsub/xgroup.c labs/11-pubsub/xclaim.c \
               labs/11-pubsub/blog.c labs/11-pubsub/bsnap.c

PROGS += broker-bench
broker-bench_SRCS := labs/11-pubsub/broker_bench.c

UNIT_TESTS += test_broker_stream test_broker_pubsub
test_broker_stream_SRCS := tests/unit/test_broker_stream.c labs/11-pubsub/stream.c
test_broker_pubsub_SRCS := tests/unit/test_broker_pubsub.c labs/11-pubsub/pubsub.c

DEPS_APT += redis-server redis-tools python3
