# tests/lib.sh: what every integration test script sources.
#
# A script is tests/integration/NAME.sh.  It calls `ok NAME` / `bad NAME WHY` (or
# `check NAME cmd...`) for each assertion, and ends with `finish`, which prints
# `N passed, N failed` and exits non-zero when anything failed.  Servers are
# started with `start_server VAR cmd...`, which waits for the `listening on
# 127.0.0.1:PORT` line and puts PORT into $VAR; every started process is killed
# on exit.  Binaries come from $BIN (default build/asan/bin: sanitized builds,
# so a memory error under bad input fails the test).
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../tools/proc.sh"
BUILD=${BUILD:-build}
BIN=${BIN:-$BUILD/asan/bin}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
T_PASS=0
T_FAIL=0
T_NAME=$(basename "$0" .sh)
T_TMP=$(mktemp -d "/tmp/wirelab-$T_NAME.XXXXXX")
T_PIDS=()

ok() { T_PASS=$((T_PASS + 1)); printf '  ok   %s\n' "$1"; }
bad() { T_FAIL=$((T_FAIL + 1)); printf '  FAIL %s: %s\n' "$1" "${2:-}"; }
# check NAME cmd...: passes when cmd exits 0.
check() { local n=$1; shift; if "$@" >"$T_TMP/check.out" 2>&1; then ok "$n"; else bad "$n" "$(head -c 400 "$T_TMP/check.out")"; fi; }
# expect_eq NAME WANT GOT
expect_eq() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "want [$2] got [$3]"; fi; }

# need TOOL...: a missing tool is a failure with a message, never a silent skip.
need() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 || { bad "tool $t" "not installed: run 'make deps'"; finish; }
  done
}

# start_server VAR cmd...: run cmd in the background, wait (10 s at most) for its
# "listening on 127.0.0.1:PORT" line, store PORT in VAR and the pid in VAR_PID.
start_server() {
  local var=$1; shift
  local log="$T_TMP/$var.log" port
  # Empty the log here, not in the child: the child's `>` runs after fork, and a
  # reused log could still show the previous server's port to wait_listening.
  : >"$log"
  "$@" >>"$log" 2>&1 &
  local pid=$!
  T_PIDS+=("$pid")
  if ! port=$(wait_listening "$log" "$pid"); then
    bad "start $*" "no 'listening on' line; log: $(head -c 600 "$log")"
    return 1
  fi
  printf -v "$var" '%s' "$port"
  printf -v "${var}_PID" '%s' "$pid"
  return 0
}

# alive NAME PID: the process is still running (a server must survive bad input).
alive() { if kill -0 "$2" 2>/dev/null; then ok "$1"; else bad "$1" "process $2 died"; fi; }

t_cleanup() {
  stop_all "${T_PIDS[@]}"
  rm -rf "$T_TMP"
}
trap t_cleanup EXIT

finish() {
  echo "$T_NAME: $T_PASS passed, $T_FAIL failed"
  [ "$T_FAIL" -eq 0 ]
  exit
}
