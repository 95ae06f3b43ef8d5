# io/rsrv/: the RESP server core (clients, command table, deferred and gated replies, output
# limits) and the pieces both Redis-protocol servers use: dict, glob, oblimit.
WL_SRCS += io/rsrv/rsrv.c io/rsrv/rsrv_out.c io/rsrv/dict.c io/rsrv/glob.c io/rsrv/oblimit.c

UNIT_TESTS += test_rsrv test_rsrv_parts
test_rsrv_SRCS := tests/unit/test_rsrv.c
test_rsrv_parts_SRCS := tests/unit/test_rsrv_parts.c
