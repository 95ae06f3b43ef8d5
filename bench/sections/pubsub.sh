#!/usr/bin/env bash
# bench pubsub: the broker (labs/11-pubsub) against Debian's redis-server, same harness,
# same run, server pinned to core 0 and load generator to core 1:
#   1. messages delivered per second, 1 publisher and 1, 10, 50 subscribers, 64-byte
#      payloads (broker-bench pubsub: WINDOW publishes in flight, the clock stops when
#      every subscriber has every message); target >= 1.0x Redis at every fan-out
#   2. redis-benchmark PUBLISH (50 clients, pipeline 16, no subscribers): the request path
#   3. queue throughput, per message XADD + XREADGROUP COUNT 1 + XACK, 64 pipelined per
#      round trip: Redis with appendonly yes + appendfsync everysec against the broker
#      with --data-dir and --appendfsync everysec (both write before replying and
#      fdatasync once a second); target >= 1.0x Redis
# Quick profile: median of 5 alternating runs per cell, <= 250k deliveries per run (~30 s:
# short runs, more of them, because this 2-core machine is shared and noisy).
# FULL=1: median of 5, ~2M deliveries per run.
source "$(dirname "$0")/../lib.sh"
need redis-server redis-benchmark redis-cli gnuplot taskset python3
for p in broker broker-bench; do
  [ -x "$BIN/$p" ] || { echo "bench pubsub: $BIN/$p missing (make all)" >&2; exit 1; }
done
if [ "$FULL" = 1 ]; then REPS=5 DELIV=2000000 CAP1=1000000 QMSGS=100000 RBN=500000; else REPS=5 DELIV=250000 CAP1=50000 QMSGS=8000 RBN=40000; fi
CSV=$OUT/pubsub.csv MD=$OUT/pubsub.md
echo "test,case,broker,redis,unit,ratio" >"$CSV"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# start_redis VAR ARGS...: a redis-server of our own on a loopback port, pinned
start_redis() {
  local var=$1 port dir; shift
  port=$(free_port); dir=$(mktemp -d "$B_TMP/redis.XXXX")
  # taskset itself, not the pin_server function: a function runs in a subshell, and then
  # $! (what the cleanup kills) would be that subshell and the server would outlive us
  taskset -c "$CPU_SERVER" redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' "$@" \
    >"$dir/log" 2>&1 &
  B_PIDS+=($!)
  for _ in $(seq 1 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
  printf -v "$var" '%s' "$port"
}
field() { sed -nE "s/.*$1=([0-9.]+).*/\1/p"; }

progress "starting broker and redis-server $(redis-server --version | sed -nE 's/.*v=([0-9.]+).*/\1/p')"
# Both with the same, roomier pubsub output limit: a load generator that falls behind for
# a moment must not get its subscribers cut in the middle of a measurement.
start_bg BPORT taskset -c "$CPU_SERVER" "$BIN/broker" --port 0 --pubsub-buffer-limit 256mb 64mb 60 || exit 1
start_redis RPORT --appendonly no --client-output-buffer-limit "pubsub 256mb 64mb 60"

row() { # TEST CASE BROKER REDIS UNIT
  local r; r=$(ratio "$3" "$4")
  echo "$1,$2,$3,$4,$5,$r" >>"$CSV"
  progress "$1 $2: broker $3 vs redis $4 $5 (x$r)"
}

# 1. fan-out
for subs in 1 10 50; do
  msgs=$((DELIV / subs)); [ "$msgs" -gt "$CAP1" ] && msgs=$CAP1
  b=() r=()
  for _ in $(seq 1 "$REPS"); do
    b+=("$(pin_client "$BIN/broker-bench" pubsub --port "$BPORT" --subs "$subs" --msgs "$msgs" --size 64 | field delivered_per_s)")
    r+=("$(pin_client "$BIN/broker-bench" pubsub --port "$RPORT" --subs "$subs" --msgs "$msgs" --size 64 | field delivered_per_s)")
  done
  row fanout "$subs" "$(median "${b[@]}")" "$(median "${r[@]}")" "delivered msgs/s"
done

# 2. redis-benchmark PUBLISH
payload=$(head -c 64 /dev/zero | tr '\0' x)
rb() { pin_client redis-benchmark -p "$1" -c 50 -n "$RBN" -P 16 -q --csv PUBLISH bench "$payload" 2>/dev/null |
       tail -1 | awk -F'","' '{ gsub(/"/, "", $2); print $2 }'; }
b=() r=()
for _ in $(seq 1 "$REPS"); do b+=("$(rb "$BPORT")"); r+=("$(rb "$RPORT")"); done
row redis-benchmark "PUBLISH -c 50 -P 16" "$(median "${b[@]}")" "$(median "${r[@]}")" "requests/s"

# 3. queue at matching durability
start_bg BQPORT taskset -c "$CPU_SERVER" "$BIN/broker" --port 0 --data-dir "$B_TMP/broker-data" \
  --appendfsync everysec || exit 1
start_redis RQPORT --appendonly yes --appendfsync everysec
b=() r=()
for _ in $(seq 1 "$REPS"); do
  b+=("$(pin_client "$BIN/broker-bench" queue --port "$BQPORT" --msgs "$QMSGS" | field msgs_per_s)")
  r+=("$(pin_client "$BIN/broker-bench" queue --port "$RQPORT" --msgs "$QMSGS" | field msgs_per_s)")
done
row queue "XADD+XREADGROUP+XACK (everysec)" "$(median "${b[@]}")" "$(median "${r[@]}")" "msgs/s"

# Tables and plot
{
  echo "## pubsub: broker (labs/11-pubsub) vs redis-server $(redis-server --version | sed -nE 's/.*v=([0-9.]+).*/\1/p')"
  echo
  echo "$(machine). Server on core $CPU_SERVER, load on core $CPU_CLIENT; median of $REPS alternating runs."
  echo
  echo "| test | case | broker | redis | unit | ratio | target |"
  echo "| --- | --- | ---: | ---: | --- | ---: | --- |"
  tail -n +2 "$CSV" | while IFS=, read -r t c bv rv u ra; do
    tgt=">= 1.0x"; [ "$t" = redis-benchmark ] && tgt="(reference)"
    printf '| %s | %s | %.0f | %.0f | %s | %s | %s |\n' "$t" "$c" "$bv" "$rv" "$u" "$ra" "$tgt"
  done
} >"$MD"
grep '^fanout,' "$CSV" | awk -F, '{ print $2, $3, $4 }' >"$B_TMP/fan.dat"
gnuplot <<GP 2>/dev/null || progress "gnuplot failed: no PNG"
set terminal png size 800,480
set output "$OUT/pubsub-fanout.png"
set title "pub/sub: messages delivered per second (64-byte payloads)"
set xlabel "subscribers"
set ylabel "delivered messages/s"
set style data histograms
set style fill solid 0.8
set boxwidth 0.9
set yrange [0:*]
plot "$B_TMP/fan.dat" using 2:xtic(1) title "broker", "" using 3 title "redis-server"
GP
cat "$MD"
