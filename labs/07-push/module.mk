# labs/07-push: notify-client, the one client that compares every pattern (short and
# long polling, SSE, webhooks, WebSocket) against a jobs-server.  NOTES.md says how.
PROGS += notify-client
notify-client_SRCS := labs/07-push/notify-client.c labs/07-push/nc_conn.c labs/07-push/receiver.c
notify-client_LIBS = $(shell pkg-config --libs libcrypto)
PKGS += libcrypto
DEPS_APT += libssl-dev
