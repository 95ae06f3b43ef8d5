# parsers/resp/: the RESP2 (Redis protocol) request parser, reply parser and encoders.
WL_SRCS += parsers/resp/resp.c parsers/resp/resp_reply.c

UNIT_TESTS += test_resp
test_resp_SRCS := tests/unit/test_resp.c
