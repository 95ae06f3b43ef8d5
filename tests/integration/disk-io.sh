#!/usr/bin/env bash
# Integration test for labs/04-disk-io (diskbench): every engine reads back exactly
# what is on disk and writes exactly what it should (checked against a pattern made
# independently here in Python, and by sha256), short reads at EOF, O_DIRECT
# alignment errors explained, tmpfs called out, system calls counted honestly
# (against strace), and bad arguments rejected with exit 2.  Small files, ~10 s.
source "$(dirname "$0")/../lib.sh"
need python3 strace sha256sum
DB=$BIN/diskbench
[ -x "$DB" ] || { bad "binary" "$DB missing: make BUILD=$BUILD asan"; finish; }

# Files go under the build directory: /tmp may be tmpfs, which has no disk behind
# O_DIRECT.  Removed on exit, with lib.sh's own cleanup.
D=$(mktemp -d "$BUILD/disk-io-test.XXXXXX")
trap 't_cleanup; rm -rf "$D"' EXIT

# pattern FILE BYTES GEN: the verify pattern (io/disk/disk.h), written by Python.
pattern() {
  python3 - "$@" <<'EOF'
import struct, sys
path, n, gen = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
M = (1 << 64) - 1
G = 0x9E3779B97F4A7C15
def sm(x):
    x = (x + G) & M
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M
    return x ^ (x >> 31)
words = (n + 7) // 8
base = (gen * G) & M
data = struct.pack('<%dQ' % words, *[sm((i + base) & M) for i in range(words)])
open(path, 'wb').write(data[:n])
EOF
}

SIZE=$((1024 * 1024 + 100))            # 257 blocks of 4k, the last one 100 bytes
pattern "$D/read.dat" $SIZE 0
pattern "$D/gen1.dat" $((1024 * 1024)) 1
want1=$(sha256sum <"$D/gen1.dat" | cut -d' ' -f1)

# 1. Reads: each engine, buffered and O_DIRECT, reads the whole file twice over,
#    checking every byte; the last block of each pass is a short read at EOF.
plan 13
for eng in pread threads libaio uring; do
  for mode in "" --direct; do
    name="$eng read${mode:+ direct}"
    if out=$("$DB" --engine $eng --rw read --bs 4k --qd 8 --ios 514 --verify $mode "$D/read.dat" 2>&1); then
      case "$out" in
        *"2 reads ended short at EOF"*"every byte read matched"*) ok "$name: data verified, 2 short reads at EOF" ;;
        # threads: 8 readers start spread over the file, so fewer of them reach EOF
        *"reads ended short at EOF"*"every byte read matched"*) [ $eng = threads ] && ok "$name: data verified, short read at EOF" || bad "$name" "$out" ;;
        *) bad "$name" "$out" ;;
      esac
    else
      bad "$name" "exit $?: $out"
    fi
  done
done
for x in --fixed-files --fixed-buffers "--sqpoll" "--batch 4"; do
  check "uring $x randread verified" "$DB" --engine uring --rw randread --bs 4k --qd 8 --ios 300 --verify --direct $x "$D/read.dat"
done
check "random 512-byte reads verified (threads)" "$DB" --engine threads --rw randread --bs 512 --qd 4 --ios 400 --verify "$D/read.dat"

# 2. Writes: each engine writes the whole 1 MiB file once (generation 1); the file
#    must then be byte-for-byte Python's generation-1 file.
plan 6
for eng in pread threads libaio uring; do
  cp "$D/read.dat" "$D/w.dat" && truncate -s $((1024 * 1024)) "$D/w.dat"
  if out=$("$DB" --engine $eng --rw write --bs 4k --qd 8 --ios 256 --direct --verify "$D/w.dat" 2>&1); then
    expect_eq "$eng write: sha256 equals the independent pattern" "$want1" "$(sha256sum <"$D/w.dat" | cut -d' ' -f1)"
  else
    bad "$eng write" "exit $?: $out"
  fi
done
check "uring randwrite + fsync every 16, read back verified" "$DB" --engine uring --rw randwrite --bs 4k --qd 8 --ios 200 --fsync-every 16 --verify --direct --fixed-buffers "$D/w.dat"
out=$("$DB" --engine libaio --rw randwrite --bs 4k --qd 4 --ios 64 --fsync-every 16 "$D/w.dat" 2>&1)
case "$out" in *"+ 4 fsync)"*) ok "fsync every 16 of 64 writes: 4 fsyncs counted" ;; *) bad "fsync count" "$out" ;; esac

# 3. A corrupted byte is found, with its offset, and the exit code says so.
plan 1
cp "$D/read.dat" "$D/bad.dat"
printf 'X' | dd of="$D/bad.dat" bs=1 seek=123457 conv=notrunc status=none
out=$("$DB" --engine uring --rw read --bs 4k --qd 4 --ios 257 --verify "$D/bad.dat" 2>&1); rc=$?
case "$rc:$out" in 1:*"first bad byte at file offset 123457"*) ok "corruption found at 123457" ;; *) bad "corruption" "rc=$rc $out" ;; esac

# 4. Misaligned O_DIRECT: explained (which of offset/size/buffer, and the rule), not a bare EINVAL.
plan 4
dio() { # NAME WANT args...
  local n=$1 want=$2; shift 2
  out=$("$DB" --rw randread --ios 4 --direct "$@" "$D/read.dat" 2>&1); rc=$?
  case "$rc:$out" in 1:*"Invalid argument"*$want*"O_DIRECT on this file needs"*) ok "$n" ;; *) bad "$n" "rc=$rc $out" ;; esac
}
dio "uring: size 1000 misaligned" "size?1000?is?not?a?multiple?of" --engine uring --bs 1000
dio "libaio: buffer misaligned" "buffer?address" --engine libaio --bs 4k --buf-offset 1
dio "pread: offset misaligned" "offset*is not a multiple of" --engine pread --bs 4k --offset 100 --size 64k
dio "threads: size 1000 misaligned" "size?1000?is?not?a?multiple?of" --engine threads --qd 2 --bs 1000

# 5. tmpfs: O_DIRECT is either refused with a clear message or called out as memory.
plan 1
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
  f=/dev/shm/wirelab-disk-io.$$
  out=$("$DB" --engine uring --rw randread --ios 16 --size 64k --direct "$f" 2>&1); rc=$?
  rm -f "$f"
  case "$out" in
    *"is on tmpfs: it accepts O_DIRECT"*|*"on tmpfs, which refuses O_DIRECT"*) ok "tmpfs O_DIRECT called out" ;;
    *) bad "tmpfs O_DIRECT" "rc=$rc $out" ;;
  esac
else
  bad "tmpfs O_DIRECT" "/dev/shm is not tmpfs here"
fi

# 6. --json: exactly these keys; system calls per I/O as each engine should.
plan 4
js() { "$DB" --json --rw randread --bs 4k --ios 400 --direct "$@" "$D/read.dat" 2>/dev/null; }
keys=$(js --engine uring --qd 8 | python3 -c 'import json,sys; print(",".join(sorted(json.load(sys.stdin))))')
expect_eq "json keys" "bs,engine,iops,lat_p50_us,lat_p999_us,lat_p99_us,mbps,qd,rw,syscalls_per_io" "$keys"
spi() { js "$@" | python3 -c 'import json,sys; print(json.load(sys.stdin)["syscalls_per_io"])'; }
expect_eq "pread: 1 system call per I/O" "1.0" "$(spi --engine pread)"
v=$(spi --engine uring --qd 16 --batch 16)
check_num "uring --batch 16: <= 0.1 system calls per I/O (got $v)" "$v" '>' 0 '<=' 0.1
v=$(spi --engine libaio --qd 16 --batch 16)
check_num "libaio --batch 16: <= 0.15 system calls per I/O (got $v)" "$v" '>' 0 '<=' 0.15

# 7. The tool's own counts match strace's, call by call (libaio: io_submit and
#    io_getevents), and so does the per-I/O figure it prints.  Only calls of the
#    engine's kinds are traced; for pread64 only 4096-byte ones (the dynamic loader
#    preads too).  An engine that leaves a call uncounted fails both checks.
plan 8
sc() { # ENGINE SYSCALL[,SYSCALL] args...: the tool's counts vs strace's
  local eng=$1 calls=$2; shift 2
  out=$(strace -f -qq -e trace="$calls" -o "$D/strace.txt" "$DB" --engine $eng --rw randread --bs 4k --ios 300 --direct "$@" "$D/read.dat" 2>&1)
  local c n mine="" theirs="" total=0 ios per lo hi
  for c in ${calls//,/ }; do
    n=$(printf '%s\n' "$out" | sed -nE 's/.*[(+] ?([0-9]+) '"$c"'[ )].*/\1/p' | head -1)
    mine+=" ${n:-none}"
    if [ "$c" = pread64 ]; then n=$(grep -c ', 4096, ' "$D/strace.txt")
    else n=$(grep -cE "^[0-9]+ +$c\(" "$D/strace.txt"); fi
    theirs+=" $n"
    total=$((total + n))
  done
  expect_eq "$eng: own count of ${calls//,/ + } equals strace's (${theirs# })" "$theirs" "$mine"
  ios=$(printf '%s\n' "$out" | sed -nE 's/.*\(([0-9]+) I\/Os in .*/\1/p')
  per=$(printf '%s\n' "$out" | sed -nE 's/^ *syscalls +([0-9.]+) per I\/O.*/\1/p')
  # the figure is printed with three decimals: strace's total / I/Os, to within rounding
  lo=$(awk -v t="$total" -v n="${ios:-0}" 'BEGIN { if (n > 0) printf "%.6f", t / n - 0.0005 }')
  hi=$(awk -v t="$total" -v n="${ios:-0}" 'BEGIN { if (n > 0) printf "%.6f", t / n + 0.0005 }')
  check_num "$eng: $per system calls per I/O = strace's $total / ${ios:-?} I/Os" "$per" '>=' "$lo" '<=' "$hi"
}
sc uring io_uring_enter --qd 8
sc libaio io_submit,io_getevents --qd 8
sc pread pread64
sc threads pread64 --qd 4

# 8. Buffered libaio: time inside io_submit is measured and printed.
plan 4
out=$("$DB" --engine libaio --rw randread --bs 4k --qd 8 --ios 300 "$D/read.dat" 2>&1)
case "$out" in *"of the run inside io_submit"*) ok "libaio prints time inside io_submit" ;; *) bad "io_submit time" "$out" ;; esac

# 8b. --runtime is kept even when every read is a page-cache hit that completes
#     inside the submit (a loop that only checks the clock when it waits never stops).
for eng in uring libaio; do
  out=$(timeout 20 "$DB" --engine $eng --rw randread --bs 4k --qd 8 --runtime 0.3 --warm "$D/read.dat" 2>&1); rc=$?
  secs=$(printf '%s\n' "$out" | sed -nE 's/.*I\/Os in ([0-9.]+) s\).*/\1/p')
  check_num "$eng: --runtime 0.3 on a warm cache stops in time (took ${secs:-?} s, rc $rc)" "$secs" '<' 3
done
v=$(spi --engine uring --qd 16)
check_num "uring default (fio-like, each I/O submitted at once): <= 1.05 calls per I/O (got $v)" "$v" '>=' 0.9 '<=' 1.05

# 9. Bad arguments: a clear message and exit 2.
plan 14
badarg() { # NAME WANT args...
  local n=$1 want=$2; shift 2
  out=$("$DB" "$@" 2>&1); rc=$?
  case "$rc:$out" in 2:*"$want"*) ok "bad args: $n" ;; *) bad "bad args: $n" "rc=$rc $out" ;; esac
}
F="$D/read.dat"
badarg "no engine" "--engine is required" --rw read "$F"
badarg "unknown engine" "--engine must be" --engine aio --rw read "$F"
badarg "unknown rw" "--rw must be" --engine pread --rw randrw "$F"
badarg "bad size" "not a size" --engine pread --rw read --bs 4x "$F"
badarg "qd 0" "out of range" --engine uring --rw read --qd 0 "$F"
badarg "qd too deep" "out of range" --engine uring --rw read --qd 100000 "$F"
badarg "uring extra on libaio" "need --engine uring" --engine libaio --rw read --fixed-files "$F"
badarg "batch > qd" "--batch cannot exceed --qd" --engine uring --rw read --qd 4 --batch 8 "$F"
badarg "no file" "exactly one FILE" --engine uring --rw read
badarg "two files" "exactly one FILE" --engine uring --rw read "$F" "$F"
badarg "unknown option" "unknown or incomplete option" --engine uring --rw read --frobnicate "$F"
badarg "runtime 0" "--runtime wants seconds" --engine uring --rw read --runtime 0 "$F"
badarg "fsync on reads" "--fsync-every only makes sense" --engine uring --rw read --fsync-every 4 "$F"
badarg "size smaller than a block" "holds no whole" --engine uring --rw write --size 100 --bs 4k "$D/tiny.dat"
finish
