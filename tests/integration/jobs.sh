#!/usr/bin/env bash
# jobs: build/bin/jobs-server against real clients: curl for every endpoint
# (curl -N for SSE), a python3 (stdlib) webhook receiver that verifies the
# HMAC signature and refuses the first attempt, a receiver that hangs, a reader
# that never reads, a tiny WebSocket client.  Budget: 50 s of wall time.
source "$(dirname "$0")/../lib.sh"
need curl python3

SECRET=wh-s3cret
start_server P "$BIN/jobs-server" --port 0 --heartbeat 1 --webhook-secret "$SECRET" \
  --webhook-backoff 100 --webhook-timeout 500 --webhook-retries 4 \
  --max-waiters 4 --max-streams 6 --stream-buffer 32768 --idle-timeout 2 || finish
U="http://127.0.0.1:$P"
# A client that connects and says nothing: closed after --idle-timeout (checked at the end).
python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); t = time.time(); s.settimeout(15)
try: s.recv(1)
except Exception: pass
print("%.1f" % (time.time() - t))' "$P" >"$T_TMP/idle" 2>&1 &
IDLE_PID=$!

# ---- helpers -----------------------------------------------------------------
# post BODY -> prints "STATUS BODY" ; the headers go to $T_TMP/h
post() { curl -s -o "$T_TMP/b" -D "$T_TMP/h" -w '%{http_code}' -H 'Content-Type: application/json' \
  --data-binary "$1" "$U/jobs"; echo " $(cat "$T_TMP/b")"; }
status_of() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
# jfield JSON NAME: a field of our flat JSON answers (string or number), without a process
jfield() { sed -nE "s/.*\"$2\":\"?([^\",}]*)\"?.*/\1/p" <<<"$1"; }
new_job() { local r; r=$(post "{\"work_ms\": $1${2:+, \"callback\": \"$2\"}}"); jfield "${r#* }" id; }

# ---- request-response: POST, short poll, Server-Timing ------------------------
plan 9
r=$(post '{"work_ms": 2000}')
expect_eq "POST /jobs answers 202" 202 "${r%% *}"
ID=$(jfield "${r#* }" id)
expect_eq "POST answers status queued" queued "$(jfield "${r#* }" status)"
check "POST has Location /jobs/ID" grep -qi "^location: /jobs/$ID" "$T_TMP/h"
check "POST has Server-Timing with four phases" grep -qiE \
  '^server-timing: recv;dur=[0-9.]+, parse;dur=[0-9.]+, process;dur=[0-9.]+, respond;dur=[0-9.]+' "$T_TMP/h"
b=$(curl -s "$U/jobs/$ID")
expect_eq "short poll answers the job" "$ID" "$(jfield "$b" id)"
check "short poll shows running or queued" test "$(jfield "$b" status)" != done
curl -s -D "$T_TMP/h2" -o /dev/null "$U/jobs/$ID"
check "GET has Server-Timing" grep -qi '^server-timing: recv;dur=' "$T_TMP/h2"
curl -s -o /dev/null "$U/jobs/$ID?wait=10&since=11"   # long poll until done
b=$(curl -s "$U/jobs/$ID")
expect_eq "short poll later: done" done "$(jfield "$b" status)"
expect_eq "done job progress 100, version 12" "100 12" "$(jfield "$b" progress) $(jfield "$b" version)"

# ---- long polling -------------------------------------------------------------
plan 10
LID=$(new_job 3000)
v=$(jfield "$(curl -s "$U/jobs/$LID")" version)
t0=$(date +%s%N)
b=$(curl -s -D "$T_TMP/hl" "$U/jobs/$LID?wait=10&since=$v")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "long poll wakes on the next change (version > $v)" test "$(jfield "$b" version)" -gt "$v"
check "long poll woke early (${ms} ms, a step is 300 ms)" test "$ms" -lt 2500
check "long poll says it changed" grep -qi '^x-long-poll: changed' "$T_TMP/hl"
DONE=$ID
t0=$(date +%s%N)
b=$(curl -s -D "$T_TMP/hl" "$U/jobs/$DONE?wait=1&since=12")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_eq "long poll timeout answers the unchanged status" "done 12" "$(jfield "$b" status) $(jfield "$b" version)"
check "long poll held about wait=1 s (${ms} ms)" test "$ms" -ge 900 -a "$ms" -lt 4000
check "long poll says timeout" grep -qi '^x-long-poll: timeout' "$T_TMP/hl"
b=$(curl -s "$U/jobs/$DONE?wait=5&since=3")
expect_eq "long poll behind the version answers at once" 12 "$(jfield "$b" version)"
expect_eq "long poll unknown job 404" 404 "$(status_of "$U/jobs/999999?wait=1&since=0")"
expect_eq "long poll bad wait 400" 400 "$(status_of "$U/jobs/$DONE?wait=abc&since=0")"
expect_eq "long poll wait too long 400" 400 "$(status_of "$U/jobs/$DONE?wait=100000&since=0")"

# ---- SSE ----------------------------------------------------------------------
plan 11
SID=$(new_job 300)
curl -s -N --max-time 1.5 -D "$T_TMP/hs" "$U/jobs/$SID/events" >"$T_TMP/sse1" || true
check "SSE content type" grep -qi '^content-type: text/event-stream' "$T_TMP/hs"
check "SSE has Server-Timing" grep -qi '^server-timing: recv;dur=' "$T_TMP/hs"
check "SSE sends a retry: hint" grep -qE '^retry: [0-9]+' "$T_TMP/sse1"
expect_eq "SSE job stream: 12 events, each with id:" 12 "$(grep -c '^id: ' "$T_TMP/sse1")"
expect_eq "SSE job stream: 12 data lines" 12 "$(grep -c '^data: {' "$T_TMP/sse1")"
check "SSE job stream ends with done" sh -c "grep '^data: ' '$T_TMP/sse1' | tail -1 | grep -q '\"status\":\"done\"'"
check "SSE heartbeat comment (--heartbeat 1)" grep -qE '^:' "$T_TMP/sse1"
ids=$(grep '^id: ' "$T_TMP/sse1" | cut -d' ' -f2)
fifth=$(echo "$ids" | sed -n 5p)
curl -s -N --max-time 1 -H "Last-Event-ID: $fifth" "$U/jobs/$SID/events" >"$T_TMP/sse2" || true
expect_eq "Last-Event-ID resume: nothing missed, nothing repeated" \
  "$(echo "$ids" | sed -n '6,$p' | tr '\n' ' ')" "$(grep '^id: ' "$T_TMP/sse2" | cut -d' ' -f2 | tr '\n' ' ')"
last=$(echo "$ids" | tail -1)
expect_eq "resume past a done job's last event: 204 (EventSource stops)" 204 \
  "$(status_of -H "Last-Event-ID: $last" "$U/jobs/$SID/events")"
check "HEAD /events answers the stream's head, no stream" sh -c \
  "curl -s -I --max-time 2 '$U/events' | grep -qi '^content-type: text/event-stream'"
expect_eq "SSE unknown job 404" 404 "$(status_of "$U/jobs/424242/events")"

# Global stream, live: an event must arrive while the job still runs (no buffering).
plan 3
curl -s -N --max-time 4 "$U/events" >"$T_TMP/sse3" &
CURL_PID=$!
sleep 0.4
GID=$(new_job 2000)
sleep 0.7
check "GET /events: events of a running job arrive at once (flushed)" \
  grep -q "\"id\":\"$GID\",\"status\":\"running\"" "$T_TMP/sse3"
kill "$CURL_PID" 2>/dev/null; wait "$CURL_PID" 2>/dev/null
g1=$(grep '^id: ' "$T_TMP/sse3" | head -1 | cut -d' ' -f2)
curl -s -N --max-time 0.8 -H "Last-Event-ID: $g1" "$U/events" >"$T_TMP/sse4" || true
check "GET /events resume replays from the log" \
  test "$(grep '^id: ' "$T_TMP/sse4" | head -1 | cut -d' ' -f2)" = "$((g1 + 1))"
python3 - "$T_TMP/sse4" <<'EOF' && ok "GET /events ids strictly increasing" || bad "GET /events ids strictly increasing"
import sys
ids = [int(l.split()[1]) for l in open(sys.argv[1]) if l.startswith("id: ")]
sys.exit(0 if ids == sorted(set(ids)) and ids else 1)
EOF

# A log of 16 events and 24 events later: resuming after 1 says what was lost.
plan 1
start_server P2 "$BIN/jobs-server" --port 0 --event-log 16 --max-jobs 2 --heartbeat 1 || finish
for i in 1 2; do curl -s -o /dev/null -d '{"work_ms": 20}' "http://127.0.0.1:$P2/jobs"; done
curl -s -o /dev/null "http://127.0.0.1:$P2/jobs/2?wait=5&since=11"
curl -s -N --max-time 0.6 -H 'Last-Event-ID: 1' "http://127.0.0.1:$P2/events" >"$T_TMP/gap" || true
expect_eq "resume past the log's retention: 'event: gap' then the 16 kept (9..24)" \
  "gap 9 24 16" "$(grep -c '^event: gap' "$T_TMP/gap" | sed 's/1/gap/') $(grep '^id: ' "$T_TMP/gap" | head -1 | cut -d' ' -f2) $(grep '^id: ' "$T_TMP/gap" | tail -1 | cut -d' ' -f2) $(grep -c '^id: ' "$T_TMP/gap")"
# Eviction (--max-jobs 2): job 4 takes done job 2's slot.  Job 2's long-poll
# waiter is answered at once with its last status; its SSE follower keeps its
# stream (heartbeats) but gets nothing more; job 2 is then unknown.
plan 5
U2="http://127.0.0.1:$P2"
curl -s -N --max-time 3 "$U2/jobs/2/events" >"$T_TMP/evict_sse" &
EV_SSE=$!
curl -s -o "$T_TMP/evict_lp" -w '%{time_total}' "$U2/jobs/2?wait=8&since=12" >"$T_TMP/evict_t" &
EV_LP=$!
sleep 0.4
curl -s -o /dev/null -d '{"work_ms": 20}' "$U2/jobs"           # job 3 evicts done job 1
curl -s -o /dev/null -d '{"work_ms": 20}' "$U2/jobs"           # job 4 evicts done job 2
wait "$EV_LP"
check_num "eviction answers the job's long poll at once ($(cat "$T_TMP/evict_t") s)" \
  "$(cat "$T_TMP/evict_t")" '<' 4
expect_eq "the evicted job's waiter got its last version" 12 "$(jfield "$(cat "$T_TMP/evict_lp")" version)"
expect_eq "an evicted job is unknown: 404" 404 "$(status_of "$U2/jobs/2")"
wait "$EV_SSE"
check "the evicted job's SSE follower kept its stream (heartbeats after the eviction)" \
  test "$(grep -c '^: heartbeat' "$T_TMP/evict_sse")" -ge 2
alive "server alive after evictions" "$P2_PID"
stop_server P2

# ---- webhooks -----------------------------------------------------------------
plan 8
cat >"$T_TMP/receiver.py" <<'EOF'
# A webhook receiver: verifies X-Wirelab-Signature, answers 503 to the first
# attempt of each delivery when REFUSE_FIRST=1, or never answers when HANG=1.
import hashlib, hmac, http.server, os, signal, socket, sys, time
secret, log = os.environ["SECRET"].encode(), open(os.environ["LOG"], "a", buffering=1)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))  # stopped like the servers: exit 0
if os.environ.get("HANG") == "1":
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
    print("listening on 127.0.0.1:%d" % s.getsockname()[1], flush=True)
    held = []
    while True:
        c, _ = s.accept(); held.append(c); log.write("hang\n")
seen = set()
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        sig_ok = hmac.compare_digest(want, self.headers.get("X-Wirelab-Signature", ""))
        d = self.headers.get("X-Wirelab-Delivery", "")
        first = d not in seen
        seen.add(d)
        code = 503 if (first and os.environ.get("REFUSE_FIRST") == "1") else 200
        log.write("%s attempt=%s sig=%s code=%d t=%.3f %s\n" % (d, self.headers.get("X-Wirelab-Attempt"),
                  "ok" if sig_ok else "BAD", code, time.time(), body.decode()))
        self.send_response(code); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print("listening on 127.0.0.1:%d" % srv.server_address[1], flush=True)
srv.serve_forever()
EOF
start_server R env SECRET=$SECRET LOG="$T_TMP/hooks" REFUSE_FIRST=1 python3 "$T_TMP/receiver.py" || finish
start_server H env SECRET=$SECRET LOG="$T_TMP/hang" HANG=1 python3 "$T_TMP/receiver.py" || finish
HANG_IDS=""
for i in 1 2 3; do HANG_IDS="$HANG_IDS $(new_job 10 "http://127.0.0.1:$H/hook")"; done
WID=$(new_job 50 "http://127.0.0.1:$R/hook")
t0=$(date +%s%N)
for i in $(seq 1 40); do grep -q 'code=200' "$T_TMP/hooks" 2>/dev/null && break; sleep 0.1; done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "webhook delivered after a refused first attempt" grep -q "attempt=2 sig=ok code=200.*\"id\":\"$WID\"" "$T_TMP/hooks"
check "webhook first attempt was answered 503" grep -q 'attempt=1 sig=ok code=503' "$T_TMP/hooks"
expect_eq "webhook delivery id kept across retries" 1 "$(cut -d' ' -f1 "$T_TMP/hooks" | sort -u | wc -l)"
check "webhook HMAC verified by the receiver" sh -c "! grep -q 'sig=BAD' '$T_TMP/hooks'"
check "a hanging receiver (3 deliveries held) did not delay it (${ms} ms)" test "$ms" -lt 3000
t0=$(date +%s%N)
curl -s "$U/jobs/$WID" >/dev/null
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "short poll stays fast while webhooks hang (${ms} ms)" test "$ms" -lt 1000
check "the hanging receiver got the deliveries" test "$(grep -c hang "$T_TMP/hang")" -ge 3
expect_eq "callback that is not http://IPV4:PORT/ -> 422" "422" \
  "$(post '{"work_ms": 10, "callback": "http://example.com/x"}' | cut -d' ' -f1)"

# ---- bad input ----------------------------------------------------------------
plan 16
expect_eq "unknown job 404" 404 "$(status_of "$U/jobs/987654")"
expect_eq "non-numeric job id 404" 404 "$(status_of "$U/jobs/abc")"
r=$(post '{"work_ms": 10')
expect_eq "malformed JSON 400" 400 "${r%% *}"
check "malformed JSON says what is wrong ($r)" sh -c "echo '$r' | grep -qiE 'json.*(offset|byte)'"
expect_eq "empty body 400" 400 "$(post '' | cut -d' ' -f1)"
expect_eq "work_ms 0 -> 422" 422 "$(post '{"work_ms": 0}' | cut -d' ' -f1)"
expect_eq "work_ms too large -> 422" 422 "$(post '{"work_ms": 99999999}' | cut -d' ' -f1)"
expect_eq "work_ms a string -> 422" 422 "$(post '{"work_ms": "ten"}' | cut -d' ' -f1)"
expect_eq "work_ms missing -> 422" 422 "$(post '{"callback": null}' | cut -d' ' -f1)"
expect_eq "body not an object -> 422" 422 "$(post '[1,2]' | cut -d' ' -f1)"
expect_eq "unknown path 404" 404 "$(status_of "$U/nope")"
expect_eq "wrong method 405" 405 "$(status_of -X DELETE "$U/jobs/$DONE")"
g=$(printf 'GET / HTTP/1.1\r\nHost x\r\n\r\n' | timeout 3 python3 -c '
import socket,sys; s=socket.create_connection(("127.0.0.1",int(sys.argv[1]))); s.sendall(sys.stdin.buffer.read())
print(s.recv(1000).decode())' "$P")
expect_eq "garbage HTTP -> 400" "HTTP/1.1 400" "${g:0:12}"
check "the HTTP core's 400 carries Server-Timing too" grep -q '^Server-Timing: recv;dur=' <<<"$g"
expect_eq "GET / serves the page" 200 "$(status_of "$U/")"
alive "server alive after bad input" "$P_PID"

# ---- limits: waiters, streams, slow readers -----------------------------------
plan 4
PIDS=()
for i in 1 2 3 4; do curl -s -o /dev/null "$U/jobs/$DONE?wait=4&since=12" & PIDS+=($!); done
sleep 0.5
curl -s -D "$T_TMP/h5" -o "$T_TMP/b5" "$U/jobs/$DONE?wait=4&since=12"
check "5th long-poll waiter (max 4) -> 503" grep -q '^HTTP/1.1 503' "$T_TMP/h5"
check "503 carries Retry-After" grep -qi '^retry-after: [0-9]' "$T_TMP/h5"
for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
sleep 0.3
expect_eq "waiters freed when their clients went away" 200 "$(status_of "$U/jobs/$DONE?wait=0&since=12")"

PIDS=()
for i in 1 2 3 4 5 6; do curl -s -N -o /dev/null --max-time 5 "$U/events" & PIDS+=($!); done
sleep 0.5
curl -s -D "$T_TMP/h6" -o /dev/null --max-time 2 "$U/events"
check "7th SSE stream (max 6) -> 503 with Retry-After" sh -c \
  "grep -q '^HTTP/1.1 503' '$T_TMP/h6' && grep -qi '^retry-after:' '$T_TMP/h6'"
for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
sleep 0.3

# A reader that never reads while ~1 MB of events flow: the server cuts it off at
# --stream-buffer (32 KiB) instead of growing, and keeps serving everyone else.
plan 3
python3 - "$P" <<'EOF' && ok "slow SSE and WebSocket readers cut off at the buffer limit" || bad "slow SSE and WebSocket readers cut off at the buffer limit"
import http.client, json, socket, sys, time
port = int(sys.argv[1])
slow = socket.socket(); slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
slow.connect(("127.0.0.1", port)); slow.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
slow_ws = socket.socket(); slow_ws.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
slow_ws.connect(("127.0.0.1", port))
slow_ws.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
for i in range(800):
    c.request("POST", "/jobs", body=b'{"work_ms": 1}'); c.getresponse().read()
deadline = time.time() + 8
while time.time() < deadline:
    c.request("GET", "/stats"); st = json.loads(c.getresponse().read())
    if st["streams_cut"] >= 2: break
    time.sleep(0.2)
if st["streams_cut"] < 2: print(st, file=sys.stderr); sys.exit(1)
EOF
check "the server says which readers it cut" sh -c \
  "grep -q 'SSE fd .* cut off' '$T_TMP/P.log' && grep -q 'WebSocket fd .* cut off' '$T_TMP/P.log'"
expect_eq "server answers after the flood" 200 "$(status_of "$U/jobs/$DONE")"

# Resume /events from the start after the flood: ~1 MB of events through a 32 KiB
# connection bound, taken from the log in batches as the client reads: every id
# once, in order, and the stream is not cut.
plan 1
python3 - "$P" <<'EOF' && ok "Last-Event-ID: 1 on /events replays ~10k events, none missed or repeated, not cut" || bad "big /events resume"
import http.client, json, socket, sys, time
port = int(sys.argv[1])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
c.request("GET", "/stats"); st = json.loads(c.getresponse().read())
last, cut0 = st["last_event_id"], st["streams_cut"]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 1\r\n\r\n")
buf, ids, deadline = b"", [], time.time() + 15
while (not ids or ids[-1] < last) and time.time() < deadline:
    d = s.recv(65536)
    if not d: break
    buf += d
    *lines, buf = buf.split(b"\n")
    ids += [int(l[4:]) for l in lines if l.startswith(b"id: ")]
c.request("GET", "/stats"); st = json.loads(c.getresponse().read())
ok = ids[:last - 1] == list(range(2, last + 1)) and st["streams_cut"] == cut0
if not ok: print(len(ids), ids[:3], ids[-3:], last, st, file=sys.stderr)
sys.exit(0 if ok else 1)
EOF

# ---- WebSocket: job events pushed as text frames, chat room, protocol errors ----
plan 15
python3 - "$P" <<'EOF' >"$T_TMP/ws.out" 2>&1
import base64, os, socket, struct, sys, json, urllib.request
port = int(sys.argv[1])
def conn(path):
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, key)).encode())
    head = b""
    while b"\r\n\r\n" not in head: head += s.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return s
def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c: raise EOFError
        b += c
    return b
def frame(s):
    h = recv_exact(s, 2); op, n = h[0] & 15, h[1] & 127
    if n == 126: n = struct.unpack("!H", recv_exact(s, 2))[0]
    elif n == 127: n = struct.unpack("!Q", recv_exact(s, 8))[0]
    return op, recv_exact(s, n)
def send(s, op, data, mask=True, fin=True):
    m = os.urandom(4) if mask else b""
    mb, fb = (0x80 if mask else 0), (0x80 if fin else 0)
    if len(data) < 126: hdr = bytes([fb | op, mb | len(data)]) + m
    else: hdr = bytes([fb | op, mb | 126]) + struct.pack("!H", len(data)) + m
    s.sendall(hdr + (bytes(b ^ m[i % 4] for i, b in enumerate(data)) if mask else data))
a = conn("/ws")
req = urllib.request.Request("http://127.0.0.1:%d/jobs" % port, data=b'{"work_ms": 50}', method="POST")
jid = json.loads(urllib.request.urlopen(req).read())["id"]
statuses = []
while "done" not in statuses:
    op, d = frame(a)
    ev = json.loads(d)
    if op == 1 and ev.get("id") == jid: statuses.append(ev["status"])
print("job-events", op, statuses[0], statuses[-1])
send(a, 9, b"hi"); op, d = frame(a)
while op != 10: op, d = frame(a)
print("pong", d.decode())
r1, r2 = conn("/ws?room=lab"), conn("/ws?room=lab")
send(r1, 1, b"hello room")
op, d = frame(r2)
while d.startswith(b"{"): op, d = frame(r2)   # job events share the socket
print("chat", op, d.decode())
send(r1, 1, b"frag", fin=False); send(r1, 9, b"p"); send(r1, 0, b"mented")   # a ping between fragments
op, d = frame(r2)
while d.startswith(b"{"): op, d = frame(r2)
print("fragmented", op, d.decode())
send(r2, 1, b"unmasked", mask=False)
op, d = frame(r2)
while op != 8: op, d = frame(r2)
print("close", op, struct.unpack("!H", d[:2])[0])
def close_code(payload, op=1):
    s = conn("/ws"); send(s, op, payload)
    op, d = frame(s)
    while op != 8: op, d = frame(s)
    return struct.unpack("!H", d[:2])[0]
print("utf8", close_code(b"\xff\xfe"))
print("toobig", close_code(b"x" * 20000))
s = conn("/ws"); send(s, 8, struct.pack("!H", 1000))
op, d = frame(s)
while op != 8: op, d = frame(s)
print("normal", struct.unpack("!H", d[:2])[0], s.recv(10) == b"")
EOF
check "WS: job events pushed as text frames" grep -q '^job-events 1 queued done' "$T_TMP/ws.out"
check "WS: ping answered with pong" grep -q '^pong hi' "$T_TMP/ws.out"
check "WS: a fragmented message (ping in between) reaches the room whole" grep -q '^fragmented 1 fragmented' "$T_TMP/ws.out"
check "WS: chat message reaches the other member of the room" grep -q '^chat 1 hello room' "$T_TMP/ws.out"
check "WS: unmasked client frame closes with 1002" grep -q '^close 8 1002' "$T_TMP/ws.out"
check "WS: invalid UTF-8 text closes with 1007" grep -q '^utf8 1007' "$T_TMP/ws.out"
check "WS: message over 16 KiB closes with 1009" grep -q '^toobig 1009' "$T_TMP/ws.out"
check "WS: client close answered with 1000, then TCP closed" grep -q '^normal 1000 True' "$T_TMP/ws.out"
expect_eq "WS: handshake without a key -> 400" 400 "$(status_of -H 'Upgrade: websocket' -H 'Connection: Upgrade' \
  -H 'Sec-WebSocket-Version: 13' "$U/ws")"
expect_eq "WS: version 8 -> 426" 426 "$(status_of -H 'Upgrade: websocket' -H 'Connection: Upgrade' \
  -H 'Sec-WebSocket-Version: 8' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$U/ws")"
expect_eq "WS: bad room name -> 400" 400 "$(status_of -H 'Upgrade: websocket' -H 'Connection: Upgrade' \
  -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$U/ws?room=a/b")"
[ -s "$T_TMP/ws.out" ] && grep -q Error "$T_TMP/ws.out" && echo "$(tail -5 "$T_TMP/ws.out")"

wait "$IDLE_PID"
idle=$(cat "$T_TMP/idle")
check_num "silent connection closed after --idle-timeout 2 (${idle} s)" "$idle" '>=' 1.5 '<=' 6
"$BIN/jobs-server" --port nope >/dev/null 2>&1
expect_eq "bad --port: exit 2" 2 "$?"
"$BIN/jobs-server" --max-streams 0 >/dev/null 2>&1
expect_eq "--max-streams 0: exit 2" 2 "$?"
alive "server alive at the end" "$P_PID"
finish
