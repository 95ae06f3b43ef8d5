# labs/12-links: linkem, a link emulator (delay, jitter, rate, queue) on io/link and
# io/ev, and link-probe, both ends of a measurement through it.  NOTES.md says how.
PROGS += linkem link-probe
linkem_SRCS := labs/12-links/linkem.c
link-probe_SRCS := labs/12-links/link-probe.c
