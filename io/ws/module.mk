# io/ws: the sans-I/O WebSocket (RFC 6455) codec; SHA-1 and base64 come from libcrypto.
WL_SRCS += io/ws/ws.c
PKGS += libcrypto
DEPS_APT += libssl-dev

UNIT_TESTS += test_ws test_ws_split
test_ws_SRCS := tests/unit/test_ws.c
test_ws_LIBS = $(shell pkg-config --libs libcrypto)
test_ws_split_SRCS := tests/unit/test_ws_split.c
test_ws_split_LIBS = $(shell pkg-config --libs libcrypto)

# libFuzzer target (clang), run by `make fuzz` beside tests/fuzz's targets:
# the frame parser in both roles and io/httpc's response and SSE parsers.
FUZZ_WS_BIN := $(BUILD)/fuzz/fuzz_ws
$(FUZZ_WS_BIN): tests/fuzz/fuzz_ws.c io/ws/ws.c io/httpc/httpc.c io/httpc/ssec.c parsers/utf8.c
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	$(Q)clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=undefined -I. -o $@ $^ $(shell pkg-config --libs libcrypto)
.PHONY: fuzz-ws
fuzz-ws: $(FUZZ_WS_BIN)
	$(Q)mkdir -p $(BUILD)/fuzz/corpus/ws && \
	  $(FUZZ_WS_BIN) -max_total_time=$(or $(FUZZ_SECONDS),60) -max_len=8192 -rss_limit_mb=2048 \
	    -artifact_prefix=$(BUILD)/fuzz/fuzz_ws- $(BUILD)/fuzz/corpus/ws >$(BUILD)/fuzz/fuzz_ws.log 2>&1; \
	  rc=$$?; tail -2 $(BUILD)/fuzz/fuzz_ws.log; \
	  [ $$rc -eq 0 ] || { echo "fuzz_ws: finding, see $(BUILD)/fuzz/fuzz_ws.log"; exit 1; }
fuzz: fuzz-ws
DEPS_APT += clang
