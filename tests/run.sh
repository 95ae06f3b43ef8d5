#!/usr/bin/env bash
# Runs the Criterion unit tests (ASan+UBSan) and the integration scripts, then
# prints one closing line `N passed, N failed` over both.
#   tests/run.sh [--unit|--integration] [NAME...]   (NAME filters scripts/tests by substring)
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
mode=all
case "${1:-}" in --unit) mode=unit; shift ;; --integration) mode=integration; shift ;; esac
filters=("$@")
pass=0 fail=0 failed=()
log=$(mktemp /tmp/wirelab-run.XXXXXX)
trap 'rm -f "$log"' EXIT

wanted() {
  [ ${#filters[@]} -eq 0 ] && return 0
  local f; for f in "${filters[@]}"; do case "$1" in *"$f"*) return 0 ;; esac; done
  return 1
}

# The tree's one style (.clang-format): a file that drifts fails the run; `make format` fixes it.
if [ "$mode" = all ] && [ ${#filters[@]} -eq 0 ]; then
  echo "== format (clang-format --dry-run -Werror)"
  if ! command -v clang-format >/dev/null; then
    echo "  FAIL clang-format is not installed: run 'make deps'"; fail=$((fail + 1)); failed+=(format)
  elif out=$(git ls-files '*.c' '*.h' | xargs clang-format --dry-run -Werror 2>&1); then
    echo "  ok   every C file matches .clang-format"; pass=$((pass + 1))
  else
    printf '%s\n' "$out" | grep -E '^[^ ].*: error' | cut -d: -f1 | sort -u | sed 's/^/  differs: /' | head -20
    echo "  FAIL format: run 'make format'"; fail=$((fail + 1)); failed+=(format)
  fi
fi

if [ "$mode" != integration ]; then
  echo "== unit tests (Criterion, ASan+UBSan)"
  for t in "$BUILD"/asan/tests/*; do
    [ -x "$t" ] || continue
    wanted "$(basename "$t")" || continue
    out=$(ASAN_OPTIONS=detect_leaks=1 "$t" -j2 --short-filename 2>&1); rc=$?
    syn=$(printf '%s\n' "$out" | grep -E 'Synthesis: Tested' | tail -1)
    n=$(printf '%s' "$syn" | sed -nE 's/.*Passing: ([0-9]+).*/\1/p')
    f=$(printf '%s' "$syn" | sed -nE 's/.*Failing: ([0-9]+).*Crashing: ([0-9]+).*/\1+\2/p')
    n=${n:-0}; f=$(( ${f:-0} ))
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    printf '  %-32s %s\n' "$(basename "$t")" "${syn:-no synthesis line (rc=$rc)}"
    [ "$f" -gt 0 ] && { printf '%s\n' "$out" | grep -vE 'Synthesis' | head -40; failed+=("$(basename "$t")"); }
    pass=$((pass + n)); fail=$((fail + f))
  done
fi

if [ "$mode" != unit ]; then
  for s in tests/integration/*.sh; do
    [ -f "$s" ] || continue
    wanted "$(basename "$s" .sh)" || continue
    echo "== integration: $(basename "$s" .sh)"
    start=$(date +%s)
    # Stream the script's output and keep a copy to read its closing line from.
    # (Not `tee /dev/stderr`: reopening a redirected stderr file truncates it.)
    bash "$s" 2>&1 | tee "$log"; rc=${PIPESTATUS[0]}
    line=$(grep -aE "^$(basename "$s" .sh): [0-9]+ passed, [0-9]+ failed" "$log" | tail -1 | grep -oE '[0-9]+ passed, [0-9]+ failed')
    n=$(printf '%s' "$line" | sed -nE 's/([0-9]+) passed.*/\1/p'); n=${n:-0}
    f=$(printf '%s' "$line" | sed -nE 's/.* ([0-9]+) failed/\1/p'); f=${f:-1}
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    echo "   ($(( $(date +%s) - start )) s)"
    [ "$f" -gt 0 ] && failed+=("$(basename "$s" .sh)")
    pass=$((pass + n)); fail=$((fail + f))
  done
fi

[ ${#failed[@]} -gt 0 ] && echo "failed in: ${failed[*]}"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
