#!/usr/bin/env bash
# bench disk-io: diskbench's four engines (pread, threads, libaio, io_uring) against
# fio's equivalent jobs (psync, psync numjobs=N, libaio, io_uring) in the same run:
#   1. O_DIRECT random 4k reads at queue depth 1, 8, 32, 128 (IOPS, p50/p99/p99.9,
#      system calls per I/O, ratio to fio; target: within 5% of fio at every depth)
#   2. page-cache hits: the same reads, buffered, on a file already in memory
#   3. buffered libaio blocks in io_submit: time inside submission, cold buffered vs O_DIRECT
#   4. io_uring extras (registered files and buffers, batching, SQPOLL) vs fio's
#   5. system calls per I/O: diskbench's own count against strace -f, and fio's
# Everything runs pinned to one core (taskset), ours and fio's alternating.
# Quick profile: 256 MiB file, 0.25 s per run, 1 run per cell (about 38 s: fio
# itself needs ~0.3 s to start and stop each job).
# FULL=1: 1 GiB file, 2 s per run, median of 3.
# Writes disk-io.csv (one row per cell, with the spread of both sides and the command
# behind the row), disk-io.md (every table and the plot, for the summary), one table
# file per part for labs/04-disk-io/NOTES.md (disk-io-direct.md, disk-io-cached.md,
# disk-io-submit.md, disk-io-extras.md, disk-io-syscalls.md) and disk-io.values.tsv
# (the counts and verdicts the notes cite).
source "$(dirname "$0")/../lib.sh"
need fio strace python3 gnuplot taskset
DB=$BIN/diskbench
[ -x "$DB" ] || { echo "bench disk-io: $DB missing (make all)" >&2; exit 1; }

if [ "$FULL" = 1 ]; then SIZE=1g RT=2 REPS=3 QDS="1 8 32 128"; else SIZE=256m RT=0.25 REPS=1 QDS="1 8 32 128"; fi
# The file lives under the build directory (a disk filesystem here; /tmp may be tmpfs).
F=$BUILD/bench-disk-io.dat
CSV=$OUT/disk-io.csv MD=$OUT/disk-io.md
echo "part,engine,qd,mode,iops,lat_p50_us,lat_p99_us,lat_p999_us,syscalls_per_io,fio_iops,fio_p50_us,fio_p99_us,fio_p999_us,ratio,fio_spread,iops_range,fio_iops_range,ratio_range,within_5pct,target,flag,command" >"$CSV"

# steps: the file, 16 O_DIRECT cells, 4 page-cache cells, 4 extras, 2 submit runs, 4
# system-call counts, the tables
plan_steps 32
progress "file $F ($SIZE), runtime $RT s, $REPS run(s) per cell"
"$DB" --engine pread --rw read --ios 1 --size $SIZE "$F" >/dev/null 2>&1 ||
  { echo "bench disk-io: cannot create $F" >&2; exit 1; }
FS=$("$DB" --engine pread --rw read --ios 1 "$F" 2>/dev/null | sed -nE '1s/.*\(([^,]+), [0-9]+ bytes\).*/\1/p')
DEV=$(findmnt -n -o SOURCE --target "$F" 2>/dev/null | sed -E 's#^/dev/##; s#[0-9]+$##')
SCHED=$(sed -E 's/.*\[(.*)\].*/\1/' "/sys/block/$DEV/queue/scheduler" 2>/dev/null || echo unknown)

fio_engine() { case $1 in pread|threads) echo psync ;; libaio) echo libaio ;; uring) echo io_uring ;; esac; }

# ours ENGINE QD ARGS...: one JSON line from diskbench
# A fresh --seed each run, as fio's --randrepeat=0 draws fresh offsets, so neither side
# keeps reading one fixed set of blocks (a check of seed 1 against fresh seeds for
# pread at qd 1 showed no difference beyond noise, but equivalent is equivalent).
ours() { local e=$1 qd=$2; shift 2; pin_client "$DB" --json --engine "$e" --rw randread --bs 4k --qd "$qd" --size $SIZE --runtime $RT --seed $((RANDOM * 32768 + RANDOM)) "$@" "$F" 2>/dev/null; }
# the commands behind a row, as a reader would type them (the seed is fresh each run)
ours_cmd() { local e=$1 qd=$2; shift 2; echo "taskset -c $CPU_CLIENT $DB --engine $e --rw randread --bs 4k --qd $qd --size $SIZE --runtime $RT $* $F"; }
fio_cmd() {
  local e=$1 qd=$2; shift 2
  local jobs="--ioengine=$(fio_engine "$e") --iodepth=$qd"
  [ "$e" = threads ] && jobs="--ioengine=psync --iodepth=1 --numjobs=$qd --thread --group_reporting"
  [ "$e" = pread ] && jobs="--ioengine=psync --iodepth=1"
  echo "taskset -c $CPU_CLIENT fio --name=ref --filename=$F --rw=randread --bs=4k --size=$SIZE --runtime=${RT}s --time_based --norandommap --randrepeat=0 $jobs $*"
}
# fio_ref ENGINE QD ARGS...: fio's equivalent job, printed as the same JSON keys
fio_ref() {
  local e=$1 qd=$2; shift 2
  local jobs=(--ioengine="$(fio_engine "$e")" --iodepth="$qd")
  [ "$e" = threads ] && jobs=(--ioengine=psync --iodepth=1 --numjobs="$qd" --thread --group_reporting)
  [ "$e" = pread ] && jobs=(--ioengine=psync --iodepth=1)
  pin_client fio --name=ref --filename="$F" --rw=randread --bs=4k --size=$SIZE \
    --runtime=$(awk -v r=$RT 'BEGIN { printf "%dms", r * 1000 }') --time_based \
    --norandommap --randrepeat=0 --lat_percentiles=1 --output-format=json "${jobs[@]}" "$@" 2>/dev/null |
    python3 -c '
import json, sys
d = json.load(sys.stdin)["jobs"][0]["read"]
p = d["lat_ns"]["percentile"]
print(json.dumps({"iops": d["iops"], "lat_p50_us": p["50.000000"] / 1e3,
                  "lat_p99_us": p["99.000000"] / 1e3, "lat_p999_us": p["99.900000"] / 1e3}))'
}
# med JSONLINES KEY: median of KEY over the lines (sed + awk: a python start per
# value costs more than a run on a loaded 2-core machine)
med() {
  local v; v=$(printf '%s\n' "$1" | sed -nE 's/.*"'"$2"'": *([-0-9.eE+]+).*/\1/p')
  [ -n "$v" ] || { echo nan; return; }
  # shellcheck disable=SC2086
  median $v | awk -v k="$2" '{ printf (k == "syscalls_per_io" ? "%.3f\n" : "%.1f\n"), $1 }'
}

# cell PART ENGINE QD MODE OURS_ARGS -- FIO_ARGS: REPS alternating runs, one CSV row
cell() {
  local part=$1 e=$2 qd=$3 mode=$4; shift 4
  local oa=() fa=() seen=0 a
  for a in "$@"; do if [ "$a" = -- ]; then seen=1; elif [ $seen = 0 ]; then oa+=("$a"); else fa+=("$a"); fi; done
  local o="" f="" i
  for i in $(seq 1 "$REPS"); do  # alternate who goes first, so drift hits both
    if [ $((i % 2)) = 1 ]; then
      o+=$(ours "$e" "$qd" "${oa[@]}")$'\n'; f+=$(fio_ref "$e" "$qd" "${fa[@]}")$'\n'
    else
      f+=$(fio_ref "$e" "$qd" "${fa[@]}")$'\n'; o+=$(ours "$e" "$qd" "${oa[@]}")$'\n'
    fi
  done
  # fio against itself: (max - min) / median of its runs, the noise floor for the ratio
  local fv ov
  fv=$(printf '%s\n' "$f" | sed -nE 's/.*"iops": *([-0-9.eE+]+).*/\1/p')
  ov=$(printf '%s\n' "$o" | sed -nE 's/.*"iops": *([-0-9.eE+]+).*/\1/p')
  local spread
  spread=$(printf '%s\n' "$fv" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR < 2) { print "n/a"; exit } m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.0f%%\n", 100 * (v[NR] - v[1]) / m }')
  local row=() k
  for k in iops lat_p50_us lat_p99_us lat_p999_us syscalls_per_io; do row+=("$(med "$o" $k)"); done
  local fi_=() ; for k in iops lat_p50_us lat_p99_us lat_p999_us; do fi_+=("$(med "$f" $k)"); done
  local r; r=$(ratio "${row[0]}" "${fi_[0]}")
  # shellcheck disable=SC2086
  local orng frng; orng=$(spread $ov | awk -F- '{ printf "%.0f-%.0f", $1, $2 }'); frng=$(spread $fv | awk -F- '{ printf "%.0f-%.0f", $1, $2 }')
  local verdict; verdict=$(judge "$r" "$orng" "$frng" "$spread")
  local cmd; cmd="$(ours_cmd "$e" "$qd" "${oa[@]}") ; $(fio_cmd "$e" "$qd" "${fa[@]}")"
  echo "$part,$e,$qd,$mode,$(IFS=,; echo "${row[*]}"),$(IFS=,; echo "${fi_[*]}"),$r,$spread,$orng,$frng,$verdict,${cmd//,/ }" >>"$CSV"
  progress "$part $e qd=$qd $mode: ${row[0]} IOPS vs fio ${fi_[0]} (x$r), p99 ${row[2]} us, ${row[4]} syscalls/IO"
}

# judge RATIO OURS_RANGE FIO_RANGE FIO_SPREAD: "ratio_range,within_5pct,target,flag"
#   ratio_range  the lowest and highest ratio the two sides' runs allow (min/max, max/min)
#   within_5pct  yes when |ratio - 1| <= 0.05
#   target       (ours >= 0.95 of fio) met when even the lowest ratio is >= 0.95, not met
#                when even the highest is below, on par within the spread otherwise
#   flag         "outside fio's spread" when the ratio is off 1 by more than 2x and by
#                more than 3 times fio's own spread: not a result, a broken comparison
#                (the target then says "not comparable", never met)
judge() {
  awk -v r="$1" -v o="$2" -v f="$3" -v s="$4" 'BEGIN {
    split(o, a, "-"); split(f, b, "-")
    lo = (b[2] > 0) ? a[1] / b[2] : 0; hi = (b[1] > 0) ? a[2] / b[1] : 0
    d = r - 1; if (d < 0) d = -d
    w = (r == "n/a") ? "n/a" : (d <= 0.05 ? "yes" : "no")
    t = (r == "n/a") ? "n/a" : (lo >= 0.95 ? "met" : (hi < 0.95 ? "not met" : "on par within the spread"))
    fs = (s ~ /%$/) ? substr(s, 1, length(s) - 1) / 100 : 0
    far = (r != "n/a" && (r > 2 || r < 0.5) && d > 3 * fs) ? "outside fio'"'"'s spread" : ""
    if (far != "") t = "not comparable"
    printf "%.2f-%.2f,%s,%s,%s", lo, hi, w, t, far }'
}

# 1. O_DIRECT random 4k reads, every engine at every depth
for qd in $QDS; do
  for e in pread threads libaio uring; do cell direct $e $qd direct --direct -- --direct=1; done
done
# 2. page-cache hits: buffered reads of a file already in memory (diskbench --warm
#    reads it in first; fio's invalidate=0 keeps it there)
for e in pread threads libaio uring; do
  qd=8; [ $e = pread ] && qd=1
  cell cached $e $qd buffered-warm --warm -- --direct=0 --invalidate=0
done
# 4. io_uring extras at qd 32
cell extras uring 32 fixed-files+buffers --direct --fixed-files --fixed-buffers -- --direct=1 --registerfiles=1 --fixedbufs=1
cell extras uring 32 batch-8 --direct --batch 8 -- --direct=1 --iodepth_batch_submit=8 --iodepth_batch_complete_min=8
cell extras uring 32 fixed+batch-8 --direct --fixed-files --fixed-buffers --batch 8 -- --direct=1 --registerfiles=1 --fixedbufs=1 --iodepth_batch_submit=8 --iodepth_batch_complete_min=8
cell extras uring 32 sqpoll --direct --sqpoll -- --direct=1 --sqthread_poll=1

# 3. time inside io_submit: cold buffered (the page cache dropped first) vs O_DIRECT
SUB=$B_TMP/submit.txt; : >"$SUB"
for mode in buffered direct; do
  arg=(); [ $mode = direct ] && arg=(--direct)
  out=$(pin_client "$DB" --engine libaio --rw randread --bs 4k --qd 32 --size $SIZE --runtime $RT "${arg[@]}" "$F" 2>&1)
  iops=$(printf '%s\n' "$out" | sed -nE 's/.*throughput +([0-9]+) IOPS.*/\1/p')
  sub=$(printf '%s\n' "$out" | sed -nE 's/.*submission +([0-9.]+) us per io_submit call, ([0-9.]+) us per I\/O, ([0-9.]+)% of the run.*/\1 \2 \3/p')
  echo "$mode $iops $sub" >>"$SUB"
  progress "libaio $mode cold: $iops IOPS, io_submit: $sub (us/call us/IO %run)"
done

# 5. system calls per I/O: own count vs strace, and fio's count, qd 32, 2000 I/Os
SC=$B_TMP/syscalls.txt; : >"$SC"
for e in pread threads libaio uring; do
  qd=32; call=io_uring_enter
  case $e in pread|threads) call=pread64 ;; libaio) call=io_submit,io_getevents ;; esac
  # the tool's own count and strace's, from the same run
  out=$(strace -f -qq -e trace=$call -o "$B_TMP/st.txt" "$DB" --engine $e --rw randread --bs 4k --qd $qd --ios 2000 --direct "$F" 2>&1)
  mine=$(printf '%s\n' "$out" | sed -nE 's/.*syscalls +([0-9.]+) per I\/O.*/\1/p')
  if [ "${call}" = pread64 ]; then n=$(grep -c ', 4096, ' "$B_TMP/st.txt"); else n=$(grep -cE '(io_uring_enter|io_submit|io_getevents)\(' "$B_TMP/st.txt"); fi
  fjobs=(--ioengine="$(fio_engine $e)" --iodepth=$qd)
  [ $e = threads ] && fjobs=(--ioengine=psync --numjobs=$qd --thread)
  [ $e = pread ] && fjobs=(--ioengine=psync)
  nio=2000 fios=2000  # fio's number_ios is per job: threads split it
  [ $e = threads ] && { nio=$(( 2000 / qd )); fios=$(( nio * qd )); }
  strace -f -qq -e trace=$call -o "$B_TMP/stf.txt" fio --name=ref --filename="$F" --rw=randread --bs=4k --size=$SIZE --direct=1 \
    --number_ios=$nio --norandommap --randrepeat=0 --output-format=json "${fjobs[@]}" >/dev/null 2>&1
  if [ "${call}" = pread64 ]; then fn=$(grep -c ', 4096, ' "$B_TMP/stf.txt"); else fn=$(grep -cE '(io_uring_enter|io_submit|io_getevents)\(' "$B_TMP/stf.txt"); fi
  echo "$e $qd $mine $(awk -v n="$n" 'BEGIN{printf "%.3f", n/2000}') $(awk -v n="$fn" -v i=$fios 'BEGIN{printf "%.3f", n/i}') ${call//,/+}" >>"$SC"
  progress "system calls per I/O, $e: $(tail -1 "$SC")"
done

# ---- tables: one file per part (the notes cite each), disk-io.md holds them all ----
M="$(machine); file on $FS on ${DEV:-?} ($SIZE, $SCHED scheduler), pinned to core $CPU_CLIENT, ${RT} s per run, median of $REPS."
{
  echo "$M"
  echo
  echo "| engine | qd | IOPS | IOPS min-max | fio IOPS | fio min-max | ratio | ratio range | within 5% | target >= 0.95 | fio vs fio spread | p50 us | p99 us | p99.9 us | fio p50 | fio p99 | fio p99.9 | syscalls/IO |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  awk -F, '$1 == "direct" { t = ($21 != "") ? "**" $20 ": " $21 "**" : $20
    printf "| %s | %s | %.0f | %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
    $2, $3, $5, $16, $10, $17, $14, $18, $19, t, $15, $6, $7, $8, $11, $12, $13, $9 }' "$CSV"
  echo
  echo "Both submit each request as soon as it is queued and wait for one completion when the queue is full (fio's defaults, diskbench's --batch 1). \"within 5%\" is |ratio - 1| <= 0.05. \"ratio range\" is the lowest and highest ratio the runs allow (our slowest over fio's fastest, our fastest over fio's slowest); the target is met when even the lowest is >= 0.95, not met when even the highest is below, and on par within the spread otherwise. \"fio vs fio spread\" is (max - min) / median of fio's own runs: a ratio inside it is noise."
  echo
  echo "A cell marked \"not comparable: outside fio's spread\" has a ratio more than 2x from 1 and more than three times fio's own spread away from it: one side did not run the job the other did (a stall, another tenant's I/O), and the cell is run again rather than read."
  echo
  echo "fio jobs: pread = psync; threads = psync numjobs=qd thread group_reporting; libaio, uring = libaio, io_uring iodepth=qd; all --direct=1 --norandommap, same file, bs, size and runtime (the command column of disk-io.csv has both command lines of every row). Latency: ours from queueing to reaping, fio's lat_ns (submission to completion)."
} >"$OUT/disk-io-direct.md"
{
  echo "$M Buffered reads of a file already in memory."
  echo
  echo "| engine | qd | IOPS | IOPS min-max | fio IOPS | fio min-max | ratio | ratio range | p50 us | p99 us | fio p99 | syscalls/IO |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  awk -F, '$1 == "cached" { printf "| %s | %s | %.0f | %s | %.0f | %s | %s | %s | %s | %s | %s | %s |\n", $2, $3, $5, $16, $10, $17, $14, $18, $6, $7, $12, $9 }' "$CSV"
} >"$OUT/disk-io-cached.md"
{
  echo "$M libaio at qd 32, one run each, the page cache dropped first."
  echo
  echo "| mode | IOPS | us per io_submit call | us in io_submit per I/O | % of the run inside io_submit |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  awk '{ printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5 }' "$SUB"
} >"$OUT/disk-io-submit.md"
{
  echo "$M io_uring at qd 32, O_DIRECT; fio with registerfiles/fixedbufs, iodepth_batch, sqthread_poll."
  echo
  echo "| mode | IOPS | IOPS min-max | fio IOPS | fio min-max | ratio | ratio range | fio vs fio spread | p99 us | fio p99 | syscalls/IO | note |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
  awk -F, '($1 == "direct" && $2 == "uring" && $3 == 32) || $1 == "extras" {
      m = ($1 == "direct") ? "plain" : $4
      note = ($21 != "") ? "**" $21 "**: not comparable, see below" : ""
      printf "| %s | %.0f | %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s |\n", m, $5, $16, $10, $17, $14, $18, $15, $7, $12, $9, note }' "$CSV"
  echo
  echo "A row flagged \"outside fio's spread\" has a ratio more than 2x from 1 and more than three times fio's own run-to-run spread away from it: the two jobs are not doing the same thing, and the ratio is not a result. With sqthread_poll=1 pinned to one core, fio's SQ polling thread inherits the one allowed CPU and competes with fio's own submission loop; diskbench sleeps in io_uring_enter to wait and leaves the core to the poller."
} >"$OUT/disk-io-extras.md"
{
  echo "$M qd 32, 2000 O_DIRECT reads."
  echo
  echo "| engine | qd | diskbench's own count | strace -f of diskbench | strace -f of fio | calls counted |"
  echo "| --- | ---: | ---: | ---: | ---: | --- |"
  awk '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' "$SC"
} >"$OUT/disk-io-syscalls.md"
{
  echo "## disk-io: pread vs threads vs libaio vs io_uring, against fio"
  for t in direct:"O_DIRECT random 4k reads by queue depth" cached:"Page-cache hits" \
    submit:"Buffered libaio blocks in io_submit" extras:"io_uring extras" syscalls:"System calls per I/O, counted three ways"; do
    echo; echo "### ${t#*:}"; echo; cat "$OUT/disk-io-${t%%:*}.md"
  done
  echo
  echo "![IOPS and p99 against queue depth](disk-io.png)"
} >"$MD"
cat "$MD"

# ---- values the notes cite: counts of cells and verdicts, and the numbers quoted ----
dcol() { awk -F, -v e="$1" -v q="$2" -v c="$3" '$1 == "direct" && $2 == e && $3 == q { print $c }' "$CSV"; }
xcol() { awk -F, -v m="$1" -v c="$2" '$1 == "extras" && $4 == m { print $c }' "$CSV"; }
value direct.cells "$(awk -F, '$1 == "direct"' "$CSV" | wc -l)"
value direct.met "$(awk -F, '$1 == "direct" && $20 == "met"' "$CSV" | wc -l)"
value direct.not_met "$(awk -F, '$1 == "direct" && $20 == "not met"' "$CSV" | wc -l)"
value direct.on_par "$(awk -F, '$1 == "direct" && $20 == "on par within the spread"' "$CSV" | wc -l)"
value direct.not_comparable "$(awk -F, '$1 == "direct" && $20 == "not comparable"' "$CSV" | wc -l)"
value direct.within_5pct "$(awk -F, '$1 == "direct" && $19 == "yes"' "$CSV" | wc -l)"
value direct.target "$(awk -F, '$1 == "direct" { n[$20]++ } END {
  if (n["not met"] > 0) print "not met"; else if (n["not comparable"] > 0) print "not settled (a cell is not comparable)";
  else if (n["on par within the spread"] > 0) print "on par within the spread"; else print "met" }' "$CSV")"
value direct.fio_spread "$(awk -F, '$1 == "direct" && $15 ~ /%$/ { v = $15 + 0; if (!n++ || v < lo) lo = v; if (v > hi) hi = v }
  END { if (n) printf "%d%% to %d%%", lo, hi; else print "n/a (one run per cell)" }' "$CSV")"
for e in pread uring; do
  value "direct.$e.1.p50_us" "$(dcol $e 1 6) µs"; value "direct.$e.1.fio_p50_us" "$(dcol $e 1 11) µs"
done
# every cell's IOPS, ratio, p50 and verdict: direct.ENGINE.QD.iops, cached.ENGINE.iops, ...
while IFS=, read -r part e qd _ iops p50 _ _ _ _ _ _ _ r _ _ _ _ _ t _; do
  [ "$part" = direct ] || [ "$part" = cached ] || continue
  k=$part.$e; [ "$part" = direct ] && k=$k.$qd
  value "$k.iops" "$(awk -v v="$iops" 'BEGIN { printf "%.0fk", v / 1000 }')"
  value "$k.ratio" "${r}x"
  [ "$part" = cached ] && value "$k.p50_us" "$p50 µs"
  [ "$part" = direct ] && value "$k.target" "$t"
done < <(tail -n +2 "$CSV")
value submit.buffered_iops "$(awk '$1 == "buffered" { printf "%.1fk", $2 / 1000 }' "$SUB")"
value submit.direct_iops "$(awk '$1 == "direct" { printf "%.1fk", $2 / 1000 }' "$SUB")"
value direct.128.iops_range "$(awk -F, '$1 == "direct" && $3 == 128 && $2 != "pread" { for (i = 5; i <= 10; i += 5) { v = $i / 1000; if (!n++ || v < lo) lo = v; if (v > hi) hi = v } }
  END { printf "%.0fk to %.0fk", lo, hi }' "$CSV")"
value extras.batch.uring_syscalls "$(xcol batch-8 9)"
value extras.batch.ratio "$(xcol batch-8 14)"
value extras.fixed.ratio "$(xcol fixed-files+buffers 14)"
value extras.sqpoll.fio_iops "$(xcol sqpoll 10 | awk '{ printf "%.0f", $1 }')"
value extras.sqpoll.flag "$(xcol sqpoll 21 | sed 's/^$/within the spread/')"
value syscalls.libaio.fio "$(awk '$1 == "libaio" { print $5 }' "$SC")"
value syscalls.uring.fio "$(awk '$1 == "uring" { print $5 }' "$SC")"
value submit.buffered_pct "$(awk '$1 == "buffered" { print $5 "%" }' "$SUB")"
value submit.direct_pct "$(awk '$1 == "direct" { print $5 "%" }' "$SUB")"

# ---- plot: IOPS and p99 against queue depth, ours solid, fio dashed ---------
for e in pread threads libaio uring; do
  awk -F, -v e=$e '$1 == "direct" && $2 == e { print $3, $5, $10, $7, $12 }' "$CSV" >"$B_TMP/$e.dat"
done
gnuplot <<EOF
set terminal pngcairo size 1400,480 font ",10" noenhanced
set output "$OUT/disk-io.png"
set datafile separator " "
set multiplot layout 1,2 title "O_DIRECT random 4k reads on $FS ($SIZE), pinned to one core: diskbench (solid) vs fio (dashed)"
set logscale x 2
set xlabel "queue depth"
set key outside right top vertical
set xtics (1, 8, 32, 128)
set xrange [0.8:160]
set grid
set ylabel "IOPS"
E = "pread threads libaio uring"
plot for [i=1:4] "$B_TMP/".word(E,i).".dat" using 1:2 with linespoints lw 2 lc i title word(E,i), \
     for [i=1:4] "$B_TMP/".word(E,i).".dat" using 1:3 with linespoints dt 2 lc i title "fio ".word(E,i)
set ylabel "p99 latency (us)"
set logscale y
plot for [i=1:4] "$B_TMP/".word(E,i).".dat" using 1:4 with linespoints lw 2 lc i title word(E,i), \
     for [i=1:4] "$B_TMP/".word(E,i).".dat" using 1:5 with linespoints dt 2 lc i title "fio ".word(E,i)
unset multiplot
EOF
progress "wrote $CSV, $MD (and a file per table), $OUT/disk-io.png"
