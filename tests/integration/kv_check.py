#!/usr/bin/env python3
"""kv_check: checks wal.sh runs against kv-server (python3 stdlib).  Each prints one line
and exits 0 on success, 1 with a FAIL line otherwise.

  kv_check.py pipeline PORT N          N SETs pipelined while the replies are read: all N
                                       answered +OK, in order, the connection kept
  kv_check.py pipeline-first PORT N    the same, every SET written before any reply is read
  kv_check.py keys PORT_REF PORT N     N keys of 500 to 700 bytes into both servers, then
                                       KEYS with patterns of 600 bytes: the same keys match
                                       on both (PORT_REF: a real redis-server)
  kv_check.py dirty KV DIR TRIALS      kv-server KV at local with --sim-power-loss, per
                                       trial: client A sends a SET and does not wait,
                                       client B GETs the key until it sees the value,
                                       kill -9, restart (the WAL cut to what was
                                       fdatasync'd): a value B was shown must be there
  kv_check.py writer PORT N            N SETs of 1000 bytes pipelined to a server whose
                                       WAL writer fails meanwhile: some acknowledged, some
                                       refused; each acknowledged one reads back, no
                                       refused one is visible
"""
import os
import random
import socket
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../labs/11-pubsub"))
from pubsub_check import R, start_server, stop_server  # noqa: E402  (shared by both labs' checks)


def fail(msg):
    print("FAIL", msg)
    sys.exit(1)


def enc(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def read_oks(s, n):
    """Reads n '+OK' replies; anything else (an error, EOF) fails with what came."""
    want = b"+OK\r\n"
    buf = b""
    got = 0
    while got < n:
        d = s.recv(1 << 20)
        if not d:
            fail("connection closed after %d of %d replies (then %r)" % (got, n, buf[:100]))
        buf += d
        k = len(buf) // len(want)
        if buf[: k * len(want)] != want * k:
            i = buf.find(b"-")
            fail("reply %d is not +OK: %r" % (got, buf[i:i + 120] if i >= 0 else buf[:120]))
        got += k
        buf = buf[k * len(want):]
    if buf:
        fail("%d bytes after the %d replies" % (len(buf), n))
    return got


def pipeline(port, n, write_first):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    data = b"".join(enc("SET", "p:%d" % i, "v%d" % i) for i in range(n))
    if write_first:
        s.sendall(data)
        got = read_oks(s, n)
    else:
        t = threading.Thread(target=s.sendall, args=(data,))
        t.start()
        got = read_oks(s, n)
        t.join()
    s.sendall(enc("PING"))
    if s.recv(100) != b"+PONG\r\n":
        fail("no PONG after the pipeline")
    print("pipeline: %d SETs (%d KB) %s: %d +OK, in order, connection kept"
          % (n, len(data) >> 10, "written before reading" if write_first else "read as sent",
             got))


def keys(port_ref, port, n):
    rng = random.Random(600)
    base = "k" * 550
    names = []
    for i in range(n):
        mid = rng.choice("abcxyz")
        tail = "".join(rng.choice("abc*?[]\\") for _ in range(rng.randint(0, 140)))
        names.append("%s%s%04d%s" % (base, mid, i, tail))
    patterns = [
        base + "a" + "*",                 # 552 bytes
        base + "[a-c]" + "????" + "*",    # a class and single bytes past 512
        base + "*" + "\\*" + "*",         # keys holding a literal '*'
        base + "[^ax]" + "*" + "?" * 30,  # a negated class, 30+ more bytes
        "*" + "k" * 598 + "*",            # 600 bytes matching nothing (keys have 550 'k')
        base + "b" + "*" + "c" * 60 + "*",
    ]
    patterns = [p + "*" * (600 - len(p)) if len(p) < 600 else p for p in patterns]
    a, b = R(port_ref, 30), R(port, 30)
    a.cmd("FLUSHALL")
    for c in (a, b):
        for name in names:
            c.s.sendall(enc("SET", name, "v"))
        for _ in names:
            if isinstance(c.read(), Exception):
                fail("SET refused")
    matched = []
    for p in patterns:
        ra, rb = a.cmd("KEYS", p), b.cmd("KEYS", p)
        if isinstance(ra, Exception) or isinstance(rb, Exception):
            fail("KEYS refused: %r %r" % (ra, rb))
        ra, rb = sorted(ra), sorted(rb)
        if ra != rb:
            fail("KEYS of a %d-byte pattern: redis %d keys, kv-server %d" % (len(p), len(ra), len(rb)))
        matched.append(len(ra))
    if sum(1 for m in matched if m) < 4 or matched[4] != 0:
        fail("the patterns do not discriminate (matches %s)" % matched)
    print("keys: %d keys of 555-700 bytes, %d patterns of %d bytes: the same keys as Redis "
          "(%s matched)" % (n, len(patterns), len(patterns[0]), "/".join(map(str, matched))))


def start_kv(kv, d):
    """kv-server at local with the power-loss simulation; (process, port)."""
    return start_server([kv, "--role", "primary", "--port", "0", "--data-dir", d,
                         "--synchronous-commit", "local", "--sim-power-loss"])


def dirty(kv, d, trials):
    shown = lost = 0
    for t in range(trials):
        p, port = start_kv(kv, d)
        key, val = "dirty:%d" % t, ("v%d:" % t + "x" * 2000).encode()
        a = socket.create_connection(("127.0.0.1", port), timeout=10)
        b = R(port)
        a.sendall(enc("SET", key, val))
        got = None
        for _ in range(2000):
            got = b.cmd("GET", key)
            if got is not None:
                break
        stop_server(p, kill=True)  # as soon as B has its reply
        a.close()
        if got == val:
            shown += 1
        p, port = start_kv(kv, d)
        after = R(port).cmd("GET", key)
        stop_server(p)
        if got == val and after != val:
            lost += 1
    line = ("dirty: %d trials, %d reads shown the value, %d of those gone after a simulated "
            "power loss" % (trials, shown, lost))
    if lost or shown == 0:
        fail(line)
    print(line)


def writer_fail(port, n):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    vals = [("w%d:" % i + "y" * 1000).encode() for i in range(n)]
    s.sendall(b"".join(enc("SET", "wf:%d" % i, vals[i]) for i in range(n)))
    r = R(port)
    r.s, r.buf = s, b""
    acked = [not isinstance(r.read(), Exception) for _ in range(n)]
    r = R(port)
    shown_refused = lost = 0
    for i in range(n):
        got = r.cmd("GET", "wf:%d" % i)
        if acked[i] and got != vals[i]:
            lost += 1
        if not acked[i] and got == vals[i]:
            shown_refused += 1
    na = sum(acked)
    line = ("writer: the WAL writer failed under %d SETs: %d acknowledged, %d refused; %d "
            "acknowledged not read back, %d refused visible" % (n, na, n - na, lost, shown_refused))
    if na == 0 or na == n or lost or shown_refused:
        fail(line)
    print(line)


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what in ("pipeline", "pipeline-first"):
        pipeline(int(sys.argv[2]), int(sys.argv[3]), what == "pipeline-first")
    elif what == "dirty":
        dirty(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif what == "writer":
        writer_fail(int(sys.argv[2]), int(sys.argv[3]))
    elif what == "keys":
        keys(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
