# io/http: the sans-I/O HTTP/1.1 server connection core (hconn), shared by the
# three I/O-model servers and the jobs lab.
WL_SRCS += io/http/hconn.c

UNIT_TESTS += test_hconn
test_hconn_SRCS := tests/unit/test_hconn.c
