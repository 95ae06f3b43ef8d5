#!/usr/bin/env bash
# Integration tests for labs/03-io-models: the same checks against server-blocking,
# server-epoll and server-uring, with curl, wrk and raw sockets (python3):
# routes, keep-alive, 16 pipelined requests in order, chunked echo, each bad-input
# class with its status (and the next connection still served), slowloris and a
# vanishing peer, /delay not delaying others (event-loop servers), 10,000 idle
# connections while requests are still served, SIGTERM stops cleanly.
source "$(dirname "$0")/../lib.sh"
need curl python3 wrk

# 10,000 idle connections need fds on both sides (servers raise their soft limit
# to the hard one; the python client raises its own).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
IDLE_CONNS=${IDLE_CONNS:-10000}

PY="$T_TMP/client.py"
cat >"$PY" <<'EOF'
# Raw-socket client for io-models.sh: each subcommand prints "ok" or a reason.
import os, resource, socket, sys, threading, time

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

def cmd_slowloris(port, idle):
    """A trickling client does not delay others and is closed after about idle s."""
    idle = float(idle)
    s = conn(port)
    s.sendall(b"GET / HTTP/1.1\r\nHo")
    t0 = time.monotonic()
    st, dt = timed_get(port)
    if st != 200 or dt > 0.5:
        return "concurrent GET: %d in %.3f s" % (st, dt)
    s.settimeout(0.2)
    while time.monotonic() - t0 < idle * 4 + 2:
        try:
            s.sendall(b"x")  # one byte every 0.2 s: a fresh timeout per byte would never end
            if s.recv(1024) == b"":
                break
        except socket.timeout:
            continue
        except (BrokenPipeError, ConnectionResetError):
            break
    else:
        return "slowloris connection still open after %.1f s" % (time.monotonic() - t0)
    el = time.monotonic() - t0
    if el < idle * 0.8:
        return "closed too early (%.2f s)" % el
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
  plan 32
  # a long idle timeout for everything but the timeout tests, so a starved
  # scheduler on a loaded machine cannot turn into a spurious idle close
  start_server P "$@" --port 0 --idle-timeout 60 || return
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
  expect_eq "$name: 2 MB body -> 413" 413 "$(status_of --data-binary @"$T_TMP/body2m" "$url/echo")"
  expect_eq "$name: next connection still served" 200 "$(status_of "$url/")"
  pycheck "$name: peers vanishing mid-request/response cost nothing" vanish "$P"
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

  # the timeout tests, on an instance with a 1 s idle timeout
  start_server P "$@" --port 0 --idle-timeout 1 || return
  pycheck "$name: slowloris does not delay others, closed after idle timeout" slowloris "$P" 1
  pycheck "$name: silent connection closed after idle timeout" silent "$P" 1
  pycheck "$name: a peer that never reads is cut off" noread "$P" 1
  stop_server P "$name (idle 1 s): SIGTERM stops it, exit 0"
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
