#!/usr/bin/env bash
# push: rr-client and notify-client against a real jobs-server, every mode.
# rr-client prints the timeline with the server's Server-Timing phases;
# notify-client completes every job by short polling, long polling, SSE, a webhook
# (signed; and while its receiver is offline, so retries are what delivers) and
# WebSocket, reporting the delay from the server's done_us to the client knowing.
# Budget: 25 s.  Timing assertions are loose: the machine is shared.
cd "$(dirname "$0")/../.." || exit 1
source tests/lib.sh
need curl python3

SECRET=push-test-secret
start_server JOBS "$BIN/jobs-server" --port 0 --webhook-secret "$SECRET" --webhook-backoff 200 || finish
URL=http://127.0.0.1:$JOBS

# ---- rr-client: the timeline of one request ----
plan 14
id=$(curl -s -X POST -d '{"work_ms":50}' "$URL/jobs" | sed -nE 's/.*"id":"([0-9]+)".*/\1/p')
out=$("$BIN/rr-client" "$URL/jobs/$id" 2>&1); rc=$?
expect_eq "rr-client exits 0 on 200" 0 "$rc"
for phase in "request created" "request sent" "server parsed it" "server processed it" \
             "server prepared the response" "response received" "response parsed" "where the time went"; do
  case "$out" in *"$phase"*) ok "rr-client timeline has '$phase'" ;; *) bad "rr-client timeline has '$phase'" "$(head -c 300 <<<"$out")" ;; esac
done
js=$("$BIN/rr-client" --json "$URL/jobs/$id")
check "rr-client --json: Server-Timing parsed, phases sum below the total" python3 -c '
import json, sys
j = json.loads(sys.argv[1])
assert j["status"] == 200 and j["server_timing"], j
assert set(j["metrics"]) >= {"recv", "parse", "process", "respond"}, j["metrics"]
assert 0 <= j["server_ms"] <= j["total_ms"], j
' "$js"
post=$("$BIN/rr-client" --json --data '{"work_ms":10}' "$URL/jobs")
check "rr-client --data POSTs (202)" python3 -c 'import json,sys; assert json.loads(sys.argv[1])["status"] == 202' "$post"
"$BIN/rr-client" "$URL/jobs/999999" >/dev/null 2>&1
expect_eq "rr-client exits 1 on a 404" 1 "$?"
"$BIN/rr-client" "ftp://nowhere" >/dev/null 2>&1
expect_eq "rr-client: bad URL is exit 2" 2 "$?"
"$BIN/rr-client" "http://127.0.0.1:1/" >"$T_TMP/refused" 2>&1
expect_eq "rr-client: refused connection is exit 1" 1 "$?"

# ---- notify-client: every mode completes every job ----
plan 20
# run NAME EXTRA-ARGS...: runs notify-client --json, stores the JSON in $T_TMP/NAME.json
run() {
  local name=$1; shift
  timeout 20 "$BIN/notify-client" --server "127.0.0.1:$JOBS" --json --timeout 15 "$@" >"$T_TMP/$name.json" 2>"$T_TMP/$name.err"
  echo $? >"$T_TMP/$name.rc"
}
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$T_TMP/$1.json" "$2" 2>/dev/null; }

# (waited for by pid: a bare `wait` would wait for the server too)
pids=()
run short  --mode short --interval 50 --clients 20 --jobs 2 --work-ms 300 & pids+=($!)
run long   --mode long --clients 20 --jobs 2 --work-ms 300 & pids+=($!)
run sse    --mode sse --clients 20 --jobs 2 --work-ms 300 & pids+=($!)
wait "${pids[@]}"
pids=()
run ws      --mode ws --clients 20 --jobs 2 --work-ms 300 & pids+=($!)
run webhook --mode webhook --clients 20 --jobs 2 --work-ms 300 --webhook-secret "$SECRET" & pids+=($!)
run offline --mode webhook --clients 5 --jobs 1 --work-ms 50 --receiver-offline-ms 700 & pids+=($!)
wait "${pids[@]}"
for m in short long sse ws webhook; do
  expect_eq "notify-client --mode $m: every job seen done" "40 0" "$(field $m completed) $(field $m failed_clients)"
  expect_eq "notify-client --mode $m: exit 0" 0 "$(cat "$T_TMP/$m.rc")"
  expect_eq "notify-client --mode $m: every completion carries the server's done_us" 0 "$(field $m missing_timestamps)"
done
check "webhook deliveries are signed with the server's secret" test "$(field webhook bad_signatures)" = 0 -a "$(field webhook webhook_deliveries)" -ge 40
# the notes' claims, with generous margins
check "short polling: p50 delay well above SSE's (not real time)" python3 -c '
import json, sys
s, e = (json.load(open(f)) for f in sys.argv[1:3])
assert s["delay_p50_ms"] > 10 and s["delay_p50_ms"] > 2 * e["delay_p50_ms"], (s["delay_p50_ms"], e["delay_p50_ms"])
' "$T_TMP/short.json" "$T_TMP/sse.json"
check "short polling: more requests per job than SSE, WebSocket or webhook (chatty)" python3 -c '
import json, sys
r = {m: json.load(open(f"{sys.argv[1]}/{m}.json"))["requests_per_job"] for m in ("short", "sse", "ws", "webhook")}
assert r["short"] > max(r["sse"], r["ws"], r["webhook"]) and r["short"] >= 4, r
' "$T_TMP"
check "webhook to an offline receiver: delivered by a retry, hundreds of ms late (client must be online)" python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["completed"] == 5 and j["delay_p50_ms"] >= 150, j
' "$T_TMP/offline.json"

# one process, one loop: 300 clients on SSE at once
run many --mode sse --clients 300 --jobs 1 --work-ms 500
expect_eq "300 SSE clients in one notify-client process" "300 0" "$(field many completed) $(field many failed_clients)"

# bad arguments
plan 4
"$BIN/notify-client" --mode bogus --clients 1 --jobs 1 >/dev/null 2>&1
expect_eq "notify-client: unknown mode is exit 2" 2 "$?"
"$BIN/notify-client" --mode short --clients 0 --jobs 1 >/dev/null 2>&1
expect_eq "notify-client: zero clients is exit 2" 2 "$?"
"$BIN/notify-client" --mode short --clients 1 --jobs 1 --server 127.0.0.1:1 --timeout 2 >/dev/null 2>&1
expect_eq "notify-client: server down is exit 1" 1 "$?"
alive "jobs-server still serving" "$JOBS_PID"
finish
