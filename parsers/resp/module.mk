# parsers/resp/: the RESP2 (Redis protocol) request parser and reply encoders.
WL_SRCS += parsers/resp/resp.c

UNIT_TESTS += test_resp
test_resp_SRCS := tests/unit/test_resp.c
