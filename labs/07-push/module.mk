# labs/07-push: notify-client, the one client that compares every pattern (short and
# long polling, SSE, webhooks, WebSocket) against a jobs-server.  NOTES.md says how.
PROGS += notify-client
notify-client_SRCS := labs/07-push/notify-client.c labs/07-push/nws.c labs/07-push/nc_conn.c \
                      labs/07-push/receiver.c labs/07-push/nchanges.c
notify-client_LIBS = $(shell pkg-config --libs libcrypto)
PKGS += libcrypto
DEPS_APT += libssl-dev

# The browser test (tests/integration/browser.sh) drives Debian's chromium with
# playwright-core from npm (no browser download: executablePath is /usr/bin/chromium).
DEPS_APT += chromium npm python3
PW_CORE := $(BUILD)/npm/playwright-core/node_modules/playwright-core/package.json
corpora: $(PW_CORE)
$(PW_CORE):
	@mkdir -p $(BUILD)/npm/playwright-core
	cd $(BUILD)/npm/playwright-core && npm install --no-audit --no-fund --loglevel=error \
	  --no-save playwright-core@1.65.1
