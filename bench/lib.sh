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

progress() { printf '[%s %s] %s\n' "$SECTION" "$(date +%H:%M:%S)" "$*" >&2; }

# median of numbers given as arguments
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# ratio A B -> A/B with two decimals ("n/a" when B is 0 or missing)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b+0 == 0) print "n/a"; else printf "%.2f\n", a/b }'; }

# One line that says where the numbers came from; every table starts with it.
machine() {
  local cpu; cpu=$(sed -nE 's/^model name\s*: (.*)/\1/p' /proc/cpuinfo | head -1)
  printf '%s, %s cores, %s GiB, Linux %s, %s' "$cpu" "$NCPU" \
    "$(awk '/MemTotal/ {printf "%.0f", $2/1048576}' /proc/meminfo)" "$(uname -r)" "$(date -u +%F)"
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
