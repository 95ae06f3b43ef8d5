#!/usr/bin/env python3
"""resp_compare: send the same scripted command sequences to two RESP servers over
raw TCP and compare the reply bytes exactly (the broker against a real redis-server).

Usage: resp_compare.py SCRIPT PORT_A [PORT_B]
  With one port it prints the transcript (to see what a server replies); with two it
  prints every step whose bytes differ and exits 1 when any does.

Script lines (one step each, '#' starts a comment):
  [CLIENT>] [@N] CMD ARG...   send CMD (shell-style quoting) as a RESP array on
                              connection CLIENT (default 'a') and read N replies (default 1;
                              SUBSCRIBE-family commands default to one per argument)
  [CLIENT>] @recv N           read N replies (pushed messages) without sending
  [CLIENT>] @raw PYBYTES      send raw bytes (a Python bytes literal), read 1 reply or EOF
  [CLIENT>] @close            close the connection
  @sleep MS                   wait
  A step whose line ends with '  ~idle' has every integer reply replaced by ':N' before the
  comparison (idle times are clock-dependent).
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
        d = self.s.recv(65536)
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

    def send(self, data):
        self.s.sendall(data)


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def run(script, port):
    conns = {}
    steps = []
    for lineno, raw in enumerate(open(script, encoding="utf-8"), 1):
        line = raw.rstrip("\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        mask = line.endswith("  ~idle")
        if mask:
            line = line[: -len("  ~idle")]
        m = re.match(r"\s*(\w+)>\s*(.*)$", line)
        cname, rest = (m.group(1), m.group(2)) if m else ("a", line.strip())
        if rest.startswith("@sleep"):
            time.sleep(int(rest.split()[1]) / 1000)
            continue
        if cname not in conns:
            conns[cname] = Conn(port)
        c = conns[cname]
        replies = []
        if rest.startswith("@recv"):
            n = int(rest.split()[1])
        elif rest.startswith("@raw"):
            c.send(ast.literal_eval(rest[4:].strip()))
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
            args = shlex.split(rest)
            if n is None:
                n = max(len(args) - 1, 1) if args[0].lower() in SUBS else 1
            c.send(encode(args))
        for _ in range(n):
            replies.append(c.read_reply())
        got = b"".join(replies)
        if mask:
            got = re.sub(rb"\r\n:\d+\r\n", b"\r\n:N\r\n", b"\r\n" + got)[2:]
        steps.append(("%d: %s> %s" % (lineno, cname, rest), got))
    return steps


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__)
        return 2
    a = run(sys.argv[1], int(sys.argv[2]))
    if len(sys.argv) == 3:
        for step, got in a:
            print(step)
            print("   ", got)
        return 0
    b = run(sys.argv[1], int(sys.argv[3]))
    bad = 0
    for (step, x), (_, y) in zip(a, b):
        if x != y:
            bad += 1
            print("DIFF %s\n  A: %r\n  B: %r" % (step, x, y))
    print("%d steps, %d differ" % (len(a), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
