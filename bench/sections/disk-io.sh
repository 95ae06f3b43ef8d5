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
source "$(dirname "$0")/../lib.sh"
need fio strace python3 gnuplot taskset
DB=$BIN/diskbench
[ -x "$DB" ] || { echo "bench disk-io: $DB missing (make all)" >&2; exit 1; }

if [ "$FULL" = 1 ]; then SIZE=1g RT=2 REPS=3 QDS="1 8 32 128"; else SIZE=256m RT=0.25 REPS=1 QDS="1 8 32 128"; fi
# The file lives under the build directory (a disk filesystem here; /tmp may be tmpfs).
F=$BUILD/bench-disk-io.dat
CSV=$OUT/disk-io.csv MD=$OUT/disk-io.md
echo "part,engine,qd,mode,iops,lat_p50_us,lat_p99_us,lat_p999_us,syscalls_per_io,fio_iops,fio_p50_us,fio_p99_us,fio_p999_us,ratio,fio_spread" >"$CSV"

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
  local spread
  spread=$(printf '%s\n' "$f" | sed -nE 's/.*"iops": *([-0-9.eE+]+).*/\1/p' | sort -g |
    awk '{ v[NR] = $1 } END { if (NR < 2) { print "n/a"; exit } m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.0f%%\n", 100 * (v[NR] - v[1]) / m }')
  local row=() k
  for k in iops lat_p50_us lat_p99_us lat_p999_us syscalls_per_io; do row+=("$(med "$o" $k)"); done
  local fi_=() ; for k in iops lat_p50_us lat_p99_us lat_p999_us; do fi_+=("$(med "$f" $k)"); done
  local r; r=$(ratio "${row[0]}" "${fi_[0]}")
  echo "$part,$e,$qd,$mode,$(IFS=,; echo "${row[*]}"),$(IFS=,; echo "${fi_[*]}"),$r,$spread" >>"$CSV"
  progress "$part $e qd=$qd $mode: ${row[0]} IOPS vs fio ${fi_[0]} (x$r), p99 ${row[2]} us, ${row[4]} syscalls/IO"
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
done

# ---- table ---------------------------------------------------------------
{
  echo "## disk-io: pread vs threads vs libaio vs io_uring, against fio"
  echo
  echo "$(machine); file on $FS on ${DEV:-?} ($SIZE, $SCHED scheduler), pinned to core $CPU_CLIENT, ${RT} s per run, median of $REPS."
  echo
  echo "### O_DIRECT random 4k reads by queue depth (target: ratio >= 0.95 at every depth)"
  echo
  echo "| engine | qd | IOPS | fio IOPS | ratio | within 5% | fio vs fio spread | p50 us | p99 us | p99.9 us | fio p50 | fio p99 | fio p99.9 | syscalls/IO |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  awk -F, '$1 == "direct" { ok = ($14 != "n/a" && $14 >= 0.95) ? "yes" : "no";
    printf "| %s | %s | %.0f | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $2, $3, $5, $10, $14, ok, $15, $6, $7, $8, $11, $12, $13, $9 }' "$CSV"
  echo
  echo "Both submit each request as soon as it is queued and wait for one completion when the queue is full (fio's defaults, diskbench's --batch 1); batching is in the io_uring extras table. \"fio vs fio spread\" is (max - min) / median of fio's own runs: a ratio inside it is noise."
  echo
  echo "fio jobs: pread = psync; threads = psync numjobs=qd thread (threads, like ours, not processes) group_reporting; libaio, uring = libaio, io_uring iodepth=qd; all --direct=1 --norandommap, same file, bs, size and runtime. Latency: ours from queueing to reaping, fio's lat_ns (submission to completion)."
  echo
  echo "### Page-cache hits (buffered, file already in memory)"
  echo
  echo "| engine | qd | IOPS | fio IOPS | ratio | p50 us | p99 us | fio p99 | syscalls/IO |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  awk -F, '$1 == "cached" { printf "| %s | %s | %.0f | %.0f | %s | %s | %s | %s | %s |\n", $2, $3, $5, $10, $14, $6, $7, $12, $9 }' "$CSV"
  echo
  echo "### Buffered libaio blocks in io_submit (qd 32, page cache dropped first)"
  echo
  echo "| mode | IOPS | us per io_submit call | us in io_submit per I/O | % of the run inside io_submit |"
  echo "| --- | --- | --- | --- | --- |"
  awk '{ printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5 }' "$SUB"
  echo
  echo "### io_uring extras, qd 32, O_DIRECT (fio with registerfiles/fixedbufs, iodepth_batch, sqthread_poll)"
  echo
  echo "| mode | IOPS | fio IOPS | ratio | p99 us | fio p99 | syscalls/IO |"
  echo "| --- | --- | --- | --- | --- | --- | --- |"
  awk -F, '$1 == "direct" && $2 == "uring" && $3 == 32 { printf "| plain | %.0f | %.0f | %s | %s | %s | %s |\n", $5, $10, $14, $7, $12, $9 }
           $1 == "extras" { printf "| %s | %.0f | %.0f | %s | %s | %s | %s |\n", $4, $5, $10, $14, $7, $12, $9 }' "$CSV"
  echo
  echo "### System calls per I/O, counted three ways (qd 32, 2000 O_DIRECT reads)"
  echo
  echo "| engine | qd | diskbench's own count | strace -f of diskbench | strace -f of fio | calls counted |"
  echo "| --- | --- | --- | --- | --- | --- |"
  awk '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' "$SC"
  echo
  echo "![IOPS and p99 against queue depth](disk-io.png)"
} >"$MD"
cat "$MD"

# ---- plot: IOPS and p99 against queue depth, ours solid, fio dashed ---------
for e in pread threads libaio uring; do
  awk -F, -v e=$e '$1 == "direct" && $2 == e { print $3, $5, $10, $7, $12 }' "$CSV" >"$B_TMP/$e.dat"
done
gnuplot <<EOF
set terminal pngcairo size 1200,480 font ",10" noenhanced
set output "$OUT/disk-io.png"
set datafile separator " "
set multiplot layout 1,2 title "O_DIRECT random 4k reads on $FS ($SIZE), pinned to one core: diskbench (solid) vs fio (dashed)"
set logscale x 2
set xlabel "queue depth"
set key top left
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
progress "wrote $CSV, $MD, $OUT/disk-io.png"
