# lib.sh: what the job-queue lab scripts (ghost-tasks.sh, pipeline.sh) share: a temp dir,
# background processes stopped by pid on exit and on Ctrl-C, and a server of their own
# unless --redis named one.
#   jq_init NAME          make $tmp (mktemp -d), arm the cleanup
#   jq_server KIND        when $REDIS is empty, start a server on a free loopback port and
#                         set REDIS=127.0.0.1:PORT.  KIND broker: $BIN/broker, its WAL in
#                         $tmp/data; KIND redis: Debian's redis-server, no persistence,
#                         its directory $tmp/redis.  $SERVED says what runs at $REDIS.
tmp=""
pids=()
jq_name=""
jq_cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  [ -n "$tmp" ] && rm -rf "$tmp"
}
jq_init() {
  jq_name=$1
  tmp=$(mktemp -d "/tmp/$1.XXXXXX")
  trap jq_cleanup EXIT
  trap 'exit 130' INT TERM
}
jq_server() {
  SERVED="the server at $REDIS"
  [ -n "$REDIS" ] && return 0
  local port="" me=$jq_name
  case "$1" in
    broker)
      "$BIN/broker" --port 0 --data-dir "$tmp/data" >"$tmp/server.out" 2>"$tmp/server.err" &
      pids+=($!)
      for _ in $(seq 1 100); do
        port=$(sed -nE 's/^listening on 127\.0\.0\.1:([0-9]+)$/\1/p' "$tmp/server.out")
        [ -n "$port" ] && break
        sleep 0.05
      done ;;
    redis)
      command -v redis-server >/dev/null || { echo "$me: error: redis-server is not installed (make deps)" >&2; exit 1; }
      port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
      mkdir -p "$tmp/redis"
      redis-server --port "$port" --bind 127.0.0.1 --dir "$tmp/redis" --save '' --appendonly no \
        >"$tmp/server.out" 2>"$tmp/server.err" &
      pids+=($!)
      for _ in $(seq 1 100); do
        redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break
        sleep 0.05
      done
      redis-cli -p "$port" ping 2>/dev/null | grep -q PONG || port="" ;;
    *) echo "$me: error: --server must be broker or redis, not '$1'" >&2; echo "try 'labs/06-job-queue/$me.sh --help'" >&2; exit 2 ;;
  esac
  [ -n "$port" ] || { echo "$me: error: $1 did not start: $(head -c 300 "$tmp/server.out" "$tmp/server.err")" >&2; exit 1; }
  REDIS=127.0.0.1:$port
  case "$1" in broker) SERVED="the lab broker on $REDIS" ;; redis) SERVED="redis-server on $REDIS" ;; esac
}
