#!/usr/bin/env bash
# test: alone (thousands of connections, the fd limit and RSS bounds: no other script beside it)
# Integration tests for labs/03-io-models: the same checks against server-blocking,
# server-epoll and server-uring, with curl, wrk and raw sockets (python3):
# routes, keep-alive, 16 pipelined requests in order, 100,000 pipelined requests
# read late and a fast pipeliner reading slowly (all answered, none cut off),
# half-closed requests answered, chunked echo, each bad-input class with its
# status (and the next connection still served), a refused request ended with a
# FIN not a reset, the body budget (503 past it), slowloris (408 at the request
# deadline) and a vanishing peer, /delay not delaying others (event-loop
# servers), 10,000 idle connections while requests are still served, SIGINT and
# SIGTERM stop cleanly and the port can be bound again at once.
source "$(dirname "$0")/../lib.sh"
need curl python3 wrk

# 10,000 idle connections need fds on both sides (servers raise their soft limit
# to the hard one; the python client raises its own).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
IDLE_CONNS=${IDLE_CONNS:-10000}

PY="$T_TMP/client.py"
cat >"$PY" <<'EOF'
# Raw-socket client for io-models.sh: each subcommand prints "ok" or a reason.
import os, resource, select, socket, sys, threading, time

def conn(port, timeout=15.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s

def read_response(f):
    """(status, headers dict, body) of one response from a buffered reader."""
    line = f.readline()
    if not line:
        raise EOFError("connection closed")
    status = int(line.split()[1])
    hdrs = {}
    while True:
        h = f.readline()
        if h in (b"\r\n", b""):
            break
        k, v = h.decode().split(":", 1)
        hdrs[k.strip().lower()] = v.strip()
    body = b""
    if hdrs.get("transfer-encoding") == "chunked":
        while True:
            n = int(f.readline().split(b";")[0], 16)
            if n == 0:
                f.readline()
                break
            body += f.read(n)
            f.readline()
    elif "content-length" in hdrs:
        body = f.read(int(hdrs["content-length"]))
    return status, hdrs, body

def get(port, path="/"):
    s = conn(port)
    s.sendall(b"GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % path.encode())
    r = read_response(s.makefile("rb"))
    s.close()
    return r

def cmd_keepalive(port):
    s = conn(port)
    f = s.makefile("rb")
    for i in range(5):
        s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n")
        st, h, b = read_response(f)
        if st != 200 or b != b"Hello, World!":
            return "request %d: %d %r" % (i, st, b)
    return "ok"

def cmd_pipeline(port):
    s = conn(port)
    reqs = b"".join(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n%s"
                    % (len(str(i)), str(i).encode()) for i in range(16))
    s.sendall(reqs)
    f = s.makefile("rb")
    got = [read_response(f)[2].decode() for _ in range(16)]
    want = [str(i) for i in range(16)]
    return "ok" if got == want else "order %s" % got

def cmd_raw(port, data, want_status):
    """Sends data, expects want_status and then the connection closed."""
    s = conn(port)
    s.sendall(data.encode().decode("unicode_escape").encode("latin-1"))
    f = s.makefile("rb")
    st, h, b = read_response(f)
    if st != int(want_status):
        return "status %d, want %s (%r)" % (st, want_status, b)
    s.settimeout(3)
    try:
        rest = f.read(1)
    except socket.timeout:
        return "connection not closed after %d" % st
    except ConnectionResetError:
        rest = b""
    return "ok" if rest == b"" else "data after the error: %r" % rest

def cmd_http10(port):
    s = conn(port)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    f = s.makefile("rb")
    st, h, b = read_response(f)
    if st != 200 or h.get("connection", "").lower() != "close" or f.read(1) != b"":
        return "1.0: %d %r" % (st, h)
    s = conn(port)
    s.sendall(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n")
    f = s.makefile("rb")
    st1, h1, _ = read_response(f)
    st2, h2, _ = read_response(f)
    if h1.get("connection", "").lower() != "keep-alive" or st2 != 200:
        return "1.0 keep-alive: %r %r" % (h1, h2)
    return "ok"

def timed_get(port):
    t = time.monotonic()
    st, _, b = get(port)
    return st, time.monotonic() - t

def cmd_slowloris(port, limit):
    """A trickling client does not delay others, gets 408 at the request deadline
    (limit s after its first byte) and is closed."""
    limit = float(limit)
    s = conn(port)
    s.sendall(b"GET / HTTP/1.1\r\nHo")
    t0 = time.monotonic()
    st, dt = timed_get(port)
    if st != 200 or dt > 0.5:
        return "concurrent GET: %d in %.3f s" % (st, dt)
    s.settimeout(0.2)
    got = b""
    while time.monotonic() - t0 < limit * 4 + 2:
        try:
            s.sendall(b"x")  # one byte every 0.2 s: a fresh timeout per byte would never end
            d = s.recv(1024)
            if d == b"":
                break
            got += d
        except socket.timeout:
            continue
        except (BrokenPipeError, ConnectionResetError):
            break
    else:
        return "slowloris connection still open after %.1f s" % (time.monotonic() - t0)
    el = time.monotonic() - t0
    if el < limit * 0.8:
        return "closed too early (%.2f s)" % el
    if not got.startswith(b"HTTP/1.1 408 "):
        return "closed without a 408: %r" % got[:60]
    return "ok"

def cmd_halfclose(port, n):
    """GET then shutdown(SHUT_WR): the answer still comes (n tries), and so do the
    answers to 3 pipelined requests sent before the half-close."""
    lost = 0
    for i in range(int(n)):
        s = conn(port, timeout=5)
        reqs = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n" * (3 if i % 2 else 1)
        s.sendall(reqs)
        s.shutdown(socket.SHUT_WR)
        b = b""
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    break
                b += d
        except OSError:
            pass
        s.close()
        if b.count(b"Hello, World!") != reqs.count(b"GET"):
            lost += 1
    return "ok" if lost == 0 else "%d of %s half-closed clients got no (or not every) answer" % (lost, n)

def count_responses(s, n, timeout):
    """Reads until n responses to GET /plaintext came (or EOF, or timeout s of quiet)."""
    s.settimeout(timeout)
    got, tail = 0, b""
    try:
        while got < n:
            d = s.recv(1 << 20)
            if not d:
                break
            tail += d
            got += tail.count(b"Hello, World!")
            tail = tail[-12:]
    except OSError:
        pass
    return got

def cmd_flood(port, n, late):
    """n pipelined requests sent at once; the client starts reading only `late`
    seconds later.  Every one is answered, in full."""
    n = int(n)
    s = conn(port)
    one = b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n"
    t = threading.Thread(target=lambda: s.sendall(one * n), daemon=True)
    t.start()
    time.sleep(float(late))
    got = count_responses(s, n, 5)
    s.close()
    return "ok" if got == n else "%d of %d pipelined requests answered" % (got, n)

def cmd_fastpipe(port, n):
    """A client pipelining faster than it reads (a little at a time): the server
    slows it down, it is not cut off."""
    n = int(n)
    s = conn(port)
    one = b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n"
    def send():
        try:
            for _ in range(n // 1000):
                s.sendall(one * 1000)
        except OSError:
            pass
    threading.Thread(target=send, daemon=True).start()
    s.settimeout(5)
    got, tail = 0, b""
    try:
        while got < n:
            d = s.recv(16384)
            if not d:
                break
            tail += d
            got += tail.count(b"Hello, World!")
            tail = tail[-12:]
            time.sleep(0.0005)
    except OSError:
        pass
    s.close()
    return "ok" if got == n // 1000 * 1000 else "answered %d of %d, then closed" % (got, n)

def cmd_refused_fin(port, n):
    """A 100 KB header section: 431, and then EOF, not a reset (the server lingers,
    draining what the client still sends, instead of closing on unread input)."""
    resets = 0
    for _ in range(int(n)):
        s = conn(port, timeout=5)
        try:
            s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n")
        except OSError:
            pass
        f = s.makefile("rb")
        try:
            st, _, _ = read_response(f)
            if st != 431:
                return "status %d, want 431" % st
            if f.read(1) != b"":
                return "data after the 431"
        except ConnectionResetError:
            resets += 1
        s.close()
    return "ok" if resets == 0 else "%d of %s ended with a reset" % (resets, n)

def cmd_budget(port, budget, body):
    """--max-body-memory budget: of 3 * budget/body unfinished POSTs of body bytes,
    budget/body are held and the rest get 503 with Retry-After; the held ones
    finish and are echoed; then a fresh POST is served."""
    budget, body = int(budget), int(body)
    fit, n = budget // body, 3 * (budget // body)
    socks = []
    for i in range(n):
        s = conn(port, timeout=5)
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % body + b"b" * 1000)
        socks.append(s)
        time.sleep(0.01)  # in order: the first ones take the budget
    pending, refused, end = set(socks), 0, time.monotonic() + 10
    while time.monotonic() < end:
        r, _, _ = select.select(list(pending), [], [], 0.5 if refused >= n - fit else 0.2)
        if not r and refused >= n - fit:
            break  # the rest stay quiet: they are held
        for s in r:
            d = s.recv(4096)
            if not (d.startswith(b"HTTP/1.1 503 ") and b"Retry-After: 1" in d):
                return "neither held nor 503: %r" % d[:80]
            refused += 1
            pending.remove(s)
    held = [s for s in socks if s in pending]
    if len(held) != fit or refused != n - fit:
        return "%d held and %d refused of %d, want %d held" % (len(held), refused, n, fit)
    for s in held:
        s.setblocking(True)
        s.sendall(b"b" * (body - 1000))
        st, _, b = read_response(s.makefile("rb"))
        if st != 200 or len(b) != body:
            return "a held POST got %d with %d bytes" % (st, len(b))
    for s in socks:
        s.close()
    s = conn(port)
    s.sendall(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % body)
    s.sendall(b"c" * body)
    st, _, b = read_response(s.makefile("rb"))
    return "ok" if st == 200 and len(b) == body else "after: %d" % st

def cmd_restart(port, binary, rounds):
    """Stop the server (SIGINT, then SIGTERM, alternating) with keep-alive and
    half-sent requests open; the port must be free the moment it has exited (a
    bind probe) and the server must start on it again; each exit status 0."""
    import signal, subprocess
    port = 0
    for r in range(int(rounds)):
        p = subprocess.Popen([binary, "--port", str(port)], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
        line = p.stdout.readline().decode()
        if "listening on" not in line:
            p.kill()
            return "round %d: no 'listening on' line (%r)" % (r, line)
        port = int(line.strip().rsplit(":", 1)[1])
        held = []
        for i in range(3):
            s = conn(port)
            s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            s.recv(1000)
            if i == 2:
                s.sendall(b"GET / HT")
            held.append(s)
        p.send_signal(signal.SIGINT if r % 2 == 0 else signal.SIGTERM)
        try:
            rc = p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            return "round %d: still running 10 s after the signal" % r
        if rc != 0:
            return "round %d: exit status %d" % (r, rc)
        probe = socket.socket()
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            probe.listen()
        except OSError as e:
            return "round %d: port %d not free right after exit: %s" % (r, port, e)
        finally:
            probe.close()
        for s in held:
            s.close()
    return "ok"

def cmd_silent(port, idle):
    idle = float(idle)
    s = conn(port)
    t0 = time.monotonic()
    s.settimeout(idle * 4 + 2)
    try:
        d = s.recv(1)
    except socket.timeout:
        return "silent connection not closed"
    except ConnectionResetError:
        d = b""
    el = time.monotonic() - t0
    return "ok" if d == b"" and el >= idle * 0.8 else "closed after %.2f s (%r)" % (el, d)

def cmd_delay(port, blocking):
    """/delay?ms=500 on one connection; GET / on another meanwhile."""
    s = conn(port)
    t0 = time.monotonic()
    s.sendall(b"GET /delay?ms=500 HTTP/1.1\r\nHost: t\r\n\r\n")
    time.sleep(0.05)
    st, dt = timed_get(port)
    f = s.makefile("rb")
    dst, _, body = read_response(f)
    total = time.monotonic() - t0
    if dst != 200 or body != b"delayed 500 ms\n" or total < 0.45:
        return "delay: %d %r after %.3f s" % (dst, body, total)
    if blocking == "iterative":
        return "ok" if dt >= 0.3 else "iterative server did not block (%.3f s)" % dt
    return "ok" if st == 200 and dt < 0.25 else "GET / took %.3f s during a delay" % dt

def cmd_vanish(port):
    """Peers that vanish mid-request and mid-response cost only their connection."""
    s = conn(port)
    s.sendall(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\nabc")
    s.close()
    for _ in range(3):
        s = conn(port)
        body = b"x" * 900000
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()  # RST while the server writes the echo
    st, _, _ = get(port)
    return "ok" if st == 200 else "after vanishing peers: %d" % st

def cmd_noread(port, idle):
    """A peer that sends requests but never reads the responses is cut off."""
    idle = float(idle)
    s = conn(port)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    body = b"x" * 900000
    req = b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    t0 = time.monotonic()
    s.settimeout(idle * 4 + 2)
    try:
        for _ in range(4):
            s.sendall(req)
    except (socket.timeout, BrokenPipeError, ConnectionResetError):
        pass  # the server stopped reading us, or already cut us off
    # still not reading for a while: the server should reset the connection
    time.sleep(max(0, idle * 1.5 + 0.3 - (time.monotonic() - t0)))
    got = 0
    s.settimeout(0.3)
    while time.monotonic() - t0 < idle * 4 + 2:
        try:
            d = s.recv(65536)
            if not d:
                break
            got += len(d)
        except ConnectionResetError:
            break
        except socket.timeout:
            continue
    else:
        return "still open after %.1f s without reading (%d bytes read)" % (time.monotonic() - t0, got)
    return "ok" if got < 4 * len(body) else "all %d bytes were delivered" % got

def cmd_idle(port, n):
    n = int(n)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 1000), hard))
    socks = []
    t0 = time.monotonic()
    try:
        for i in range(n):
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=10))
    except OSError as e:
        return "opened %d of %d: %s" % (len(socks), n, e)
    opened = time.monotonic() - t0
    # requests on a fresh connection and on a few of the idle ones are served;
    # the first may wait behind the accept backlog (the blocking server is
    # still creating a thread for each of the n), the second is timed
    st, dt = timed_get(port)
    st, dt = timed_get(port)
    if st != 200 or dt > 2:
        return "GET with %d idle: %d in %.2f s" % (n, st, dt)
    for s in socks[:: max(1, n // 10)]:
        s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        st, _, b = read_response(s.makefile("rb"))
        if st != 200:
            return "idle connection answered %d" % st
    # none of them was dropped: a cheap probe of a sample
    for s in socks[1 :: max(1, n // 50)]:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                return "an idle connection was closed"
        except BlockingIOError:
            pass
    for s in socks:
        s.close()
    print("opened %d connections in %.1f s, then GET / in %.3f s" % (n, opened, dt), file=sys.stderr)
    return "ok"

if __name__ == "__main__":
    fn = globals()["cmd_" + sys.argv[1]]
    try:
        print(fn(int(sys.argv[2]), *sys.argv[3:]))
    except Exception as e:  # a crash is a failed check with its reason
        print("exception: %r" % e)
EOF

py() { python3 "$PY" "$@" 2>"$T_TMP/py.err"; }
# pycheck NAME subcommand args...: passes when the helper prints "ok"
pycheck() {
  local n=$1; shift; local out; out=$(py "$@")
  [ "$out" = ok ] || out="$out $(head -c 300 "$T_TMP/py.err")"
  expect_eq "$n" ok "$out"
  [ -s "$T_TMP/py.err" ] && [ "$out" = ok ] && sed 's/^/       /' "$T_TMP/py.err"
  return 0
}
status_of() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }

head -c 1000000 /dev/urandom >"$T_TMP/body1m"
head -c 2000000 /dev/urandom >"$T_TMP/body2m"
BIGHDR=$(head -c 9000 /dev/zero | tr '\0' a)

run_server_tests() {
  local name=$1; shift
  local P
  echo "== $name"
  plan 38
  # a long idle timeout for everything but the timeout tests, so a starved
  # scheduler on a loaded machine cannot turn into a spurious idle close
  start_server P "$@" --port 0 --idle-timeout 60 --request-timeout 60 --max-body-memory 4194304 ||
    return
  local pid=$P_PID url="http://127.0.0.1:$P"

  expect_eq "$name: GET / body" "Hello, World!" "$(curl -s --max-time 5 "$url/")"
  expect_eq "$name: GET /plaintext?q ignores the query" "Hello, World!" "$(curl -s --max-time 5 "$url/plaintext?x=1")"
  expect_eq "$name: Content-Type text/plain" "text/plain" \
    "$(curl -s -o /dev/null -w '%{content_type}' --max-time 5 "$url/")"
  expect_eq "$name: 404" 404 "$(status_of "$url/nope")"
  expect_eq "$name: 405 on PUT /" 405 "$(status_of -X PUT "$url/")"
  expect_eq "$name: 405 carries Allow" "Allow: POST" \
    "$(curl -s -D - -o /dev/null --max-time 5 "$url/echo" | grep -i '^allow:' | tr -d '\r')"
  expect_eq "$name: curl reuses one connection" 1 \
    "$(curl -s -o /dev/null -w '%{num_connects}\n' --max-time 5 "$url/" "$url/plaintext" "$url/" | awk '{s += $1} END {print s}')"
  pycheck "$name: keep-alive, 5 requests on one connection" keepalive "$P"
  pycheck "$name: 16 pipelined requests answered in order" pipeline "$P"
  pycheck "$name: 100,000 pipelined requests read 2 s late: all answered" flood "$P" 100000 2
  pycheck "$name: 100,000 pipelined by a client reading slowly: slowed, not cut off" fastpipe "$P" 100000
  pycheck "$name: half-closed requests answered (40 of 40)" halfclose "$P" 40
  pycheck "$name: HTTP/1.0 closes, 1.0 keep-alive stays" http10 "$P"
  expect_eq "$name: chunked POST echoed" "chunked hello" \
    "$(printf 'chunked hello' | curl -s --max-time 5 -H 'Transfer-Encoding: chunked' --data-binary @- "$url/echo")"
  check "$name: 1 MB POST echoed byte for byte" \
    bash -c "curl -s --max-time 10 --data-binary @$T_TMP/body1m $url/echo | cmp - $T_TMP/body1m"

  # each bad-input class gets its status, then the connection closes
  pycheck "$name: CL+TE smuggling -> 400" raw "$P" \
    'POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' 400
  pycheck "$name: space before colon -> 400" raw "$P" 'GET / HTTP/1.1\r\nHost : t\r\n\r\n' 400
  pycheck "$name: duplicate Content-Length -> 400" raw "$P" \
    'POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx' 400
  pycheck "$name: obs-fold -> 400" raw "$P" 'GET / HTTP/1.1\r\nHost: t\r\nX: a\r\n b\r\n\r\n' 400
  pycheck "$name: garbage -> 400" raw "$P" '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n' 400
  pycheck "$name: Transfer-Encoding gzip -> 501" raw "$P" \
    'POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n' 501
  expect_eq "$name: 9 KiB header -> 431" 431 "$(status_of -H "X-Big: $BIGHDR" "$url/")"
  pycheck "$name: 100 KB header -> 431, then a FIN, not a reset (10 of 10)" refused_fin "$P" 10
  expect_eq "$name: 2 MB body -> 413" 413 "$(status_of --data-binary @"$T_TMP/body2m" "$url/echo")"
  expect_eq "$name: next connection still served" 200 "$(status_of "$url/")"
  pycheck "$name: peers vanishing mid-request/response cost nothing" vanish "$P"
  pycheck "$name: 12 unfinished 1 MB POSTs, 4 MiB for bodies: 4 held, 8 get 503" \
    budget "$P" 4194304 1000000
  alive "$name: alive after bad input" "$pid"

  if [ "$name" = blocking ]; then
    pycheck "$name: /delay blocks only its own thread" delay "$P" threads
  else
    pycheck "$name: /delay?ms=500 does not delay a concurrent GET /" delay "$P" loop
  fi

  local w rps
  w=$(wrk -t1 -c20 -d1s "$url/plaintext" 2>&1)
  rps=$(printf '%s\n' "$w" | awk '/Requests\/sec/ {print int($2)}')
  if [ "${rps:-0}" -gt 100 ] && ! printf '%s' "$w" | grep -q 'Non-2xx\|Socket errors'; then
    ok "$name: wrk keep-alive, 20 connections ($rps req/s under ASan)"
  else bad "$name: wrk" "$(printf '%s' "$w" | tail -5)"; fi
  pycheck "$name: $IDLE_CONNS idle connections held, requests still served" idle "$P" "$IDLE_CONNS"
  alive "$name: alive after $IDLE_CONNS connections" "$pid"
  stop_server P "$name: SIGTERM stops it, exit 0"

  # the timeout tests, on an instance with 1 s deadlines
  start_server P "$@" --port 0 --idle-timeout 1 --request-timeout 1 || return
  pycheck "$name: slowloris does not delay others, 408 at the request deadline" slowloris "$P" 1
  pycheck "$name: silent connection closed after idle timeout" silent "$P" 1
  pycheck "$name: a peer that never reads is cut off" noread "$P" 1
  stop_server P "$name (1 s deadlines): SIGTERM stops it, exit 0"
  pycheck "$name: SIGINT/SIGTERM with connections open, port free at once, restart (5 rounds)" \
    restart 0 "$1" 5
}

# --iterative: the same code, one connection at a time; what it shows is
# head-of-line blocking, so only that (and that it serves) is checked here.
iterative_tests() {
  local P name=blocking-iterative
  echo "== $name"
  plan 4
  start_server P "$BIN/server-blocking" --iterative --port 0 --idle-timeout 1 || return
  expect_eq "$name: GET / body" "Hello, World!" "$(curl -s --max-time 5 "http://127.0.0.1:$P/")"
  pycheck "$name: 16 pipelined requests answered in order" pipeline "$P"
  pycheck "$name: /delay blocks the next client (head-of-line)" delay "$P" iterative
  stop_server P "$name: SIGTERM stops it, exit 0"
}

run_server_tests epoll "$BIN/server-epoll"
run_server_tests uring "$BIN/server-uring"
run_server_tests blocking "$BIN/server-blocking"
iterative_tests
finish
