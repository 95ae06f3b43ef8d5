#!/usr/bin/env bash
# bench/sections/wal.sh: what each durability level costs.  The disk's fdatasync rate
# (the limit for one committer), then `redis-benchmark -t set` at 1 and 64 connections
# against kv-server at every --synchronous-commit level, each with a replica on this
# machine, and Redis from Debian with appendfsync always / everysec / no as reference
# rows, same command, same run.  Quick profile: ~40 s.
#
# The machine is shared and noisy, so every server is started first and the runs are
# interleaved: each round runs every configuration once, and the numbers are medians
# over rounds; the ratios against Redis are medians of per-round ratios, so both sides
# of a ratio saw the same minute of load.  Redis runs without a replica, so the
# like-for-like rows are kv-server alone at off and local.
source bench/lib.sh
need redis-server redis-benchmark redis-cli python3 gnuplot
KV=$BIN/kv-server
[ -x "$KV" ] || { echo "bench wal: $KV missing (make all)" >&2; exit 1; }
if [ "$FULL" = 1 ]; then ROUNDS=7; N_SLOW=1000; N_MID=20000; N_FAST=50000
else ROUNDS=3; N_SLOW=200; N_MID=2000; N_FAST=6000; fi
D=$B_TMP # on the root file system: the real disk, not tmpfs
LEVELS="off local remote_write on remote_apply"
MODES="always everysec no"

# 4 KiB pwrite + fdatasync in a loop, like one committer: commits/s for one client.  The
# file is written with zeroes first (as PostgreSQL fills a new WAL segment, and as
# pg_test_fsync does), so each fdatasync flushes data only, no extent or size change.
fsync_probe() {
  python3 - "$D/fsync.probe" "$1" <<'EOF'
import os, sys, time
fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY, 0o644)
if os.fstat(fd).st_size < (16 << 20):
    os.write(fd, bytes(16 << 20))
os.fsync(fd)
buf, n, t0 = b"x" * 4096, 0, time.monotonic()
while time.monotonic() - t0 < float(sys.argv[2]):
    os.pwrite(fd, buf, (n * 4096) % (16 << 20))
    os.fdatasync(fd)
    n += 1
print("%.0f" % (n / (time.monotonic() - t0)))
EOF
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

declare -A PORT
progress "starting 5 primaries with replicas, 2 lone primaries, 3 Redis"
for level in $LEVELS; do
  start_bg "P_$level" pin_server "$KV" --role primary --port 0 --repl-port 0 \
    --data-dir "$D/p-$level" --synchronous-commit "$level" || exit 1
  v="P_$level"; PORT["kv/$level"]=${!v}
  R=$(sed -nE 's/^replication listening on 127\.0\.0\.1:([0-9]+)$/\1/p' "$B_TMP/P_$level.log")
  start_bg "S_$level" pin_server "$KV" --role replica --port 0 --primary "127.0.0.1:$R" \
    --data-dir "$D/r-$level" || exit 1
done
for level in off local; do
  start_bg "A_$level" pin_server "$KV" --role primary --port 0 --data-dir "$D/alone-$level" \
    --synchronous-commit "$level" || exit 1
  v="A_$level"; PORT["alone/$level"]=${!v}
done
for mode in $MODES; do
  port=$(free_port); mkdir -p "$D/redis-$mode"
  # taskset itself, not the pin_server function: a function run with & is a subshell
  # whose pid is not redis-server's, and cleanup would leave Redis running
  taskset -c "$CPU_SERVER" redis-server --port "$port" --bind 127.0.0.1 --dir "$D/redis-$mode" --save '' \
    --appendonly yes --appendfsync "$mode" --daemonize no >"$D/redis-$mode.log" 2>&1 &
  B_PIDS+=("$!")
  PORT["redis/$mode"]=$port
done
for k in "${!PORT[@]}"; do
  for i in $(seq 1 100); do redis-cli -p "${PORT[$k]}" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
done
for level in $LEVELS; do
  for i in $(seq 1 100); do
    redis-cli -p "${PORT[kv/$level]}" info replication | grep -q connected_slaves:1 && break; sleep 0.05
  done
done

# one_run KEY CONNS N -> "rps p50 p99"
one_run() {
  pin_client redis-benchmark -p "${PORT[$1]}" -t set -n "$3" -c "$2" -P 1 --csv 2>/dev/null |
    grep '^"SET"' | tr -d '"' | awk -F, '{print $2, $5, $7}'
}
n_for() { # KEY CONNS -> requests for one run (about half a second each)
  if [ "$2" = 64 ]; then echo "$N_FAST"
  else case $1 in kv/off|alone/off|redis/everysec|redis/no) echo "$N_MID" ;; *) echo "$N_SLOW" ;; esac; fi
}
declare -A RUNS
CONFIGS="kv/off kv/local kv/remote_write kv/on kv/remote_apply alone/off alone/local redis/always redis/everysec redis/no"
FS=()
for r in $(seq 1 "$ROUNDS"); do
  FS+=("$(fsync_probe 0.5)")
  for k in $CONFIGS; do
    for c in 1 64; do
      case $k in alone/*) [ "$c" = 1 ] && continue ;; esac
      v=$(one_run "$k" "$c" "$(n_for "$k" "$c")")
      RUNS["$k/$c"]+="${v:-0 0 0};"
    done
  done
  progress "round $r/$ROUNDS done (fdatasync/s ${FS[-1]})"
done
FSYNC=$(median "${FS[@]}")

# med KEY/CONNS FIELD -> median over rounds; pratio A B CONNS -> median of per-round ratios
med() { median $(tr ';' '\n' <<<"${RUNS[$1]}" | awk -v f="$2" 'NF {print $f}'); }
pratio() {
  local a b i q=()
  IFS=';' read -ra a <<<"${RUNS[$1/$3]}"; IFS=';' read -ra b <<<"${RUNS[$2/$3]}"
  for i in "${!a[@]}"; do q+=("$(ratio "${a[$i]%% *}" "${b[$i]%% *}")"); done
  median "${q[@]}"
}
ref_for() { case $1 in off) echo everysec ;; *) echo always ;; esac; }
verdict() { awk -v a="$1" -v b="$2" 'BEGIN { print (a >= b) ? "met" : "NOT met" }'; }

echo "system,level,conns,commits_per_s,p50_ms,p99_ms,ratio_vs_redis" >"$OUT/wal.csv"
row() { # SYSTEM LEVEL KEY CONNS RATIO
  echo "$1,$2,$4,$(med "$3/$4" 1),$(med "$3/$4" 2),$(med "$3/$4" 3),$5" >>"$OUT/wal.csv"
  echo "| $1 | $2 | $4 | $(med "$3/$4" 1) | $(med "$3/$4" 2) | $(med "$3/$4" 3) | $5 |"
}
{
  echo "### WAL commit levels (\`make bench-wal\`, FULL=$FULL, median of $ROUNDS interleaved rounds)"
  echo
  echo "$(machine). Disk: **$FSYNC fdatasync/s** (4 KiB pwrite + fdatasync, one thread; median of $ROUNDS probes)."
  echo "kv-server primaries and replicas and Redis pinned to core $CPU_SERVER, redis-benchmark (-t set -P 1) to core $CPU_CLIENT."
  echo
  echo "| system | level | conns | commits/s | p50 ms | p99 ms | ratio vs Redis (median per round) |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | --- |"
  for c in 1 64; do
    for level in $LEVELS; do
      ref=$(ref_for "$level")
      row kv-server "$level" "kv/$level" "$c" "$(pratio "kv/$level" "redis/$ref" "$c") x $ref"
    done
    if [ "$c" = 64 ]; then
      for level in off local; do
        ref=$(ref_for "$level")
        row "kv-server, no replica" "$level" "alone/$level" 64 "$(pratio "alone/$level" "redis/$ref" 64) x $ref"
      done
    fi
    for mode in $MODES; do row "redis 7" "appendfsync $mode" "redis/$mode" "$c" "1.00"; done
  done
  l1=$(med kv/local/1 1); l64=$(med kv/local/64 1)
  gc=$(ratio "$l64" "$l1"); onl=$(pratio kv/on kv/local 64)
  la=$(pratio alone/local redis/always 64); oe=$(pratio alone/off redis/everysec 64)
  echo
  echo "| target | measured | verdict |"
  echo "| --- | --- | --- |"
  echo "| group commit: local@64 >= 10x local@1 | ${gc}x | $(verdict "$gc" 10) |"
  echo "| local@64 above the disk's fdatasync/s | $l64 vs $FSYNC | $(verdict "$l64" "$FSYNC") |"
  echo "| on@64 >= 0.5x local@64 | ${onl}x | $(verdict "$onl" 0.5) |"
  echo "| local@64 >= 1.0x Redis appendfsync always@64 (both without replica) | ${la}x (with replica: $(pratio kv/local redis/always 64)x) | $(verdict "$la" 1.0) |"
  echo "| off@64 >= 1.0x Redis appendfsync everysec@64 (both without replica) | ${oe}x (with replica: $(pratio kv/off redis/everysec 64)x) | $(verdict "$oe" 1.0) |"
  echo
  echo "![commits per second](wal.png)"
} >"$OUT/wal.md"
cat "$OUT/wal.md"

# plot: commits/s at 64 and at 1 connection per configuration (with replica; Redis alone)
for k in $(sed 's#alone/[a-z]*##g' <<<"$CONFIGS"); do
  printf '"%s" %s %s\n' "${k/\//\\n}" "$(med "$k/64" 1)" "$(med "$k/1" 1)"
done >"$D/plot.dat"
gnuplot <<EOF
set terminal png size 1000,500 noenhanced
set output "$OUT/wal.png"
set title "SET commits/s by durability level (redis-benchmark -P 1); disk: $FSYNC fdatasync/s"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8
set logscale y
set ylabel "commits/s (log)"
set xtics font ",8"
set key top left
plot "$D/plot.dat" using 2:xtic(1) title "64 connections", "" using 3 title "1 connection", $FSYNC with lines lw 2 title "fdatasync/s"
EOF
