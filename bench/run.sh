#!/usr/bin/env bash
# Runs bench sections (all, or those named) into a fresh directory of their own,
# first listing them with the time each took in the last run of the same profile
# (durations.tsv) and the estimate for the whole run,
# bench/results/run-YYYYmmdd-HHMMSS/, and points bench/results/latest at it.  Each
# section writes a CSV, Markdown tables and plots there; at the end (or on Ctrl-C, with
# what was measured so far) this script adds summary.md with every table and
# results.json with every row (tools/bench_results.py).
set -u
cd "$(dirname "$0")/.."
i=0
export BUILD=${BUILD:-build} FULL=${FULL:-0}
sections=("$@")
if [ ${#sections[@]} -eq 0 ]; then
  for s in bench/sections/*.sh; do [ -f "$s" ] && sections+=("$(basename "$s" .sh)"); done
fi
for s in "${sections[@]}"; do
  [ -f "bench/sections/$s.sh" ] || {
    echo "bench: error: no section '$s' (have: $(ls bench/sections | sed 's/\.sh$//' | tr '\n' ' '))" >&2
    exit 2
  }
done
# The estimate: each section's duration in the most recent earlier run of the same
# profile that ran it to the end (durations.tsv: SECTION<TAB>SECONDS<TAB>FULL).
declare -A est=()
for d in $(ls -1d bench/results/run-* 2>/dev/null | sort -r); do
  [ -f "$d/durations.tsv" ] || continue
  while IFS=$'\t' read -r s secs full; do
    [ "$full" = "$FULL" ] && [ -z "${est[$s]:-}" ] && est[$s]=$secs
  done <"$d/durations.tsv"
done
fmt_s() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
total=0 known=0
echo "bench: ${#sections[@]} section(s), FULL=$FULL (times from the last run of each):"
for s in "${sections[@]}"; do
  i=$((i + 1))
  if [ -n "${est[$s]:-}" ]; then
    total=$((total + est[$s])) known=$((known + 1))
    printf '  %2d. %-20s ~%s\n' "$i" "$s" "$(fmt_s "${est[$s]}")"
  else
    printf '  %2d. %-20s (no earlier run to estimate from)\n' "$i" "$s"
  fi
done
[ "$known" -gt 0 ] && echo "  about $(fmt_s "$total") for the $known section(s) with an estimate"
i=0
run=run-$(date +%Y%m%d-%H%M%S)
export OUT=bench/results/$run
mkdir -p "$OUT"
# An older tree kept results in a plain directory named latest: keep it under another name.
if [ -d bench/results/latest ] && [ ! -L bench/results/latest ]; then
  mv bench/results/latest "bench/results/latest-before-$run"
fi
ln -sfn "$run" bench/results/latest
{
  echo "date=$(date -u '+%F %T UTC')"
  echo "full=$FULL"
  echo "sections=${sections[*]}"
  echo "load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "machine=$(sed -nE 's/^model name\s*: (.*)/\1/p' /proc/cpuinfo | head -1), $(nproc) cores, Linux $(uname -r)"
} >"$OUT/run.env"

# Ctrl-C reaches the running section too (same process group): it stops and its own
# cleanup stops the servers it started; this script then keeps what was measured.
interrupted=0
trap 'interrupted=1' INT TERM
# A number measured on a busy machine measures the machine.  Before each section wait
# (QUIET_MAX seconds at most, default 300; QUIET_MAX=0 does not wait) until the 1-minute
# load average is under 1: the previous section's own load takes about a minute to
# decay.  The load a section starts at is in its tables' machine line either way.
wait_quiet() {
  local waited=0 l
  while l=$(cut -d' ' -f1 /proc/loadavg) && awk -v l="$l" 'BEGIN { exit !(l >= 1) }'; do
    [ $interrupted = 1 ] && return
    if [ $waited -ge "${QUIET_MAX:-300}" ]; then
      [ "${QUIET_MAX:-300}" -gt 0 ] && echo "bench: load average $l after ${waited} s of waiting: measuring anyway" >&2
      return
    fi
    [ $waited = 0 ] && echo "bench: waiting for the load average ($l) to fall under 1 (QUIET_MAX=${QUIET_MAX:-300} s)" >&2
    sleep 5; waited=$((waited + 5))
  done
}
failed=() done_s=() t_all=$(date +%s)
for s in "${sections[@]}"; do
  i=$((i + 1))
  left=""
  if [ "$known" -gt 0 ]; then
    rest=0; for r in "${sections[@]:$((i - 1))}"; do rest=$((rest + ${est[$r]:-0})); done
    left=", ~$(fmt_s "$rest") left"
  fi
  wait_quiet
  [ $interrupted = 1 ] && break
  echo "=== bench $s ($i/${#sections[@]}, FULL=$FULL, load $(cut -d' ' -f1 /proc/loadavg)$left)"
  start=$(date +%s)
  bash "bench/sections/$s.sh"
  rc=$?
  if [ $interrupted = 1 ]; then echo "=== $s interrupted" >&2; break; fi
  if [ $rc -eq 0 ]; then
    echo "=== $s done in $(($(date +%s) - start)) s"; done_s+=("$s")
    printf '%s\t%s\t%s\n' "$s" "$(($(date +%s) - start))" "$FULL" >>"$OUT/durations.tsv"
  else
    failed+=("$s"); echo "=== $s FAILED" >&2
  fi
done
trap - INT TERM
{
  echo "# wirelab bench results"
  echo
  echo "Generated $(date -u '+%F %T UTC') by \`make bench\` (FULL=$FULL) in $(($(date +%s) - t_all)) s."
  [ $interrupted = 1 ] && echo "Interrupted: only the sections before the interruption are complete."
  echo
  for s in "${sections[@]}"; do
    md="$OUT/$s.md"
    [ -f "$md" ] && { cat "$md"; echo; }
  done
} >"$OUT/summary.md"
/usr/bin/python3 tools/bench_results.py json "$OUT" || echo "bench: results.json not written" >&2
echo "results: $OUT/ (summary.md, results.json; bench/results/latest points here)"
[ $interrupted = 1 ] && { echo "interrupted: kept ${done_s[*]:-nothing complete}" >&2; exit 130; }
[ ${#failed[@]} -eq 0 ] || { echo "failed sections: ${failed[*]}" >&2; exit 1; }
