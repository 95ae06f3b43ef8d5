#!/usr/bin/env bash
# bench job-queue: ghost tasks with the real Celery beside the lab's own worker, in one run
# (labs/06-job-queue/celery-ghosts.py).  Celery 5.2 (Debian's python3-celery) on the Redis
# transport, prefork pool of 1, -O fair, prefetch multiplier 1, broker and result backend
# on a redis-server of its own; per setting (task_acks_late off/on, with
# task_reject_on_worker_lost, an idempotent task, the transport's visibility_timeout at
# its default and short) and per kill (the pool process, the main process, none with a
# task longer than the timeout) it counts per task id done once, done twice, never done,
# waiting in the broker, run again, side effect applied twice, and the delay from the kill
# to the killed task's next start.  The reference rows: the lab's worker (--ack early|late)
# on the lab broker and on the same redis-server.
# The counts are the result; the delays are timer-bound (Celery's ~1 s event-loop ticks,
# worker start-up, the visibility timeout), not CPU-bound, so nothing is pinned.
# Quick profile: 4 tasks of 1 s per case, killed in the 2nd, one run per case (~2 min).
# FULL=1: 5 tasks per case, 2 runs per case (~5 min); counts from the first run (flagged
# when the runs differ), delays as the median (min-max) of the runs.
source "$(dirname "$0")/../lib.sh"
need redis-server
/usr/bin/python3 -c 'import celery, redis' 2>/dev/null ||
  { echo "bench job-queue: python3-celery and python3-redis are not installed (make deps)" >&2; exit 1; }
for p in broker upload worker; do
  [ -x "$BIN/$p" ] || { echo "bench job-queue: $BIN/$p missing (make all)" >&2; exit 1; }
done
if [ "$FULL" = 1 ]; then ARGS=(--tasks 5 --kill-at 2 --repeat 2 --window 6) REP=2; else ARGS=(--tasks 4 --kill-at 2 --repeat 1 --window 6) REP=1; fi
CSV=$OUT/job-queue.csv MD=$OUT/job-queue.md
NCASES=$(/usr/bin/python3 labs/06-job-queue/celery-ghosts.py --list | wc -l)
plan_steps $((NCASES * REP))

# One progress line per finished run of a case; the driver's other lines as they come.
/usr/bin/python3 labs/06-job-queue/celery-ghosts.py "${ARGS[@]}" --bin "$BIN" --csv "$CSV" \
  --md "$B_TMP/table.md" | while IFS= read -r line; do
  case "$line" in case=*) progress "$line" ;; *) echo "$line" >&2 ;; esac
done
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "bench job-queue: celery-ghosts.py failed" >&2; exit 1; }
# the command behind every row: the driver, which runs each case by name
cmd="/usr/bin/python3 labs/06-job-queue/celery-ghosts.py ${ARGS[*]} --bin $BIN --csv job-queue.csv"
awk -v c="$cmd" 'NR == 1 { print $0 ",command"; next } { print $0 "," c }' "$CSV" >"$B_TMP/jq.csv" && mv "$B_TMP/jq.csv" "$CSV"

{
  echo "## job-queue: ghost tasks, Celery $(/usr/bin/python3 -c 'import celery; print(celery.__version__)') on redis-server $(redis-server --version | sed -nE 's/.*v=([0-9.]+).*/\1/p') beside the lab's worker"
  echo
  echo "$(machine). ${ARGS[*]}: each task works 1 s and applies its side effect half way; kill -9 60% into the task; a fresh worker (or a rescuer) started at once after a main-process kill; counts per task id; \"waiting\" = still queued or unacknowledged in the broker when the run settled (${ARGS[-1]} s past the tasks' own time at most)."
  echo
  cat "$B_TMP/table.md"
} >"$MD"
cat "$MD"
