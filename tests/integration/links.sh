#!/usr/bin/env bash
# links: linkem through the real binary, with link-probe at both ends.  A round trip
# is the configured one (never shorter, a little longer on a loaded machine), a new
# connection costs one more round trip, --rate (and --up-rate/--down-rate) hold for
# one connection and for several sharing the link, memory stays flat under a receiver
# that never reads, a reset crosses in both directions, a half-close delivers what is
# in flight, 1,000 connections cross one emulator, SIGTERM is a clean exit, and bad
# flags are one error line and exit 2.  Then the labs' clients through it: rr-client's
# new and kept-alive requests cost two round trips and one, notify-client --changes
# measures every change of every job, broker-bench fanout is held to the link's rate.
# Tolerances: a result may be late by 5% + 5-10 ms (a shared 2-core machine); it is
# never early, and a linkem that ignores --delay or --rate is off by 10x or more.
# Budget: 50 s.
cd "$(dirname "$0")/../.." || exit 1
source tests/lib.sh
REL=$BUILD/bin # the release build, for the memory check: ASan's own RSS is not linkem's
for p in "$BIN/linkem" "$BIN/link-probe" "$REL/linkem" "$BIN/jobs-server" "$BIN/rr-client" \
  "$BIN/notify-client" "$BIN/broker" "$BIN/broker-bench"; do
  [ -x "$p" ] || { bad "build" "$p missing: run 'make all asan'"; finish; }
done

start_server SRV "$BIN/link-probe" serve --port 0 || finish

# kv KEY LINE: the value of KEY=... in a key=value line ("" when absent)
kv() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }
# median of the arguments (numbers)
med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]}'; }
# within NAME VALUE LO HI: LO <= VALUE <= HI, VALUE a number (check_num)
within() { check_num "$1 [$3, $4]" "$2" '>=' "$3" '<=' "$4"; }
# link VAR ARGS...: a linkem to the probe server; its port in VAR, its pid in VAR_PID
link() { local v=$1; shift; start_server "$v" "$BIN/linkem" --to "127.0.0.1:$SRV" "$@"; }

# ---- bad input: one line, exit 2, nothing listens ----
plan 13
usage_case() {
  local name=$1; shift
  "$BIN/linkem" "$@" >"$T_TMP/u.out" 2>"$T_TMP/u.err"
  local rc=$? first
  first=$(head -1 "$T_TMP/u.err")
  if [ "$rc" = 2 ] && [[ "$first" == "linkem: error: "* ]] && [ ! -s "$T_TMP/u.out" ] &&
     [ "$(wc -l <"$T_TMP/u.err")" -le 2 ]; then
    ok "$name: exit 2, '$first'"
  else
    bad "$name" "rc=$rc stderr=[$(head -c 300 "$T_TMP/u.err")] stdout=[$(head -c 100 "$T_TMP/u.out")]"
  fi
}
usage_case "negative delay" --to "127.0.0.1:$SRV" --delay -5ms
usage_case "a rate of fast" --to "127.0.0.1:$SRV" --rate fast
usage_case "unreachable --to" --to 127.0.0.1:1
usage_case "no --to" --delay 1ms
usage_case "unknown profile" --to "127.0.0.1:$SRV" --profile moon
usage_case "bad queue" --to "127.0.0.1:$SRV" --queue lots
usage_case "delay without a unit" --to "127.0.0.1:$SRV" --delay 40
out=$("$BIN/linkem" --help); rc=$?
expect_eq "--help exits 0" 0 "$rc"
for want in "lan " "region " "continent " "mobile " "40 ms each way, 100 mbit"; do
  case "$out" in *"$want"*) ok "--help names '$want'" ;; *) bad "--help names '$want'" "$out" ;; esac
done

# ---- round trips: the delay each way, never less; a new connection pays one more ----
# One-shot times are medians of three: a single wake-up on a loaded machine can be late
# by 20 ms, a linkem that ignores the delay is early by 40.
plan 3
link L1 --delay 20ms || finish
r=$("$BIN/link-probe" rtt --to "127.0.0.1:$L1" --count 20)
within "round trip p50, 20 ms each way (us)" "$(kv rtt_p50_us "$r")" 40000 50000
within "no round trip shorter than 40 ms (us)" "$(kv rtt_min_us "$r")" 40000 1000000
r=$("$BIN/link-probe" rtt --to "127.0.0.1:$L1" --count 7 --new)
within "new connection + one exchange: two round trips, not three (us)" "$(kv rtt_p50_us "$r")" 80000 115000

# ---- RST both ways, after the delay ----
plan 4
t=() got=()
for _ in 1 2 3; do
  r=$("$BIN/link-probe" reset --to "127.0.0.1:$L1" --who server)
  got+=("$(kv got "$r")") t+=("$(kv after_us "$r")")
done
expect_eq "the server's reset reaches the client as a reset (3 times)" "reset reset reset" "${got[*]}"
# handshake 40 ms, 'r' to the server 20 ms, the RST back 20 ms
within "... after the handshake and one round trip (us, median)" "$(med "${t[@]}")" 80000 100000
t=() got=()
for i in 1 2 3; do
  r=$("$BIN/link-probe" reset --to "127.0.0.1:$L1" --who client)
  at=$(kv reset_at_ns "$r")
  for _ in $(seq 1 50); do [ "$(grep -cE '^(reset|eof) ' "$T_TMP/SRV.log")" -ge "$i" ] && break; sleep 0.05; done
  line=$(grep -E '^(reset|eof) ' "$T_TMP/SRV.log" | sed -n "${i}p")
  got+=("${line%% *}")
  [ -n "$at" ] && [ -n "$line" ] && t+=("$(( (${line#* } - at) / 1000000 ))")
done
expect_eq "the client's reset reaches the server as a reset (3 times)" "reset reset reset" "${got[*]}"
within "... one delay later (ms, median)" "$(med "${t[@]}")" 20 35

# ---- rates: the link's, shared by its connections, each direction its own ----
plan 4
link L2 --rate 8mbit --delay 1ms || finish
r=$("$BIN/link-probe" bulk --to "127.0.0.1:$L2" --seconds 2)
within "8 mbit, one connection: bytes/s" "$(kv rate_Bps "$r")" 900000 1050000
r=$("$BIN/link-probe" bulk --to "127.0.0.1:$L2" --seconds 2 --conns 10)
within "8 mbit shared by 10 connections: bytes/s in all" "$(kv rate_Bps "$r")" 850000 1050000
link L3 --up-rate 16mbit --down-rate 4mbit --delay 1ms --queue 64k || finish
r=$("$BIN/link-probe" bulk --to "127.0.0.1:$L3" --seconds 1.5 --dir up)
within "--up-rate 16mbit, as the server received it" "$(kv rate_Bps "$r")" 1800000 2100000
r=$("$BIN/link-probe" bulk --to "127.0.0.1:$L3" --seconds 1.5)
within "--down-rate 4mbit" "$(kv rate_Bps "$r")" 450000 525000

# ---- half-close: the FIN follows the bytes in flight ----
plan 1
r=$("$BIN/link-probe" halfclose --to "127.0.0.1:$L2" --size 200000)
expect_eq "half-close at 8 mbit: every byte echoed before the FIN" "echoed=200000 sent=200000 intact=1" "$r"

# ---- memory: a fast sender, a receiver that never reads ----
plan 3
start_server LM "$REL/linkem" --to "127.0.0.1:$SRV" --queue 256k || finish
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
rss0=$(rss "$LM_PID")
"$BIN/link-probe" flood --to "127.0.0.1:$LM" --conns 20 --seconds 3 >"$T_TMP/flood" 2>&1 &
fpid=$!
sleep 1.2
rss1=$(rss "$LM_PID")
wait "$fpid"
rss2=$(rss "$LM_PID")
w=$(kv written "$(cat "$T_TMP/flood")")
within "the senders wrote more than the link holds (bytes)" "$w" $((20 * 262144)) 100000000000
# 20 connections x 256 KiB, plus the program and its tables (KiB)
within "RSS growth under 20 stuck receivers (KiB)" "$((rss2 - rss0))" 0 $((20 * 256 + 16384))
within "RSS flat while the senders keep trying (KiB, 1.2 s to 3 s)" "$((rss2 - rss1))" -100000 8192

# ---- 1,000 connections through one emulator ----
plan 2
link L4 --delay 5ms || finish
r=$("$BIN/link-probe" conns --to "127.0.0.1:$L4" --conns 1000 --size 100)
expect_eq "1000 connections, one echo each, all whole" 1000 "$(kv ok "$r")"
alive "linkem still runs after 1000 connections" "$L4_PID"

# ---- a --lazy link to nothing: the client is reset after one round trip ----
plan 2
link L5 --to 127.0.0.1:1 --lazy --delay 10ms || finish
t=() got=()
for _ in 1 2 3; do
  r=$("$BIN/link-probe" reset --to "127.0.0.1:$L5" --who server)
  got+=("$(kv got "$r")") t+=("$(kv after_us "$r")")
done
expect_eq "--to refuses: the client gets a reset (3 times)" "reset reset reset" "${got[*]}"
within "... after one round trip (us, median)" "$(med "${t[@]}")" 20000 35000

# ---- the labs through a link: rr-client 2, notify-client 3 + 2, broker-bench 2 ----
plan 9
start_server JOBS "$BIN/jobs-server" --port 0 || finish
link LJ --to "127.0.0.1:$JOBS" --delay 20ms || finish
js=$("$BIN/rr-client" --requests 2 --json "http://127.0.0.1:$LJ/stats")
new_ms=$(sed -n 1p <<<"$js" | sed -nE 's/.*"new_connection":true.*"total_ms":([0-9.]+).*/\1/p')
kept_ms=$(sed -n 2p <<<"$js" | sed -nE 's/.*"new_connection":false.*"total_ms":([0-9.]+).*/\1/p')
within "rr-client, a new connection: two round trips of 40 ms, not three (ms)" "$new_ms" 80 115
within "rr-client, the same connection kept alive: one round trip, not two (ms)" "$kept_ms" 40 75
for m in long sse; do
  r=$("$BIN/notify-client" --server "127.0.0.1:$LJ" --mode "$m" --clients 5 --jobs 2 --work-ms 200 \
        --changes --timeout 20 --json 2>"$T_TMP/nc.err")
  expect_eq "notify-client --changes --mode $m: 10 jobs x 11 changes, none missing" "110 0" \
    "$(sed -nE 's/.*"changes":([0-9]+),"changes_missing":([0-9]+).*/\1 \2/p' <<<"$r")"
  p50=$(sed -nE 's/.*"change_p50_ms":([0-9.]+).*/\1/p' <<<"$r")
  max=$(sed -nE 's/.*"change_max_ms":([0-9.]+).*/\1/p' <<<"$r")
  within "... --mode $m: no change known before it crossed the link (p50, ms)" "$p50" 20 1000
  [ "$m" = long ] && within "... a change just after a long poll's answer waits for the next request (max, ms)" "$max" 60 1000
done
start_server BRK "$BIN/broker" --port 0 || finish
link LB --to "127.0.0.1:$BRK" --rate 8mbit --delay 2ms || finish
r=$("$BIN/broker-bench" fanout --port "$LB" --subs 2 --msgs 300 --size 1024 --window 64)
# 2 x 300 deliveries of 1061 bytes at 1,000,000 bytes/s: at most ~943 a second
within "broker-bench fanout behind 8 mbit: deliveries/s held to the link" "$(kv delivered_per_s "$r")" 700 990
expect_eq "... no subscriber cut at the default limit" 0 "$(kv cut "$r")"

# ---- SIGTERM: a clean exit ----
plan 2
stop_server L1 "SIGTERM: exit 0, no sanitizer report"
if grep -q "^linkem: stopped: " "$T_TMP/L1.log"; then ok "SIGTERM: the stopped line"; else bad "SIGTERM: the stopped line" "$(tail -2 "$T_TMP/L1.log")"; fi
finish
