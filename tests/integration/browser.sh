#!/usr/bin/env bash
# browser: the jobs page (GET /) in headless Chromium, driven by playwright-core:
# SSE events arrive; when the network drops the stream (cutproxy.py in between) the
# browser reconnects with Last-Event-ID and nothing is lost or repeated; the
# WebSocket chat delivers between two pages; and HTTP/1.1's six connections per
# origin: a seventh EventSource stays pending while six are open.  Budget: 40 s.
cd "$(dirname "$0")/../.." || exit 1
source tests/lib.sh
need node python3 /usr/bin/chromium
plan 3
PW_DIR=$BUILD/npm/playwright-core
[ -f "$PW_DIR/node_modules/playwright-core/package.json" ] ||
  { bad "playwright-core" "not in $PW_DIR: run 'make BUILD=$BUILD corpora'"; finish; }

start_server JOBS "$BIN/jobs-server" --port 0 --heartbeat 1 || finish
start_server PROXY python3 tests/integration/cutproxy.py "$JOBS" || finish

# the page is served and names both transports
page=$(curl -s --max-time 5 "http://127.0.0.1:$JOBS/")
case "$page" in *EventSource*WebSocket*) ok "GET / serves the jobs page" ;; *) bad "GET / serves the jobs page" "$(printf '%s' "$page" | head -c 200)" ;; esac

mkdir -p "$T_TMP/profile"
# its checks, and one more: node exits 0 (not 124: timed out) after all it planned
run_checks "" env SERVER="http://127.0.0.1:$JOBS" PROXY="http://127.0.0.1:$PROXY" \
  PROXY_PID="$PROXY_PID" PROFILE="$T_TMP/profile" PW_DIR="$(pwd)/$PW_DIR" \
  timeout 35 node tests/integration/browser.js
alive "jobs-server survives the browsers" "$JOBS_PID"
finish
