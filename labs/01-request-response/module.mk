# labs/01-request-response: rr-client, the timeline of one request (client clock +
# the server's Server-Timing).  NOTES.md says how to run it.
PROGS += rr-client
rr-client_SRCS := labs/01-request-response/rr-client.c
