# io/ws: the sans-I/O WebSocket (RFC 6455) codec; SHA-1 and base64 come from libcrypto.
WL_SRCS += io/ws/ws.c
PKGS += libcrypto
DEPS_APT += libssl-dev

UNIT_TESTS += test_ws test_ws_split
test_ws_SRCS := tests/unit/test_ws.c
test_ws_LIBS = $(shell pkg-config --libs libcrypto)
test_ws_split_SRCS := tests/unit/test_ws_split.c
test_ws_split_LIBS = $(shell pkg-config --libs libcrypto)
