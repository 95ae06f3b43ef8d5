#!/usr/bin/env bash
# Bench section io-models: server-blocking, server-epoll and server-uring against
# nginx (one worker, same body), measured in the same run.  wrk on its own core,
# keep-alive GET /plaintext at 1, 50, 256 and 1000 connections and at 50
# connections with 16-deep pipelining; medians of several runs; req/s, p50, p99,
# ratio to nginx; syscalls per request under strace -c -f; a gnuplot PNG.
# Quick profile: 3 runs of 1 s (2 s at 1000 connections; 1 run at 1 connection
# and for the blocking server, which has no target); FULL=1: 5 runs of 5 s.
# Writes io-models.csv (a row per setting and server: median, spread, the wrk command),
# io-models.md (every table and the plot), one table file each for
# labs/03-io-models/NOTES.md (io-models-rps.md, io-models-targets.md,
# io-models-syscalls.md) and io-models.values.tsv (ratios and verdicts the notes cite).
source "$(dirname "$0")/../lib.sh"
need wrk nginx strace gnuplot taskset python3

if [ "$FULL" = 1 ]; then RUNS=5; DUR=5; RUNS_MINOR=5; STRACE_S=5
else RUNS=3; DUR=1; RUNS_MINOR=1; STRACE_S=1; fi
CONFIGS="c1 c50 c256 c1000 p50x16"
SERVERS="nginx epoll uring blocking"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# steps: the servers, 5 settings x 4 servers, 4 system-call counts, the tables
plan_steps 26

# ---- the servers -------------------------------------------------------------
start_nginx() {
  local d="$B_TMP/nginx" port; port=$(free_port)
  mkdir -p "$d/tmp" "$d/logs"
  cat >"$d/nginx.conf" <<EOF
$( [ "$(id -u)" = 0 ] && echo "user root;" )
worker_processes 1;
daemon off;
pid $d/nginx.pid;
error_log $d/logs/error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 60s;
  client_body_temp_path $d/tmp/body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
  server {
    listen 127.0.0.1:$port backlog=4096;
    location / { default_type text/plain; return 200 "Hello, World!"; }
  }
}
EOF
  taskset -c "$CPU_SERVER" nginx -p "$d" -e "$d/logs/error.log" -c "$d/nginx.conf" >"$d/logs/stdout" 2>&1 &
  B_PIDS+=("$!")
  local i; for i in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/plaintext" && break; sleep 0.05
  done
  printf -v "$1" '%s' "$port"
}

declare -A PORT PID
for s in $SERVERS; do
  if [ "$s" = nginx ]; then start_nginx p; PID[$s]=$(cat "$B_TMP/nginx/nginx.pid" 2>/dev/null)
       B_PIDS+=("${PID[$s]}")  # the master, in case the backgrounded taskset pid differs
  else start_bg p taskset -c "$CPU_SERVER" "$BIN/server-$s" --port 0 --idle-timeout 60 || exit 1
       PID[$s]=${B_PIDS[-1]}; fi
  PORT[$s]=$p
  curl -s "http://127.0.0.1:$p/plaintext" | grep -q 'Hello, World!' || { echo "bench: $s does not answer" >&2; exit 1; }
done
progress "servers up: $(for s in $SERVERS; do printf '%s:%s ' "$s" "${PORT[$s]}"; done)"

cat >"$B_TMP/pipeline.lua" <<'EOF'
-- 16 requests per write: wrk counts each response
init = function(args)
  local r = {}
  for i = 1, 16 do r[i] = wrk.format(nil, "/plaintext") end
  req = table.concat(r)
end
request = function() return req end
EOF

# ---- wrk ---------------------------------------------------------------------
# to_ms "1.23ms" -> 1.23
to_ms() { awk -v v="$1" 'BEGIN { u = v; gsub(/[0-9.]/, "", u); n = v + 0;
  if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000; printf "%.3f", n }'; }

# wrk_cmd SERVER CONFIG: the command behind a row, as a reader would type it
wrk_cmd() {
  local s=$1 cfg=$2 c=${2#c} lua=""
  [ "$cfg" = p50x16 ] && c=50 lua=" -s pipeline.lua"
  local d=$DUR; [ "$c" -ge 1000 ] && [ "$d" -lt 2 ] && [ "$s" != blocking ] && d=2
  echo "taskset -c $CPU_CLIENT wrk -t1 -c$c -d${d}s --latency$lua http://127.0.0.1:PORT/plaintext ($s)"
}
# run_wrk SERVER CONFIG -> "rps p50 p99 errors" (one run)
run_wrk() {
  local s=$1 cfg=$2 c args=() out
  case $cfg in
    c*) c=${cfg#c} ;;
    p50x16) c=50; args=(-s "$B_TMP/pipeline.lua") ;;
  esac
  # 1000 connections take a while to open: at least 2 s so the setup does not
  # dominate (not for the blocking server in the quick profile: it has no
  # target, and 1 s already shows that it has barely started)
  local d=$DUR; [ "$c" -ge 1000 ] && [ "$d" -lt 2 ] && [ "$s" != blocking ] && d=2
  out=$(pin_client wrk -t1 -c"$c" -d"${d}s" --latency "${args[@]}" "http://127.0.0.1:${PORT[$s]}/plaintext" 2>&1)
  local rps p50 p99 err
  rps=$(printf '%s\n' "$out" | awk '/^Requests\/sec/ {print $2}')
  p50=$(printf '%s\n' "$out" | awk '$1 == "50%" {print $2}')
  p99=$(printf '%s\n' "$out" | awk '$1 == "99%" {print $2}')
  err=$(printf '%s\n' "$out" | awk '/Socket errors/ {gsub(/,/, ""); e += $4 + $6 + $8 + $10} /Non-2xx/ {e += $NF} END {print e + 0}')
  echo "${rps:-0} $(to_ms "${p50:-0}") $(to_ms "${p99:-0}") $err"
}

# Runs are interleaved (the first repetition of every server, then the second, ...) so that a change
# in the machine's load during a setting hits every server alike.
declare -A RPS P50 P99 ERR R A B ALL SPR
for cfg in $CONFIGS; do
  for i in $(seq 1 "$RUNS"); do
    for s in $SERVERS; do
      n=$RUNS; { [ "$cfg" = c1 ] || [ "$s" = blocking ]; } && n=$RUNS_MINOR
      [ "$i" -le "$n" ] || continue
      read -r x y z w < <(run_wrk "$s" "$cfg")
      R[$s]="${R[$s]:-} $x"; A[$s]="${A[$s]:-} $y"; B[$s]="${B[$s]:-} $z"
      ERR[$s,$cfg]=$(( ${ERR[$s,$cfg]:-0} + w ))
    done
  done
  for s in $SERVERS; do
    # shellcheck disable=SC2086 # word splitting of the run lists is intended
    RPS[$s,$cfg]=$(median ${R[$s]}); P50[$s,$cfg]=$(median ${A[$s]}); P99[$s,$cfg]=$(median ${B[$s]})
    ALL[$s,$cfg]=${R[$s]}; SPR[$s,$cfg]=$(spread_of ${R[$s]} | awk -F- '{ printf "%.0f-%.0f", $1, $2 }')
    R[$s]=""; A[$s]=""; B[$s]=""
    progress "$cfg $s: ${RPS[$s,$cfg]} req/s (median), p50 ${P50[$s,$cfg]} ms, p99 ${P99[$s,$cfg]} ms"
  done
done

# ---- syscalls per request ------------------------------------------------------
declare -A SYS TOPSYS
for s in $SERVERS; do
  pid=${PID[$s]}
  [ "$s" = nginx ] && pid=$(pgrep -P "$pid" | head -1)  # the worker
  strace -c -f -q -o "$B_TMP/strace.$s" -p "$pid" &
  sp=$!
  sleep 0.3 # let strace attach
  nreq=$(pin_client wrk -t1 -c50 -d"${STRACE_S}s" "http://127.0.0.1:${PORT[$s]}/plaintext" 2>&1 |
    awk '/requests in/ {print $1}')
  sleep 0.1
  kill -INT "$sp"; wait "$sp" 2>/dev/null
  # strace -c columns: % time, seconds, usecs/call, calls, [errors,] syscall
  total=$(awk '$NF == "total" { print $4 }' "$B_TMP/strace.$s")
  SYS[$s]=$(awk -v t="${total:-0}" -v n="${nreq:-0}" 'BEGIN { if (n > 0) printf "%.2f", t / n; else print "n/a" }')
  TOPSYS[$s]=$(awk 'NR > 2 && $NF != "total" && $1 !~ /^-/ { print $NF, $4 }' "$B_TMP/strace.$s" |
    sort -k2 -nr | head -3 | awk -v n="${nreq:-1}" '{ printf "%s%s %.2f", (NR > 1 ? ", " : ""), $1, $2 / n }')
  progress "syscalls $s: ${SYS[$s]} per request over $nreq requests (${TOPSYS[$s]})"
done

# ---- results -------------------------------------------------------------------
CSV="$OUT/io-models.csv"
echo "config,server,rps,rps_spread,p50_ms,p99_ms,ratio_nginx,ratio_range,errors,runs,command" >"$CSV"
for cfg in $CONFIGS; do for s in $SERVERS; do
  n=$RUNS; { [ "$cfg" = c1 ] || [ "$s" = blocking ]; } && n=$RUNS_MINOR
  echo "$cfg,$s,${RPS[$s,$cfg]},${SPR[$s,$cfg]},${P50[$s,$cfg]},${P99[$s,$cfg]},$(ratio "${RPS[$s,$cfg]}" "${RPS[nginx,$cfg]}"),$(ratio_range "${ALL[$s,$cfg]}" "${ALL[nginx,$cfg]}"),${ERR[$s,$cfg]},$n,$(wrk_cmd "$s" "$cfg")" >>"$CSV"
done; done
for s in $SERVERS; do echo "syscalls_per_req,$s,${SYS[$s]},,,,,,,,strace -c -f -p PID during taskset -c $CPU_CLIENT wrk -t1 -c50 -d${STRACE_S}s ($s)" >>"$CSV"; done

MD="$OUT/io-models.md"
M="$(machine); wrk -t1 on core $CPU_CLIENT, servers on core $CPU_SERVER; ${DUR} s runs, medians of $RUNS (c1 and blocking: $RUNS_MINOR)"
{
  echo "$M"
  echo
  echo "| connections | server | req/s | req/s spread | p50 ms | p99 ms | vs nginx | ratio range | errors |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for cfg in $CONFIGS; do for s in $SERVERS; do
    label=$cfg; [ "$cfg" = p50x16 ] && label="50, pipelined x16"; label=${label#c}
    lat50=${P50[$s,$cfg]} lat99=${P99[$s,$cfg]}
    # wrk times a pipelined batch, not each request in it: its percentiles there
    # (a p99 of 0.000 among them) are not request latencies, so none are shown.
    [ "$cfg" = p50x16 ] && lat50="n/a" && lat99="n/a"
    printf '| %s | %s | %.0f | %s | %s | %s | %s | %s | %s |\n' "$label" "$s" "${RPS[$s,$cfg]}" "${SPR[$s,$cfg]}" "$lat50" \
      "$lat99" "$(ratio "${RPS[$s,$cfg]}" "${RPS[nginx,$cfg]}")" "$(ratio_range "${ALL[$s,$cfg]}" "${ALL[nginx,$cfg]}")" "${ERR[$s,$cfg]}"
  done; done
  echo
  echo "req/s spread: min-max of the runs (the interquartile range with 5 or more). Ratio range: the lowest and highest ratio to nginx the runs allow."
} >"$OUT/io-models-rps.md"
{
  echo "$M"
  echo
  echo "| server | syscalls per request (strace -c -f over ${STRACE_S} s of wrk, 50 connections) | top three per request |"
  echo "| --- | ---: | --- |"
  for s in $SERVERS; do echo "| $s | ${SYS[$s]} | ${TOPSYS[$s]} |"; done
} >"$OUT/io-models-syscalls.md"
# target KEY TEXT A_SERVER A_CFG B_SERVER B_CFG WANT: one row of the targets table, and
# the ratio, range and verdict as values for the notes
target() {
  local key=$1 text=$2 a=$3 ac=$4 b=$5 bc=$6 want=$7 r rr v
  r=$(ratio "${RPS[$a,$ac]}" "${RPS[$b,$bc]}"); rr=$(ratio_range "${ALL[$a,$ac]}" "${ALL[$b,$bc]}"); v=$(verdict "$rr" "$want")
  echo "| $text | >= $want | ${r} | $rr | $v |" >>"$B_TMP/targets.md"
  value "$key.ratio" "${r}x"; value "$key.range" "$rr"; value "$key.verdict" "$v"
}
: >"$B_TMP/targets.md"
for cfg in c50 c256; do for s in epoll uring; do
  target "$s.nginx.${cfg#c}" "$s / nginx at ${cfg#c} connections" "$s" "$cfg" nginx "$cfg" 1.0
done; done
target uring.epoll.1000 "uring / epoll at 1000 connections" uring c1000 epoll c1000 1.1
for s in epoll uring; do target "$s.nginx.pipelined" "$s / nginx, 50 connections pipelined x16" "$s" p50x16 nginx p50x16 5; done
{
  echo "$M"
  echo
  echo "| target | want | ratio | ratio range | verdict |"
  echo "| --- | ---: | ---: | ---: | --- |"
  cat "$B_TMP/targets.md"
  echo
  echo "met: even the lowest ratio the runs allow reaches the target; not met: even the highest falls short; on par within the spread: the runs straddle it."
} >"$OUT/io-models-targets.md"
for s in $SERVERS; do value "syscalls.$s" "${SYS[$s]}"; done
for cfg in c1 c50 c256 c1000; do
  value "blocking.${cfg#c}.ratio" "$(ratio "${RPS[blocking,$cfg]}" "${RPS[nginx,$cfg]}")x"
  value "blocking.${cfg#c}.p99_ms" "${P99[blocking,$cfg]} ms"
done
{
  echo "### I/O models: GET /plaintext against nginx"
  echo; cat "$OUT/io-models-rps.md"
  echo; echo "#### Targets"; echo; cat "$OUT/io-models-targets.md"
  echo; echo "#### System calls per request"; echo; cat "$OUT/io-models-syscalls.md"
  echo
  echo "![req/s per server](io-models.png)"
} >"$MD"
cat "$MD"

# grouped bars: one cluster per connection setting, one bar per server
DAT="$B_TMP/plot.dat"
{ echo "config $SERVERS"; for cfg in $CONFIGS; do
    printf '%s' "$cfg"; for s in $SERVERS; do printf ' %s' "${RPS[$s,$cfg]}"; done; echo
  done; } >"$DAT"
# linear axes: the plain settings on the left, pipelining (5-10x more) on its own right
gnuplot <<EOF
set terminal pngcairo size 1300,520 font ",10" noenhanced
set output "$OUT/io-models.png"
set multiplot layout 1,2 title "GET /plaintext req/s, medians (wrk -t1, keep-alive; servers pinned to one core)"
set style data histogram
set style histogram clustered gap 1
set style fill solid border -1
set grid ytics
set yrange [0:*]
set ylabel "requests/s"
set key outside top center horizontal
set tmargin 4
set xlabel "connections"
plot for [i=2:5] "$DAT" every ::0::3 using i:xtic(substr(stringcolumn(1),2,9)) title columnheader(i) lc i-1
set xlabel "50 connections, 16-deep pipelining"
unset key
plot for [i=2:5] "$DAT" every ::4::4 using i:xtic("") title columnheader(i) lc i-1
unset multiplot
EOF
progress "wrote $CSV, $MD, $OUT/io-models.png"
