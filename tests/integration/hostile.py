#!/usr/bin/env python3
"""hostile.py: bounded hostile clients for tests/integration/hostile.sh.

usage: hostile.py KIND PORT PID LOG [SECONDS] [SEED]
KIND: http (labs/03 servers), jobs (jobs-server), resp (broker), kv (kv-server
client port), repl (garbage at a kv primary's replication port), fakeprimary
(listen as a primary that answers a replica with garbage: PORT is ignored, the
port is printed; PID/LOG are the replica's, started afterwards by the caller).

Each attack runs for a bounded count and time, then asserts: the server pid is
alive, its log has no sanitizer report, and a fresh well-behaved client gets a
correct answer.  Prints `plan N` (the checks it will print: CHECKS), then one
`ok NAME` / `FAIL NAME: WHY` line per assertion (tests/lib.sh's run_checks turns
them into ok/bad and counts them against the plan) and exits 0.  python3 stdlib
only, 127.0.0.1 only.
"""
import os
import random
import re
import resource
import select
import socket
import struct
import sys
import time

KIND, PORT, PID, LOG = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
SECONDS = float(sys.argv[5]) if len(sys.argv) > 5 else 2.0
RNG = random.Random(int(sys.argv[6]) if len(sys.argv) > 6 else 1)
HOST = "127.0.0.1"
COUNTS = {}


def say(line):
    print(line, flush=True)


def ok(name):
    say("ok " + name)


def fail(name, why):
    say("FAIL %s: %s" % (name, why))


def alive():
    try:
        os.kill(PID, 0)
    except OSError:
        return False
    try:  # a zombie is dead too
        with open("/proc/%d/stat" % PID) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def sanitizer_report():
    """A report in the server's log (UBSan) or in its ASan log_path file
    ($T_SANITIZER_DIR/asan.PROGRAM.PID, set by tests/lib.sh)."""
    t = b""
    d = os.environ.get("T_SANITIZER_DIR", "")
    paths = [LOG] + ([os.path.join(d, f) for f in os.listdir(d) if f.endswith(".%d" % PID)]
                     if d and os.path.isdir(d) else [])
    for path in paths:
        try:
            with open(path, "rb") as f:
                t += f.read()
        except OSError:
            pass
    m = re.search(rb"(ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer|"
                  rb"AddressSanitizer:DEADLYSIGNAL)", t)
    return t[m.start():m.start() + 300].decode("latin-1") if m else ""


def rss_kib():
    try:
        with open("/proc/%d/status" % PID) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def connect(timeout=2.0, port=None):
    return socket.create_connection((HOST, port or PORT), timeout=timeout)


# the port well-behaved clients use (kind repl attacks the replication port)
CPORT = int(os.environ.get("CLIENT_PORT", "0")) or PORT


def recv_until(s, pred, limit=1 << 20, timeout=3.0):
    buf = b""
    end = time.time() + timeout
    s.settimeout(0.2)
    while time.time() < end and len(buf) < limit:
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            break
        if not d:
            break
        buf += d
        if pred(buf):
            break
    return buf


# ---- well-behaved clients: the server still serves someone normal ----------------
def http_get(path, timeout=3.0):
    s = connect()
    s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    b = recv_until(s, lambda b: False, timeout=timeout)
    s.close()
    return b


def fresh_http():
    b = http_get(b"/")
    return b.startswith(b"HTTP/1.1 200"), b[:80]


def fresh_jobs():
    s = connect()
    body = b'{"work_ms": 1}'
    s.sendall(b"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
    b = recv_until(s, lambda b: False)
    s.close()
    if not re.match(rb"HTTP/1.1 20[12]", b):
        return False, b[:120]
    m = re.search(rb'"id"\s*:\s*"?(\d+)', b)
    if not m:
        return False, b[:200]
    g = http_get(b"/jobs/" + m.group(1))
    return g.startswith(b"HTTP/1.1 200"), g[:120]


def resp_cmd(s, *args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    s.sendall(out)


def fresh_resp():
    s = connect(port=CPORT)
    k = b"hostile-%d" % RNG.randrange(1 << 30)
    resp_cmd(s, b"PING")
    b = recv_until(s, lambda b: b.endswith(b"\r\n"))
    if b != b"+PONG\r\n":
        s.close()
        return False, b[:80]
    if KIND == "resp":
        resp_cmd(s, b"XADD", k, b"*", b"f", b"v")
        b = recv_until(s, lambda b: b.endswith(b"\r\n") and b.count(b"\r\n") >= 2)
        s.close()
        return b.startswith(b"$"), b[:80]
    resp_cmd(s, b"SET", k, b"v1")
    b = recv_until(s, lambda b: b.endswith(b"\r\n"))
    resp_cmd(s, b"GET", k)
    b2 = recv_until(s, lambda b: b.count(b"\r\n") >= 2)
    s.close()
    return b == b"+OK\r\n" and b2 == b"$2\r\nv1\r\n", (b + b2)[:80]


FRESH = {"http": fresh_http, "jobs": fresh_jobs, "resp": fresh_resp, "kv": fresh_resp,
         "repl": fresh_resp}


def after(attack):
    """The three assertions every attack ends with."""
    if not alive():
        fail(attack + ": server alive", "pid %d died; log: %s" % (PID, sanitizer_report()))
        return False
    rep = sanitizer_report()
    if rep:
        fail(attack + ": no sanitizer report", rep)
        return False
    try:
        good, what = FRESH[KIND]()
    except OSError as e:
        good, what = False, repr(e)
    if not good:
        # a server may need a moment to notice closed connections: one retry
        time.sleep(0.5)
        try:
            good, what = FRESH[KIND]()
        except OSError as e:
            good, what = False, repr(e)
    if good:
        ok(attack + " (%d sent): alive, clean, fresh client served" % COUNTS.get(attack, 0))
    else:
        fail(attack + ": fresh client served", repr(what))
    return good


# ---- mutation --------------------------------------------------------------------
HUGE = [b"99999999999999999999999", b"18446744073709551616", b"-1", b"-9223372036854775808",
        b"4294967296", b"2147483648", b"0x10", b" 5", b"+5", b"1e9", b"", b"\x00"]


def mutate(seed):
    b = bytearray(seed)
    for _ in range(RNG.randint(1, 4)):
        op = RNG.randrange(12)
        if not b:
            b = bytearray(b"\r\n")
        i = RNG.randrange(len(b))
        if op == 0:
            b[i] ^= 1 << RNG.randrange(8)
        elif op == 1:
            del b[RNG.randrange(len(b)):]
        elif op == 2:
            j = RNG.randrange(i, len(b) + 1)
            b[i:i] = b[i:j] * RNG.randint(2, 50)
        elif op == 3:  # a number becomes huge / negative / odd
            nums = [m.span() for m in re.finditer(rb"\d+", bytes(b))]
            if nums:
                s, e = RNG.choice(nums)
                b[s:e] = RNG.choice(HUGE)
        elif op == 4:
            b.insert(i, 0)
        elif op == 5:
            b[i:i] = RNG.choice([b"\r", b"\n", b"\r\n", b"\n\r", b"\r\r\n", b"\r\n\r\n", b" \r\n"])
        elif op == 6:
            b[i:i] = RNG.choice([b"A", b"\xff", b"%", b"/", b"\""]) * RNG.choice([100, 9000, 70000])
        elif op == 7:
            b[i] = RNG.randrange(256)
        elif op == 8:
            del b[i:RNG.randrange(i, min(len(b), i + 20) + 1)]
        elif op == 9:
            b[i:i] = bytes(RNG.randrange(256) for _ in range(RNG.randint(1, 40)))
        elif op == 10:
            b = b + b
        else:
            b[i:i] = b"\"'\\{[" * RNG.randint(1, 30)
    return bytes(b)


def deep_json(n, opener=b"[", closer=b"]"):
    return opener * n + b"1" + closer * n


def http_req(method, path, body=b"", extra=b""):
    return (b"%s %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n\r\n%s"
            % (method, path, extra, len(body), body))


HTTP_SEEDS = [
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /plaintext HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n",
    http_req(b"POST", b"/echo", b"hello world"),
    b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nx\r\n",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\nabc",
    b"GET /delay?ms=1 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /delay?ms=-5 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /delay?ms=99999999999999999999 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.0\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\n folded: continuation\r\n\r\n",
    b"GET /%00%zz HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\nHost: x\n\n",
    b"\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/9.9\r\n\r\n",
]


def ws_frame(opcode, payload, mask=True, fin=True, rsv=0, lenmode=None):
    b0 = (0x80 if fin else 0) | (rsv << 4) | (opcode & 15)
    n = len(payload) if lenmode is None else lenmode
    mbit = 0x80 if mask else 0
    if n < 126:
        h = bytes([b0, mbit | n])
    elif n < 65536:
        h = bytes([b0, mbit | 126]) + struct.pack(">H", n)
    else:
        h = bytes([b0, mbit | 127]) + struct.pack(">Q", n & ((1 << 64) - 1))
    if mask:
        k = bytes(RNG.randrange(256) for _ in range(4))
        h += k
        payload = bytes(c ^ k[i & 3] for i, c in enumerate(payload))
    return h + payload


WS_UPGRADE = (b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


def ws_garbage():
    kind = RNG.randrange(8)
    if kind == 0:
        return ws_frame(RNG.choice([3, 4, 5, 6, 7, 11, 12, 15]), b"x")  # reserved opcodes
    if kind == 1:
        return ws_frame(1, b"hi", mask=False)  # client frames must be masked
    if kind == 2:
        return ws_frame(1, b"hi", lenmode=RNG.choice([1 << 63, (1 << 64) - 1, 1 << 40, 70000]))
    if kind == 3:
        return ws_frame(9, b"p" * 200)  # control frame too long
    if kind == 4:
        return ws_frame(8, b"\x03")  # close with 1-byte payload
    if kind == 5:
        return ws_frame(1, b"\xff\xfe")  # not UTF-8
    if kind == 6:
        return ws_frame(0, b"cont")  # continuation without a start
    return mutate(ws_frame(RNG.choice([1, 2, 8, 9, 10]), b"hello", rsv=RNG.randrange(8)))


def jobs_seeds():
    cbs = [b"http://127.0.0.1:1/x", b"http://256.1.1.1:80/", b"http://localhost:99999/",
           b"ftp://127.0.0.1/", b"http://127.0.0.1:80" + b"/a" * 200, b"http://[::1]:80/",
           b"http://user@127.0.0.1:80/", b"http://127.0.0.1:0/", b"http://127.0.0.1:-1/",
           b"http://127.0.0.1:80/\\r\\nX: y", b"http://127.0.0.1:80/\\u0000", b"",
           b"http://1.2.3.4.5:80/", b"http://127.0.0.1:/"]
    seeds = [http_req(b"POST", b"/jobs", b'{"work_ms": 1}', b"Content-Type: application/json\r\n"),
             http_req(b"POST", b"/jobs", deep_json(RNG.choice([100, 5000, 100000])),
                      b"Content-Type: application/json\r\n"),
             http_req(b"POST", b"/jobs", b'{"work_ms": ' + deep_json(3000, b'{"a":', b"}") + b"}"),
             http_req(b"POST", b"/jobs", b'{"work_ms": 1e999, "callback": 5}'),
             http_req(b"POST", b"/jobs", b'{"work_ms": -1}'),
             http_req(b"POST", b"/jobs", b'{"work_ms": 1, "work_ms": 2}'),
             http_req(b"POST", b"/jobs", b'{"work_ms": "1\\ud800"}'),
             b"GET /jobs/1?wait=%s&since=%s HTTP/1.1\r\nHost: x\r\n\r\n"
             % (RNG.choice(HUGE + [b"1", b"0.5", b"%00", b"abc"]), RNG.choice(HUGE + [b"1", b"x"])),
             b"GET /jobs/1?wait=1&wait=2&since=1&since HTTP/1.1\r\nHost: x\r\n\r\n",
             b"GET /jobs/99999999999999999999 HTTP/1.1\r\nHost: x\r\n\r\n",
             b"GET /jobs/-1/events HTTP/1.1\r\nHost: x\r\n\r\n",
             b"GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: %s\r\n\r\n"
             % RNG.choice(HUGE + [b"1:2:3", b"abc", b"\xff" * 300, b"1" * 5000, b"0"]),
             b"GET /jobs/1/events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: %s\r\n\r\n"
             % RNG.choice(HUGE + [b"x", b"1-"]),
             b"GET /stats HTTP/1.1\r\nHost: x\r\n\r\n",
             WS_UPGRADE + ws_garbage(),
             WS_UPGRADE.replace(b"13", b"99"),
             WS_UPGRADE.replace(b"dGhlIHNhbXBsZSBub25jZQ==", b"short"),
             ]
    for cb in cbs:
        seeds.append(http_req(b"POST", b"/jobs", b'{"work_ms": 1, "callback": "%s"}' % cb,
                              b"Content-Type: application/json\r\n"))
    return seeds


RESP_SEEDS = [
    b"*1\r\n$4\r\nPING\r\n",
    b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n",
    b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
    b"*5\r\n$4\r\nXADD\r\n$1\r\ns\r\n$1\r\n*\r\n$1\r\nf\r\n$1\r\nv\r\n",
    b"*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$1\r\nm\r\n",
    b"*99999999999\r\n$4\r\nPING\r\n",
    b"*-1\r\n", b"*-5\r\n", b"*0\r\n", b"$-1\r\n",
    b"*1\r\n$99999999999999999999\r\nPING\r\n",
    b"*1\r\n$-7\r\nPING\r\n",
    b"*2\r\n*1\r\n$4\r\nPING\r\n",
    b"*1\r\n" * 2000,
    b"PING \"unbalanced\r\n", b"SET 'a b\r\n", b"SET \"a\\\" b\r\n", b"GET \"\\x4\"\r\n",
    b"SET k \"v\"x\r\n", b"\"\r\n", b"   \r\n", b"PING\n", b"PING\r\r\n",
    b"XRANGE s - +\r\n", b"XADD s 99999999999999999999-1 f v\r\n", b"XADD s 1-1 f\r\n",
    b"XREAD COUNT -1 BLOCK -1 STREAMS s 0\r\n", b"XREADGROUP GROUP g c COUNT 9999999999 STREAMS s >\r\n",
    b"XGROUP CREATE s g $ MKSTREAM\r\n", b"XACK s g 1-1 2-x\r\n", b"XTRIM s MAXLEN -1\r\n",
    b"SUBSCRIBE " + b"c " * 3000 + b"\r\n", b"PSUBSCRIBE [[[[[[*\r\n",
    b"WAIT 99999999999 99999999999\r\n", b"WAIT -1 -1\r\n", b"REPLCONF x\r\n", b"SYNC\r\n",
    b"DEL " + b"k " * 1000 + b"\r\n", b"INFO replication\r\n", b"MULTI\r\nEXEC\r\n",
]


def seeds_for():
    if KIND == "http":
        return HTTP_SEEDS
    if KIND == "jobs":
        return jobs_seeds() + HTTP_SEEDS[:3]
    return RESP_SEEDS


# ---- attacks ---------------------------------------------------------------------
def attack_mutate(name, budget, batch=32):
    """Send mutated requests on `batch` connections at a time; half of them half-close,
    a quarter reset; read what comes back for a moment."""
    end = time.time() + budget
    n = 0
    while time.time() < end:
        socks = []
        seeds = seeds_for()
        for _ in range(batch):
            try:
                s = connect(1.0)
            except OSError:
                continue
            data = mutate(RNG.choice(seeds)) if RNG.random() < 0.85 else \
                bytes(RNG.randrange(256) for _ in range(RNG.randint(1, 3000)))
            try:
                s.setblocking(False)
                s.send(data[:1 << 20])
                if RNG.random() < 0.5:
                    s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            socks.append(s)
            n += 1
        dl = time.time() + 0.15
        while socks and time.time() < dl:
            r, _, _ = select.select(socks, [], [], 0.05)
            for s in r:
                try:
                    if not s.recv(65536):
                        socks.remove(s)
                        s.close()
                except OSError:
                    socks.remove(s)
                    s.close()
        for s in socks:
            if RNG.random() < 0.25:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        if not alive():
            break
    COUNTS[name] = n


def valid_request():
    if KIND == "http":
        return http_req(b"POST", b"/echo", b"x" * 300)
    if KIND == "jobs":
        return http_req(b"POST", b"/jobs", b'{"work_ms": 1}', b"Content-Type: application/json\r\n")
    return b"*3\r\n$3\r\nSET\r\n$5\r\nabort\r\n$300\r\n" + b"v" * 300 + b"\r\n"


def attack_disconnect(name, budget):
    """Cut a valid request at every length (step), closing with RST or FIN, or
    read only part of the response then reset."""
    req = valid_request()
    end = time.time() + budget
    n = 0
    for cut in range(0, len(req) + 1, max(1, len(req) // 60)):
        if time.time() > end:
            break
        for how in ("rst", "fin", "halfclose", "midresponse"):
            try:
                s = connect(1.0)
                s.sendall(req[:cut] if how != "midresponse" else req * 20)
                if how == "halfclose":
                    s.shutdown(socket.SHUT_WR)
                    s.settimeout(0.05)
                    try:
                        s.recv(10)
                    except OSError:
                        pass
                if how == "midresponse":
                    s.settimeout(0.1)
                    try:
                        s.recv(7)
                    except OSError:
                        pass
                if how in ("rst", "midresponse"):
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
                n += 1
            except OSError:
                pass
    COUNTS[name] = n


class Stream:
    """Sends `unit` over and over on a non-blocking socket, keeping units whole
    across partial sends (a misaligned stream would only test the parser)."""

    def __init__(self, sock, unit):
        self.sock, self.chunk, self.off, self.sent = sock, unit * max(1, 65536 // len(unit)), 0, 0

    def pump(self):
        try:
            n = self.sock.send(self.chunk[self.off:])
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return False
        self.off = (self.off + n) % len(self.chunk)
        self.sent += n
        return n > 0


def attack_pipeline(name, budget):
    """A pipeline far beyond any limit, from a client that never reads: the server's
    RSS must stay bounded (it stops reading, or cuts the client off)."""
    if KIND == "http":
        one = b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"
    elif KIND == "jobs":
        one = b"GET /stats HTTP/1.1\r\nHost: x\r\n\r\n"
    else:
        one = b"*3\r\n$3\r\nSET\r\n$2\r\npp\r\n$2000\r\n" + b"v" * 2000 + b"\r\n*2\r\n$3\r\nGET\r\n$2\r\npp\r\n"
    rss0 = rss_kib()
    socks, streams = [], []
    end = time.time() + budget
    for _ in range(4):
        s = connect()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.setblocking(False)
        socks.append(s)
        streams.append(Stream(s, one))
    peak = rss0
    sent = 0
    while time.time() < end and sent < (256 << 20):
        progressed = False
        for st in streams:
            progressed |= st.pump()
        sent = sum(st.sent for st in streams)
        peak = max(peak, rss_kib())
        if not progressed:
            time.sleep(0.02)
    peak = max(peak, rss_kib())
    COUNTS[name] = sent // len(one)
    for s in socks:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    grown = (peak - rss0) // 1024
    # kv-server bounds each client's replies at 64 MiB (kv_server.h KV_OUT_MAX) and
    # cuts it there: four such clients, ASan and realloc doubling stay under 300
    if grown > 300:
        fail(name + ": RSS bounded", "grew %d MiB (%d -> %d KiB) after %d MiB sent"
             % (grown, rss0, peak, sent >> 20))
    else:
        ok(name + ": RSS bounded (+%d MiB while %d MiB were pushed at a reader that never reads)"
           % (grown, sent >> 20))


def attack_subscriber_never_reads(name, budget):
    """broker: a subscriber that never reads while another client publishes."""
    rss0 = rss_kib()
    sub = connect()
    sub.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    resp_cmd(sub, b"SUBSCRIBE", b"flood")
    pub = connect()
    pub.setblocking(False)
    msg = b"*3\r\n$7\r\nPUBLISH\r\n$5\r\nflood\r\n$8000\r\n" + b"m" * 8000 + b"\r\n"
    st = Stream(pub, msg)
    end = time.time() + budget
    peak = rss0
    while time.time() < end:
        if not st.pump():
            time.sleep(0.005)
        try:
            while pub.recv(65536):
                pass
        except (BlockingIOError, OSError):
            pass
        peak = max(peak, rss_kib())
    sent = st.sent
    COUNTS[name] = sent // len(msg)
    sub.close()
    pub.close()
    grown = (peak - rss0) // 1024
    if grown > 300:
        fail(name + ": RSS bounded", "grew %d MiB" % grown)
    else:
        ok(name + ": RSS bounded (+%d MiB, %d MiB published at a subscriber that never reads)"
           % (grown, sent >> 20))


def attack_fds(name, budget):
    """Open connections up to (and past) the server's fd limit, then drop them."""
    limit = 1024
    try:
        with open("/proc/%d/limits" % PID) as f:
            for line in f:
                if line.startswith("Max open files"):
                    limit = int(line.split()[3])
    except (OSError, ValueError):
        pass
    want = min(limit + 64, 4200)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, want + 200), hard))
    socks = []
    end = time.time() + budget
    while len(socks) < want and time.time() < end:
        try:
            s = socket.socket()
            s.settimeout(0.5)
            s.connect((HOST, PORT))
            if len(socks) % 3 == 0:
                s.send(b"GET / HT")  # a partial request holds a slot
            socks.append(s)
        except OSError:
            break
    COUNTS[name] = len(socks)
    for s in socks:
        s.close()
    time.sleep(0.3)


def attack_jobs_push(name, budget):
    """jobs-server: webhook callbacks to a receiver that answers garbage (or nothing,
    or forever), and SSE + WebSocket readers that never read while jobs finish."""
    import threading
    hook = socket.socket()
    hook.bind((HOST, 0))
    hook.listen(64)
    hook.settimeout(0.2)
    hport = hook.getsockname()[1]
    stop = []
    held = []

    def receiver():
        while not stop:
            try:
                c, _ = hook.accept()
            except OSError:
                continue
            r = RNG.randrange(6)
            try:
                c.settimeout(0.2)
                if r == 0:
                    c.sendall(bytes(RNG.randrange(256) for _ in range(300)))
                elif r == 1:
                    c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"f" * 100000)
                elif r == 2:
                    held.append(c)  # never answers
                    continue
                elif r == 3:
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                elif r == 4:
                    c.sendall(b"HTTP/1.1 99999999999999999999 X\r\n" + b"H: " + b"v" * 70000)
                else:
                    c.sendall(b"HTTP/1.1 2")
            except OSError:
                pass
            c.close()

    th = threading.Thread(target=receiver, daemon=True)
    th.start()
    rss0 = rss_kib()
    readers = []
    for path in (b"/events", b"/events", b"/ws", b"/ws"):
        s = connect()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(WS_UPGRADE if path == b"/ws" else
                  b"GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 0\r\n\r\n")
        readers.append(s)
    end = time.time() + budget
    n = 0
    peak = rss0
    cb = ["http://127.0.0.1:%d/hook" % hport, "http://localhost:%d/%s" % (hport, "x" * 200),
          "http://127.0.0.1:1/refused"]
    while time.time() < end:
        body = b'{"work_ms": 0, "callback": "%s"}' % RNG.choice(cb).encode()
        try:
            s = connect()
            s.sendall(http_req(b"POST", b"/jobs", body, b"Content-Type: application/json\r\n"))
            recv_until(s, lambda b: b"\r\n\r\n" in b, timeout=1.0)
            s.close()
            n += 1
        except OSError:
            pass
        peak = max(peak, rss_kib())
    COUNTS[name] = n
    stop.append(1)
    th.join()
    for s in readers + held:
        s.close()
    hook.close()
    grown = (peak - rss0) // 1024
    if grown > 300:
        fail(name + ": RSS bounded", "grew %d MiB" % grown)
    else:
        ok(name + ": RSS bounded (+%d MiB with 4 stream readers that never read)" % grown)


def parked_request(i):
    """A request the server holds (a timer, a waiter, a blocked reader) before answering."""
    if KIND == "http":
        return b"GET /delay?ms=%d HTTP/1.1\r\nHost: x\r\n\r\n" % RNG.choice([1, 20, 100, 300])
    if KIND == "jobs":
        return RNG.choice([
            b"GET /jobs/%d?wait=2&since=%d HTTP/1.1\r\nHost: x\r\n\r\n" % (RNG.randint(1, 50), RNG.randint(0, 20)),
            b"GET /jobs/%d/events HTTP/1.1\r\nHost: x\r\n\r\n" % RNG.randint(1, 50),
            b"GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: %d\r\n\r\n" % RNG.randint(0, 99),
            WS_UPGRADE])
    if KIND == "resp":
        return RNG.choice([
            b"XGROUP CREATE ab%d g $ MKSTREAM\r\nXREADGROUP GROUP g c%d BLOCK 500 STREAMS ab%d >\r\n" % (i % 4, i, i % 4),
            b"XREAD BLOCK 300 STREAMS ab%d $\r\n" % (i % 4),
            b"SUBSCRIBE ab%d\r\n" % (i % 4),
            b"PSUBSCRIBE ab*\r\n"])
    # kv: WAIT for replicas that are not there, and writes before it
    return b"SET ab%d x\r\nWAIT 1 %d\r\nGET ab%d\r\n" % (i, RNG.choice([50, 300, 1000]), i)


def trigger():
    """What completes parked requests: new jobs, stream entries, publishes."""
    if KIND == "jobs":
        return http_req(b"POST", b"/jobs", b'{"work_ms": 0}', b"Content-Type: application/json\r\n")
    if KIND == "resp":
        return b"XADD ab%d * f v\r\nPUBLISH ab%d m\r\n" % (RNG.randrange(4), RNG.randrange(4))
    if KIND == "kv":
        return b"SET t x\r\n"
    return b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def attack_abandon(name, budget):
    """Park requests, then reset or half-close them at random moments while another
    client completes them: the server must drop its waiter, timer or subscription
    exactly once (a use-after-free shows here under ASan)."""
    end = time.time() + budget
    n = 0
    trig = connect()
    trig.setblocking(False)
    parked = []
    i = 0
    while time.time() < end:
        for _ in range(16):
            try:
                s = connect(1.0)
                s.sendall(parked_request(i))
                parked.append(s)
                i += 1
            except OSError:
                pass
        try:
            trig.send(trigger())
            while trig.recv(65536):
                pass
        except (BlockingIOError, OSError):
            pass
        time.sleep(RNG.choice([0, 0.01, 0.05]))
        RNG.shuffle(parked)
        for s in parked[:RNG.randint(8, 24)]:
            how = RNG.randrange(3)
            try:
                if how == 0:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                elif how == 1:
                    s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            s.close()
            parked.remove(s)
            n += 1
        if not alive():
            break
    time.sleep(0.3)  # let timers of closed requests fire
    for s in parked:
        s.close()
        n += 1
    trig.close()
    COUNTS[name] = n


def attack_ws(name, budget):
    """jobs-server /ws: a good handshake, then bad frames (reserved opcodes, unmasked,
    2^63 lengths, long or fragmented control frames, bad UTF-8, bad close codes) mixed
    with good ones, split at random points."""
    end = time.time() + budget
    n = 0
    while time.time() < end:
        try:
            s = connect(1.0)
            s.sendall(WS_UPGRADE)
            if not recv_until(s, lambda b: b"\r\n\r\n" in b, timeout=1.0).startswith(b"HTTP/1.1 101"):
                fail(name + ": handshake", "no 101")
                s.close()
                return
            data = b"".join(ws_garbage() if RNG.random() < 0.6 else
                            ws_frame(RNG.choice([1, 2, 9, 10]), b"ok" * RNG.randint(0, 40))
                            for _ in range(RNG.randint(1, 6)))
            while data:
                k = RNG.randint(1, len(data))
                s.sendall(data[:k])
                data = data[k:]
            read_then_drop(s, 65536)
            n += 1
        except OSError:
            pass
    COUNTS[name] = n



def read_then_drop(s, n):
    """Read what the server answered (briefly), then close: half the time with an
    RST (SO_LINGER 0) instead of a FIN, so both ways a peer vanishes are tried."""
    s.settimeout(0.05)
    try:
        s.recv(n)
    except OSError:
        pass
    if RNG.random() < 0.5:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()

def cpu_ticks():
    with open("/proc/%d/stat" % PID) as f:
        st = f.read().split(")")[-1].split()
    return int(st[11]) + int(st[12])


def attack_fd_exhaust(name, budget):
    """For a server started with a small fd limit (ulimit -n 64): hold more connections
    than it has descriptors.  accept() then fails with EMFILE while the listener stays
    readable; a server that retries at once spins a core (and floods its log)."""
    socks = []
    for _ in range(120):
        try:
            s = socket.socket()
            s.settimeout(0.3)
            s.connect((HOST, PORT))
            socks.append(s)
        except OSError:
            break
    time.sleep(0.2)
    c0, t0 = cpu_ticks(), time.time()
    time.sleep(0.5)
    used = (cpu_ticks() - c0) / os.sysconf("SC_CLK_TCK") / (time.time() - t0)
    COUNTS[name] = len(socks)
    for s in socks:
        s.close()
    time.sleep(0.3)
    if used > 0.15:  # a paused server uses ~0%; a spinning one a whole core
        fail(name + ": no busy loop", "%.0f%% of a core while out of descriptors" % (used * 100))
    else:
        ok(name + ": no busy loop (%.0f%% of a core while out of descriptors)" % (used * 100))


def attack_repl_garbage(name, budget):
    """kv primary: a 'replica' that speaks garbage on the replication port."""
    end = time.time() + budget
    n = 0
    seeds = [b"START_REPLICATION 0\r\n", b"*2\r\n$4\r\nSYNC\r\n$1\r\n0\r\n", b"IDENTIFY\r\n",
             b"\x00" * 64, b"REPLCONF ACK 99999999999999999999\r\n", b"PSYNC ? -1\r\n"]
    while time.time() < end:
        try:
            s = connect(1.0)
            s.sendall(mutate(RNG.choice(seeds)) if RNG.random() < 0.7 else
                      bytes(RNG.randrange(256) for _ in range(RNG.randint(1, 5000))))
            read_then_drop(s, 4096)
            n += 1
        except OSError:
            pass
    COUNTS[name] = n


def fresh_replica():
    s = connect(port=CPORT)
    resp_cmd(s, b"PING")
    b = recv_until(s, lambda b: b.endswith(b"\r\n"))
    resp_cmd(s, b"GET", b"never-set-key")
    b += recv_until(s, lambda b: b.endswith(b"\r\n"))
    s.close()
    return b == b"+PONG\r\n$-1\r\n", b[:80]


def fake_primary(budget):
    """Listen as a primary, start a replica (env KV_BIN, KV_DIR) against it and answer
    each of its connections with garbage: a bad handshake, or +STREAM followed by real
    WAL records (env KV_RECORDS: a file of them) mutated."""
    global PID, CPORT
    import subprocess
    recs = open(os.environ["KV_RECORDS"], "rb").read()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((HOST, 0))
    ls.listen(16)
    fport = ls.getsockname()[1]
    logf = open(LOG, "wb")
    proc = subprocess.Popen([os.environ["KV_BIN"], "--role", "replica", "--port", "0", "--primary",
                             "%s:%d" % (HOST, fport), "--data-dir", os.environ["KV_DIR"]],
                            stdout=subprocess.PIPE, stderr=logf)
    PID = proc.pid
    line = proc.stdout.readline().decode()
    m = re.match(r"listening on 127\.0\.0\.1:(\d+)", line)
    if not m:
        fail("fake primary: replica started", line)
        proc.kill()
        return
    CPORT = int(m.group(1))
    FRESH["fakeprimary"] = fresh_replica
    end = time.time() + budget
    n = 0
    ls.settimeout(0.5)
    while time.time() < end:
        try:
            c, _ = ls.accept()
        except socket.timeout:
            continue
        c.settimeout(0.5)
        try:
            c.recv(4096)
            r = RNG.random()
            if r < 0.2:
                c.sendall(mutate(b"+STREAM 120\r\n"))
            elif r < 0.3:
                c.sendall(b"+" + b"S" * 5000)
            else:
                c.sendall(b"+STREAM 120\r\n" + mutate(recs))
            c.recv(4096)
        except OSError:
            pass
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
        n += 1
    COUNTS["fake primary"] = n
    after("fake primary")
    proc.terminate()
    try:
        rc = proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = "still running 10 s after SIGTERM"
    rep = sanitizer_report()
    if rc == 0 and not rep:
        ok("fake primary: the replica exits 0 on SIGTERM, no sanitizer report")
    else:
        fail("fake primary: the replica exits 0 on SIGTERM", "exit %s %s" % (rc, rep))


# The checks each attack prints: after()'s one, plus one of their own for these (RSS
# bounded, no busy loop, the replica's exit status).  A new attack that prints more
# must say so here: hostile.sh fails a run that printed more or fewer than planned.
CHECKS = {attack_pipeline: 2, attack_subscriber_never_reads: 2, attack_jobs_push: 2,
          attack_fd_exhaust: 2, "fake primary": 2}


def run(name, attack, *args):
    """One attack and its three assertions; False once the server is gone (the
    remaining attacks would only repeat that)."""
    try:
        attack(name, *args)
    except OSError as e:
        if alive():
            fail(name, "the attack itself failed: %r" % e)
    return after(name) or alive()


def main():
    per = SECONDS
    if KIND == "fakeprimary":
        say("plan %d" % CHECKS["fake primary"])
        fake_primary(per)
        return
    if KIND == "repl":
        say("plan 1")
        run("garbage replica", attack_repl_garbage, per)
        return
    if os.environ.get("FD_EXHAUST"):
        say("plan %d" % CHECKS.get(attack_fd_exhaust, 1))
        run("more connections than descriptors", attack_fd_exhaust, per)
        return
    plan = [("mutated requests", attack_mutate, per),
            ("disconnect at every phase", attack_disconnect, per / 2),
            ("abandon parked requests", attack_abandon, per)]
    if KIND == "jobs":
        plan += [("websocket frames", attack_ws, per),
                 ("hostile webhook receiver, stream readers that never read", attack_jobs_push, per)]
    if KIND == "resp":
        plan.append(("subscriber never reads", attack_subscriber_never_reads, per))
    plan += [("pipeline, never read", attack_pipeline, per),
             ("connections to the fd limit", attack_fds, per)]
    say("plan %d" % sum(CHECKS.get(attack, 1) for _, attack, _ in plan))
    for name, attack, secs in plan:
        if not run(name, attack, secs):
            break


if __name__ == "__main__":
    main()
