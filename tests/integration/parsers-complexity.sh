#!/usr/bin/env bash
# test: alone (a time-per-byte ratio: nothing beside it)
# tests/integration/parsers-complexity.sh: every hand parser in linear time, by test.
# parse-hostile builds each hostile input (labs/02-parsers/hostile_gen.c) at 1x, 4x and
# 16x and times the hand parser in CPU time (the fastest of 5 rounds, so a loaded
# machine adds little); a generator fails when time per byte more than doubles from
# one scale to the next, or passes 10x the format's normal corpus (see hostile.c).
# The release build is timed: sanitizers change what a byte costs.
source "$(dirname "$0")/../lib.sh"
cd "$(dirname "$0")/../.."
H=$BUILD/bin/parse-hostile
[ -x "$H" ] || { bad "parse-hostile" "missing: make BUILD=$BUILD all"; finish; }
want=$("$H" --list | wc -l)
plan $((want + 10)) # one per generator, and the checks around them
[ "$want" -ge 20 ] && ok "parse-hostile lists $want generators" || bad "generators" "only $want"
"$H" --check --rounds 5 >"$T_TMP/out" 2>"$T_TMP/err"; rc=$?
grep -E '^(ok|FAIL) ' "$T_TMP/out" | sed 's/^/    /'
n=$(grep -cE '^(ok|FAIL) ' "$T_TMP/out")
expect_eq "every generator checked (no silent skip)" "$want" "$n"
while read -r line; do
  name=$(echo "$line" | cut -d' ' -f2 | tr -d :)
  case $line in ok*) ok "linear: $name" ;; *) bad "linear: $name" "${line#FAIL }" ;; esac
done < <(grep -E '^(ok|FAIL) ' "$T_TMP/out")
expect_eq "parse-hostile --check exits 0" 0 "$rc"
[ -s "$T_TMP/err" ] && bad "parse-hostile stderr" "$(head -3 "$T_TMP/err")"
# the normal corpora parse, and the hostile inputs get the verdict they are built for:
# valid, except XML defaults (stopped by the expansion budget)
for f in http json xml proto; do
  grep -q "^$f normal 1 [0-9]* hand valid " "$T_TMP/out" && ok "$f normal corpus is valid" \
    || bad "$f normal corpus" "$(grep "^$f normal" "$T_TMP/out")"
done
inval=$(awk '$2 != "normal" && $6 == "invalid" {print $1 "/" $2}' "$T_TMP/out" | sort -u | tr '\n' ' ')
expect_eq "only xml/defaults is refused (expansion budget)" "xml/defaults " "$inval"
# a file written by --out is the same input
"$H" --gen json/deep --scale 1 --out "$T_TMP/deep.json" && "$BIN/parse" --format json "$T_TMP/deep.json" >/dev/null
expect_eq "--out writes a generator's input (json/deep parses)" 0 $?
"$H" --gen nope/x --scale 1 --out "$T_TMP/x" 2>/dev/null; expect_eq "unknown generator exits 2" 2 $?
finish
