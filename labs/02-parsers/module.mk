# labs/02-parsers: the `parse` tool, the bench driver and the dataset generator.
PROGS += parse
parse_SRCS := labs/02-parsers/parse.c
parse_LIBS = $(PARSERS_LIBS)
PARSERS_USERS += parse parse-bench dataset parse-hostile test_writers

PROGS += parse-bench dataset
# orders.c: the serialization comparison's records and writers (hand JSON/XML writers
# from parsers/json/json_write.c and parsers/xml/xml_write.c, in libwire.a).
parse-bench_SRCS := labs/02-parsers/bench.c labs/02-parsers/orders.c labs/02-parsers/orders_lib.c
parse-bench_LIBS = $(PARSERS_LIBS)
dataset_SRCS := labs/02-parsers/dataset.c labs/02-parsers/orders.c labs/02-parsers/orders_lib.c
dataset_LIBS = $(PARSERS_LIBS)

# parse-hostile: the complexity test (tests/integration/parsers-complexity.sh) and the
# bench's complexity table; it feeds llhttp a byte at a time itself, hence its header.
PROGS += parse-hostile
parse-hostile_SRCS := labs/02-parsers/hostile.c labs/02-parsers/hostile_gen.c \
                      labs/02-parsers/orders.c labs/02-parsers/orders_lib.c
parse-hostile_LIBS = $(PARSERS_LIBS)
$(BUILD)/rel/obj/labs/02-parsers/hostile.o $(BUILD)/asan/obj/labs/02-parsers/hostile.o: \
	BASE_CFLAGS += -I/usr/share/include/llhttp

# simdjson (C++) is the bench's JSON reference row: a small shim built with g++.
DEPS_APT += libsimdjson-dev g++
# valgrind: NOTES.md and docs/reading-results.md count instructions with callgrind.
DEPS_APT += valgrind
all: $(BUILD)/bin/simdjson-bench
$(BUILD)/bin/simdjson-bench: labs/02-parsers/simdjson_bench.cpp
	@mkdir -p $(dir $@)
	@echo "  CXX     $@"
	$(Q)g++ -std=c++17 -O2 -g -Wall -Wextra -o $@ $< $$(pkg-config --cflags --libs simdjson)

# Bench corpora: simdjson's jsonexamples (npm), fetched by `make corpora`.
corpora: $(BUILD)/npm/simdjson/node_modules/simdjson/jsonexamples/twitter.json
$(BUILD)/npm/simdjson/node_modules/simdjson/jsonexamples/twitter.json:
	@mkdir -p $(BUILD)/npm/simdjson
	npm install --no-save --no-audit --no-fund --prefix $(BUILD)/npm/simdjson simdjson@0.9.2 >/dev/null
	@test -f $@ || { echo "corpora: simdjson@0.9.2 did not ship jsonexamples/twitter.json" >&2; exit 1; }

# The JSON and XML writers (parsers/json/json_write.c, parsers/xml/xml_write.c).
UNIT_TESTS += test_writers
test_writers_SRCS := tests/unit/test_writers.c
test_writers_LIBS = $(PARSERS_LIBS)
