#!/usr/bin/env bash
# bench/sections/wal.sh: what each durability level costs.  The disk's fdatasync rate
# first (the limit for one committer), then `redis-benchmark -t set` at 1 and 64
# connections against kv-server at every --synchronous-commit level, with a replica on
# this machine, and Redis from Debian with appendfsync always / everysec / no as the
# reference rows, same command, same run.  Quick profile: ~45 s.
source bench/lib.sh
need redis-server redis-benchmark python3 gnuplot
KV=$BIN/kv-server
[ -x "$KV" ] || { echo "bench wal: $KV missing (make all)" >&2; exit 1; }
if [ "$FULL" = 1 ]; then RUNS=5; ROUNDS=9; N_SLOW=2000; N_MID=20000; N_FAST=100000
else RUNS=3; ROUNDS=5; N_SLOW=200; N_MID=3000; N_FAST=8000; fi
D=$B_TMP # on the root file system: the real disk, not tmpfs

progress "fdatasync rate of the disk under $D"
FSYNC=$(python3 - "$D/fsync.probe" <<'EOF'
import os, sys, time
fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY, 0o644)
os.posix_fallocate(fd, 0, 16 << 20)
os.fsync(fd)
buf, n, t0 = b"x" * 4096, 0, time.monotonic()
while time.monotonic() - t0 < 2.0:           # 4 KiB pwrite + fdatasync, like one commit
    os.pwrite(fd, buf, (n * 4096) % (16 << 20))
    os.fdatasync(fd)
    n += 1
print("%.0f" % (n / (time.monotonic() - t0)))
EOF
)
progress "fdatasync/s: $FSYNC"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# bench_set PORT CONNS N -> "rps p50 p99" (medians over RUNS)
bench_set() {
  local r rps=() p50=() p99=() line
  for r in $(seq 1 "$RUNS"); do
    line=$(pin_client redis-benchmark -p "$1" -t set -n "$3" -c "$2" -P 1 --csv 2>/dev/null | grep '^"SET"')
    IFS=, read -r _ a _ _ b _ c _ <<<"$(tr -d '"' <<<"$line")"
    rps+=("${a:-0}"); p50+=("${b:-0}"); p99+=("${c:-0}")
  done
  echo "$(median "${rps[@]}") $(median "${p50[@]}") $(median "${p99[@]}")"
}

echo "system,level,conns,commits_per_s,p50_ms,p99_ms" >"$OUT/wal.csv"
declare -A RES PAIR
record() { # system level conns "rps p50 p99"
  RES["$1/$2/$3"]=$4
  echo "$1,$2,$3,${4// /,}" >>"$OUT/wal.csv"
  progress "$1 $2 c=$3: $4"
}

for level in off local remote_write on remote_apply; do
  rm -rf "$D/p" "$D/r"
  start_bg P pin_server "$KV" --role primary --port 0 --repl-port 0 --data-dir "$D/p" \
    --synchronous-commit "$level" || exit 1
  R=$(sed -nE 's/^replication listening on 127\.0\.0\.1:([0-9]+)$/\1/p' "$B_TMP/P.log")
  start_bg S pin_server "$KV" --role replica --port 0 --primary "127.0.0.1:$R" --data-dir "$D/r" || exit 1
  for i in $(seq 1 100); do redis-cli -p "$P" info replication | grep -q connected_slaves:1 && break; sleep 0.05; done
  n1=$N_SLOW; [ "$level" = off ] && n1=$N_MID
  record kv-server "$level" 1 "$(bench_set "$P" 1 "$n1")"
  record kv-server "$level" 64 "$(bench_set "$P" 64 "$N_FAST")"
  kill "${B_PIDS[@]}" 2>/dev/null; wait "${B_PIDS[@]}" 2>/dev/null; B_PIDS=()
done

# Like for like, interleaved: kv-server alone (Redis runs without a replica) and Redis
# up at the same time, runs alternating, so both see the same machine load; the ratio is
# the median of the per-round ratios.  On a shared machine this is the number to trust.
start_redis() { # VAR MODE DIR: a Redis with the AOF at that fsync mode, its port in VAR
  rm -rf "$3"; mkdir -p "$3"
  local port; port=$(free_port)
  pin_server redis-server --port "$port" --bind 127.0.0.1 --dir "$3" --save '' \
    --appendonly yes --appendfsync "$2" --daemonize no >"$3.log" 2>&1 &
  B_PIDS+=("$!")
  for i in $(seq 1 100); do redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
  printf -v "$1" '%s' "$port"
}
for pair in off:everysec local:always; do
  level=${pair%%:*} mode=${pair##*:}
  rm -rf "$D/p"
  start_bg P pin_server "$KV" --role primary --port 0 --data-dir "$D/p" --synchronous-commit "$level" || exit 1
  start_redis RP "$mode" "$D/redis-pair"
  kr=() rr=() q=()
  for r in $(seq 1 "$ROUNDS"); do
    a=$(pin_client redis-benchmark -p "$P" -t set -n "$N_FAST" -c 64 -P 1 --csv 2>/dev/null | grep '^"SET"' | cut -d, -f2 | tr -d '"')
    b=$(pin_client redis-benchmark -p "$RP" -t set -n "$N_FAST" -c 64 -P 1 --csv 2>/dev/null | grep '^"SET"' | cut -d, -f2 | tr -d '"')
    kr+=("${a:-0}"); rr+=("${b:-0}"); q+=("$(ratio "${a:-0}" "${b:-0}")")
  done
  PAIR["$level"]="$(median "${kr[@]}") $(median "${rr[@]}") $(median "${q[@]}")"
  echo "kv-server-paired,$level,64,$(median "${kr[@]}"),," >>"$OUT/wal.csv"
  echo "redis-paired,appendfsync-$mode,64,$(median "${rr[@]}"),," >>"$OUT/wal.csv"
  progress "paired $level vs appendfsync $mode: ${PAIR[$level]}"
  kill "${B_PIDS[@]}" 2>/dev/null; wait "${B_PIDS[@]}" 2>/dev/null; B_PIDS=()
done

for mode in always everysec no; do
  rm -rf "$D/redis"; mkdir -p "$D/redis"
  port=$(free_port)
  pin_server redis-server --port "$port" --bind 127.0.0.1 --dir "$D/redis" --save '' \
    --appendonly yes --appendfsync "$mode" --daemonize no >"$D/redis.log" 2>&1 &
  B_PIDS+=("$!")
  for i in $(seq 1 100); do redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
  n1=$N_SLOW; [ "$mode" != always ] && n1=$N_MID
  record redis "appendfsync-$mode" 1 "$(bench_set "$port" 1 "$n1")"
  record redis "appendfsync-$mode" 64 "$(bench_set "$port" 64 "$N_FAST")"
  kill "${B_PIDS[@]}" 2>/dev/null; wait "${B_PIDS[@]}" 2>/dev/null; B_PIDS=()
done

get() { awk -v i="$2" '{print $i}' <<<"${RES[$1]}"; }
ref_for() { case $1 in off) echo appendfsync-everysec ;; *) echo appendfsync-always ;; esac; }
verdict() { awk -v a="$1" -v b="$2" 'BEGIN { print (a >= b) ? "met" : "NOT met" }'; }
{
  echo "### WAL commit levels (\`make bench-wal\`, FULL=$FULL, median of $RUNS runs)"
  echo
  echo "$(machine). Disk: **$FSYNC fdatasync/s** (4 KiB pwrite + fdatasync, one thread)."
  echo "kv-server primary and replica pinned to core $CPU_SERVER, redis-benchmark (-t set -P 1) to core $CPU_CLIENT."
  echo
  echo "| system | level | conns | commits/s | p50 ms | p99 ms | ratio vs Redis |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | --- |"
  for c in 1 64; do
    for level in off local remote_write on remote_apply; do
      ref=$(ref_for "$level")
      echo "| kv-server | $level | $c | $(get "kv-server/$level/$c" 1) | $(get "kv-server/$level/$c" 2) | $(get "kv-server/$level/$c" 3) | $(ratio "$(get "kv-server/$level/$c" 1)" "$(get "redis/$ref/$c" 1)") x $ref |"
    done
    for mode in always everysec no; do
      echo "| redis 7 | appendfsync $mode | $c | $(get "redis/appendfsync-$mode/$c" 1) | $(get "redis/appendfsync-$mode/$c" 2) | $(get "redis/appendfsync-$mode/$c" 3) | 1.00 |"
    done
  done
  l1=$(get kv-server/local/1 1); l64=$(get kv-server/local/64 1); on64=$(get kv-server/on/64 1)
  ra=$(get redis/appendfsync-always/64 1); off64=$(get kv-server/off/64 1); re=$(get redis/appendfsync-everysec/64 1)
  echo
  echo "| target | measured | verdict |"
  echo "| --- | --- | --- |"
  echo "| group commit: local@64 >= 10x local@1 | $(ratio "$l64" "$l1")x | $(verdict "$(ratio "$l64" "$l1")" 10) |"
  echo "| local@64 above the disk's fdatasync/s | $l64 vs $FSYNC | $(verdict "$l64" "$FSYNC") |"
  echo "| on@64 >= 0.5x local@64 | $(ratio "$on64" "$l64")x | $(verdict "$(ratio "$on64" "$l64")" 0.5) |"
  pl() { awk -v i="$2" '{print $i}' <<<"${PAIR[$1]}"; }
  echo "| local@64 >= 1.0x Redis appendfsync always@64, interleaved, kv without replica like Redis | $(pl local 1) vs $(pl local 2): $(pl local 3)x (table above, with replica: $(ratio "$l64" "$ra")x) | $(verdict "$(pl local 3)" 1.0) |"
  echo "| off@64 >= 1.0x Redis appendfsync everysec@64, interleaved, kv without replica like Redis | $(pl off 1) vs $(pl off 2): $(pl off 3)x (table above, with replica: $(ratio "$off64" "$re")x) | $(verdict "$(pl off 3)" 1.0) |"
  echo
  echo "![commits per second](wal.png)"
} >"$OUT/wal.md"
cat "$OUT/wal.md"

awk -F, 'NR > 1 && $3 == 64 && $1 !~ /paired/ { printf "\"%s\\n%s\" %s\n", ($1 == "redis" ? "redis" : "kv"), $2, $4 }' "$OUT/wal.csv" >"$D/p64.dat"
awk -F, 'NR > 1 && $3 == 1 && $1 !~ /paired/ { print $4 }' "$OUT/wal.csv" >"$D/p1.dat"
paste -d' ' "$D/p64.dat" "$D/p1.dat" >"$D/plot.dat"
gnuplot <<EOF
set terminal png size 1000,500 noenhanced
set output "$OUT/wal.png"
set title "SET commits/s by durability level (redis-benchmark -P 1); disk: $FSYNC fdatasync/s"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8
set logscale y
set ylabel "commits/s (log)"
set xtics rotate by -30 font ",8"
set key top left
plot "$D/plot.dat" using 2:xtic(1) title "64 connections", "" using 3 title "1 connection", $FSYNC with lines lw 2 title "fdatasync/s"
EOF
