#!/usr/bin/env bash
# bench/sections/wal.sh: what each durability level costs.  The disk's fdatasync rate
# (the limit for one committer), then `redis-benchmark -t set` at 1 and 64 connections
# against kv-server at every --synchronous-commit level, each with a replica on this
# machine, and Redis from Debian with appendfsync always / everysec / no as reference
# rows, same command, same run; and PostgreSQL 15 (a primary with its synchronous standby,
# labs/05-wal-replication/pg-pair.sh) at the same five levels, driven by pgbench with the
# same upsert, for the ratio kv-server / PostgreSQL.  Over a real link: the levels from
# local up again, each primary with its replica behind linkem (labs/12-links) at lan,
# region and continent (FULL=1 adds mobile), beside the bound a round trip sets (conns /
# RTT: a synchronous commit waits one).  Quick profile: ~4 min, a minute of it over links.
#
# The machine is shared and noisy, so every server is started first and the runs are
# interleaved: each round runs every configuration once, and the numbers are medians
# over rounds; the ratios against Redis are medians of per-round ratios, so both sides
# of a ratio saw the same minute of load.  Redis runs without a replica, so the
# like-for-like rows are kv-server alone at off and local.
# Writes wal.csv (medians, min-max over rounds, the command per row), wal.md (every
# table), wal-table.md and wal-targets.md (for labs/05-wal-replication/NOTES.md),
# wal-pg.csv/.md, wal.png and wal.values.tsv.
source bench/lib.sh
need redis-server redis-benchmark redis-cli python3 gnuplot
KV=$BIN/kv-server
[ -x "$KV" ] || { echo "bench wal: $KV missing (make all)" >&2; exit 1; }
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PAIR=labs/05-wal-replication/pg-pair.sh
[ -x "$PG_BIN/pgbench" ] || { echo "bench wal: $PG_BIN/pgbench missing: PostgreSQL 15 is not installed (make deps)" >&2; exit 1; }
LINKEM=$BIN/linkem
[ -x "$LINKEM" ] || { echo "bench wal: $LINKEM missing (make all)" >&2; exit 1; }
# N_FAR1 / N_FAR64: requests per run at a synchronous level behind a link of 20 ms or more
# round trip, where one connection makes ~12 commits a second (continent)
if [ "$FULL" = 1 ]; then ROUNDS=5; N_SLOW=300; N_MID=4000; N_FAST=12000
  LINKS="lan region continent mobile" N_FAR1=24 N_FAR64=960
else ROUNDS=3; N_SLOW=200; N_MID=2000; N_FAST=6000
  LINKS="lan region continent" N_FAR1=16 N_FAR64=640; fi
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

# Over a link: a primary per level and link, its replica dialling it through linkem
# --profile LINK; the client (redis-benchmark) talks to the primary over loopback, so
# only the replica is far away.  off is left out: nothing there waits for the replica.
LLEVELS="local remote_write on remote_apply"
declare -A RTT_MS # link -> configured round trip in ms: twice the one-way delay linkem reports
start_linked() { # LINK LEVEL
  local v=$1_$2 r l
  start_bg "LP_$v" pin_server "$KV" --role primary --port 0 --repl-port 0 --data-dir "$D/lp-$v" \
    --synchronous-commit "$2" || return 1
  r=$(sed -nE 's/^replication listening on 127\.0\.0\.1:([0-9]+)$/\1/p' "$B_TMP/LP_$v.log")
  start_bg "LL_$v" pin_server "$LINKEM" --to "127.0.0.1:$r" --profile "$1" || return 1
  l="LL_$v"
  start_bg "LS_$v" pin_server "$KV" --role replica --port 0 --primary "127.0.0.1:${!l}" \
    --data-dir "$D/lr-$v" || return 1
  l="LP_$v"; PORT["link-$1/$2"]=${!l}
  RTT_MS[$1]=$(sed -nE 's/^linkem: to .*: delay ([0-9.]+) ms,.*/\1/p' "$B_TMP/LL_$v.log" | awk '{print 2 * $1}')
}

# PostgreSQL's pair lives under build/: as root it runs as the postgres user, who cannot
# enter this section's mktemp -d in /tmp.  Stopped on every exit, before b_cleanup.
PG_DIR=$(mktemp -d "$BUILD/pg-bench.XXXXXX") && chmod 755 "$PG_DIR" && PG_DIR=$(cd "$PG_DIR" && pwd)
pg_cleanup() { "$PAIR" stop "$PG_DIR/pair" >/dev/null 2>&1; rm -rf "$PG_DIR"; b_cleanup; }
trap pg_cleanup EXIT

declare -A PORT
plan_steps $((ROUNDS + 2))
progress "starting 5 primaries with replicas, 2 lone primaries, 3 Redis, a PostgreSQL pair"
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
progress "starting $(($(wc -w <<<"$LINKS") * 4)) primaries with their replicas behind linkem ($LINKS)"
for link in $LINKS; do
  for level in $LLEVELS; do start_linked "$link" "$level" || exit 1; done
done
# pinned like kv-server: the postmaster, its backends and the standby inherit the core
PG_ENV=$(pin_server "$PAIR" start "$PG_DIR/pair") || { echo "bench wal: the PostgreSQL pair did not start" >&2; exit 1; }
PG_PORT=$(sed -n 's/^PG_PRIMARY_PORT=//p' <<<"$PG_ENV")
# The same upsert as redis-benchmark's SET (a 3-byte value), one key per connection:
# redis-benchmark -t set writes one key from every connection, which costs kv-server and
# Redis nothing, but PostgreSQL holds a row's lock until the commit (flush and standby
# wait included) is done, so 64 writers of one row would measure lock queueing.
PG_SQL=labs/05-wal-replication/pg-upsert.sql
for k in "${!PORT[@]}"; do
  for i in $(seq 1 100); do redis-cli -p "${PORT[$k]}" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
done
for k in $(printf 'kv/%s\n' $LEVELS) $(for l in $LINKS; do printf "link-$l/%s\n" $LLEVELS; done); do
  for i in $(seq 1 100); do
    redis-cli -p "${PORT[$k]}" info replication | grep -q connected_slaves:1 && break; sleep 0.05
  done
done

# one_run KEY CONNS N -> "rps p50 p99"
one_run() {
  case $1 in pg/*) pg_run "${1#pg/}" "$2" "$3"; return ;; esac
  pin_client redis-benchmark -p "${PORT[$1]}" -t set -n "$3" -c "$2" -P 1 --csv 2>/dev/null |
    grep '^"SET"' | tr -d '"' | awk -F, '{print $2, $5, $7}'
}
# pg_run LEVEL CONNS N -> "tps p50 p99": pgbench, one transaction (one upsert, one commit)
# at a time per connection, like redis-benchmark -P 1; every transaction's latency from
# its log (-l), so p50/p99 are per commit, not averages.
pg_run() {
  local t=$(( ($3 + $2 - 1) / $2 )) tps
  rm -f "$D"/pglog*
  PGOPTIONS="-c synchronous_commit=$1" pin_client "$PG_BIN/pgbench" -h 127.0.0.1 -p "$PG_PORT" \
    -U postgres -n -M prepared -f "$PG_SQL" -c "$2" -j 1 -t "$t" -l --log-prefix="$D/pglog" \
    postgres >"$D/pgbench.out" 2>&1 || return 0
  tps=$(sed -nE 's/^tps = ([0-9.]+) \(without initial connection time\)$/\1/p' "$D/pgbench.out")
  [ -n "$tps" ] || return 0
  cat "$D"/pglog* | awk '{print $3 / 1000}' | sort -g |
    awk -v tps="$tps" '{a[NR] = $1} END {if (NR) printf "%.2f %.3f %.3f\n", tps, a[int((NR - 1) * 0.50) + 1], a[int((NR - 1) * 0.99) + 1]}'
}
n_for() { # KEY CONNS -> requests for one run (about half a second each)
  case $1 in link-*/remote_*|link-*/on)
    local l=${1#link-}
    if awk -v r="${RTT_MS[${l%%/*}]}" 'BEGIN { exit !(r >= 20) }'; then
      [ "$2" = 64 ] && echo "$N_FAR64" || echo "$N_FAR1"; return
    fi ;;
  esac
  if [ "$2" = 64 ]; then echo "$N_FAST"
  else case $1 in kv/off|alone/off|pg/off|redis/everysec|redis/no) echo "$N_MID" ;; *) echo "$N_SLOW" ;; esac; fi
}
declare -A RUNS
CONFIGS="kv/off kv/local kv/remote_write kv/on kv/remote_apply alone/off alone/local redis/always redis/everysec redis/no"
PG_CONFIGS="pg/off pg/local pg/remote_write pg/on pg/remote_apply"
LINK_CONFIGS=$(for l in $LINKS; do printf "link-$l/%s " $LLEVELS; done)
FS=()
for r in $(seq 1 "$ROUNDS"); do
  FS+=("$(fsync_probe 0.5)")
  for k in $CONFIGS $PG_CONFIGS $LINK_CONFIGS; do
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
# prange A/CONNS B/CONNS -> "lo-hi": the lowest and highest of the per-round ratios
prange() {
  local a b i q=()
  IFS=';' read -ra a <<<"${RUNS[$1]}"; IFS=';' read -ra b <<<"${RUNS[$2]}"
  for i in "${!a[@]}"; do q+=("$(ratio "${a[$i]%% *}" "${b[$i]%% *}")"); done
  spread "${q[@]}"
}
# spread of a configuration's commits/s over the rounds
rspread() { spread $(tr ';' '\n' <<<"${RUNS[$1]}" | awk 'NF {print $1}'); }
ref_for() { case $1 in off) echo everysec ;; *) echo always ;; esac; }

echo "system,level,conns,commits_per_s,commits_min_max,p50_ms,p99_ms,ratio_vs_redis,command" >"$OUT/wal.csv"
row() { # SYSTEM LEVEL KEY CONNS RATIO
  local cmd="taskset -c $CPU_CLIENT redis-benchmark -p PORT -t set -n $(n_for "$3" "$4") -c $4 -P 1 --csv"
  echo "$1,$2,$4,$(med "$3/$4" 1),$(rspread "$3/$4"),$(med "$3/$4" 2),$(med "$3/$4" 3),$5,$cmd" >>"$OUT/wal.csv"
  echo "| $1 | $2 | $4 | $(med "$3/$4" 1) | $(rspread "$3/$4") | $(med "$3/$4" 2) | $(med "$3/$4" 3) | $5 |"
}
WAL_M="$(machine). Disk: **$FSYNC fdatasync/s** (4 KiB pwrite + fdatasync, one thread; median of $ROUNDS probes).
kv-server primaries and replicas and Redis pinned to core $CPU_SERVER, redis-benchmark (-t set -P 1) to core $CPU_CLIENT; median of $ROUNDS interleaved rounds."
{
  echo "$WAL_M"
  echo
  echo "| system | level | conns | commits/s | min-max over rounds | p50 ms | p99 ms | ratio vs Redis (median per round) |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"
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
} >"$OUT/wal-table.md"
# target KEY TEXT MEASURED RANGE WANT: a row of the targets table; ratio, range and
# verdict (from the range: lib.sh's verdict) as values for the notes
: >"$D/targets.md"
target() {
  local v; v=$(verdict "$4" "$5")
  echo "| $2 | $3 | $4 | $v |" >>"$D/targets.md"
  value "target.$1.measured" "$3"; value "target.$1.range" "$4"; value "target.$1.verdict" "$v"
}
l1=$(med kv/local/1 1); l64=$(med kv/local/64 1)
target group_commit "group commit: local@64 >= 10x local@1" "$(ratio "$l64" "$l1")x" "$(prange kv/local/64 kv/local/1)" 10
fsr=$(spread "${FS[@]}")
target above_fsync "local@64 above the disk's fdatasync/s" "$(ratio "$l64" "$FSYNC")x" \
  "$(awk -v r="$(rspread kv/local/64)" -v f="$fsr" 'BEGIN { split(r, a, "-"); split(f, b, "-"); printf "%.2f-%.2f", a[1] / b[2], a[2] / b[1] }')" 1
target on_local "on@64 >= 0.5x local@64" "$(pratio kv/on kv/local 64)x" "$(prange kv/on/64 kv/local/64)" 0.5
target local_always "local@64 >= 1.0x Redis appendfsync always@64 (both without replica)" \
  "$(pratio alone/local redis/always 64)x (with replica: $(pratio kv/local redis/always 64)x)" "$(prange alone/local/64 redis/always/64)" 1.0
target off_everysec "off@64 >= 1.0x Redis appendfsync everysec@64 (both without replica)" \
  "$(pratio alone/off redis/everysec 64)x (with replica: $(pratio kv/off redis/everysec 64)x)" "$(prange alone/off/64 redis/everysec/64)" 1.0
value fsync_per_s "$FSYNC"
value fsync_range "$fsr"
{
  echo "$WAL_M"
  echo
  echo "| target | measured (median) | range of the per-round ratios | verdict |"
  echo "| --- | --- | ---: | --- |"
  cat "$D/targets.md"
  echo
  echo "met: even the lowest per-round ratio reaches the target; not met: even the highest falls short; on par within the spread: the rounds straddle it."
} >"$OUT/wal-targets.md"
{
  echo "### WAL commit levels (\`make bench-wal\`, FULL=$FULL)"
  echo; cat "$OUT/wal-table.md"
  echo; cat "$OUT/wal-targets.md"
  echo
  echo "![commits per second](wal.png)"
} >"$OUT/wal.md"

# kv-server beside PostgreSQL, level by level: both with a synchronous standby here.
echo "level,conns,kv_commits_per_s,kv_p50_ms,kv_p99_ms,pg_commits_per_s,pg_p50_ms,pg_p99_ms,kv_over_pg,command" >"$OUT/wal-pg.csv"
{
  echo "### kv-server beside PostgreSQL 15 (\`make bench-wal\`, FULL=$FULL, median of $ROUNDS interleaved rounds)"
  echo
  echo "$(machine). Disk: **$FSYNC fdatasync/s**."
  echo "Each with a synchronous standby on this machine (kv-server: a replica process; PostgreSQL: a streaming standby from pg_basebackup, \`synchronous_standby_names = 'standby'\`, every other setting the default: \`wal_writer_delay\` 200 ms, \`commit_delay\` 0, \`full_page_writes\` on); kv-server \`--wal-writer-delay\` 200. The same upsert of a 3-byte value: redis-benchmark \`-t set -P 1\` against kv-server, pgbench (\`-M prepared\`, one \`INSERT ... ON CONFLICT DO UPDATE\` per transaction, one key per connection) against PostgreSQL, each in the same rounds; servers pinned to core $CPU_SERVER, clients to core $CPU_CLIENT."
  echo
  echo "| level | conns | kv-server commits/s | p50 ms | p99 ms | PostgreSQL commits/s | p50 ms | p99 ms | kv-server / PostgreSQL (median per round) |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for c in 1 64; do
    for level in $LEVELS; do
      kv="$(med "kv/$level/$c" 1) | $(med "kv/$level/$c" 2) | $(med "kv/$level/$c" 3)"
      pg="$(med "pg/$level/$c" 1) | $(med "pg/$level/$c" 2) | $(med "pg/$level/$c" 3)"
      r=$(pratio "kv/$level" "pg/$level" "$c")
      echo "| $level | $c | $kv | $pg | ${r}x |"
      value "kv_over_pg.$level.$c" "${r}x"
      echo "$level,$c,$(tr -d ' ' <<<"${kv//|/,}"),$(tr -d ' ' <<<"${pg//|/,}"),$r,PGOPTIONS=\"-c synchronous_commit=$level\" taskset -c $CPU_CLIENT pgbench -h 127.0.0.1 -p PORT -U postgres -n -M prepared -f upsert.sql -c $c -j 1 -t $(( ($(n_for "pg/$level" "$c") + c - 1) / c )) -l postgres" >>"$OUT/wal-pg.csv"
    done
  done
} >"$OUT/wal-pg.md"
# what async commit buys PostgreSQL, and what its synchronous standby costs it (the notes
# cite these in sentences; docs/overview.md's async commit row too)
for c in 1 64; do
  value "pg.off_over_local.$c" "$(pratio pg/off pg/local "$c")x"
  value "pg.on_over_local.$c" "$(pratio pg/on pg/local "$c")x"
  value "kv.off_over_local.$c" "$(pratio kv/off kv/local "$c")x"
done
value "pg.local_over_fsync.64" "$(ratio "$(med pg/local/64 1)" "$FSYNC")x"

# Over a link: each level with its replica behind the link, beside the same level with a
# replica on loopback (the kv/ rows above), and beside the bound a round trip sets.
fmt() { awk -v x="$1" 'BEGIN { if (x == "" || x == "nan") print "n/a"; else if (x >= 100) printf "%.0f\n", x; else if (x >= 10) printf "%.1f\n", x; else printf "%.2f\n", x }'; }
echo "link,rtt_ms,level,conns,commits_per_s,commits_min_max,bound_per_s,of_bound,p50_ms,p99_ms,p50_rtts,vs_loopback,command" >"$OUT/wal-link.csv"
{
  echo "### Commit levels with the replica behind a link (\`make bench-wal\`, FULL=$FULL, median of $ROUNDS interleaved rounds)"
  echo
  echo "$(machine). Disk: **$FSYNC fdatasync/s**."
  echo "Each primary's replica dials it through \`linkem --profile LINK\` (lab 12: $(for l in $LINKS; do printf '%s %s ms, ' "$l" "${RTT_MS[$l]}"; done | sed 's/, $//') round trip); redis-benchmark (\`-t set -P 1\`) reaches the primary over loopback, so only the replica is far away. Primaries, replicas and linkem pinned to core $CPU_SERVER, redis-benchmark to core $CPU_CLIENT, every configuration of the section in the same rounds. **Bound**: conns / RTT. A commit at \`remote_write\`, \`on\` or \`remote_apply\` is answered only after the replica's reply to it came back, a round trip at least, so one connection makes at most 1/RTT commits a second, 64 at most 64/RTT; \`local\` does not wait for the replica and has no such bound. **p50 in RTTs**: the median commit in round trips of the link. **vs loopback**: the same level with its replica on loopback, median of the per-round ratios."
  echo
  echo "| replica's link | level | conns | commits/s | min-max over rounds | bound (conns / RTT) | of bound | p50 ms | p99 ms | p50 in RTTs | vs loopback |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for c in 1 64; do
    value "link.loopback.on_over_local.$c" "$(pratio kv/on kv/local "$c")x"
    for level in $LLEVELS; do
      echo "| loopback | $level | $c | $(med "kv/$level/$c" 1) | $(rspread "kv/$level/$c") | — | — | $(med "kv/$level/$c" 2) | $(med "kv/$level/$c" 3) | — | 1.00 |"
    done
    for link in $LINKS; do
      rtt=${RTT_MS[$link]}
      for level in $LLEVELS; do
        k=link-$link/$level/$c
        cps=$(med "$k" 1) p50=$(med "$k" 2) p99=$(med "$k" 3) vs=$(pratio "link-$link/$level" "kv/$level" "$c")
        if [ "$level" = local ]; then bound="—" ofb="—" inrtt="—"
        else
          bound=$(fmt "$(awk -v c="$c" -v r="$rtt" 'BEGIN { print c * 1000 / r }')")
          ofb=$(ratio "$cps" "$bound") inrtt=$(ratio "$p50" "$rtt")
        fi
        echo "| $link ($rtt ms) | $level | $c | $cps | $(rspread "$k") | $bound | $ofb | $p50 | $p99 | $inrtt | $vs |"
        echo "$link,$rtt,$level,$c,$cps,$(rspread "link-$link/$level/$c"),${bound/—/},${ofb/—/},$p50,$p99,${inrtt/—/},$vs,taskset -c $CPU_CLIENT redis-benchmark -p PORT -t set -n $(n_for "link-$link/$level" "$c") -c $c -P 1 --csv (the primary's replica through $BIN/linkem --profile $link)" >>"$OUT/wal-link.csv"
        value "link.$link.$level.$c.cps" "$(fmt "$cps")"
        value "link.$link.$level.$c.p50_ms" "$p50"
        [ "$level" = local ] || { value "link.$link.$level.$c.bound" "$bound"; value "link.$link.$level.$c.of_bound" "${ofb}x"; value "link.$link.$level.$c.p50_rtts" "$inrtt"; }
        value "link.$link.$level.$c.vs_loopback" "${vs}x"
      done
      value "link.$link.on_over_local.$c" "$(pratio "link-$link/on" "link-$link/local" "$c")x"
    done
  done
  for link in $LINKS; do
    value "link.$link.rtt_ms" "${RTT_MS[$link]}"
    value "link.$link.on.64_over_1" "$(ratio "$(med "link-$link/on/64" 1)" "$(med "link-$link/on/1" 1)")x"
  done
  far=continent
  fb=$(awk -v r="${RTT_MS[$far]}" 'BEGIN { print 1000 / r }')
  on1=$(med "link-$far/on/1" 1) on1p=$(med "link-$far/on/1" 2) on64=$(med "link-$far/on/64" 1)
  gcl=$(ratio "$on64" "$on1") lvs=$(pratio "link-$far/local" link-lan/local 1)
  value "link.$far.local_over_lan.1" "${lvs}x"
  echo
  echo "| target | measured | verdict |"
  echo "| --- | --- | --- |"
  echo "| a commit at \`on\` waits a round trip: $far on@1 p50 >= RTT | $on1p ms vs ${RTT_MS[$far]} ms | $(verdict "$on1p" "${RTT_MS[$far]}") |"
  echo "| one connection at \`on\` is capped at 1/RTT: $far on@1 <= 1/RTT | $on1 vs $(fmt "$fb") commits/s | $(verdict "$fb" "$on1") |"
  echo "| group commit shares the round trip: $far on@64 >= 10x on@1 | ${gcl}x | $(verdict "$gcl" 10) |"
  echo "| an asynchronous commit does not wait for the link: $far local@1 >= 0.8x lan local@1 | ${lvs}x | $(verdict "$lvs" 0.8) |"
} >"$OUT/wal-link.md"
{ echo; cat "$OUT/wal-pg.md"; echo; cat "$OUT/wal-link.md"; } >>"$OUT/wal.md"
cat "$OUT/wal.md"

# plot: commits/s at 64 and at 1 connection per configuration (with replica; Redis alone)
for k in $(sed 's#alone/[a-z]*##g' <<<"$CONFIGS"); do
  printf '"%s" %s %s\n' "${k/\//\\n}" "$(med "$k/64" 1)" "$(med "$k/1" 1)"
done >"$D/plot.dat"
gnuplot <<EOF
set terminal pngcairo size 1100,520 font ",10" noenhanced
set output "$OUT/wal.png"
set title "SET commits/s by durability level (redis-benchmark -P 1); disk: $FSYNC fdatasync/s"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8
set yrange [0:*]
set grid ytics
set ylabel "commits/s"
set xtics font ",8"
set bmargin 4
set key outside top center horizontal
plot "$D/plot.dat" using 2:xtic(1) title "64 connections", "" using 3 title "1 connection", $FSYNC with lines lw 2 title "fdatasync/s"
EOF
