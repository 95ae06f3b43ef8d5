# bench/lib.sh: what every bench section (bench/sections/NAME.sh) sources.
#
# A section measures its reference row (nginx, fio, Redis, the library) in the
# same run as ours and reports ratios.  It writes into $OUT (bench/results/latest):
#   NAME.csv   a header line and one row per measurement
#   NAME.md    the section's Markdown table(s), appended to summary.md by bench/run.sh
#   NAME*.png  plots (gnuplot)
# $FULL is 1 for the long profile, 0 for the quick one.  $BIN is build/bin (release).
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../tools/proc.sh"
BUILD=${BUILD:-build}
BIN=${BIN:-$BUILD/bin}
FULL=${FULL:-0}
OUT=${OUT:-bench/results/latest}
SECTION=$(basename "$0" .sh)
B_TMP=$(mktemp -d "/tmp/wirelab-bench-$SECTION.XXXXXX")
B_PIDS=()
mkdir -p "$OUT"

# Core pinning: on a 2-core machine the server gets core 0 and the load generator core 1.
NCPU=$(nproc)
CPU_SERVER=0
CPU_CLIENT=$(( NCPU > 1 ? 1 : 0 ))
pin_server() { taskset -c "$CPU_SERVER" "$@"; }
pin_client() { taskset -c "$CPU_CLIENT" "$@"; }

# Progress on stderr.  A section that calls `plan_steps N` first gets, on every
# `progress`, the step count and an estimate of the time left in the section, from the
# time the steps so far took: [wal 3/12 ~1m40s left] round 1/3 done.
B_STEPS=0 B_STEP=0 B_T0=$(date +%s)
plan_steps() { B_STEPS=$1 B_STEP=0 B_T0=$(date +%s); }
progress() {
  local head="$SECTION"
  if [ "$B_STEPS" -gt 0 ]; then
    B_STEP=$((B_STEP + 1))
    local el=$(($(date +%s) - B_T0)) left
    left=$(( B_STEP >= B_STEPS ? 0 : el * (B_STEPS - B_STEP) / B_STEP ))
    head=$(printf '%s %d/%d ~%dm%02ds left' "$SECTION" "$B_STEP" "$B_STEPS" $((left / 60)) $((left % 60)))
  fi
  printf '[%s %s] %s\n' "$head" "$(date +%H:%M:%S)" "$*" >&2
}

# median of numbers given as arguments
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# spread of numbers given as arguments: "min-max" (with the precision they came with)
spread() { printf '%s\n' "$@" | sort -g | awk 'NR==1 {lo=$1} {hi=$1} END {if (NR==0) print "nan"; else print lo "-" hi}'; }
# iqr: the interquartile range "q1-q3" (linear interpolation), for 5 or more values
iqr() {
  printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} function q(p,  h,l) { h=(NR-1)*p+1; l=int(h);
    return a[l] + (h-l)*(a[l+1]-a[l]) } END { if (NR==0) print "nan"; else printf "%g-%g\n", q(0.25), q(0.75) }'
}
# spread_of VALUES...: the spread column beside a median: the IQR "q1-q3" for 5 or
# more values, "min-max" below that
spread_of() { if [ $# -ge 5 ]; then iqr "$@"; else spread "$@"; fi; }
# ratio_range "A VALUES" "B VALUES" -> "lo-hi": the lowest and highest A/B the runs
# allow (A's slowest over B's fastest, A's fastest over B's slowest; with 5 or more
# runs a side, its quartiles instead of its extremes), two decimals
ratio_range() {
  # shellcheck disable=SC2086
  awk -v a="$(spread_of $1)" -v b="$(spread_of $2)" 'BEGIN { split(a, x, "-"); split(b, y, "-")
    if (y[1] + 0 <= 0 || y[2] + 0 <= 0) print "n/a"; else printf "%.2f-%.2f\n", x[1] / y[2], x[2] / y[1] }'
}
# verdict RANGE TARGET -> "met" when even the lowest ratio of RANGE ("lo-hi") is >=
# TARGET, "not met" when even the highest is below it, "on par within the spread"
# when the range straddles it: a verdict never claims what the runs do not settle
verdict() {
  awk -v r="$1" -v t="$2" 'BEGIN { if (split(r, x, "-") != 2) { print "n/a"; exit }
    if (x[1] + 0 >= t) print "met"; else if (x[2] + 0 < t) print "not met"; else print "on par within the spread" }'
}
# ratio A B -> A/B with two decimals ("n/a" when B is 0 or missing)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b+0 == 0) print "n/a"; else printf "%.2f\n", a/b }'; }

# One line that says where the numbers came from; every table starts with it.  The load
# average is the one when the section started (B_LOAD): a busy machine shows in it.
B_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
machine() {
  local cpu; cpu=$(sed -nE 's/^model name\s*: (.*)/\1/p' /proc/cpuinfo | head -1)
  printf '%s, %s cores, %s GiB, Linux %s, %s, load %s at start' "$cpu" "$NCPU" \
    "$(awk '/MemTotal/ {printf "%.0f", $2/1048576}' /proc/meminfo)" "$(uname -r)" "$(date -u +%F)" \
    "$B_LOAD"
}

# value KEY TEXT: a number the notes cite inside a sentence (`<!-- v:SECTION.KEY -->`,
# tools/notes.py), written to $OUT/SECTION.values.tsv.  Formatted as the notes show it.
rm -f "$OUT/$SECTION.values.tsv"
value() { printf '%s\t%s\n' "$1" "$2" >>"$OUT/$SECTION.values.tsv"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_redis VAR ARGS...: a redis-server of our own on a free loopback port, pinned to the
# server core, its data in a fresh directory; waits for PING; the port goes into VAR.
start_redis() {
  local var=$1 port dir i; shift
  port=$(free_port); dir=$(mktemp -d "$B_TMP/redis.XXXX")
  # taskset itself, not the pin_server function: a function runs in a subshell, and then
  # $! (what the cleanup kills) would be that subshell and the server would outlive us
  taskset -c "$CPU_SERVER" redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' "$@" \
    >"$dir/log" 2>&1 &
  B_PIDS+=($!)
  for i in $(seq 1 100); do redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
  redis-cli -p "$port" ping 2>/dev/null | grep -q PONG ||
    { echo "bench $SECTION: redis-server did not start: $(head -c 300 "$dir/log")" >&2; return 1; }
  printf -v "$var" '%s' "$port"
}

# start_bg VAR cmd...: start a server, wait for `listening on 127.0.0.1:PORT`, PORT into VAR.
start_bg() {
  local var=$1; shift
  # pin_server/pin_client are shell functions: run in the background they would be a
  # subshell whose pid is not the server's, and cleanup would leave the server running.
  # taskset execs the program, so the recorded pid is the server itself.
  case "$1" in
    pin_server) shift; set -- taskset -c "$CPU_SERVER" "$@" ;;
    pin_client) shift; set -- taskset -c "$CPU_CLIENT" "$@" ;;
  esac
  local log="$B_TMP/$var.log" port
  # Empty the log here, not in the child: the child's `>` runs after fork, and a
  # reused log could still show the previous server's port to wait_listening.
  : >"$log"
  "$@" >>"$log" 2>&1 &
  B_PIDS+=("$!")
  port=$(wait_listening "$log" "$!") || { echo "bench: $* did not start: $(head -c 400 "$log")" >&2; return 1; }
  printf -v "$var" '%s' "$port"
}

need() {
  local t
  for t in "$@"; do command -v "$t" >/dev/null 2>&1 || { echo "bench $SECTION: $t is not installed (make deps)" >&2; exit 1; }; done
}

b_cleanup() {
  stop_all "${B_PIDS[@]}"
  rm -rf "$B_TMP"
}
trap b_cleanup EXIT
