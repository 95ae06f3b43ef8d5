# io/: how bytes move.  Mechanisms only; each header states its contract.
WL_SRCS += io/ev.c io/net.c

UNIT_TESTS += test_ev
test_ev_SRCS := tests/unit/test_ev.c
