# parsers/http: the hand-written HTTP/1.1 request parser (http1) and its
# parser_impl ("http", "hand").
WL_SRCS += parsers/http/http1.c parsers/http/http_impl.c

UNIT_TESTS += test_http1
test_http1_SRCS := tests/unit/test_http1.c
