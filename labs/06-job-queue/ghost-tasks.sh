#!/usr/bin/env bash
# ghost-tasks.sh: the notes' "Celery ghost tasks", measured.  For each ack mode it
# uploads N jobs, starts a transcode worker, SIGKILLs it in the middle of a task, lets a
# second worker finish the queue, and counts what happened to every job:
#   lost       never completed by anyone
#   redone     started more than once (work done twice: handlers must be idempotent)
# usage: labs/06-job-queue/ghost-tasks.sh [--server broker|redis] [--redis HOST:PORT]
#          [--jobs N] [--bin DIR]
#   --server  what it starts on a free loopback port and stops at the end: the lab
#             broker (build/bin/broker, the default) or Debian's redis-server
#   --redis   use a server that is already running instead
#   --jobs    jobs per ack mode (default 10); --bin  the lab programs (default build/bin)
set -u
cd "$(dirname "$0")/../.."
BIN=${BIN:-build/bin}
JOBS=10
REDIS=""
SERVER=broker
while [ $# -gt 0 ]; do
  case "$1" in
    --redis|--server|--jobs|--bin) [ $# -ge 2 ] || { echo "ghost-tasks: error: $1 needs a value" >&2
      echo "try 'labs/06-job-queue/ghost-tasks.sh --help'" >&2; exit 2; } ;;
  esac
  case "$1" in
    --redis) REDIS=$2; shift 2 ;;
    --server) SERVER=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --bin) BIN=$2; shift 2 ;;
    --help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "ghost-tasks: error: unknown option '$1'" >&2
       echo "try 'labs/06-job-queue/ghost-tasks.sh --help'" >&2; exit 2 ;;
  esac
done
[[ "$JOBS" =~ ^[0-9]+$ ]] && [ "$JOBS" -ge 3 ] && [ "$JOBS" -le 10000 ] || {
  echo "ghost-tasks: error: --jobs wants a number from 3 to 10000 (the kill lands in the 3rd), not '$JOBS'" >&2
  echo "try 'labs/06-job-queue/ghost-tasks.sh --help'" >&2; exit 2; }
source labs/06-job-queue/lib.sh
jq_init ghost-tasks
jq_server "$SERVER"
echo "ghost-tasks: $JOBS jobs per mode against $SERVED; the first worker is killed -9 during its 3rd task"

for mode in early late; do
  stream=ghost-$mode-$$-$RANDOM
  "$BIN/upload" --redis "$REDIS" --stream "$stream" --count "$JOBS" --quiet >/dev/null || exit 1
  common=(--redis "$REDIS" --stream "$stream" --role transcode --ack "$mode"
          --visibility-timeout 1000 --work-ms 100)
  "$BIN/worker" "${common[@]}" --consumer victim >"$tmp/$mode.victim" 2>/dev/null &
  victim=$!
  pids+=($victim)
  for _ in $(seq 1 200); do
    [ "$(grep -c ' start ' "$tmp/$mode.victim")" -ge 3 ] && break
    sleep 0.01
  done
  kill -9 "$victim" 2>/dev/null
  wait "$victim" 2>/dev/null
  killed=$(grep ' start ' "$tmp/$mode.victim" | tail -1 | sed -nE 's/.*video=([0-9]+).*/\1/p')
  timeout 60 "$BIN/worker" "${common[@]}" --consumer rescuer --exit-idle-ms 1500 \
    >"$tmp/$mode.rescuer" 2>/dev/null
  cat "$tmp/$mode.victim" "$tmp/$mode.rescuer" >"$tmp/$mode.all"
  completed=$(sed -nE 's/.* done video=([0-9]+) .*/\1/p' "$tmp/$mode.all" | sort -u | wc -l)
  redone=$(sed -nE 's/.* start video=([0-9]+) .*/\1/p' "$tmp/$mode.all" | sort | uniq -d | wc -l)
  twice=$(sed -nE 's/.* done video=([0-9]+) .*/\1/p' "$tmp/$mode.all" | sort | uniq -d | wc -l)
  lost=$((JOBS - completed))
  printf 'ack=%-5s jobs=%d completed=%d lost=%d redone=%d completed-twice=%d (killed mid-task: video=%s)\n' \
    "$mode" "$JOBS" "$completed" "$lost" "$redone" "$twice" "${killed:-?}"
done
