# io/link: the scheduling core of the link emulator (labs/12-links' linkem) and the
# words links are described in.  Sans-I/O: tested with a fake clock.
WL_SRCS += io/link/link.c io/link/link_spec.c

UNIT_TESTS += test_link
test_link_SRCS := tests/unit/test_link.c
