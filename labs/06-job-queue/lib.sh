# lib.sh: what the job-queue lab scripts (ghost-tasks.sh, pipeline.sh) share: a temp dir,
# background processes killed on exit, and a broker of their own unless --redis was given.
#   jq_init NAME          make $tmp, arm the cleanup
#   jq_broker             when $REDIS is empty, start $BIN/broker on a free loopback port
#                         (its WAL in $tmp/data) and set REDIS=127.0.0.1:PORT
tmp=""
pids=()
jq_cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  [ -n "$tmp" ] && rm -rf "$tmp"
}
jq_init() {
  tmp=$(mktemp -d "/tmp/$1.XXXXXX")
  trap jq_cleanup EXIT
}
jq_broker() {
  [ -n "$REDIS" ] && return 0
  local port=""
  "$BIN/broker" --port 0 --data-dir "$tmp/data" >"$tmp/broker.out" 2>"$tmp/broker.err" &
  pids+=($!)
  for _ in $(seq 1 100); do
    port=$(sed -nE 's/^listening on 127\.0\.0\.1:([0-9]+)$/\1/p' "$tmp/broker.out")
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { echo "$(basename "$0"): broker did not start: $(cat "$tmp/broker.err")" >&2; exit 1; }
  REDIS=127.0.0.1:$port
}
