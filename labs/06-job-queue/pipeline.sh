#!/usr/bin/env bash
# pipeline.sh: the notes' YouTube example.  One "video uploaded" stream, three services
# (transcode, thumbnail, notify), each its own consumer group, so every upload is done
# once by each, independently.  Shows decoupling: the thumbnail service is stopped,
# uploads and the other services go on, and when it comes back it catches up.
# usage: labs/06-job-queue/pipeline.sh [--server broker|redis] [--redis HOST:PORT] [--bin DIR]
#   --server  what it starts on a free loopback port and stops at the end: the lab
#             broker (build/bin/broker, the default) or Debian's redis-server
#   --redis   use a server that is already running instead
set -u
cd "$(dirname "$0")/../.."
BIN=${BIN:-build/bin}
REDIS=""
SERVER=broker
while [ $# -gt 0 ]; do
  case "$1" in
    --redis|--server|--bin) [ $# -ge 2 ] || { echo "pipeline: error: $1 needs a value" >&2
      echo "try 'labs/06-job-queue/pipeline.sh --help'" >&2; exit 2; } ;;
  esac
  case "$1" in
    --redis) REDIS=$2; shift 2 ;;
    --server) SERVER=$2; shift 2 ;;
    --bin) BIN=$2; shift 2 ;;
    --help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "pipeline: error: unknown option '$1'" >&2
       echo "try 'labs/06-job-queue/pipeline.sh --help'" >&2; exit 2 ;;
  esac
done
source labs/06-job-queue/lib.sh
jq_init pipeline
jq_server "$SERVER"
stream=videos-$$-$RANDOM
start_worker() { # ROLE: one worker, ack late, its log in $tmp/ROLE.N.log
  local n; n=$(ls "$tmp" | grep -c "^$1\.") 
  "$BIN/worker" --redis "$REDIS" --stream "$stream" --role "$1" --ack late \
    --visibility-timeout 1000 --work-ms 50 >"$tmp/$1.$n.log" 2>/dev/null &
  pids+=($!)
  eval "PID_$1=$!"
}
done_count() { cat "$tmp/$1".*.log 2>/dev/null | sed -nE 's/.* done video=([0-9]+) .*/\1/p' | sort -u | wc -l; }
status() { printf '  %-44s transcode=%-3s thumbnail=%-3s notify=%-3s\n' "$1" \
  "$(done_count transcode)" "$(done_count thumbnail)" "$(done_count notify)"; }
wait_all() { # N: until every service has done N videos (15 s at most)
  for _ in $(seq 1 150); do
    [ "$(done_count transcode)" -ge "$1" ] && [ "$(done_count thumbnail)" -ge "$1" ] &&
      [ "$(done_count notify)" -ge "$1" ] && return 0
    sleep 0.1
  done
  return 1
}
echo "pipeline: stream $stream on $SERVED, one worker per service (ack late, 50 ms per task)"
for r in transcode thumbnail notify; do start_worker $r; done
"$BIN/upload" --redis "$REDIS" --stream "$stream" --count 6 --quiet >/dev/null
wait_all 6; status "6 uploads:"
kill "$PID_thumbnail"; wait "$PID_thumbnail" 2>/dev/null
"$BIN/upload" --redis "$REDIS" --stream "$stream" --count 6 --first 7 --quiet >/dev/null
sleep 1.5; status "thumbnail stopped, 6 more uploads:"
t0=$(date +%s%N)
start_worker thumbnail
wait_all 12 && status "thumbnail back, caught up in $(( ($(date +%s%N) - t0) / 1000000 )) ms:" ||
  status "thumbnail back, NOT caught up after 15 s:"
