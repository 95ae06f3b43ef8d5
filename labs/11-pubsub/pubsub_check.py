#!/usr/bin/env python3
"""pubsub_check: behaviour checks the integration test runs against the broker (and that
work against a real redis-server too).  Each prints one line and exits 0 on success.

  pubsub_check.py fanout PORT SUBS MSGS     SUBS subscribers (half by channel, half by
                                            pattern) all get MSGS messages in order
  pubsub_check.py slow PORT                 a subscriber that never reads is cut off while a
                                            reading one gets everything and PUBLISH never stalls
  pubsub_check.py block PORT                XREADGROUP BLOCK wakes on XADD, and times out
  pubsub_check.py garbage PORT N            N malformed frames: each gets an error or a close,
                                            and the server still answers PING
  pubsub_check.py chaos PORT N              N well-formed commands with random arguments
                                            (stream and pub/sub verbs, odd IDs, counts, options)
                                            on 4 connections; every one gets a reply
  pubsub_check.py differential PORT_A PORT_B SEED N
                                            the same N random commands (no clock-dependent
                                            ones) to two servers: every reply byte-identical
  pubsub_check.py xrange PORT N             N pipelined XRANGE over a large stream, read as
                                            they come: all N whole
  pubsub_check.py xrange-stalled PORT N     three clients send N XRANGE each and do not read
                                            for a second (together over --max-output-memory):
                                            whole replies, or the end of the stream, never a
                                            cut reply followed by others
  pubsub_check.py crash BROKER DIR TRIALS   the broker (at its default appendfsync everysec)
                                            on DIR; per trial one client XADDs and another
                                            XACKs delivered entries, one reply at a time,
                                            until kill -9 at a random moment; after the
                                            restart every acknowledged XADD is there and no
                                            acknowledged XACK is pending again
"""
import os
import random
import socket
import subprocess
import sys
import threading
import time


def enc(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class R:
    """A minimal RESP reader over a socket."""

    def __init__(self, port, timeout=10):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def cmd(self, *args):
        self.s.sendall(enc(*args))
        return self.read()

    def _more(self):
        d = self.s.recv(1 << 20)
        if not d:
            raise EOFError("closed")
        self.buf += d

    def _line(self):
        while b"\r\n" not in self.buf:
            self._more()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return Exception(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._more()
            v, self.buf = self.buf[:n], self.buf[n + 2:]
            return v
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise ValueError("bad reply %r" % line)


def fail(msg):
    print("FAIL", msg)
    sys.exit(1)


def fanout(port, nsubs, nmsgs):
    subs = []
    for i in range(nsubs):
        r = R(port)
        if i % 2:
            r.cmd("PSUBSCRIBE", "fan.*")
        else:
            r.cmd("SUBSCRIBE", "fan.out")
        subs.append(r)
    pub = R(port)
    for m in range(nmsgs):
        n = pub.cmd("PUBLISH", "fan.out", "m%d" % m)
        if n != nsubs:
            fail("PUBLISH reached %r receivers, want %d" % (n, nsubs))
    for i, r in enumerate(subs):
        for m in range(nmsgs):
            msg = r.read()
            want = b"m%d" % m
            if msg[-1] != want or msg[-2] != b"fan.out":
                fail("subscriber %d message %d: %r" % (i, m, msg))
    print("fanout: %d subscribers x %d messages delivered in order" % (nsubs, nmsgs))


def slow(port):
    stuck = socket.create_connection(("127.0.0.1", port))
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.sendall(enc("SUBSCRIBE", "firehose"))
    good = R(port)
    good.cmd("SUBSCRIBE", "firehose")
    time.sleep(0.2)
    pub = R(port)
    payload = b"x" * 65536
    t0 = time.time()
    cut_at = None
    got = 0
    sent = 0
    for i in range(400):  # at most 26 MB
        n = pub.cmd("PUBLISH", "firehose", payload)
        sent += 1
        while True:  # the good subscriber keeps up
            try:
                good.s.setblocking(False)
                good._more()
            except (BlockingIOError, EOFError):
                break
            finally:
                good.s.setblocking(True)
        if n == 1 and cut_at is None:
            cut_at = i
            break
    took = time.time() - t0
    if cut_at is None:
        fail("the stuck subscriber was never disconnected (%d messages)" % sent)
    good.s.settimeout(10)
    while got < sent:
        m = good.read()
        if m[-1] != payload:
            fail("good subscriber got a bad message")
        got += 1
    if took > 20:
        fail("publishing stalled: %.1f s" % took)
    stuck.close()
    print("slow: stuck subscriber cut after %d x 64 KiB messages in %.2f s; the reading one got all %d"
          % (cut_at + 1, took, got))


def block(port):
    a, b = R(port), R(port)
    a.cmd("DEL", "jobs.block")
    r = a.cmd("XGROUP", "CREATE", "jobs.block", "g", "$", "MKSTREAM")
    if r != "OK":
        fail("XGROUP CREATE: %r" % r)
    # times out: nothing arrives
    t0 = time.time()
    r = a.cmd("XREADGROUP", "GROUP", "g", "c", "BLOCK", "400", "STREAMS", "jobs.block", ">")
    took = time.time() - t0
    if r is not None or not (0.35 <= took < 3.0):
        fail("timeout: reply %r after %.3f s (want nil after ~0.4 s)" % (r, took))
    # wakes on XADD
    a.s.sendall(enc("XREADGROUP", "GROUP", "g", "c", "BLOCK", "10000", "STREAMS", "jobs.block", ">"))
    time.sleep(0.3)
    t1 = time.time()
    eid = b.cmd("XADD", "jobs.block", "*", "job", "42")
    r = a.read()
    woke = time.time() - t1
    if not r or r[0][0] != b"jobs.block" or r[0][1][0][0] != eid or woke > 2.0:
        fail("wake: %r after %.3f s" % (r, woke))
    # BLOCK 0 waits until an entry comes, and two waiters are served in arrival order
    c = R(port)
    a.s.sendall(enc("XREADGROUP", "GROUP", "g", "c1", "COUNT", "1", "BLOCK", "0", "STREAMS", "jobs.block", ">"))
    time.sleep(0.1)
    c.s.sendall(enc("XREADGROUP", "GROUP", "g", "c2", "COUNT", "1", "BLOCK", "0", "STREAMS", "jobs.block", ">"))
    time.sleep(0.1)
    e1 = b.cmd("XADD", "jobs.block", "*", "job", "1")
    e2 = b.cmd("XADD", "jobs.block", "*", "job", "2")
    r1, r2 = a.read(), c.read()
    if r1[0][1][0][0] != e1 or r2[0][1][0][0] != e2:
        fail("FIFO waiters: %r %r" % (r1, r2))
    print("block: timeout after %.2f s, woken %.1f ms after XADD, waiters served in order"
          % (took, woke * 1000))


def garbage(port, n):
    frames = [b"*2\r\n$4\r\nECHO\r\n$x\r\n", b"*1\r\nPING\r\n", b"*99999999\r\n",
              b"$-7\r\n", b"*1\r\n$-2\r\n", b"*3\r\n$3\r\nSET\r\n$1\r\n", b"\x00\xff\r\n",
              b"*1\r\n$999999999999\r\n", b'"unbalanced\r\n', b"*-1\r\n", b"\r\n"]
    rnd = random.Random(7)
    for i in range(n):
        if i < len(frames):
            data = frames[i]
        else:
            data = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 64))) + b"\r\n"
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        try:
            while s.recv(65536):
                pass
        except (ConnectionResetError, socket.timeout):
            pass
        s.close()
    r = R(port).cmd("PING")
    if r != "PONG":
        fail("server does not answer after garbage: %r" % r)
    print("garbage: %d malformed inputs, server still answers PING" % n)


def chaos(port, n):
    rnd = random.Random(11)
    verbs = ["XADD"] * 4 + ["XGROUP"] * 2 + ["XREADGROUP"] * 3 + [
        "XLEN", "XRANGE", "XREVRANGE", "XACK", "XPENDING", "XCLAIM", "XAUTOCLAIM", "PUBLISH",
        "PING", "ECHO", "TYPE", "EXISTS"]
    words = ["k", "k2", "g", "g2", "c", "c2", "*", "0", "0-0", "1-1", "5", "5-*", "-", "+",
             "(1-0", "$", ">", "COUNT", "-1", "0", "2", "BLOCK", "1", "STREAMS", "GROUP",
             "CREATE", "SETID", "DESTROY", "CREATECONSUMER", "DELCONSUMER", "MKSTREAM",
             "NOACK", "JUSTID", "FORCE", "IDLE", "TIME", "RETRYCOUNT", "LASTID", "NOMKSTREAM",
             "18446744073709551615-18446744073709551615", "99999999999999999999", "", "x" * 300,
             "f", "v"]
    conns = [R(port) for _ in range(4)]
    for i in range(n):
        r = conns[i % 4]
        args = [rnd.choice(verbs)] + [rnd.choice(words) for _ in range(rnd.randrange(0, 9))]
        if rnd.random() < 0.002:
            args = ["DEL", rnd.choice(["k", "k2"])]
        if args[0] == "XADD" and rnd.random() < 0.5:
            args = ["XADD", rnd.choice(["k", "k2"]), "*", "f", "v"]
        if args[0] == "XREADGROUP" and "BLOCK" in args:
            args[args.index("BLOCK") + 1:args.index("BLOCK") + 2] = ["1"]
        try:
            r.cmd(*args)
        except EOFError:
            fail("connection closed after %r" % args)
    if R(port).cmd("PING") != "PONG":
        fail("no PONG after chaos")
    print("chaos: %d random commands answered, server still answers PING" % n)


def random_commands(seed, n):
    """Well-formed commands with arguments drawn from words the stream commands care about.
    Nothing depends on the clock (no '*' IDs, IDLE or TIME), so two servers must agree."""
    rnd = random.Random(seed)
    verbs = ["XADD"] * 4 + ["XGROUP"] * 2 + ["XREADGROUP"] * 3 + [
        "XLEN", "XRANGE", "XREVRANGE", "XACK", "XPENDING", "XCLAIM", "XAUTOCLAIM", "PUBLISH",
        "PING", "ECHO", "TYPE", "EXISTS"]
    words = ["k", "k2", "g", "g2", "c", "c2", "0", "0-0", "1-1", "5", "5-*", "-", "+", "(1-0",
             "$", ">", "COUNT", "-1", "2", "STREAMS", "GROUP", "CREATE", "SETID", "DESTROY",
             "CREATECONSUMER", "DELCONSUMER", "MKSTREAM", "NOACK", "JUSTID", "FORCE",
             "RETRYCOUNT", "LASTID", "NOMKSTREAM", "18446744073709551615-18446744073709551615",
             "99999999999999999999", "", "f", "v", "3-1", "7"]
    for i in range(n):
        args = [rnd.choice(verbs)] + [rnd.choice(words) for _ in range(rnd.randrange(0, 9))]
        if args[0] == "XADD" and rnd.random() < 0.5:
            args = ["XADD", rnd.choice(["k", "k2"]), "%d-%d" % (i, rnd.randrange(3)), "f", "v"]
        yield args


def differential(port_a, port_b, seed, n):
    def replies(port):
        r = R(port)
        r.s.sendall(enc("FLUSHALL"))
        r.read()
        out = []
        for args in random_commands(seed, n):
            r.s.sendall(enc(*args))
            start = len(r.buf)
            v = r.read()
            if args[0] == "XPENDING" and isinstance(v, list):
                v = repr(v)  # idle times differ: compare everything but the integers
                v = __import__("re").sub(r"\b\d+\b(?=[,\]])", "N", v)
            out.append((args, v if not isinstance(v, Exception) else "ERR:" + str(v)))
        return out
    a, b = replies(port_a), replies(port_b)
    bad = [(x[0], x[1], y[1]) for x, y in zip(a, b) if x[1] != y[1]]
    for args, x, y in bad[:5]:
        print("DIFF %r\n  A: %r\n  B: %r" % (args, x, y))
    if bad:
        fail("%d of %d random commands answered differently" % (len(bad), n))
    print("differential: %d random commands (seed %d), identical replies" % (n, seed))


def big_stream(port, entries):
    """A stream of `entries` 100-byte entries; returns one XRANGE of it and its reply."""
    setup = R(port)
    setup.cmd("DEL", "big")
    setup.s.sendall(b"".join(enc("XADD", "big", "*", "field", "v" * 100) for _ in range(entries)))
    for _ in range(entries):
        setup.read()
    one = enc("XRANGE", "big", "-", "+")
    setup.s.sendall(one)
    ref = b""
    while True:  # the reference reply, whole (raw bytes: they are what is compared)
        ref += setup.s.recv(1 << 20)
        try:
            Parse(ref).reply()
            return one, ref
        except IndexError:
            continue


def xrange_flood(port, n):
    """A client pipelining faster than it reads is slowed down: every reply comes whole.
    (Against a 1 GiB cap on one client's output, 1,100 such XRANGE once gave 1,030
    replies, a truncated array and a desynchronized client.)"""
    one, ref = big_stream(port, 1000)
    reader = socket.create_connection(("127.0.0.1", port), timeout=60)
    t = threading.Thread(target=send_quietly, args=(reader, one * n))
    t.start()
    got = read_whole(reader, ref, n)
    t.join()
    if got != n:
        fail("the reading client got %d of %d replies" % (got, n))
    if R(port).cmd("PING") != "PONG":
        fail("the broker stopped answering")
    print("xrange: %d pipelined XRANGE of %d KB each, all %d whole" % (n, len(ref) >> 10, n))


def xrange_stalled(port, n):
    """Three clients pipeline n XRANGE and do not read for a second: each is held at the
    broker's soft mark, together over its --max-output-memory, so the largest are
    closed.  What each receives is whole replies, then (when closed) the end of the
    stream: never a cut reply followed by others."""
    one, ref = big_stream(port, 1000)
    stalled = []
    for _ in range(3):
        s = socket.create_connection(("127.0.0.1", port))
        t = threading.Thread(target=send_quietly, args=(s, one * n))
        t.start()
        stalled.append((s, t))
    time.sleep(1.0)
    counts = []
    for s, t in stalled:
        s.settimeout(60)
        counts.append(read_whole(s, ref, n))
        t.join()
    closed = sum(1 for k in counts if k < n)
    if closed == 0:
        fail("no stalled client was over the output cap: the test did not test it")
    if closed == 3:
        fail("all three were closed: the cap closes the largest only until under it")
    if R(port).cmd("PING") != "PONG":
        fail("the broker stopped answering")
    print("xrange-stalled: 3 x %d pipelined, unread for 1 s: %d closed after %s whole replies "
          "and nothing cut, %d got all %d" % (n, closed, "/".join(str(k) for k in counts if k < n),
                                              3 - closed, n))


def send_quietly(s, data):
    try:
        s.sendall(data)
    except OSError:
        pass  # closed by the server: what read_whole checks


def read_whole(s, ref, n):
    """Reads until n replies or EOF: every reply must equal ref; bytes left at EOF must
    be a prefix of ref (the close cut it).  Returns how many whole replies came."""
    buf = b""
    got = 0
    while got < n:
        try:
            d = s.recv(1 << 20)
        except ConnectionResetError:
            d = b""
        if not d:
            if buf and not ref.startswith(buf):
                fail("after %d whole replies, %d bytes that are not a prefix of one" % (got, len(buf)))
            return got
        buf += d
        while len(buf) >= len(ref):
            if buf[:len(ref)] != ref:
                fail("reply %d is not whole: %r" % (got, buf[:80]))
            buf = buf[len(ref):]
            got += 1
    if buf:
        fail("%d bytes after the last reply" % len(buf))
    return got


class Parse:
    """Checks that a buffer starts with one complete reply (IndexError: incomplete)."""

    def __init__(self, b):
        self.b, self.i = b, 0

    def line(self):
        j = self.b.index(b"\r\n", self.i) if b"\r\n" in self.b[self.i:] else None
        if j is None:
            raise IndexError
        line, self.i = self.b[self.i:j], j + 2
        return line

    def reply(self):
        line = self.line()
        t, v = line[:1], line[1:]
        if t == b"*":
            for _ in range(int(v)):
                self.reply()
        elif t == b"$" and int(v) >= 0:
            if len(self.b) < self.i + int(v) + 2:
                raise IndexError
            self.i += int(v) + 2


def start_server(argv):
    """Starts a server that announces 'listening on 127.0.0.1:PORT'; (process, port)."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in p.stdout:
        if line.startswith("listening on 127.0.0.1:"):
            return p, int(line.rsplit(":", 1)[1])
    p.wait()
    fail("%s did not start (exit %s)" % (os.path.basename(argv[0]), p.returncode))


def stop_server(p, kill=False):
    """SIGKILL (a crash) or SIGTERM, then reaped."""
    if kill:
        p.kill()
    else:
        p.terminate()
    p.wait()
    p.stdout.close()


def start_broker(broker, d):
    return start_server([broker, "--port", "0", "--data-dir", d])


def crash(broker, d, trials):
    rng = random.Random(11)
    adds = acks = lost_adds = lost_acks = 0
    for t in range(trials):
        p, port = start_broker(broker, d)
        r = R(port)
        key = "crash:%d" % t
        for i in range(300):
            r.cmd("XADD", key, "*", "n", str(i))
        r.cmd("XGROUP", "CREATE", key, "g", "0")
        got = r.cmd("XREADGROUP", "GROUP", "g", "c", "COUNT", "300", "STREAMS", key, ">")
        ids = [e[0].decode() for e in got[0][1]]
        added, acked = [], []

        def adder():
            a = R(port)
            try:
                for i in range(100000):
                    v = a.cmd("XADD", key + ":new", "*", "n", str(i))
                    if isinstance(v, bytes):
                        added.append(v.decode())
            except (OSError, EOFError):
                pass

        def acker():
            a = R(port)
            try:
                for i in ids:
                    if a.cmd("XACK", key, "g", i) == 1:
                        acked.append(i)
            except (OSError, EOFError):
                pass

        th = [threading.Thread(target=f) for f in (adder, acker)]
        for x in th:
            x.start()
        time.sleep(rng.uniform(0.01, 0.15))
        stop_server(p, kill=True)
        for x in th:
            x.join()
        p, port = start_broker(broker, d)
        r = R(port)
        have = {e[0].decode() for e in r.cmd("XRANGE", key + ":new", "-", "+")}
        pending = {e[0].decode() for e in r.cmd("XPENDING", key, "g", "-", "+", "1000")}
        stop_server(p)
        adds += len(added)
        acks += len(acked)
        lost_adds += sum(1 for i in added if i not in have)
        lost_acks += sum(1 for i in acked if i in pending)
    line = ("crash: %d kill -9 trials at everysec: %d acknowledged XADDs, %d lost; %d "
            "acknowledged XACKs, %d pending again" % (trials, adds, lost_adds, acks, lost_acks))
    if lost_adds or lost_acks or not adds or not acks:
        fail(line)
    print(line)


def main():
    if sys.argv[1:2] == ["crash"]:
        crash(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    what, port = sys.argv[1], int(sys.argv[2])
    if what == "fanout":
        fanout(port, int(sys.argv[3]), int(sys.argv[4]))
    elif what == "slow":
        slow(port)
    elif what == "block":
        block(port)
    elif what == "differential":
        differential(port, int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    elif what == "chaos":
        chaos(port, int(sys.argv[3]))
    elif what == "garbage":
        garbage(port, int(sys.argv[3]))
    elif what == "xrange":
        xrange_flood(port, int(sys.argv[3]))
    elif what == "xrange-stalled":
        xrange_stalled(port, int(sys.argv[3]))
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
