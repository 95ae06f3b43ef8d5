#!/usr/bin/env bash
# Integration test for labs/11-pubsub (broker) and labs/06-job-queue (upload, worker):
# replies byte-identical to a real redis-server, redis-cli for every command, fan-out,
# patterns, slow-subscriber cut, XREADGROUP BLOCK, kill -9 of a worker and of the broker,
# malformed RESP, and every lab program pointed at a real Redis with --redis.
source "$(dirname "$0")/../lib.sh"
need redis-server redis-cli python3 timeout
LAB=labs/11-pubsub
T0=$(date +%s)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# A real Redis on its own loopback port and temp dir, never the system service.
plan 2
RPORT=$(free_port)
mkdir -p "$T_TMP/redis"
redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$T_TMP/redis" --save '' --appendonly no \
  --daemonize no >"$T_TMP/redis.log" 2>&1 &
T_PIDS+=($!)
for _ in $(seq 1 100); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.05; done
check "redis-server $(redis-server --version | sed -nE 's/.*v=([0-9.]+).*/\1/p') started" redis-cli -p "$RPORT" ping

start_server BP "$BIN/broker" --port 0 --data-dir "$T_TMP/bdata" || finish
ok "broker started"

# ---- 1. the scripted sequences, byte for byte ---------------------------------------
plan 5
# compare NAME SCRIPT: resp_compare.py against Redis; every command of the broker's table
# (--list-commands) must have a step; the name carries the counts, listed exceptions too.
"$BIN/broker" --list-commands >"$T_TMP/commands"
check "--list-commands prints the command table ($(wc -l <"$T_TMP/commands") commands)" \
  test "$(wc -l <"$T_TMP/commands")" -ge 30
compare() { # NAME SCRIPT [--commands FILE]
  local out rc n=$1 script=$2; shift 2
  out=$(timeout 300 python3 "$LAB/resp_compare.py" "$@" "$script" "$RPORT" "$BP" 2>&1)
  rc=$?
  if [ $rc -eq 0 ]; then ok "$n: $(tail -1 <<<"$out")"
  else bad "$n" "$(grep -E -A2 '^(DIFF|commands of the table)|Error' <<<"$out" | head -c 800)"; fi
}
compare "replies byte-identical to redis-server, every command of the table ($LAB/compare.txt)" \
  "$LAB/compare.txt" --commands "$T_TMP/commands"
compare "malformed and unusual RESP answered as redis-server ($LAB/compare-resp.txt)" \
  "$LAB/compare-resp.txt"

for seed in 1 2; do
  check "differential: 1500 random stream commands (seed $seed) answered identically" \
    python3 "$LAB/pubsub_check.py" differential "$RPORT" "$BP" "$seed" 1500
done

# ---- 2. redis-cli for every command: same output from both ---------------------------
plan 4
cli_script() {
  cat <<'CMDS'
FLUSHALL
PING
ECHO hello
XADD q 1-1 video 1 title a.mp4
XADD q 2-0 video 2
XADD q 3-* video 3
XLEN q
XRANGE q - +
XRANGE q 2 + COUNT 1
XREVRANGE q + - COUNT 2
XGROUP CREATE q transcode 0
XGROUP CREATE q notify $
XGROUP CREATECONSUMER q transcode w9
XREADGROUP GROUP transcode w1 COUNT 2 STREAMS q >
XREADGROUP GROUP transcode w1 STREAMS q 0
XACK q transcode 1-1
XPENDING q transcode
XCLAIM q transcode w2 0 2-0 JUSTID
XAUTOCLAIM q transcode w3 0 0-0 JUSTID
XGROUP SETID q notify 0
XGROUP DELCONSUMER q transcode w3
XGROUP DESTROY q notify
PUBLISH news hi
EXISTS q
TYPE q
DEL q
XLEN q
CMDS
}
mism=0
while IFS= read -r line; do
  # shellcheck disable=SC2086
  a=$(redis-cli -p "$RPORT" $line 2>&1); b=$(redis-cli -p "$BP" $line 2>&1)
  if [ "$a" != "$b" ]; then mism=$((mism + 1)); echo "    redis-cli $line: redis [$a] broker [$b]"; fi
done < <(cli_script)
expect_eq "redis-cli output identical for $(cli_script | wc -l) commands" 0 "$mism"

# subscribe / psubscribe through redis-cli
timeout 3 redis-cli -p "$BP" subscribe news >"$T_TMP/cli.sub" 2>&1 &
timeout 3 redis-cli -p "$BP" psubscribe 'ne*' >"$T_TMP/cli.psub" 2>&1 &
sleep 0.5
expect_eq "redis-cli PUBLISH counts the channel and the pattern subscriber" 2 \
  "$(redis-cli -p "$BP" publish news flash)"
sleep 0.3
check "redis-cli subscribe receives the message" grep -qx flash "$T_TMP/cli.sub"
check "redis-cli psubscribe receives the pmessage" grep -qx pmessage "$T_TMP/cli.psub"

# ---- 3. pub/sub fan-out, patterns, slow subscriber -----------------------------------
plan 6
check "fan-out: 200 subscribers (channel and pattern) x 20 messages" \
  python3 "$LAB/pubsub_check.py" fanout "$BP" 200 20
start_server SP "$BIN/broker" --port 0 --pubsub-buffer-limit 4mb 1mb 2 || finish
check "slow subscriber is cut, the publisher and the reading subscriber are not slowed" \
  python3 "$LAB/pubsub_check.py" slow "$SP"
check "the cut is logged" grep -q "output buffer limit" "$T_TMP/SP.log"

# a client pipelining faster than it reads: slowed down, every reply whole; clients that
# do not read at all, together over --max-output-memory: the largest are closed, and what
# they got is whole replies, never a cut reply followed by others
check "1100 pipelined XRANGE over a large stream: every reply whole" \
  python3 "$LAB/pubsub_check.py" xrange "$BP" 1100
start_server OP "$BIN/broker" --port 0 --max-output-memory 2mb || finish
check "3 stalled pipelines over --max-output-memory: the largest closed, replies whole" \
  python3 "$LAB/pubsub_check.py" xrange-stalled "$OP" 200
check "the cut is logged with the limit" grep -q "all clients' output [0-9]* bytes over the limit of 2097152" "$T_TMP/OP.log"

# ---- 4. XREADGROUP BLOCK --------------------------------------------------------------
plan 1
check "XREADGROUP BLOCK wakes on XADD, times out with nil, serves waiters in order" \
  python3 "$LAB/pubsub_check.py" block "$BP"

# ---- 5. malformed RESP ------------------------------------------------------------------
plan 9
check "200 malformed inputs get errors, not a crash" python3 "$LAB/pubsub_check.py" garbage "$BP" 200
# regression (hostile.sh found it): with a log, XREADGROUP strlen'd the key inside the
# client's input buffer, which is not NUL-terminated: a heap-buffer-overflow under ASan
# once the buffer held no NUL after the key.  An ECHO exactly the buffer's size sets it up.
check "XREADGROUP after a buffer-sized command (logged claim reads no past the buffer)" \
  python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
def cmd(*a):
    return b"*%d\r\n" % len(a) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in a)
n = 16384 - len(cmd(b"ECHO", b"")) - 4
s.sendall(cmd(b"ECHO", b"x" * n))
b = b""
while len(b) < n:
    b += s.recv(65536)
s.sendall(cmd(b"XADD", b"rt-claim", b"*", b"f", b"v") + cmd(b"XGROUP", b"CREATE", b"rt-claim", b"g", b"0") +
          cmd(b"XREADGROUP", b"GROUP", b"g", b"c", b"STREAMS", b"rt-claim", b">"))
b = b""
while b.count(b"rt-claim") < 1:
    d = s.recv(65536)
    if not d:
        sys.exit("connection closed: " + repr(b[:200]))
    b += d' "$BP"
alive "broker alive after the buffer-sized command" "$BP_PID"
printf '*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$x\r\n' >"$T_TMP/bad.bin"
expect_eq "bad bulk length: the Redis error text" \
  "$(printf '+PONG\r\n-ERR Protocol error: invalid bulk length\r\n' | od -c)" \
  "$(timeout 3 python3 -c "
import socket,sys; s=socket.create_connection(('127.0.0.1',$BP)); s.sendall(open('$T_TMP/bad.bin','rb').read())
d=b''
while True:
  x=s.recv(4096)
  if not x: break
  d+=x
sys.stdout.buffer.write(d)" | od -c)"
alive "broker survives malformed input" "$BP_PID"

# random well-formed commands, then the log replayed into a fresh process must rebuild
# exactly the same streams and pending lists
start_server CP "$BIN/broker" --port 0 --data-dir "$T_TMP/chaos" || finish
check "3000 random stream/pub-sub commands all answered" python3 "$LAB/pubsub_check.py" chaos "$CP" 3000
snap() { local k g; for k in k k2; do redis-cli -p "$1" xrange "$k" - +; for g in g g2; do
  redis-cli -p "$1" xpending "$k" "$g"; redis-cli -p "$1" xpending "$k" "$g" - + 1000 | awk 'NR % 4 != 3'
  done; done; }
snap "$CP" >"$T_TMP/snap.before"
stop_server CP
start_server CP2 "$BIN/broker" --port 0 --data-dir "$T_TMP/chaos" || finish
snap "$CP2" >"$T_TMP/snap.after"
check "replayed log rebuilds the same streams and PELs ($(wc -l <"$T_TMP/snap.before") lines)" \
  cmp "$T_TMP/snap.before" "$T_TMP/snap.after"
# the same through checkpoints (one every 3000 bytes of log): snapshot + log, the same state
start_server CK "$BIN/broker" --port 0 --data-dir "$T_TMP/chaos-ck" --checkpoint-wal-size 3000 || finish
check "3000 random commands with checkpoints all answered" python3 "$LAB/pubsub_check.py" chaos "$CK" 3000
redis-cli -p "$CK" xadd k '*' after checkpoint >/dev/null # a record past the last one
snap "$CK" >"$T_TMP/snapck.before"
nck=$(grep -c 'checkpoint at LSN' "$T_TMP/CK.log")
kill -9 "$CK_PID"; wait "$CK_PID" 2>/dev/null
start_server CK "$BIN/broker" --port 0 --data-dir "$T_TMP/chaos-ck" || finish
snap "$CK" >"$T_TMP/snapck.after"
check "checkpoint + log after kill -9 rebuild the same streams and PELs ($nck checkpoints)" \
  cmp "$T_TMP/snapck.before" "$T_TMP/snapck.after"
stop_server CK

# ---- 6. kill -9 a worker: late ack loses nothing ----------------------------------------
plan 4
BIN="$BIN" labs/06-job-queue/ghost-tasks.sh --bin "$BIN" --redis "127.0.0.1:$BP" --jobs 8 >"$T_TMP/ghost.out" 2>&1
sed 's/^/    /' "$T_TMP/ghost.out"
check "late ack, worker killed -9 mid-task: 0 tasks lost" grep -qE '^ack=late +jobs=8 completed=8 lost=0' "$T_TMP/ghost.out"
check "early ack, worker killed -9 mid-task: the ghost task is lost" grep -qE '^ack=early +jobs=8 completed=7 lost=1' "$T_TMP/ghost.out"

labs/06-job-queue/pipeline.sh --bin "$BIN" --redis "127.0.0.1:$BP" >"$T_TMP/pipeline.out" 2>&1
sed 's/^/    /' "$T_TMP/pipeline.out"
check "decoupling: with thumbnail stopped the others go on" \
  grep -qE 'thumbnail stopped.*transcode=12 +thumbnail=6 +notify=12' "$T_TMP/pipeline.out"
check "decoupling: thumbnail restarted catches up" grep -qE 'caught up in .*thumbnail=12' "$T_TMP/pipeline.out"

# ---- 7. kill -9 the broker: no acknowledged entry lost -----------------------------------
plan 4
"$BIN/upload" --redis "127.0.0.1:$BP" --stream durable --count 300 >"$T_TMP/acked.out" || bad "upload to broker"
redis-cli -p "$BP" xgroup create durable g 0 >/dev/null
redis-cli -p "$BP" xreadgroup group g w count 10 streams durable '>' >/dev/null
redis-cli -p "$BP" xack durable g "$(sed -nE 's/^uploaded video=1 id=(.*)/\1/p' "$T_TMP/acked.out")" >/dev/null
# pending: the count, then each entry's ID, consumer and delivery count (not its idle time)
pending() { echo "$(redis-cli -p "$1" xpending durable g | head -1)" \
  "$(redis-cli -p "$1" xpending durable g - + 100 | awk 'NR % 4 != 3' | tr '\n' ' ')"; }
# videos 2..10 read by w once, video 1 acknowledged
want_pending="9 $(sed -nE 's/^uploaded video=([2-9]|10) id=(.*)/\2 w 1/p' "$T_TMP/acked.out" | tr '\n' ' ')"
# Delivery and ack records do not hold replies (a lost one means a redelivery, never a
# lost entry); the WAL writer has them written within a round: give it that round.
sleep 0.3
kill -9 "$BP_PID"; wait "$BP_PID" 2>/dev/null
start_server BP2 "$BIN/broker" --port 0 --data-dir "$T_TMP/bdata" || finish
sed -nE 's/^uploaded video=[0-9]+ id=(.*)/\1/p' "$T_TMP/acked.out" >"$T_TMP/acked.ids"
redis-cli -p "$BP2" xrange durable - + | grep -E '^[0-9]+-[0-9]+$' >"$T_TMP/after.ids"
expect_eq "after kill -9 and restart: all 300 acknowledged XADDs are there, in order" \
  "$(cat "$T_TMP/acked.ids")" "$(cat "$T_TMP/after.ids")"
expect_eq "after restart: the group's pending list is intact (9 pending: videos 2..10, consumer w, delivered once)" \
  "$want_pending" "$(pending "$BP2")"
check "restart logs the replay" grep -q "replayed" "$T_TMP/BP2.log"

# kill -9 in the middle of a stream of XADDs: every ID the producer got back survives
"$BIN/upload" --redis "127.0.0.1:$BP2" --stream midflight --count 200000 >"$T_TMP/mid.out" 2>/dev/null &
UPID=$!
sleep 0.5
kill -9 "$BP2_PID"; wait "$BP2_PID" 2>/dev/null; wait "$UPID" 2>/dev/null
start_server BP3 "$BIN/broker" --port 0 --data-dir "$T_TMP/bdata" || finish
sed -nE 's/^uploaded video=[0-9]+ id=(.*)/\1/p' "$T_TMP/mid.out" | sort >"$T_TMP/mid.acked"
redis-cli -p "$BP3" xrange midflight - + | grep -E '^[0-9]+-[0-9]+$' | sort >"$T_TMP/mid.after"
nacked=$(wc -l <"$T_TMP/mid.acked")
missing=$(comm -23 "$T_TMP/mid.acked" "$T_TMP/mid.after" | wc -l)
if [ "$nacked" -gt 0 ] && [ "$missing" -eq 0 ]; then
  ok "kill -9 mid-upload: all $nacked acknowledged XADDs survive ($(wc -l <"$T_TMP/mid.after") in the stream)"
else
  bad "kill -9 mid-upload" "$missing of $nacked acknowledged entries missing"
fi

# ---- 7b. a damaged log: the broker refuses to start, names the segment, changes nothing ----
plan 15
# 40 entries of 1 MB acknowledged at appendfsync always (16 per 16 MB segment: segments
# 0..2 hold them, one more is made ahead), kill -9, then one segment deleted at a time on
# a copy; once it is put back, all 40 entries are there.
start_server BD "$BIN/broker" --port 0 --data-dir "$T_TMP/bd" --appendfsync always || finish
head -c 1000000 /dev/zero | tr '\0' e >"$T_TMP/e.val"
nadd=0
for i in $(seq 1 40); do
  redis-cli -p "$BD" -x xadd big '*' f <"$T_TMP/e.val" | grep -qE '^[0-9]+-[0-9]+$' && nadd=$((nadd + 1))
done
expect_eq "40 XADDs of 1 MB acknowledged (appendfsync always)" 40 "$nadd"
kill -9 "$BD_PID"; wait "$BD_PID" 2>/dev/null
cp -a "$T_TMP/bd" "$T_TMP/bd.orig"
bsums() { (cd "$1" && md5sum ./*); }
broker_damage() { # NAME FILE WANT-REGEX: FILE deleted: refused, nothing changed; put back: 40
  local name=$1 file=$2 want=$3 rc
  rm -rf "$T_TMP/bd"; cp -a "$T_TMP/bd.orig" "$T_TMP/bd"; rm "$T_TMP/bd/$file"
  bsums "$T_TMP/bd" >"$T_TMP/bd.md5"
  timeout 60 "$BIN/broker" --port 0 --data-dir "$T_TMP/bd" >"$T_TMP/bd.log" 2>&1
  rc=$?
  expect_eq "broker, $name: refuses to start" 1 "$rc"
  check "broker, $name: the error names the segment" grep -qE "$want" "$T_TMP/bd.log"
  check "broker, $name: every file unchanged" cmp "$T_TMP/bd.md5" <(bsums "$T_TMP/bd")
  cp -a "$T_TMP/bd.orig/$file" "$T_TMP/bd/$file"
  start_server BD "$BIN/broker" --port 0 --data-dir "$T_TMP/bd" || return
  expect_eq "broker, $name, put back: all 40 entries" 40 "$(redis-cli -p "$BD" xlen big)"
  kill "$BD_PID"; wait "$BD_PID" 2>/dev/null
}
broker_damage "second-to-last segment deleted" 0000000001000000.wal \
  'damaged: segment 0000000001000000.wal missing \(LSN 16777216\), below the flushed LSN'
broker_damage "first segment deleted" 0000000000000000.wal \
  'damaged: segment 0000000000000000.wal missing \(LSN 0\), below the flushed LSN'
broker_damage "last segment deleted" 0000000002000000.wal \
  'damaged: segment 0000000002000000.wal missing \(LSN 33554432\), below the flushed LSN'
rm -rf "$T_TMP/bd"; cp -a "$T_TMP/bd.orig" "$T_TMP/bd"; rm "$T_TMP/bd/0000000001000000.wal"
start_server BD "$BIN/broker" --port 0 --data-dir "$T_TMP/bd" --wal-truncate-damaged || finish
expect_eq "broker --wal-truncate-damaged: the 16 entries before the missing segment" 16 \
  "$(redis-cli -p "$BD" xlen big)"
check "... logged: segment, LSN range, bytes cut" grep -qE \
  'damaged in .*: segment 0000000001000000.wal missing .*; cut on request at LSN 16777216: LSN 16777216\.\.[0-9]+ \([0-9]+ bytes\) lost' "$T_TMP/BD.log"
kill "$BD_PID"; wait "$BD_PID" 2>/dev/null
rm -rf "$T_TMP/bd" "$T_TMP/bd.orig"

# ---- 7c. a full disk: every logged command refused at once, nothing of it visible ----
plan 10
# A 6 MB tmpfs in a private mount namespace; segments of 1 MB.  The broker applies a
# command, then logs it: it must ask the log first and refuse with an error.
BA=$(realpath "$BIN/broker")
private_tmpfs "$T_TMP/full" 6m
start_server BF "${NS_RUN[@]}" "$BA" --port 0 --data-dir "$T_TMP/full/b" --wal-segment-size 1052672 || finish
for i in $(seq 1 100); do [ "$(in_ns stat -c %s "$T_TMP/full/b/0000000000101000.wal" 2>/dev/null)" = 1052672 ] && break; sleep 0.05; done
for i in 1 2 3 4 5; do redis-cli -p "$BF" xadd pre '*' f v >/dev/null; done
redis-cli -p "$BF" xgroup create pre g 0 >/dev/null
redis-cli -p "$BF" xreadgroup group g c count 2 streams pre '>' >/dev/null
pre_ids=$(redis-cli -p "$BF" xrange pre - + | grep -E '^[0-9]+-[0-9]+$')
in_ns dd if=/dev/zero of="$T_TMP/full/filler" bs=65536 status=none 2>/dev/null
expect_eq "broker, full disk: the disk is full" 0 "$(in_ns df --output=avail -B1 "$T_TMP/full" | tail -1 | tr -d ' ')"
fval=$(head -c 1000 /dev/zero | tr '\0' f)
for i in $(seq 1 3000); do printf 'XADD full %d-1 f %s\r\n' "$i" "$fval"; done >"$T_TMP/full.cmds"
out=$(timeout 30 redis-cli -p "$BF" --pipe <"$T_TMP/full.cmds" 2>&1)
nerr=$(sed -nE 's/^errors: ([0-9]+), replies: 3000$/\1/p' <<<"$out")
check_num "broker, full disk: 3000 XADDs all answered within 30 s, the last refused (${nerr:-?} errors)" \
  "$nerr" '>' 0 '<' 3000
check "broker, full disk: the refusal says why" grep -q "MISCONF the broker's log cannot take the write: No space left on device" <<<"$out"
nok=$((3000 - ${nerr:-3000}))
expect_eq "broker, full disk: the acknowledged entries are there, no refused one" \
  "$nok $nok-1" "$(redis-cli -p "$BF" xlen full) $(redis-cli -p "$BF" xrevrange full + - count 1 | head -1)"
# Every other logged command, with arguments long enough that its record cannot fit in
# what is left of the segment: refused, and nothing changed.
long=$(head -c 3000 /dev/zero | tr '\0' x)
id1=$(head -1 <<<"$pre_ids")
misc=$(redis-cli -p "$BF" xgroup create pre "$long" 0
  redis-cli -p "$BF" xack pre g "$id1" $(seq -f '1-%g' 1 300)
  redis-cli -p "$BF" xreadgroup group g "$long" count 10 streams pre '>'
  redis-cli -p "$BF" xclaim pre g "$long" 0 "$id1"
  redis-cli -p "$BF" del pre $(seq -f "nokey-$long-%g" 1 2))
expect_eq "broker, full disk: XGROUP, XACK, XREADGROUP, XCLAIM, DEL all refused" 5 \
  "$(grep -c "^MISCONF the broker's log cannot take the write: No space left on device" <<<"$misc")"
expect_eq "broker, full disk: ... and nothing changed (2 pending, owner c, 5 entries, no new group)" \
  "2 c 5 NOGROUP" "$(redis-cli -p "$BF" xpending pre g | head -1) $(redis-cli -p "$BF" xpending pre g | sed -n 4p) $(redis-cli -p "$BF" xlen pre) $(redis-cli -p "$BF" xpending pre "$long" | cut -d' ' -f1)"
kill -9 "$BF_PID"; wait "$BF_PID" 2>/dev/null
start_server BF "${NS_RUN[@]}" "$BA" --port 0 --data-dir "$T_TMP/full/b" || finish
expect_eq "broker, restart on the full disk: serves reads, every acknowledged entry, the pending list" \
  "$nok 2" "$(redis-cli -p "$BF" xlen full) $(redis-cli -p "$BF" xpending pre g | head -1)"
in_ns rm "$T_TMP/full/filler"
for i in $(seq 1 100); do [[ $(redis-cli -p "$BF" xadd full "$((nok + 1))-1" f "$fval") == *-1 ]] && break; sleep 0.05; done
expect_eq "broker, space freed: XADD accepted again, no restart" "$((nok + 1))" "$(redis-cli -p "$BF" xlen full)"
kill -9 "$BF_PID"; wait "$BF_PID" 2>/dev/null
start_server BF "${NS_RUN[@]}" "$BA" --port 0 --data-dir "$T_TMP/full/b" || finish
expect_eq "broker, after kill -9: nothing acknowledged lost" "$((nok + 1))" "$(redis-cli -p "$BF" xlen full)"
stop_server BF

# ---- 7d. a restart with a smaller --max-stream-memory keeps every entry ----------------
plan 3
start_server BM "$BIN/broker" --port 0 --data-dir "$T_TMP/bm" || finish
for i in $(seq 1 150); do printf 'XADD m * f %s\r\n' "$fval"; done | timeout 30 redis-cli -p "$BM" --pipe >/dev/null 2>&1
kill -9 "$BM_PID"; wait "$BM_PID" 2>/dev/null
start_server BM "$BIN/broker" --port 0 --data-dir "$T_TMP/bm" --max-stream-memory 100kb || finish
expect_eq "broker restarted with --max-stream-memory 100kb: all 150 acknowledged entries" 150 "$(redis-cli -p "$BM" xlen m)"
check "... the log says they are kept over the limit" grep -q 'over --max-stream-memory 102400: all kept' "$T_TMP/BM.log"
expect_eq "... and new XADDs are refused" "OOM command not allowed when used memory > 'maxmemory'." \
  "$(redis-cli -p "$BM" xadd m '*' f v)"
stop_server BM

# ---- 7e. kill -9 at everysec: acknowledged XADDs and XACKs survive ----------------------
plan 1
line=$(/usr/bin/python3 "$LAB/pubsub_check.py" crash "$BIN/broker" "$T_TMP/bc" 25 2>&1 | tail -1)
case $line in crash:*) ok "$line" ;; *) bad "kill -9 at everysec" "${line:-no output}" ;; esac

# ---- 7f. checkpoints: the log does not grow for ever ------------------------------------
plan 6
# A steady workload whose state does not grow (10 entries of 1 KB added to a stream,
# then the stream deleted, 2000 times: 20 MB of log) beside a stream that stays (100
# entries, 50 of them pending).  1 MB segments, a checkpoint every 2 MB: the directory
# holds the WAL since the last checkpoint, its segment, the one being filled, the one
# made ahead and the snapshot: under 6 MB.
start_server BK "$BIN/broker" --port 0 --data-dir "$T_TMP/bk" --wal-segment-size 1056768 \
  --checkpoint-wal-size 2000000 || finish
for i in $(seq 1 100); do printf 'XADD keep * n %d\r\n' "$i"; done | timeout 30 redis-cli -p "$BK" --pipe >/dev/null 2>&1
redis-cli -p "$BK" xgroup create keep g 0 >/dev/null
redis-cli -p "$BK" xreadgroup group g c count 50 streams keep '>' >/dev/null
for r in $(seq 1 2000); do
  for i in 1 2 3 4 5 6 7 8 9 10; do printf 'XADD tmp * f %s\r\n' "$fval"; done
  printf 'DEL tmp\r\n'
done >"$T_TMP/bk.cmds"
expect_eq "checkpoints: 22,000 commands answered" "errors: 0, replies: 22000" \
  "$(timeout 300 redis-cli -p "$BK" --pipe <"$T_TMP/bk.cmds" 2>&1 | tail -1)"
sleep 1 # the last checkpoint finishes
check_num "checkpoints: the broker's data directory stays under 6 MB after 20 MB of log" \
  "$(du -sb "$T_TMP/bk" | cut -f1)" '<' 6000000
check_num "checkpoints: several made" "$(grep -c 'checkpoint at LSN .* WAL segments removed' "$T_TMP/BK.log")" '>=' 2
kill -9 "$BK_PID"; wait "$BK_PID" 2>/dev/null
start_server BK "$BIN/broker" --port 0 --data-dir "$T_TMP/bk" || finish
expect_eq "checkpoints: after kill -9: 100 entries, 50 pending, the deleted stream gone" \
  "100 50 0" "$(redis-cli -p "$BK" xlen keep) $(redis-cli -p "$BK" xpending keep g | head -1) $(redis-cli -p "$BK" exists tmp)"
check "checkpoints: the restart loaded the checkpoint" grep -q 'loaded the checkpoint in .* at LSN' "$T_TMP/BK.log"
stop_server BK
printf 'x' >>"$T_TMP/bk/snapshot"
timeout 20 "$BIN/broker" --port 0 --data-dir "$T_TMP/bk" >"$T_TMP/bksnap.log" 2>&1
expect_eq "checkpoints: a damaged snapshot: refused, exit 1, the file named" \
  "1 1" "$? $(grep -c 'cannot load the checkpoint: .*/snapshot: ' "$T_TMP/bksnap.log")"

# ---- 8. every lab program against a real Redis --------------------------------------------
plan 5
"$BIN/upload" --redis "127.0.0.1:$RPORT" --stream lab --count 3 >"$T_TMP/lab.up" 2>&1
lab_ids=$(sed -nE 's/^uploaded video=[1-3] id=(.*)/\1/p' "$T_TMP/lab.up" | tr '\n' ' ')
expect_eq "upload --redis (real redis-server): 3 IDs printed, the stream holds those 3" \
  "3 $lab_ids" "$(redis-cli -p "$RPORT" xlen lab) $(redis-cli -p "$RPORT" xrange lab - + | grep -E '^[0-9]+-[0-9]+$' | tr '\n' ' ')"
timeout 20 "$BIN/worker" --redis "127.0.0.1:$RPORT" --stream lab --role notify --ack late \
  --visibility-timeout 500 --exit-idle-ms 500 >"$T_TMP/lab.worker" 2>&1
wrc=$?
expect_eq "worker --redis (real redis-server) drains its group: each upload done once, 0 pending, exit 0" \
  "$lab_ids|0|0" "$(sed -nE 's/^notify [^ ]+ done video=[0-9]+ id=(.*)/\1/p' "$T_TMP/lab.worker" | tr '\n' ' ')|$(redis-cli -p "$RPORT" xpending lab notify | head -1)|$wrc"
labs/06-job-queue/ghost-tasks.sh --bin "$BIN" --redis "127.0.0.1:$RPORT" --jobs 8 >"$T_TMP/ghost-redis.out" 2>&1
sed 's/^/    /' "$T_TMP/ghost-redis.out"
check "ghost-tasks.sh against real Redis: late ack loses 0" grep -qE '^ack=late +jobs=8 completed=8 lost=0' "$T_TMP/ghost-redis.out"
labs/06-job-queue/pipeline.sh --bin "$BIN" --redis "127.0.0.1:$RPORT" >"$T_TMP/pipeline-redis.out" 2>&1
check "pipeline.sh against real Redis: thumbnail catches up" \
  grep -qE 'caught up in .*thumbnail=12' "$T_TMP/pipeline-redis.out"
check "pubsub_check fan-out against real Redis agrees" python3 "$LAB/pubsub_check.py" fanout "$RPORT" 20 10

plan 3
alive "restarted broker still running" "$BP3_PID"
alive "limited broker still running" "$SP_PID"
alive "broker with the small output cap still running" "$OP_PID"
echo "  ($(( $(date +%s) - T0 )) s)"
finish
