# io/http: the sans-I/O HTTP/1.1 server connection core (hconn), shared by the
# three I/O-model servers and the jobs lab, and hconn_io, its socket side (send
# the output, cut or linger at the close).
WL_SRCS += io/http/hconn.c io/http/hconn_io.c

UNIT_TESTS += test_hconn
test_hconn_SRCS := tests/unit/test_hconn.c

UNIT_TESTS += test_hconn_io
test_hconn_io_SRCS := tests/unit/test_hconn_io.c
