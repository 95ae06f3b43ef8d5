#!/usr/bin/env bash
# tests/integration/parsers-servers.sh: the HTTP parser's rules as the servers that use it
# answer them (sanitized builds, loopback only).
# - RFC 9112 3.2.2: an absolute-form target (GET http://127.0.0.1:PORT/plaintext) is
#   answered like its origin-form by every HTTP server, curl sending it
# - each strictness rule of parsers/http/http1.h reaches the wire as its status, and
#   the server goes on serving the next client
source "$(dirname "$0")/../lib.sh"
cd "$(dirname "$0")/../.."
need curl python3
PY=/usr/bin/python3

# raw PORT BYTES: sends BYTES (backslash escapes as in printf %b) and prints the status
# code of the first response (or "none"); the server closes after an error status, and
# every valid vector ends with Connection: close.
raw() {
  "$PY" - "$1" "$2" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(sys.argv[2].encode("latin-1").decode("unicode_escape").encode("latin-1"))
data = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
except OSError:
    pass
print(data.split(b"\r\n", 1)[0].decode("latin-1", "replace").split(" ")[1] if data else "none")
PY
}

SERVERS="server-blocking server-epoll server-uring jobs-server"
NVEC=10 # the vectors of the here-document below
plan $(( $(wc -w <<<"$SERVERS") * (NVEC + 6) ))
for srv in $SERVERS; do
  [ -x "$BIN/$srv" ] || { bad "$srv" "missing: make BUILD=$BUILD asan"; continue; }
  start_server PORT "$BIN/$srv" --port 0 || continue
  case $srv in jobs-server) path=/stats post=/stats ;; *) path=/plaintext post=/echo ;; esac
  want=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT$path")
  got=$(curl -s -o /dev/null -w '%{http_code}' --request-target "http://127.0.0.1:$PORT$path" \
    "http://127.0.0.1:$PORT/")
  expect_eq "$srv: absolute-form http://127.0.0.1:PORT$path answered like $path ($want)" "$want" "$got"
  expect_eq "$srv: origin-form $path is 200" 200 "$want"
  got=$(curl -s -o /dev/null -w '%{http_code}' --request-target "http://127.0.0.1:$PORT" \
    "http://127.0.0.1:$PORT/")
  want=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/")
  expect_eq "$srv: absolute-form without a path answered like / ($want)" "$want" "$got"
  # one vector per rule, each answered with its status (RFC 9112 sections in http1.h)
  H="POST $post HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
  # what the server answers a plain chunked POST (200 where it echoes, 405 where not):
  # a request with valid chunk extensions must get the same
  plain=$(raw "$PORT" "${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
  while IFS='|' read -r name status bytes; do
    [ -n "$name" ] || continue
    expect_eq "$srv: $name -> $status" "$status" "$(raw "$PORT" "$bytes")"
  done <<VEC
target not in any form (3.2)|400|GET B HTTP/1.1\r\nHost: x\r\n\r\n
asterisk-form for GET (3.2.4)|400|GET * HTTP/1.1\r\nHost: x\r\n\r\n
fragment in the target (3.2.1)|400|GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n
CONNECT with origin-form (3.2.3)|400|CONNECT /x HTTP/1.1\r\nHost: x\r\n\r\n
CONNECT with Content-Length (RFC 9110 9.3.6)|400|CONNECT x:1 HTTP/1.1\r\nHost: x:1\r\nContent-Length: 1\r\n\r\nz
chunk-size then BWS, no extension (7.1.1)|400|${H}Transfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n
chunk-ext without a name (7.1.1)|400|${H}Transfer-Encoding: chunked\r\n\r\n5;\r\nhello\r\n0\r\n\r\n
chunk-ext quoted string unterminated (7.1.1)|400|${H}Transfer-Encoding: chunked\r\n\r\n5;a="b\r\nhello\r\n0\r\n\r\n
Content-Length in the trailers (7.1.2)|400|${H}Transfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 9\r\n\r\n
valid chunk extensions (7.1.1), as a plain chunk|$plain|${H}Transfer-Encoding: chunked\r\n\r\n5 ;a=b; c="d\\\\"e"\r\nhello\r\n0\r\n\r\n
VEC
  # after Connection: close the pipelined request behind it gets no answer (9.6)
  out=$("$PY" - "$PORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
print(data.count(b"HTTP/1.1 "))
PY
)
  expect_eq "$srv: one response, none for the request after Connection: close" 1 "$out"
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT$path")" = 200 ] \
    && ok "$srv: still serving after the vectors" || bad "$srv" "no 200 after the vectors"
  alive "$srv: alive" "$PORT_PID"
  stop_server PORT
done
finish
