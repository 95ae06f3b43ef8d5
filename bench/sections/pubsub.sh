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
# Writes pubsub.csv (medians, interquartile ranges, ratio range, verdict, the command
# per row), pubsub.md, pubsub-table.md (the table alone, for labs/11-pubsub/NOTES.md),
# pubsub-fanout.png and pubsub.values.tsv (TEST.CASE.COLUMN).
source "$(dirname "$0")/../lib.sh"
need redis-server redis-benchmark redis-cli gnuplot taskset python3
for p in broker broker-bench; do
  [ -x "$BIN/$p" ] || { echo "bench pubsub: $BIN/$p missing (make all)" >&2; exit 1; }
done
if [ "$FULL" = 1 ]; then REPS=5 DELIV=2000000 CAP1=1000000 QMSGS=100000 RBN=500000; else REPS=5 DELIV=250000 CAP1=50000 QMSGS=8000 RBN=40000; fi
CSV=$OUT/pubsub.csv MD=$OUT/pubsub.md
echo "test,case,broker,broker_iqr,redis,redis_iqr,unit,ratio,ratio_range,verdict,command" >"$CSV"
# steps: the servers, 3 fan-outs, redis-benchmark, the queue
plan_steps 6

field() { sed -nE "s/.*$1=([0-9.]+).*/\1/p"; }

progress "starting broker and redis-server $(redis-server --version | sed -nE 's/.*v=([0-9.]+).*/\1/p')"
# Both with the same, roomier pubsub output limit: a load generator that falls behind for
# a moment must not get its subscribers cut in the middle of a measurement.
start_bg BPORT taskset -c "$CPU_SERVER" "$BIN/broker" --port 0 --pubsub-buffer-limit 256mb 64mb 60 || exit 1
start_redis RPORT --appendonly no --client-output-buffer-limit "pubsub 256mb 64mb 60" || exit 1

row() { # TEST CASE "BROKER RUNS" "REDIS RUNS" UNIT COMMAND: medians, spreads, verdict
  local bm rm r rr v key=$1
  [ "$1" = fanout ] && key=fanout.$2
  # shellcheck disable=SC2086
  bm=$(median $3); rm=$(median $4); r=$(ratio "$bm" "$rm"); rr=$(ratio_range "$3" "$4")
  v=$(verdict "$rr" 1.0); [ "$1" = redis-benchmark ] && v="(no target)"
  # shellcheck disable=SC2086
  echo "$1,$2,$bm,$(spread_of $3 | awk -F- '{ printf "%.0f-%.0f", $1, $2 }'),$rm,$(spread_of $4 | awk -F- '{ printf "%.0f-%.0f", $1, $2 }'),$5,$r,$rr,$v,${6//,/ }" >>"$CSV"
  value "$key.broker" "$(awk -v v="$bm" 'BEGIN { printf "%.0f", v }')"
  value "$key.redis" "$(awk -v v="$rm" 'BEGIN { printf "%.0f", v }')"
  value "$key.ratio" "${r}x"; value "$key.range" "$rr"; value "$key.verdict" "$v"
  progress "$1 $2: broker $bm vs redis $rm $5 (x$r, $v)"
}

# 1. fan-out
for subs in 1 10 50; do
  msgs=$((DELIV / subs)); [ "$msgs" -gt "$CAP1" ] && msgs=$CAP1
  b=() r=()
  for _ in $(seq 1 "$REPS"); do
    b+=("$(pin_client "$BIN/broker-bench" pubsub --port "$BPORT" --subs "$subs" --msgs "$msgs" --size 64 | field delivered_per_s)")
    r+=("$(pin_client "$BIN/broker-bench" pubsub --port "$RPORT" --subs "$subs" --msgs "$msgs" --size 64 | field delivered_per_s)")
  done
  row fanout "$subs" "${b[*]}" "${r[*]}" "delivered msgs/s" \
    "taskset -c $CPU_CLIENT $BIN/broker-bench pubsub --port PORT --subs $subs --msgs $msgs --size 64"
done

# 2. redis-benchmark PUBLISH
payload=$(head -c 64 /dev/zero | tr '\0' x)
rb() { pin_client redis-benchmark -p "$1" -c 50 -n "$RBN" -P 16 -q --csv PUBLISH bench "$payload" 2>/dev/null |
       tail -1 | awk -F'","' '{ gsub(/"/, "", $2); print $2 }'; }
b=() r=()
for _ in $(seq 1 "$REPS"); do b+=("$(rb "$BPORT")"); r+=("$(rb "$RPORT")"); done
row redis-benchmark "PUBLISH -c 50 -P 16" "${b[*]}" "${r[*]}" "requests/s" \
  "taskset -c $CPU_CLIENT redis-benchmark -p PORT -c 50 -n $RBN -P 16 -q --csv PUBLISH bench 64xX"

# 3. queue at matching durability
start_bg BQPORT taskset -c "$CPU_SERVER" "$BIN/broker" --port 0 --data-dir "$B_TMP/broker-data" \
  --appendfsync everysec || exit 1
start_redis RQPORT --appendonly yes --appendfsync everysec || exit 1
b=() r=()
for _ in $(seq 1 "$REPS"); do
  b+=("$(pin_client "$BIN/broker-bench" queue --port "$BQPORT" --msgs "$QMSGS" | field msgs_per_s)")
  r+=("$(pin_client "$BIN/broker-bench" queue --port "$RQPORT" --msgs "$QMSGS" | field msgs_per_s)")
done
row queue "XADD+XREADGROUP+XACK (everysec)" "${b[*]}" "${r[*]}" "msgs/s" \
  "taskset -c $CPU_CLIENT $BIN/broker-bench queue --port PORT --msgs $QMSGS"

# Tables and plot
{
  echo "$(machine). Server on core $CPU_SERVER, load on core $CPU_CLIENT; median of $REPS alternating runs, the interquartile range beside it."
  echo
  echo "| test | case | broker | broker IQR | redis | redis IQR | unit | ratio | ratio range | target >= 1.0x |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- |"
  tail -n +2 "$CSV" | while IFS=, read -r t c bv bs rv rs u ra rr v _; do
    printf '| %s | %s | %.0f | %s | %.0f | %s | %s | %s | %s | %s |\n' "$t" "$c" "$bv" "$bs" "$rv" "$rs" "$u" "$ra" "$rr" "$v"
  done
  echo
  echo "Ratio range: the broker's q1 over Redis's q3 to its q3 over Redis's q1. The target is met when even the low end reaches 1.0, not met when even the high end falls short, on par within the spread otherwise."
} >"$OUT/pubsub-table.md"
{
  echo "## pubsub: broker (labs/11-pubsub) vs redis-server $(redis-server --version | sed -nE 's/.*v=([0-9.]+).*/\1/p')"
  echo
  cat "$OUT/pubsub-table.md"
} >"$MD"
grep '^fanout,' "$CSV" | awk -F, '{ print $2, $3, $5 }' >"$B_TMP/fan.dat"
gnuplot <<GP 2>/dev/null || progress "gnuplot failed: no PNG"
set terminal pngcairo size 900,480 font ",10" noenhanced
set key outside top center horizontal
set grid ytics
set output "$OUT/pubsub-fanout.png"
set title "pub/sub: messages delivered per second (64-byte payloads)"
set xlabel "subscribers"
set ylabel "delivered messages/s"
set style data histograms
set style fill solid 0.8
set boxwidth 0.9
set yrange [0:*]
plot "$B_TMP/fan.dat" using 2:xtic(1) title "broker" lc rgb "#1b9e77", "" using 3 title "redis-server" lc rgb "#d95f02"
GP
cat "$MD"
