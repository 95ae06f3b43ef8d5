#!/usr/bin/env bash
# Bench section io-models: server-blocking, server-epoll and server-uring against
# nginx (one worker, same body), measured in the same run.  wrk on its own core,
# keep-alive GET /plaintext at 1, 50, 256 and 1000 connections and at 50
# connections with 16-deep pipelining; medians of several runs; req/s, p50, p99,
# ratio to nginx; syscalls per request under strace -c -f; a gnuplot PNG.
# Quick profile: 3 runs of 1 s (2 s at 1000 connections; 1 run at 1 connection
# and for the blocking server, which has no target); FULL=1: 5 runs of 5 s.
source "$(dirname "$0")/../lib.sh"
need wrk nginx strace gnuplot taskset python3

if [ "$FULL" = 1 ]; then RUNS=5; DUR=5; RUNS_MINOR=5; STRACE_S=5
else RUNS=3; DUR=1; RUNS_MINOR=1; STRACE_S=1; fi
CONFIGS="c1 c50 c256 c1000 p50x16"
SERVERS="nginx epoll uring blocking"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# ---- the servers -------------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

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
declare -A RPS P50 P99 ERR R A B
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
echo "config,server,rps,p50_ms,p99_ms,ratio_nginx,errors,runs" >"$CSV"
for cfg in $CONFIGS; do for s in $SERVERS; do
  n=$RUNS; { [ "$cfg" = c1 ] || [ "$s" = blocking ]; } && n=$RUNS_MINOR
  echo "$cfg,$s,${RPS[$s,$cfg]},${P50[$s,$cfg]},${P99[$s,$cfg]},$(ratio "${RPS[$s,$cfg]}" "${RPS[nginx,$cfg]}"),${ERR[$s,$cfg]},$n" >>"$CSV"
done; done
for s in $SERVERS; do echo "syscalls_per_req,$s,${SYS[$s]},,,,," >>"$CSV"; done

met() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a >= b) print "met"; else print "**not met**" }'; }
MD="$OUT/io-models.md"
{
  echo "### I/O models: GET /plaintext, wrk -t1 (core $CPU_CLIENT), servers on core $CPU_SERVER"
  echo
  echo "$(machine); ${DUR} s runs, medians of $RUNS (c1 and blocking: $RUNS_MINOR)"
  echo
  echo "| connections | server | req/s | p50 ms | p99 ms | vs nginx | errors |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
  for cfg in $CONFIGS; do for s in $SERVERS; do
    label=$cfg; [ "$cfg" = p50x16 ] && label="50, pipelined x16"; label=${label#c}
    lat50=${P50[$s,$cfg]} lat99=${P99[$s,$cfg]}
    # wrk times a pipelined batch, not each request in it: its percentiles there
    # (a p99 of 0.000 among them) are not request latencies, so none are shown.
    [ "$cfg" = p50x16 ] && lat50="n/a" && lat99="n/a"
    printf '| %s | %s | %.0f | %s | %s | %s | %s |\n' "$label" "$s" "${RPS[$s,$cfg]}" "$lat50" \
      "$lat99" "$(ratio "${RPS[$s,$cfg]}" "${RPS[nginx,$cfg]}")" "${ERR[$s,$cfg]}"
  done; done
  echo
  echo "| server | syscalls per request (strace -c -f over ${STRACE_S} s of wrk, 50 connections) | top three per request |"
  echo "| --- | ---: | --- |"
  for s in $SERVERS; do echo "| $s | ${SYS[$s]} | ${TOPSYS[$s]} |"; done
  echo
  echo "Targets:"
  for cfg in c50 c256; do for s in epoll uring; do
    echo "- $s >= 1.0x nginx at ${cfg#c} connections: $(ratio "${RPS[$s,$cfg]}" "${RPS[nginx,$cfg]}")x, $(met "${RPS[$s,$cfg]}" "${RPS[nginx,$cfg]}")"
  done; done
  u=${RPS[uring,c1000]} e=${RPS[epoll,c1000]}
  echo "- uring >= 1.1x epoll at 1000 connections: $(ratio "$u" "$e")x, $(met "$u" "$(awk -v e="$e" 'BEGIN {print e * 1.1}')")"
  for s in epoll uring; do
    echo "- $s pipelined >= 5x nginx pipelined: $(ratio "${RPS[$s,p50x16]}" "${RPS[nginx,p50x16]}")x, $(met "${RPS[$s,p50x16]}" "$(awk -v n="${RPS[nginx,p50x16]}" 'BEGIN {print n * 5}')")"
  done
  echo
  echo "![req/s per server](io-models.png)"
} >"$MD"
cat "$MD"

# grouped bars: one cluster per connection setting, one bar per server
DAT="$B_TMP/plot.dat"
{ echo "config $SERVERS"; for cfg in $CONFIGS; do
    printf '%s' "$cfg"; for s in $SERVERS; do printf ' %s' "${RPS[$s,$cfg]}"; done; echo
  done; } >"$DAT"
gnuplot <<EOF
set terminal png size 900,500
set output "$OUT/io-models.png"
set title "GET /plaintext req/s (wrk, keep-alive; p50x16 = 50 connections, 16-deep pipelining)"
set style data histogram
set style histogram clustered gap 1
set style fill solid border -1
set logscale y
set ylabel "requests/s (log)"
set key top left
plot for [i=2:$(( $(echo "$SERVERS" | wc -w) + 1 ))] "$DAT" using i:xtic(1) title columnheader(i)
EOF
progress "wrote $CSV, $MD, $OUT/io-models.png"
