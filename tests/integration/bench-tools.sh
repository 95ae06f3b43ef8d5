#!/usr/bin/env bash
# bench-tools: the bench's own tooling on small fixture runs, with no benchmarking.
# tools/notes.py fills a note from a run and --check names each table or value that
# differs from the run or that the run lacks; tools/bench_results.py json keeps numbers
# as numbers and the command as text, compare prints B/A row by row and lists the rows
# only one run has; and every citation in the tree (labs/*/NOTES.md, docs/*.md,
# README.md) names a bench section and a value or table file that section writes
# (notes.py --cited), so a citation cannot point at nothing.
cd "$(dirname "$0")/../.." || exit 1
source tests/lib.sh
PY=/usr/bin/python3
[ -x $PY ] || { bad "python" "$PY missing (Debian python3)"; finish; }

# ---- a fixture run: one table, one values file --------------------------------
R=$T_TMP/run
mkdir -p "$R"
printf '%s\n' '| system | req/s |' '| --- | ---: |' '| ours | 1200 |' >"$R/demo.md"
printf 'ours.rps\t1200\nverdict\tmet\n' >"$R/demo.values.tsv"
note() {  # note FILE TABLE-BODY VALUE1 VALUE2 [EXTRA]: a note citing the fixture run
  {
    echo "# demo"
    echo "<!-- bench:demo.md -->"
    [ -n "$2" ] && printf '%s\n' "$2"
    echo "<!-- /bench:demo.md -->"
    echo "We serve <!-- v:demo.ours.rps -->$3<!-- /v --> requests a second: target <!-- v:demo.verdict -->$4<!-- /v -->."
    [ -n "${5:-}" ] && echo "$5"
  } >"$1"
}

plan 9
# an example marker in inline code (right after a backquote) is not a citation
note "$T_TMP/empty.md" "" "" "" 'Write `<!-- v:SECTION.KEY -->TEXT<!-- /v -->` for a value.'
"$PY" tools/notes.py --ref "$R" "$T_TMP/empty.md" >"$T_TMP/fill.out" 2>&1
expect_eq "notes.py fills an empty note and exits 0" "0" "$?"
grep -q '^| ours | 1200 |$' "$T_TMP/empty.md" && ok "the table is copied between its markers" ||
  bad "table copied" "$(cat "$T_TMP/empty.md")"
grep -q 'serve <!-- v:demo.ours.rps -->1200<!-- /v --> requests.*<!-- v:demo.verdict -->met<!-- /v -->' \
  "$T_TMP/empty.md" && ok "each value is copied between its markers" || bad "values copied" "$(cat "$T_TMP/empty.md")"
"$PY" tools/notes.py --check --ref "$R" "$T_TMP/empty.md" >"$T_TMP/c.out" 2>&1
expect_eq "--check passes on the note it filled (the inline-code example is not a citation)" "0" "$?"

# one value different, one table missing from the run, one key missing
note "$T_TMP/bad.md" "$(cat "$R/demo.md")" "1200" "not met" \
  "<!-- bench:gone.md -->
<!-- /bench:gone.md -->
and <!-- v:demo.nokey --><!-- /v -->."
cp "$T_TMP/bad.md" "$T_TMP/bad.before"
"$PY" tools/notes.py --check --ref "$R" "$T_TMP/bad.md" >"$T_TMP/c.out" 2>&1
expect_eq "--check exits 1 on a fixture with problems" "1" "$?"
grep -q 'value demo.verdict is \[not met\], the reference run says \[met\]' "$T_TMP/c.out" &&
  ok "--check names the value that differs, with both texts" || bad "differing value" "$(cat "$T_TMP/c.out")"
grep -q 'cites gone.md, which the reference run does not have' "$T_TMP/c.out" &&
  grep -q 'cites demo.nokey, which the reference run does not have' "$T_TMP/c.out" &&
  ok "--check names the missing table and the missing key" || bad "missing citations" "$(cat "$T_TMP/c.out")"
expect_eq "--check reports exactly those three" "3" \
  "$(grep -c 'differs\|does not have\|run says' "$T_TMP/c.out")"
cmp -s "$T_TMP/bad.md" "$T_TMP/bad.before" && ok "--check changes nothing" || bad "--check wrote" "the note changed"

# ---- bench_results.py json and compare ----------------------------------------
plan 7
A=$T_TMP/A B=$T_TMP/B
mkdir -p "$A" "$B"
printf '%s\n' 'system,conns,rps,p99_ms,command' 'ours,1,1000,2.0,wrk -c1 http://x/' \
  'nginx,1,2000,1.0,wrk -c1 http://y/' 'ours,64,5000,9.0,wrk -c64 http://x/' >"$A/s.csv"
printf '%s\n' 'system,conns,rps,p99_ms,command' 'ours,1,1500,1.0,wrk -c1 http://x/' \
  'nginx,1,2000,1.0,wrk -c1 http://y/' 'redis,1,900,3.0,redis-benchmark' >"$B/s.csv"
printf 'full=0\ndate=2000-01-01\n' >"$A/run.env"
printf 'ours.rps\t1000\n' >"$A/s.values.tsv"
"$PY" tools/bench_results.py json "$A"
expect_eq "json exits 0" "0" "$?"
got=$("$PY" - "$A/results.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
r = d["sections"]["s"]["rows"][0]
print(type(r["rps"]).__name__, r["rps"], type(r["conns"]).__name__, r["command"],
      d["sections"]["s"]["values"]["ours.rps"], d["run"]["full"], len(d["sections"]["s"]["rows"]))
PY
)
expect_eq "json: numbers as numbers, the command as text, values and run.env kept" \
  "float 1000.0 float wrk -c1 http://x/ 1000 0 3" "$got"
"$PY" tools/bench_results.py compare "$A" "$B" >"$T_TMP/cmp.out" 2>&1
expect_eq "compare exits 0" "0" "$?"
grep -q '^| ours | 1 | 1500 (1.50x) | 1.0 (0.50x) |$' "$T_TMP/cmp.out" &&
  ok "compare prints B beside A with the ratio B/A per measured column" || bad "compare row" "$(cat "$T_TMP/cmp.out")"
grep -q 'only in A: ours, 64' "$T_TMP/cmp.out" && grep -q 'only in B: redis, 1' "$T_TMP/cmp.out" &&
  ok "compare lists the rows only one run has" || bad "compare only-in" "$(cat "$T_TMP/cmp.out")"
"$PY" tools/bench_results.py compare "$A" "$T_TMP/nodir" >/dev/null 2>"$T_TMP/cmp.err"
expect_eq "compare of a missing directory exits 2" "2" "$?"
grep -q "error: .*nodir is not a directory" "$T_TMP/cmp.err" && ok "and says which" || bad "compare error" "$(cat "$T_TMP/cmp.err")"

# ---- every citation in the tree points at something a section writes -----------
plan 3
"$PY" tools/notes.py --cited >"$T_TMP/cited.out" 2>&1
rc=$?
cat "$T_TMP/cited.out"
expect_eq "every <!-- bench:FILE --> and <!-- v:SECTION.KEY --> in the tree names what a section writes" 0 "$rc"
n=$(sed -nE 's/^notes: ([0-9]+) citations.*/\1/p' "$T_TMP/cited.out")
check_num "the tree's citations were found and checked" "${n:-}" '>=' 10
# a citation of nothing must fail: a fixture note citing a key and a table no section writes
printf '%s\n' 'x <!-- v:wal.no_such_key --><!-- /v --> y <!-- v:nosection.k --><!-- /v -->' \
  '<!-- bench:nothing-writes-this.md -->' '<!-- /bench:nothing-writes-this.md -->' >"$T_TMP/cite.md"
"$PY" tools/notes.py --cited "$T_TMP/cite.md" >"$T_TMP/cite.out" 2>&1
expect_eq "--cited fails on a key, a section and a table that nothing writes (3 errors)" "1 3" \
  "$? $(grep -c 'error:' "$T_TMP/cite.out")"

# ---- the committed reference run is what the NOTES and docs say ----------------
# Every Measured table and cited number in the tree must be the reference run's: a
# number edited by hand, a table from another run or a reference run replaced without
# `make notes` fails here (tools/notes.py --check names each difference).
plan 2
if [ -f bench/results/reference/run.env ]; then
  ok "bench/results/reference/ holds a run ($(sed -n 's/^date=//p' bench/results/reference/run.env), $(sed -n 's/^full=/FULL=/p' bench/results/reference/run.env))"
else
  bad "reference run" "bench/results/reference/run.env missing: the reference run is not committed"
fi
"$PY" tools/notes.py --check >"$T_TMP/ref.out" 2>&1
rc=$?
[ $rc = 0 ] || head -40 "$T_TMP/ref.out"
expect_eq "every NOTES table and docs number matches bench/results/reference (make notes)" 0 "$rc"
finish
