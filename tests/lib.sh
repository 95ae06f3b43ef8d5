# tests/lib.sh: what every integration test script sources.
#
# A script is tests/integration/NAME.sh.  It declares the checks it runs with `plan N`
# (added up: one call per section, next to the checks it counts), makes each check
# with `ok NAME` / `bad NAME WHY` or `check`, `expect_eq`, `check_num`, `alive`,
# `run_checks`, and ends with `finish`.  finish stops every server still running
# (each must exit 0 on SIGTERM with no sanitizer report), counts the checks that did
# not run against the plan, and prints `NAME: N passed, N failed (P planned)`, the
# line tests/run.sh reads.  tests/README.md gives the rules.
#
# Servers are started with `start_server VAR cmd...`, which waits for the `listening
# on 127.0.0.1:PORT` line and puts PORT into $VAR, and stopped with `stop_server VAR`.
# Binaries come from $BIN (default build/asan/bin: sanitized builds, so a memory
# error under bad input fails the test).  Every ASan report, whichever process it
# comes from, is written under $T_SANITIZER_DIR (log_path) and fails the script;
# UBSan (GCC's runtime ignores log_path) reports on the process's stderr and exits 1:
# a server's stderr is its log, scanned when it stops, and finish scans every file
# under $T_TMP.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../tools/proc.sh"
BUILD=${BUILD:-build}
BIN=${BIN:-$BUILD/asan/bin}
T_PASS=0
T_FAIL=0
T_PLAN=0
T_NAME=$(basename "$0" .sh)
T_TMP=$(mktemp -d "/tmp/wirelab-$T_NAME.XXXXXX")
T_PIDS=()
declare -A T_SRV=()  # pid -> "VAR: command" of every start_server
declare -A T_SEEN=() # files whose sanitizer report was shown already (check shows its own)
T_SEEN[$T_TMP/check.out]=1
T_SEEN[$T_TMP/check.san]=1
T_FINISHED=0
T_SANITIZER_DIR=$T_TMP/sanitizer
mkdir -p "$T_SANITIZER_DIR"
export T_SANITIZER_DIR
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}:log_path=$T_SANITIZER_DIR/asan:log_exe_name=1"
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# is_num V: V is a decimal number (an optional sign, digits, an optional fraction).
is_num() { [[ $1 =~ ^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$ ]]; }

# plan N: N more checks will run (added to the script's plan).  Sections each open
# with their plan, so a section that ran more or fewer checks than it planned is
# named when the next one opens.
plan() {
  [[ ${1:-} =~ ^[0-9]+$ ]] || { bad "plan" "plan wants a count, got [${1:-}]"; return; }
  local ran=$((T_PASS + T_FAIL))
  [ "$ran" -ne "$T_PLAN" ] &&
    printf '  note: %d checks ran before line %s (%s), %d were planned\n' \
      "$ran" "${BASH_LINENO[0]}" "$(basename "${BASH_SOURCE[1]}")" "$T_PLAN"
  T_PLAN=$((T_PLAN + $1))
}

ok() { T_PASS=$((T_PASS + 1)); printf '  ok   %s\n' "$1"; }
bad() { T_FAIL=$((T_FAIL + 1)); printf '  FAIL %s: %s\n' "$1" "${2:-}"; }
# check NAME cmd...: passes when cmd exits 0 and prints no sanitizer report.
check() {
  local n=$1; shift
  if "$@" >"$T_TMP/check.out" 2>&1; then
    if sanitizer_report "$T_TMP/check.out" >"$T_TMP/check.san"; then bad "$n" "$(cat "$T_TMP/check.san")"
    else ok "$n"; fi
  else bad "$n" "$(head -c 400 "$T_TMP/check.out")"; fi
}
# expect_eq NAME WANT GOT
expect_eq() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "want [$2] got [$3]"; fi; }

# check_num NAME GOT OP WANT [OP WANT]...: passes when GOT and every WANT are numbers
# and each `GOT OP WANT` holds; OP is one of < <= == != >= > (or -lt -le -eq -ne -ge
# -gt).  An empty or non-numeric value fails, showing it: awk or `test` would read it
# as 0.  Fractions are compared exactly as awk's doubles.
check_num() {
  local n=$1 got=$2; shift 2
  local op want cmp why=""
  is_num "$got" || { bad "$n" "not a number: [$got]"; return; }
  [ $# -ge 2 ] && [ $(($# % 2)) -eq 0 ] || { bad "$n" "check_num wants OP WANT pairs, got [$*]"; return; }
  while [ $# -gt 0 ]; do
    op=$1 want=$2; shift 2
    is_num "$want" || { bad "$n" "not a number: [$want] (to compare $got $op with)"; return; }
    case $op in
      '<' | -lt) cmp='<' ;; '<=' | -le) cmp='<=' ;; '==' | -eq) cmp='==' ;;
      '!=' | -ne) cmp='!=' ;; '>=' | -ge) cmp='>=' ;; '>' | -gt) cmp='>' ;;
      *) bad "$n" "check_num: unknown operator [$op]"; return ;;
    esac
    awk -v a="$got" -v b="$want" "BEGIN { exit !(a + 0 $cmp b + 0) }" || why+=" $got $cmp $want is false;"
  done
  if [ -z "$why" ]; then ok "$n"; else bad "$n" "${why# }"; fi
}

# need TOOL...: a missing tool is a failure with a message, never a silent skip.
need() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 || { bad "tool $t" "not installed: run 'make deps'"; finish; }
  done
}

# private_tmpfs DIR SIZE: a tmpfs of SIZE on DIR in a private mount namespace that dies
# with the script: a disk to fill without touching the machine's.  One check.  Then
# "${NS_RUN[@]}" cmd... runs cmd inside it (nsenter execs cmd: start_server gets its
# pid), and in_ns cmd... is the same for one-shot commands.  Programs need absolute paths
# (nsenter starts them in /).
private_tmpfs() {
  local i nsu
  need unshare nsenter
  if [ "$(id -u)" = 0 ]; then nsu=(--mount); NS_ENTER=(-m)
  else nsu=(--user --map-root-user --mount); NS_ENTER=(-U -m --preserve-credentials); fi
  mkdir -p "$1"
  # The namespace lives as long as this shell, which exits 0 on SIGTERM (finish stops
  # it) and takes its sleep along: an orphaned sleep holding the script's output pipe
  # would keep tests/run.sh waiting for the end of that output.
  unshare "${nsu[@]}" --propagation private \
    sh -c 'sleep 900 </dev/null >/dev/null 2>&1 & trap "kill \$! 2>/dev/null; exit 0" TERM; wait' &
  NS_PID=$!
  T_PIDS+=("$NS_PID")
  NS_RUN=(nsenter -t "$NS_PID" "${NS_ENTER[@]}" --)
  for i in $(seq 1 100); do in_ns true 2>/dev/null && break; sleep 0.05; done
  check "a $2 tmpfs in a private mount namespace" in_ns mount -t tmpfs -o "size=$2" tmpfs "$1"
}
in_ns() { "${NS_RUN[@]}" "$@"; }

# start_server VAR cmd...: run cmd in the background, wait (10 s at most) for its
# "listening on 127.0.0.1:PORT" line, store PORT in VAR and the pid in VAR_PID.  Its
# stdout and stderr go to $T_TMP/VAR.log.
start_server() {
  local var=$1; shift
  local log="$T_TMP/$var.log" port
  # Empty the log here, not in the child: the child's `>` runs after fork, and a
  # reused log could still show the previous server's port to wait_listening.
  : >"$log"
  "$@" >>"$log" 2>&1 &
  local pid=$!
  T_PIDS+=("$pid")
  T_SRV[$pid]="$var: $*"
  if ! port=$(wait_listening "$log" "$pid"); then
    bad "start $*" "no 'listening on' line; log: $(head -c 600 "$log")"
    return 1
  fi
  printf -v "$var" '%s' "$port"
  printf -v "${var}_PID" '%s' "$pid"
  return 0
}

# stop_guard PID [CHECKNAME]: SIGTERM PID and reap it; it must exit 0, and neither its
# log nor $T_SANITIZER_DIR may hold a sanitizer report from it.  With CHECKNAME this
# is a check (ok or bad); without, a guard that only fails (bad) when something is
# wrong.  A pid the script reaped itself (after kill -9, say) is left alone.
stop_guard() {
  local p=$1 name=${2:-} what=${T_SRV[$1]:-}
  local log rep why=""
  [ -n "$what" ] || what="$(cat "/proc/$p/comm" 2>/dev/null || echo process): pid $p"
  stop_pid "$p"
  case $STOP_STATUS in
    gone) [ -n "$name" ] && bad "$name" "$what: not running (reaped already)"; return ;;
    0) ;;
    killed) why="still running 10 s after SIGTERM (killed)" ;;
    *) why="exit status $STOP_STATUS after SIGTERM (want 0)" ;;
  esac
  log="$T_TMP/${what%%:*}.log"
  if rep=$(sanitizer_report "$T_SANITIZER_DIR"/*."$p" "$log"); then
    why="${why:+$why; }sanitizer report in $rep"
    T_SEEN[$log]=1
    rm -f "$T_SANITIZER_DIR"/*."$p"
  elif [ -n "$why" ] && [ -f "$log" ]; then
    why="$why; log ends: $(tail -c 300 "$log")"
  fi
  if [ -n "$why" ]; then bad "${name:-stop $what}" "$why"
  elif [ -n "$name" ]; then ok "$name"; fi
}

# stop_server VAR [CHECKNAME]: stop_guard the server start_server VAR started.
stop_server() {
  local pv="${1}_PID"
  stop_guard "${!pv}" "${2:-}"
}

# alive NAME PID: the process is still running (a server must survive bad input).
# A child that exited is a zombie until reaped, and `kill -0` succeeds on a zombie.
alive() {
  local st
  st=$(sed -E 's/.*\) (.).*/\1/' "/proc/$2/stat" 2>/dev/null)
  if [ -n "$st" ] && [ "$st" != Z ]; then ok "$1"
  else bad "$1" "process $2 died${T_SRV[$2]:+ (${T_SRV[$2]})}"; fi
}

# run_checks PREFIX cmd...: run a helper (Python, node) that prints `plan N` and one
# `ok NAME` or `FAIL NAME: WHY` line per check; each line becomes ok/bad here, named
# PREFIX NAME, `# ...` lines are shown, and any other output (a traceback, a warning)
# is a failure.  The helper's plan is added to the script's, so the checks it did not
# print count as failed at finish.  The call is also one check of its own, to be
# planned by the caller: the helper exits 0 after printing as many checks as it
# planned (a helper that dies, prints no plan or fewer checks fails it).
run_checks() {
  local prefix=$1; shift
  local out a what=$1
  out=$(mktemp "$T_TMP/run_checks.XXXXXX")
  for a in "$@"; do case $a in *.py | *.js) what=$(basename "$a"); break ;; esac; done
  "$@" >"$out" 2>&1
  check_lines "$prefix" "$?" "$out" "$what"
}

# check_lines PREFIX STATUS FILE [WHAT]: what run_checks does with a helper's output
# FILE and exit STATUS (for a helper run in the background).
check_lines() {
  local prefix=$1 rc=$2 file=$3 what=${4:-helper} line want="" n=0 nfail=0
  while IFS= read -r line; do
    case $line in
      plan\ *)
        if [[ ${line#plan } =~ ^[0-9]+$ ]]; then
          want=$((${want:-0} + ${line#plan })); T_PLAN=$((T_PLAN + ${line#plan }))
        else T_PLAN=$((T_PLAN + 1)); nfail=$((nfail + 1)); bad "${prefix}plan" "$line"; fi ;;
      ok\ *) n=$((n + 1)); ok "$prefix${line#ok }" ;;
      FAIL\ *) n=$((n + 1)); nfail=$((nfail + 1)); line=${line#FAIL }
        bad "$prefix${line%%: *}" "${line#*: }" ;;
      \#*) printf '    %s\n' "$line" ;;
      *) T_PLAN=$((T_PLAN + 1)); nfail=$((nfail + 1)); bad "${prefix}unexpected output" "$line" ;;
    esac
  done <"$file"
  local name="${prefix}$what exits 0 after its planned checks"
  if [ "$rc" -ne 0 ]; then bad "$name" "exit status $rc after $n checks; output ends: $(tail -c 300 "$file")"
  elif [ -z "$want" ]; then bad "$name" "printed no plan line"
  elif [ "$n" -lt "$want" ]; then bad "$name" "ran $n of the $want checks it planned"
  elif [ "$n" -gt "$want" ] && [ "$nfail" -eq 0 ]; then bad "$name" "ran $n checks, planned $want: update its plan"
  else ok "${prefix}$what: exit 0, $n checks of $want planned"; fi
}

# The sanitizer reports of processes that are not servers (tools run once, children
# of harnesses): every ASan report in $T_SANITIZER_DIR, every UBSan or ASan text in a
# file under $T_TMP.
t_sanitizer_sweep() {
  local f rep
  for f in "$T_SANITIZER_DIR"/*; do
    [ -f "$f" ] || continue
    bad "sanitizer report" "$f: $(head -15 "$f")"
    rm -f "$f"
  done
  while IFS= read -r -d '' f; do
    [ -z "${T_SEEN[$f]:-}" ] && rep=$(sanitizer_report "$f") && bad "sanitizer report" "$rep"
    T_SEEN[$f]=1
  done < <(grep -rlaZE "$SANITIZER_RE" "$T_TMP" 2>/dev/null)
}

t_cleanup() {
  local p f
  if [ "$T_FINISHED" = 0 ]; then
    echo "$T_NAME: died before finish, after $T_PASS passed, $T_FAIL failed of $T_PLAN planned"
    for p in "${T_PIDS[@]}"; do stop_pid "$p"; done
    for f in "$T_SANITIZER_DIR"/*; do [ -f "$f" ] && { echo "  sanitizer report $f:"; head -15 "$f"; }; done
  fi
  rm -rf "$T_TMP"
}
trap t_cleanup EXIT

finish() {
  local p
  for p in "${T_PIDS[@]}"; do stop_guard "$p"; done
  T_PIDS=()
  t_sanitizer_sweep
  local ran=$((T_PASS + T_FAIL))
  if [ "$T_PLAN" -eq 0 ]; then
    bad "plan" "the script declares no plan (plan N)"
  elif [ "$ran" -lt "$T_PLAN" ]; then
    printf '  FAIL plan: %d of %d planned checks ran; the %d that did not count as failed\n' \
      "$ran" "$T_PLAN" "$((T_PLAN - ran))"
    T_FAIL=$((T_FAIL + T_PLAN - ran))
  elif [ "$ran" -gt "$T_PLAN" ] && [ "$T_FAIL" -eq 0 ]; then
    bad "plan" "$ran checks ran, $T_PLAN planned: the plan calls are out of date"
  fi
  T_FINISHED=1
  echo "$T_NAME: $T_PASS passed, $T_FAIL failed ($T_PLAN planned)"
  [ "$T_FAIL" -eq 0 ]
  exit
}
