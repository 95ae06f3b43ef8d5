#!/usr/bin/env bash
# Runs the Criterion unit tests (ASan+UBSan) and the integration scripts, then
# prints one closing line `N passed, N failed` over both.
#   tests/run.sh [--unit|--integration] [NAME...]
# NAME picks the unit binary or script of that exact name, or else every one whose
# name contains it.
# A unit binary must run as many tests as its source (tests/unit/NAME.c) declares with
# Test(...), all passing, and exit 0.  A script must end with lib.sh's closing line
# `NAME: N passed, N failed (P planned)`, with N passed + N failed = P, and exit 0.
# Anything else fails it; the reason is printed at the end.  tests/README.md has more.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
mode=all
case "${1:-}" in --unit) mode=unit; shift ;; --integration) mode=integration; shift ;; esac
filters=("$@")
pass=0 fail=0 failed=()
log=$(mktemp "${TMPDIR:-/tmp}/wirelab-run.XXXXXX")
trap 'rm -f "$log"' EXIT

all_names=" $(cd "$BUILD/asan/tests" 2>/dev/null && ls) $(cd tests/integration && ls -- *.sh | sed 's/\.sh$//') "
all_names=$(printf '%s' "$all_names" | tr '\n' ' ')
wanted() {
  [ ${#filters[@]} -eq 0 ] && return 0
  local f
  for f in "${filters[@]}"; do
    case "$all_names" in
      *" $f "*) [ "$1" = "$f" ] && return 0 ;;
      *) case "$1" in *"$f"*) return 0 ;; esac ;;
    esac
  done
  return 1
}
# failed_as NAME COUNT WHY: COUNT checks of NAME failed (or did not run), because WHY.
failed_as() { fail=$((fail + $2)); failed+=("$1 ($3)"); }

# The tree's one style (.clang-format): a file that drifts fails the run; `make format` fixes it.
if [ "$mode" = all ] && [ ${#filters[@]} -eq 0 ]; then
  echo "== format (clang-format --dry-run -Werror)"
  if ! command -v clang-format >/dev/null; then
    echo "  FAIL clang-format is not installed: run 'make deps'"; failed_as format 1 "clang-format missing"
  elif out=$(git ls-files '*.c' '*.h' | xargs clang-format --dry-run -Werror 2>&1); then
    echo "  ok   every C file matches .clang-format"; pass=$((pass + 1))
  else
    printf '%s\n' "$out" | grep -E '^[^ ].*: error' | cut -d: -f1 | sort -u | sed 's/^/  differs: /' | head -20
    echo "  FAIL format: run 'make format'"; failed_as format 1 "run 'make format'"
  fi
fi

# unit_plan NAME: the number of Test(...) entries in tests/unit/NAME.c.
unit_plan() { grep -cE '^Test\(' "tests/unit/$1.c" 2>/dev/null; }

if [ "$mode" != integration ]; then
  echo "== unit tests (Criterion, ASan+UBSan)"
  nunit=0
  for t in "$BUILD"/asan/tests/*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    wanted "$name" || continue
    nunit=$((nunit + 1))
    out=$(ASAN_OPTIONS=detect_leaks=1 "$t" -j2 --short-filename 2>&1); rc=$?
    syn=$(printf '%s\n' "$out" | grep -E 'Synthesis: Tested' | tail -1)
    tested=$(printf '%s' "$syn" | sed -nE 's/.*Tested: ([0-9]+).*/\1/p')
    n=$(printf '%s' "$syn" | sed -nE 's/.*Passing: ([0-9]+).*/\1/p')
    f=$(printf '%s' "$syn" | sed -nE 's/.*Failing: ([0-9]+).*Crashing: ([0-9]+).*/\1+\2/p')
    want=$(unit_plan "$name")
    n=${n:-0}; f=$(( ${f:-0} )); tested=${tested:-0}
    printf '  %-32s %s\n' "$name" "${syn:-no synthesis line (exit $rc)}"
    why=""
    if [ -z "$want" ] || [ "$want" -eq 0 ]; then why="tests/unit/$name.c declares no Test()"; want=$tested
    elif [ "$tested" -ne "$want" ]; then why="ran $tested of the $want tests in tests/unit/$name.c"
    fi
    [ $rc -ne 0 ] && why="${why:+$why, }exit $rc"
    [ "$f" -gt 0 ] && why="${why:+$why, }$f failed or crashed"
    if [ -n "$why" ]; then
      printf '%s\n' "$out" | grep -vE 'Synthesis' | head -40
      echo "  FAIL $name: $why"
      # every test that did not pass counts, at least one
      miss=$(( want > n ? want - n : 0 )); [ $miss -lt 1 ] && miss=1
      failed_as "$name" "$miss" "$why"
    fi
    pass=$((pass + n))
  done
  [ $nunit -gt 0 ] || [ ${#filters[@]} -gt 0 ] ||
    failed_as "unit tests" 1 "no binary in $BUILD/asan/tests: make asan"
fi

# judge NAME RC LOG SECONDS: the verdict on one finished script.
judge() {
  local name=$1 rc=$2 lg=$3 line n f p
  echo "   ($4 s)"
  line=$(grep -aE "^$name: [0-9]+ passed, [0-9]+ failed" "$lg" | tail -1)
  n=$(printf '%s' "$line" | sed -nE 's/^[^:]*: ([0-9]+) passed.*/\1/p')
  f=$(printf '%s' "$line" | sed -nE 's/.* ([0-9]+) failed.*/\1/p')
  p=$(printf '%s' "$line" | sed -nE 's/.*failed \(([0-9]+) planned\).*/\1/p')
  pass=$((pass + ${n:-0}))
  if [ -z "$line" ]; then
    failed_as "$name" 1 "died: no closing line, exit $rc"
  elif [ -z "$p" ]; then
    failed_as "$name" $(( f > 0 ? f : 1 )) "no plan in its closing line"
  elif [ $(( n + f )) -lt "$p" ]; then
    failed_as "$name" $(( p - n )) "ran $(( n + f )) of $p planned checks"
  elif [ "$f" -gt 0 ]; then
    failed_as "$name" "$f" "$f failed"
  elif [ "$rc" -ne 0 ]; then
    failed_as "$name" 1 "exit $rc"
  fi
}

if [ "$mode" != unit ]; then
  names=()
  for s in tests/integration/*.sh; do
    [ -f "$s" ] || continue
    name=$(basename "$s" .sh)
    wanted "$name" || continue
    names+=("$name")
  done
  # TEST_JOBS scripts at once (default 2: the machines have 2 cores, and every script
  # is written to pass on a loaded machine).  Longest first, by the durations of the
  # previous run ($BUILD/test-times), or by script size on a first run, so that the
  # last to start are short.  One script, or TEST_JOBS=1, streams its output as it goes;
  # in parallel each script's output is printed whole when it ends.  A script whose
  # header has the line "# test: alone" runs with no other script beside it.
  jobs_n=${TEST_JOBS:-2}
  [ ${#names[@]} -le 1 ] && jobs_n=1
  times=$BUILD/test-times
  order=$(for name in "${names[@]}"; do
    t=$(awk -v n="$name" '$1 == n {print $2}' "$times" 2>/dev/null)
    echo "${t:-$(( $(wc -c <"tests/integration/$name.sh") / 200 ))} $name"
  done | sort -rn | awk '{print $2}')
  # the scripts that run alone go first, so that nothing waits behind them
  alone=$(for name in $order; do grep -q '^# test: alone' "tests/integration/$name.sh" && echo "$name"; done)
  order="$alone $(for name in $order; do grep -q '^# test: alone' "tests/integration/$name.sh" || echo "$name"; done)"
  if [ "$jobs_n" -le 1 ]; then
    for name in $order; do
      echo "== integration: $name"
      start=$(date +%s)
      # Stream the script's output and keep a copy to read its closing line from.
      # (Not `tee /dev/stderr`: reopening a redirected stderr file truncates it.)
      bash "tests/integration/$name.sh" 2>&1 | tee "$log"; rc=${PIPESTATUS[0]}
      judge "$name" "$rc" "$log" $(( $(date +%s) - start ))
    done
  else
    dir=$(mktemp -d "${TMPDIR:-/tmp}/wirelab-run.XXXXXX")
    trap 'rm -rf "$log" "$dir"' EXIT
    declare -A pid_of t0_of
    running=() queue=($order) new_times="" alone_running=""
    echo "== integration: ${#queue[@]} scripts, $jobs_n at a time"
    while [ ${#queue[@]} -gt 0 ] || [ ${#running[@]} -gt 0 ]; do
      while [ ${#queue[@]} -gt 0 ] && [ ${#running[@]} -lt "$jobs_n" ]; do
        name=${queue[0]}
        # a script marked "# test: alone" (10,000 connections, the fd limit, RSS
        # bounds) runs with no other beside it
        [ -n "$alone_running" ] && break
        if grep -q '^# test: alone' "tests/integration/$name.sh"; then
          [ ${#running[@]} -gt 0 ] && break
          alone_running=$name
        fi
        queue=("${queue[@]:1}")
        ( bash "tests/integration/$name.sh" >"$dir/$name.log" 2>&1 </dev/null; echo $? >"$dir/$name.rc" ) &
        pid_of[$name]=$! t0_of[$name]=$(date +%s)
        running+=("$name")
      done
      wait -n 2>/dev/null || sleep 0.2
      still=()
      for name in "${running[@]}"; do
        if kill -0 "${pid_of[$name]}" 2>/dev/null; then still+=("$name"); continue; fi
        wait "${pid_of[$name]}" 2>/dev/null
        secs=$(( $(date +%s) - ${t0_of[$name]} ))
        echo "== integration: $name"
        cat "$dir/$name.log"
        judge "$name" "$(cat "$dir/$name.rc" 2>/dev/null || echo 1)" "$dir/$name.log" "$secs"
        new_times+="$name $secs"$'\n'
        [ "$alone_running" = "$name" ] && alone_running=""
      done
      running=("${still[@]}")
    done
    # keep the durations for the next run's order (names not run this time are kept)
    { printf '%s' "$new_times"
      if [ -f "$times" ]; then awk 'NR == FNR {seen[$1] = 1; next} !($1 in seen)' <(printf '%s' "$new_times") "$times"; fi
    } >"$times.new" 2>/dev/null && mv "$times.new" "$times"
  fi
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "failed:"
  printf '  %s\n' "${failed[@]}"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
