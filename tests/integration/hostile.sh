#!/usr/bin/env bash
# test: alone (thousands of connections, the fd limit and RSS bounds: no other script beside it)
# hostile.sh: the project's ground rule under attack.  "Bad input never wins": every
# server (labs/03 server-blocking/-epoll/-uring, jobs-server, broker, kv-server primary
# and replica) gets mutated requests, disconnects at every phase, a pipeline it cannot
# keep up with from a client that never reads (RSS must stay bounded), connections up
# to its fd limit, and the replication ports get garbage both ways
# (tests/integration/hostile.py, python3 stdlib).  The HTTP servers also get a
# pipelined flood read late, half-closed requests, header sections over the limit
# (answered, then a FIN, not a reset), 1,000 unfinished bodies against their body
# budget, and slowloris on 256 descriptors (fresh clients must still be served).
# The broker and kv-server also get a full disk, a restart with a lower limit, kill -9
# at everysec and reads racing a simulated power loss: nothing acknowledged lost,
# nothing refused visible.  After each attack the server is alive, its ASan/UBSan log
# is clean and a fresh normal client is served.  Then every program gets bad command
# lines (exit 2 and a message) and the file tools (parse, wal-dump, diskbench) hostile
# files (an exit code and a message, never a crash).
# Budget: 40 s.  HOSTILE_SECS (default 0.7) is the length of each attack.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need python3 timeout redis-cli
# ASan keeps 256 MiB of freed memory in quarantine by default: RSS would measure that,
# not the server's bounds.
export ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=8"
H="$(dirname "${BASH_SOURCE[0]}")/hostile.py"
S=${HOSTILE_SECS:-0.7}
SEED=${HOSTILE_SEED:-$RANDOM}
echo "  seed $SEED (HOSTILE_SEED=$SEED reproduces)"

# hostile KIND PORT PID LOG NAME: run the attacks (hostile.py): its checks, planned by
# itself, and one more (planned here, per call): it exits 0 after all of them.
hostile() {
  run_checks "$5: " timeout 60 python3 "$H" "$1" "$2" "$3" "$4" "$S" "$SEED"
}

# Sections 2 and 3 (no servers) run in the background while section 1 attacks, and
# print `plan N` and ok/FAIL lines that are counted at the end: the budget is 40 s.
offline_checks() {
# ---- 2. bad command lines: exit 2 and a message -----------------------------------
badcli() {
  local prog=$1; shift
  local out rc
  out=$(timeout 5 "$BIN/$prog" "$@" 2>&1 </dev/null); rc=$?
  if [ "$rc" = 2 ] && [ -n "$out" ] && ! grep -q 'Sanitizer\|runtime error' <<<"$out"; then echo "ok $prog $* -> exit 2"
  else echo "FAIL $prog $*: exit $rc: $(head -c 200 <<<"$out" | tr "\n" " ")"; fi
}
echo "plan 55" # the badcli lines below
for p in server-blocking server-epoll server-uring jobs-server broker; do
  badcli "$p" --port 99999
  badcli "$p" --port -1
  badcli "$p" --port abc
  badcli "$p" --bogus
  badcli "$p" --port
  badcli "$p" --host 999.1.1.1 --port 0   # was exit 1 at bind, after the broker's replay
done
badcli server-epoll --host 999.1.1.1 --port 0   # was exit 1 after binding failed
badcli broker --host 'not a host' --port 0
badcli server-epoll --idle-timeout -5
badcli server-epoll --idle-timeout nan
badcli jobs-server --max-waiters 99999999999999999999
badcli jobs-server --stream-buffer -1
badcli jobs-server --webhook-retries x
badcli broker --pubsub-buffer-limit 1 2
badcli broker --max-stream-memory 99999999999999999999gb
badcli broker --appendfsync sometimes
badcli broker --wal-segment-size 65536   # smaller than the largest record needs
badcli broker --checkpoint-wal-size lots
badcli kv-server --role primary --port 0 --data-dir "$T_TMP/x" --synchronous-commit local --wal-segment-size 65536
badcli kv-server --role primary --port 0 --data-dir "$T_TMP/x" --synchronous-commit local --checkpoint-wal-size -1
badcli kv-server
badcli kv-server --role king --port 0 --data-dir "$T_TMP/x"
badcli kv-server --role replica --port 0 --primary nohostport --data-dir "$T_TMP/x"
badcli kv-server --role primary --port 0 --data-dir "$T_TMP/x" --wal-segment-size -1
badcli kv-server --role primary --port 0 --data-dir "$T_TMP/x" --synchronous-commit maybe
badcli parse --format yaml --impl hand
badcli parse --format json --impl hand /nonexistent/file
badcli wal-dump
badcli diskbench --engine pread --rw randread --bs 0 "$T_TMP/db"
badcli diskbench --engine pread --rw randread --qd -1 "$T_TMP/db"
badcli diskbench --engine nope --rw randread "$T_TMP/db"

# ---- 3. hostile files ---------------------------------------------------------------
# filetool NAME WANT_RC cmd...: exits WANT_RC (a list like "1 2"), with a message, and no
# sanitizer report.
filetool() {
  local n=$1 want=$2; shift 2
  local out rc
  out=$(timeout 20 "$@" 2>&1 </dev/null); rc=$?
  if [[ " $want " == *" $rc "* ]] && [ -n "$out" ] && ! grep -q 'Sanitizer\|runtime error' <<<"$out"; then echo "ok $n -> exit $rc"
  else echo "FAIL $n: exit $rc (want $want): $(head -c 300 <<<"$out" | tr "\n" " ")"; fi
}
python3 - "$T_TMP" <<'EOF'
import os, random, sys
d = sys.argv[1]; r = random.Random(7)
w = lambda n, b: open(os.path.join(d, n), "wb").write(b)
w("deep.json", b"[" * 200000)
w("deepobj.json", b'{"a":' * 100000)
w("nul.json", b'{"a":"\x00"}')
w("huge-num.json", b"1" * 1000000)
w("bad-utf8.json", b'"\xff\xfe\xc0\x80"')
w("esc.json", b'"\\ud800\\u0000\\uZZZZ"')
w("deep.xml", b"<a>" * 100000)
w("billion.xml", b'<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
  b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
  b'<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">'
  b'<!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;"><!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">]><l>&h;</l>')
w("ext.xml", b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')
w("unclosed.xml", b"<a><b></a>")
w("long-line.http", b"GET /" + b"a" * 2000000 + b" HTTP/1.1\r\n\r\n")
w("nul.http", b"GET / HTTP/1.1\r\nHost: \x00\r\n\r\n")
w("cl.http", b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n")
w("chunk.http", b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n")
w("random.bin", bytes(r.randrange(256) for _ in range(100000)))
w("proto.bin", b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01" + b"\x08" * 10 + b"\x12\x80\x80\x80\x80\x10")
w("empty", b"")
# WAL dirs: garbage segment, truncated segment, bad meta
for n in ("wal-rand", "wal-meta", "wal-trunc", "wal-hdr"):
    os.makedirs(os.path.join(d, n), exist_ok=True)
w("wal-rand/0000000000000000.wal", bytes(r.randrange(256) for _ in range(65536)))
w("wal-rand/wal.meta", bytes(r.randrange(256) for _ in range(22)))
w("wal-meta/wal.meta", b"segsize=99999999999999999999\n")
w("wal-meta/0000000000000000.wal", b"")
w("wal-trunc/0000000000000000.wal", b"\x01" * 30)
# a header claiming a 4 GiB payload
w("wal-hdr/0000000000000000.wal", b"\x00" * 8 + b"\x00" * 8 + b"\x01\x00" + b"\xff\xff\xff\xff" + b"\x00" * 40)
w("wal-hdr/ffffffffffffffff.wal", b"\xff" * 64)
w("wal-hdr/not-a-segment.wal", b"x")
EOF
# every registered implementation (parse --list) gets its format's hostile files
declare -A FILES=([json]="deep.json deepobj.json nul.json huge-num.json bad-utf8.json esc.json random.bin empty"
  [xml]="deep.xml billion.xml ext.xml unclosed.xml random.bin empty"
  [http]="long-line.http nul.http cl.http chunk.http random.bin empty" [proto]="proto.bin random.bin empty")
local impls nfiles=0 fmt impl
impls=$("$BIN/parse" --list)
while read -r fmt impl; do set -- ${FILES[$fmt]:-random.bin}; nfiles=$((nfiles + $#)); done <<<"$impls"
echo "plan $((nfiles + 1 + 12))" # the files, the list itself, the WAL, snapshot and diskbench files
[ "$(wc -l <<<"$impls")" -ge 8 ] && echo "ok parse --list: $(wc -l <<<"$impls") implementations" ||
  echo "FAIL parse --list: $impls"
while read -r fmt impl; do
  if [ "$impl" = hand ]; then args=(--impl hand); else args=(--impl lib --lib "$impl"); fi
  for f in ${FILES[$fmt]:-random.bin}; do
    filetool "parse $fmt $impl $f" "0 1" "$BIN/parse" --format "$fmt" "${args[@]}" "$T_TMP/$f"
  done
done <<<"$impls"
# kv-server's recovery of each hostile directory (at local: the default level would stop
# at the command line).  wal-rand and wal-meta have a hostile wal.meta; wal-trunc and
# wal-hdr a real one (from a kv-server run) and a durable.lsn past what their segments
# hold, so recovery walks their records: refused, exit 1, a message, no file changed.
# Then a snapshot of random bytes beside a good WAL: refused the same way.
"$BIN/kv-server" --role primary --port 0 --data-dir "$T_TMP/wal-tpl" --synchronous-commit local \
  --wal-segment-size 1056768 >"$T_TMP/wal-tpl.log" 2>&1 &
local tpl=$! i
for i in $(seq 1 100); do grep -q '^listening on' "$T_TMP/wal-tpl.log" && break; sleep 0.05; done
kill "$tpl"; wait "$tpl"
for dd in wal-trunc wal-hdr; do cp "$T_TMP/wal-tpl/wal.meta" "$T_TMP/$dd/"; echo 4096 >"$T_TMP/$dd/durable.lsn"; done
cp -a "$T_TMP/wal-tpl" "$T_TMP/wal-snap"
cp "$T_TMP/random.bin" "$T_TMP/wal-snap/snapshot"
kvrecover() { # DIR: kv-server refuses it with a message and changes no file
  local d=$1 out rc sums
  sums=$(cd "$d" && md5sum ./* | sort)
  out=$(timeout 20 "$BIN/kv-server" --role primary --port 0 --data-dir "$d" --synchronous-commit local 2>&1 </dev/null); rc=$?
  if [ "$rc" = 1 ] && grep -qE 'cannot (open the WAL|load the checkpoint): ' <<<"$out" &&
     [ "$sums" = "$(cd "$d" && md5sum ./* | sort)" ] && ! grep -q 'Sanitizer\|runtime error' <<<"$out"; then
    echo "ok kv-server recovery of $(basename "$d"): refused, exit 1, no file changed"
  else echo "FAIL kv-server recovery of $(basename "$d"): exit $rc: $(head -c 300 <<<"$out" | tr "\n" " ")"; fi
}
for dd in wal-rand wal-meta wal-trunc wal-hdr; do
  filetool "wal-dump $dd" "0 1 2" "$BIN/wal-dump" "$T_TMP/$dd"
  kvrecover "$T_TMP/$dd"
done
kvrecover "$T_TMP/wal-snap"
filetool "wal-dump on a file" "1 2" "$BIN/wal-dump" "$T_TMP/random.bin"
printf 'x' >"$T_TMP/tiny"
filetool "diskbench on a directory" "1 2" "$BIN/diskbench" --engine pread --rw randread --ios 10 "$T_TMP"
filetool "diskbench --verify on a hostile file" "0 1 2" "$BIN/diskbench" --engine pread --rw randread --bs 4k --size 64k --ios 20 --verify --warm "$T_TMP/random.bin"
}
offline_checks >"$T_TMP/offline.out" 2>&1 &
OFFLINE=$!

# ---- 1. the servers under attack ----------------------------------------------------
# Slowloris on 256 descriptors (300 clients a byte a second, then 25 fresh clients) is
# mostly waiting: the HTTP servers get it at the same time, in the background, each
# writing its helper's lines (and its own exit status check) to slow-SRV.out.
slowloris() {
  local srv=$1 kind=$2 var=S_${1//-/_} port pid
  echo "plan 1" # the server's exit status, below
  if ! start_server "$var" bash -c 'ulimit -n 256 && exec "$@"' _ "$BIN/$srv" --port 0 \
      --idle-timeout 2 --request-timeout 2 >/dev/null; then
    echo "FAIL start: no 'listening on' line: $(head -c 300 "$T_TMP/$var.log")"
    return 1
  fi
  port=$var pid=${var}_PID
  SLOWLORIS=1 timeout 60 python3 "$H" "$kind" "${!port}" "${!pid}" "$T_TMP/$var.log" "$S" "$SEED"
  local rc=$?
  stop_pid "${!pid}" # a background function: finish does not know this server
  if [ "$STOP_STATUS" = 0 ]; then echo "ok stops on SIGTERM, exit 0"
  else echo "FAIL stops on SIGTERM, exit 0: $STOP_STATUS"; fi
  return $rc
}
SLOW=() SLOW_SRV=()
for srv in server-blocking server-epoll server-uring jobs-server; do
  kind=http; [ "$srv" = jobs-server ] && kind=jobs
  slowloris "$srv" "$kind" >"$T_TMP/slow-$srv.out" 2>&1 &
  SLOW+=($!) SLOW_SRV+=("$srv")
done

plan 4
for srv in server-blocking server-epoll server-uring; do
  start_server P "$BIN/$srv" --port 0 --idle-timeout 2 --max-body-memory 8388608 || continue
  BODY_BUDGET=8388608 hostile http "$P" "$P_PID" "$T_TMP/P.log" "$srv"
done

start_server J "$BIN/jobs-server" --port 0 --idle-timeout 5 --webhook-timeout 300 \
    --webhook-retries 2 --webhook-backoff 50 --max-jobs 2000 --max-body-memory 1048576 && \
  BODY_BUDGET=1048576 hostile jobs "$J" "$J_PID" "$T_TMP/J.log" jobs-server

# resp PORT N CMD...: send CMD N times, one at a time (@ in an argument becomes the
# counter 1..N), print each reply on a line, its RESP lines joined by spaces.
resp_n() {
  timeout 10 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=4)
out = []
for i in range(1, int(sys.argv[2]) + 1):
    a = [x.replace("@", str(i)).encode() for x in sys.argv[3:]]
    s.sendall(b"*%d\r\n" % len(a) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in a))
    b = b""
    while b.count(b"\r\n") < (2 if b.startswith(b"$") and not b.startswith(b"$-") else 1):
        d = s.recv(4096)
        if not d:
            break
        b += d
    out.append(" ".join(b.decode("latin-1").split()))
print("\n".join(out))' "$@" 2>/dev/null
}
resp() { local p=$1; shift; resp_n "$p" 1 "$@"; }
# acked VAR PORT N CMD...: how many of the N commands were acknowledged (a reply that
# is not an error), into VAR.
acked() {
  local var=$1 c; shift
  c=$(resp_n "$@" | grep -c '^[^-]')
  printf -v "$var" '%s' "$c"
}

# Nothing acknowledged is lost: writes acknowledged before and after the attacks are
# all there after kill -9 and a restart on the same data directory.
plan 2
if start_server B "$BIN/broker" --port 0 --data-dir "$T_TMP/broker"; then
  acked A1 "$B" 20 XADD acked '*' n @
  hostile resp "$B" "$B_PID" "$T_TMP/B.log" broker
  acked A2 "$B" 20 XADD acked '*' n @
  kill -9 "$B_PID"; wait "$B_PID" 2>/dev/null
  start_server B "$BIN/broker" --port 0 --data-dir "$T_TMP/broker" &&
    expect_eq "broker: $A1 + $A2 acknowledged XADDs survive the attacks and kill -9" \
      ":$((A1 + A2)) 40" "$(resp "$B" XLEN acked) $((A1 + A2))"
fi

plan 3
if start_server K "$BIN/kv-server" --role primary --port 0 --repl-port 0 --data-dir "$T_TMP/kvp" \
     --synchronous-commit local; then
  KR=$(sed -nE 's/.*replication.* 127\.0\.0\.1:([0-9]+).*/\1/p' "$T_TMP/K.log" | head -1)
  acked A1 "$K" 20 SET acked@ v@
  hostile kv "$K" "$K_PID" "$T_TMP/K.log" kv-server
  if [ -n "$KR" ]; then
    CLIENT_PORT=$K hostile repl "$KR" "$K_PID" "$T_TMP/K.log" "kv-server repl port"
  else
    bad "kv-server repl port" "no replication port in: $(head -c 300 "$T_TMP/K.log")"
  fi
  acked A2 "$K" 20 SET acked@ w@
  kill -9 "$K_PID"; wait "$K_PID" 2>/dev/null
  if start_server K "$BIN/kv-server" --role primary --port 0 --data-dir "$T_TMP/kvp" \
       --synchronous-commit local; then
    expect_eq "kv-server: $A1 + $A2 acknowledged SETs survive the attacks and kill -9" \
      '20 20 $2 w1 $3 w20' "$A1 $A2 $(resp "$K" GET acked1) $(resp "$K" GET acked20)"
  fi
fi

# Durability under attack: a full disk, reads racing a power loss, a lower limit at
# restart, kill -9 at everysec (short forms of the cases in wal.sh and broker.sh).
plan 6
BA=$(realpath "$BIN/broker")
private_tmpfs "$T_TMP/full" 6m
if start_server HB "${NS_RUN[@]}" "$BA" --port 0 --data-dir "$T_TMP/full/b" --wal-segment-size 1052672; then
  for i in $(seq 1 100); do [ "$(in_ns stat -c %s "$T_TMP/full/b/0000000000101000.wal" 2>/dev/null)" = 1052672 ] && break; sleep 0.05; done
  in_ns dd if=/dev/zero of="$T_TMP/full/filler" bs=65536 status=none 2>/dev/null
  fv=$(head -c 1000 /dev/zero | tr '\0' f)
  out=$(for i in $(seq 1 3000); do printf 'XADD full %d-1 f %s\r\n' "$i" "$fv"; done |
    timeout 30 redis-cli -p "$HB" --pipe 2>&1)
  nerr=$(sed -nE 's/^errors: ([0-9]+), replies: 3000$/\1/p' <<<"$out")
  check_num "broker on a full disk: 3000 XADDs answered within 30 s, ${nerr:-?} refused" "$nerr" '>' 0 '<' 3000
  expect_eq "broker on a full disk: exactly the acknowledged entries are visible" \
    "$((3000 - ${nerr:-3000}))" "$(redis-cli -p "$HB" xlen full)"
  stop_server HB
fi
if start_server HM "$BIN/broker" --port 0 --data-dir "$T_TMP/hm"; then
  for i in $(seq 1 150); do printf 'XADD m * f %s\r\n' "$fv"; done | timeout 30 redis-cli -p "$HM" --pipe >/dev/null 2>&1
  kill -9 "$HM_PID"; wait "$HM_PID" 2>/dev/null
  start_server HM "$BIN/broker" --port 0 --data-dir "$T_TMP/hm" --max-stream-memory 100kb &&
    expect_eq "broker restarted with a smaller --max-stream-memory: all 150 entries" 150 "$(redis-cli -p "$HM" xlen m)"
fi
line=$(timeout 60 python3 "$(dirname "$H")/../../labs/11-pubsub/pubsub_check.py" crash "$BIN/broker" "$T_TMP/hc" 3 2>&1 | tail -1)
case $line in crash:*) ok "broker $line" ;; *) bad "broker kill -9 at everysec" "${line:-no output}" ;; esac
line=$(timeout 60 python3 "$(dirname "$H")/kv_check.py" dirty "$BIN/kv-server" "$T_TMP/hd" 5 2>&1 | tail -1)
case $line in dirty:*) ok "kv-server $line" ;; *) bad "kv-server dirty reads" "${line:-no output}" ;; esac

# a fake primary that answers a replica with garbage (mutated real WAL records)
plan 1
if start_server W "$BIN/kv-server" --role primary --port 0 --data-dir "$T_TMP/kvw" --synchronous-commit local; then
  printf '*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$3\r\n222\r\n' |
    timeout 5 python3 -c 'import socket,sys; s=socket.create_connection(("127.0.0.1",int(sys.argv[1]))); s.sendall(sys.stdin.buffer.read()); s.recv(100); s.close()' "$W"
  stop_server W
  head -c 4096 "$T_TMP"/kvw/*.wal | python3 -c 'import sys; b=sys.stdin.buffer.read(); i=b.find(bytes(24)); sys.stdout.buffer.write(b[:i if i>0 else 80])' >"$T_TMP/recs"
  KV_BIN="$BIN/kv-server" KV_DIR="$T_TMP/kvr" KV_RECORDS="$T_TMP/recs" \
    hostile fakeprimary 0 0 "$T_TMP/kvr.log" "kv-server replica"
fi

# Out of descriptors (ulimit -n 64): accept() fails with EMFILE while the listener stays
# readable.  A server that retries at once spins a core; one that logs every pause
# floods its log: the HTTP servers log the first pause, then one line per 10 s
# (io/acceptor.h).
plan 10
for srv in server-blocking server-epoll server-uring jobs-server broker; do
  kind=http; [ "$srv" = jobs-server ] && kind=jobs; [ "$srv" = broker ] && kind=resp
  start_server F bash -c 'ulimit -n 64 && exec "$@"' _ "$BIN/$srv" --port 0 || continue
  FD_EXHAUST=1 hostile "$kind" "$F" "$F_PID" "$T_TMP/F.log" "$srv (ulimit -n 64)"
  if [ "$srv" = broker ]; then
    lines=$(wc -l <"$T_TMP/F.log")
    if [ "$lines" -lt 100 ]; then ok "$srv (ulimit -n 64): log stays short ($lines lines)"
    else bad "$srv (ulimit -n 64): log flood" "$lines lines"; fi
  else
    lines=$(grep -c 'open files' "$T_TMP/F.log")
    if [ "$lines" -le 2 ]; then ok "$srv (ulimit -n 64): out-of-descriptors log stays short ($lines lines)"
    else bad "$srv (ulimit -n 64): out-of-descriptors log flood" "$lines lines"; fi
  fi
  stop_server F
done
plan 4 # each slowloris helper ends well
for i in "${!SLOW[@]}"; do
  wait "${SLOW[$i]}"; rc=$?
  srv=${SLOW_SRV[$i]}
  check_lines "$srv (ulimit -n 256): " "$rc" "$T_TMP/slow-$srv.out" slowloris
done
plan 1 # the background checks end well
wait "$OFFLINE"
check_lines "" "$?" "$T_TMP/offline.out" "bad command lines and hostile files"
finish
