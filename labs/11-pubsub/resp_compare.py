#!/usr/bin/env python3
"""resp_compare: send the same scripted command sequences to two RESP servers over
raw TCP and compare the reply bytes exactly (the broker against a real redis-server).

Usage: resp_compare.py [--commands FILE] SCRIPT PORT_A [PORT_B]
  With one port it prints the transcript (to see what a server replies); with two it
  prints every step whose bytes differ and exits 1 when any does.  PORT_A is the
  reference (Redis), PORT_B the server under test (the broker).
  --commands FILE: every command named in FILE (one a line, the broker's
  --list-commands) must be the first word of at least one step, or the run fails: a
  command added to the table without a comparison is noticed.

Script lines (one step each, '#' starts a comment):
  [CLIENT>] [@N] CMD ARG...   send CMD (shell-style quoting) as a RESP array on
                              connection CLIENT (default 'a') and read N replies (default 1;
                              SUBSCRIBE-family commands default to one per argument).
                              A word {W1,W2*N} stands for W1 W2 repeated N times, %d in
                              them replaced by 0..N-1 ({f%d,v%d*600}: 600 field pairs).
  [CLIENT>] @recv N           read N replies (pushed messages) without sending
  [CLIENT>] @raw PYBYTES      send raw bytes (a Python bytes literal, or literals joined
                              with + and repeated with *), read 1 reply or EOF
  [CLIENT>] @rawall PYBYTES   send raw bytes, then read everything until the server closes
                              (<EOF>) or is quiet for 300 ms (<OPEN>)
  [CLIENT>] @close            close the connection
  @sleep MS                   wait
  A step whose line ends with '  ~idle' has every integer reply replaced by ':N' before the
  comparison (idle times are clock-dependent).
  A step whose line ends with '  ~differs PYBYTES REASON' is a listed exception: the
  server under test must answer exactly PYBYTES (Redis's answer is shown), and REASON
  says why it differs on purpose.
"""
import ast
import re
import shlex
import socket
import sys
import time

SUBS = {"subscribe", "unsubscribe", "psubscribe", "punsubscribe"}


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""
        self.eof = False

    def _fill(self):
        if self.eof:
            raise EOFError
        try:
            d = self.s.recv(65536)
        except ConnectionResetError:
            d = b""
        if not d:
            self.eof = True
            raise EOFError
        self.buf += d

    def _line(self, pos):
        while True:
            i = self.buf.find(b"\r\n", pos)
            if i >= 0:
                return i
            self._fill()

    def _reply_end(self, pos):
        """Index just past one complete reply starting at pos (reads more as needed)."""
        while len(self.buf) <= pos:
            self._fill()
        t = self.buf[pos:pos + 1]
        e = self._line(pos)
        if t in (b"+", b"-", b":"):
            return e + 2
        n = int(self.buf[pos + 1:e])
        if t == b"$":
            if n < 0:
                return e + 2
            while len(self.buf) < e + 2 + n + 2:
                self._fill()
            return e + 2 + n + 2
        if t == b"*":
            p = e + 2
            for _ in range(max(n, 0)):
                p = self._reply_end(p)
            return p
        raise ValueError("bad reply type %r in %r" % (t, self.buf[pos:pos + 80]))

    def read_reply(self):
        try:
            end = self._reply_end(0)
        except EOFError:
            rest, self.buf = self.buf, b""
            return rest + b"<EOF>"
        except socket.timeout:
            rest, self.buf = self.buf, b""
            return rest + b"<TIMEOUT>"
        r, self.buf = self.buf[:end], self.buf[end:]
        return r

    def read_all(self):
        """Everything until EOF, or until the server is quiet for 300 ms."""
        self.s.settimeout(0.3)
        out = self.buf
        self.buf = b""
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return out + b"<EOF>"
                out += d
        except socket.timeout:
            return out + b"<OPEN>"
        except OSError:
            return out + b"<EOF>"
        finally:
            self.s.settimeout(5)

    def send(self, data):
        try:
            self.s.sendall(data)
        except OSError:
            pass  # the server closed: the replies read next show it


def literal(text):
    """A bytes literal, or literals and integers combined with + and * (b"1" * 70000)."""
    def ev(n):
        if isinstance(n, ast.Constant) and isinstance(n.value, (bytes, int)):
            return n.value
        if isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Add, ast.Mult)):
            a, b = ev(n.left), ev(n.right)
            return a + b if isinstance(n.op, ast.Add) else a * b
        raise ValueError("not a bytes expression: %r" % text)
    v = ev(ast.parse(text.strip(), mode="eval").body)
    if not isinstance(v, bytes):
        raise ValueError("not bytes: %r" % text)
    return v


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def expand(words):
    """{W1,W2*N} -> W1 W2 repeated N times with %d as the index."""
    out = []
    for w in words:
        m = re.fullmatch(r"\{(.+)\*(\d+)\}", w)
        if not m:
            out.append(w)
            continue
        parts = m.group(1).split(",")
        for i in range(int(m.group(2))):
            out.extend(p.replace("%d", str(i)) for p in parts)
    return out


def parse(script):
    """The steps: (lineno, client, rest, mask, exception) with exception (bytes, reason)."""
    steps = []
    for lineno, raw in enumerate(open(script, encoding="utf-8"), 1):
        line = raw.rstrip("\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        exc = None
        m = re.search(r"  ~differs (b\"(?:[^\"\\]|\\.)*\"|b'(?:[^'\\]|\\.)*') (.+)$", line)
        if m:
            exc = (ast.literal_eval(m.group(1)), m.group(2))
            line = line[:m.start()]
        mask = line.endswith("  ~idle")
        if mask:
            line = line[: -len("  ~idle")]
        m = re.match(r"\s*(\w+)>\s*(.*)$", line)
        cname, rest = (m.group(1), m.group(2)) if m else ("a", line.strip())
        steps.append((lineno, cname, rest, mask, exc))
    return steps


def run(steps, port):
    conns = {}
    out = []
    for lineno, cname, rest, mask, exc in steps:
        if rest.startswith("@sleep"):
            time.sleep(int(rest.split()[1]) / 1000)
            continue
        if cname not in conns:
            conns[cname] = Conn(port)
        c = conns[cname]
        replies = []
        if rest.startswith("@recv"):
            n = int(rest.split()[1])
        elif rest.startswith("@rawall"):
            c.send(literal(rest[7:]))
            replies.append(c.read_all())
            n = 0
        elif rest.startswith("@raw"):
            c.send(literal(rest[4:]))
            n = 1
        elif rest.startswith("@close"):
            c.s.close()
            del conns[cname]
            n = 0
        else:
            n = None
            if rest.startswith("@"):
                first, rest = rest.split(None, 1)
                n = int(first[1:])
            args = expand(shlex.split(rest))
            if n is None:
                n = max(len(args) - 1, 1) if args[0].lower() in SUBS else 1
            c.send(encode(args))
        for _ in range(n):
            replies.append(c.read_reply())
        got = b"".join(replies)
        if mask:
            got = re.sub(rb"\r\n:\d+\r\n", b"\r\n:N\r\n", b"\r\n" + got)[2:]
        shown = rest if len(rest) < 120 else rest[:117] + "..."
        out.append(("%d: %s> %s" % (lineno, cname, shown), got, exc))
    return out


def first_words(steps):
    words = set()
    for _, _, rest, _, _ in steps:
        if rest.startswith("@") and not re.match(r"@\d+ ", rest):
            continue
        rest = re.sub(r"^@\d+ ", "", rest)
        w = shlex.split(rest)
        if w:
            words.add(w[0].lower())
    return words


def main():
    argv = sys.argv[1:]
    commands = None
    if argv[:1] == ["--commands"]:
        commands = [l.strip().lower() for l in open(argv[1]) if l.strip()]
        argv = argv[2:]
    if len(argv) not in (2, 3):
        print(__doc__)
        return 2
    steps = parse(argv[0])
    if commands is not None:
        missing = sorted(set(commands) - first_words(steps))
        if missing:
            print("commands of the table with no step in %s: %s" % (argv[0], " ".join(missing)))
            return 1
    a = run(steps, int(argv[1]))
    if len(argv) == 2:
        for step, got, _ in a:
            print(step)
            print("   ", got)
        return 0
    b = run(steps, int(argv[2]))
    bad = exceptions = same = 0
    for (step, x, exc), (_, y, _) in zip(a, b):
        if exc is not None:
            exceptions += 1
            if y != exc[0]:
                bad += 1
                print("DIFF %s (listed exception: %s)\n  want: %r\n  got:  %r"
                      % (step, exc[1], exc[0], y))
            elif x == y:
                print("NOTE %s: listed as an exception but now identical to the reference" % step)
        elif x != y:
            bad += 1
            print("DIFF %s\n  A: %r\n  B: %r" % (step, x, y))
        else:
            same += 1
    print("%d steps, %d identical, %d listed exceptions, %d differ"
          % (len(a), same, exceptions, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
