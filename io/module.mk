# io/: how bytes move.  Mechanisms only; each header states its contract.
WL_SRCS += io/ev.c io/net.c io/acceptor.c io/cli.c

UNIT_TESTS += test_ev test_acceptor
test_ev_SRCS := tests/unit/test_ev.c
test_acceptor_SRCS := tests/unit/test_acceptor.c
