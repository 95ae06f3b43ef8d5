#!/usr/bin/env bash
# Runs bench sections (all, or those named) and writes bench/results/latest/:
# a CSV, a Markdown table and plots per section, and summary.md with every table.
set -u
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build} FULL=${FULL:-0}
export OUT=bench/results/latest
mkdir -p "$OUT"
sections=("$@")
if [ ${#sections[@]} -eq 0 ]; then
  for s in bench/sections/*.sh; do [ -f "$s" ] && sections+=("$(basename "$s" .sh)"); done
fi
failed=()
for s in "${sections[@]}"; do
  f=bench/sections/$s.sh
  [ -f "$f" ] || { echo "no bench section '$s' (have: $(ls bench/sections | sed 's/\.sh$//' | tr '\n' ' '))" >&2; exit 2; }
  echo "=== bench $s (FULL=$FULL)"
  start=$(date +%s)
  if bash "$f"; then echo "=== $s done in $(( $(date +%s) - start )) s"; else failed+=("$s"); echo "=== $s FAILED" >&2; fi
done
{
  echo "# wirelab bench results"
  echo
  echo "Generated $(date -u '+%F %T UTC') by \`make bench\` (FULL=$FULL)."
  echo
  for s in bench/sections/*.sh; do
    md="$OUT/$(basename "$s" .sh).md"
    [ -f "$md" ] && { cat "$md"; echo; }
  done
} > "$OUT/summary.md"
echo "summary: $OUT/summary.md"
[ ${#failed[@]} -eq 0 ] || { echo "failed sections: ${failed[*]}" >&2; exit 1; }
