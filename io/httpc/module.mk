# io/httpc: the client side of HTTP/1.1 (response parser) and SSE (event-stream
# parser), sans-I/O, for the lab clients (rr-client, notify-client) and the
# jobs-server's webhook sender.
WL_SRCS += io/httpc/httpc.c io/httpc/ssec.c

UNIT_TESTS += test_httpc
test_httpc_SRCS := tests/unit/test_httpc.c
