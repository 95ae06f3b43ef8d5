#!/usr/bin/env bash
# Integration test for labs/06-job-queue/celery-ghosts.py: ghost tasks with the real
# Celery (Debian's python3-celery on a redis-server the script starts) and the lab's
# worker, short tasks and a short visibility timeout, bounded in time.  It asserts the
# shape a Celery user would notice:
#   - early ack (the default) loses the task whose pool process is killed -9;
#   - acks_late alone loses it too (the live main process acknowledges the failure);
#     with reject_on_worker_lost it runs again and its side effect lands twice;
#   - a main-process kill with acks_late parks the task until the visibility timeout:
#     3600 s (the default) keeps it waiting, a short one brings it back at the next
#     worker's start;
#   - a task longer than the visibility timeout runs twice, the second run while the
#     first is still running;
#   - the lab's worker: --ack early loses the killed task, --ack late runs it again;
#   - every case's counts add up to its task ids, one line per case asked for;
#   - SIGTERM in the middle stops every process it started and removes its scratch data.
source "$(dirname "$0")/../lib.sh"
cd "$(dirname "$0")/../.."
need redis-server redis-cli
/usr/bin/python3 -c 'import celery, redis' 2>"$T_TMP/import.err" ||
  { bad "python3-celery and python3-redis" "not installed: run 'make deps' ($(head -c 200 "$T_TMP/import.err"))"; finish; }
for p in broker upload worker; do
  [ -x "$BIN/$p" ] || { bad "$BIN/$p" "missing: run 'make asan'"; finish; }
done

DRIVER=labs/06-job-queue/celery-ghosts.py
# 3 tasks of 800 ms, killed in the 2nd; visibility timeout 0.3 s (below the 480 ms into
# the task where the kill lands, so the timeout of a killed task has always passed).
ARGS=(--tasks 3 --kill-at 2 --work-ms 800 --vt-short 0.3 --long-ms 6000 --window 5 --bin "$BIN")
CASES=child-early,child-late,child-reject,main-late,main-late-vt,long-vt,lab-broker-early,lab-broker-late
plan 2
start=$(date +%s)
timeout 240 /usr/bin/python3 "$DRIVER" "${ARGS[@]}" --cases "$CASES" --md "$T_TMP/table.md" \
  >"$T_TMP/out" 2>"$T_TMP/err"
rc=$?
sed 's/^/    /' "$T_TMP/out"
[ "$rc" -eq 0 ] || sed 's/^/    stderr: /' "$T_TMP/err" | tail -20
expect_eq "celery-ghosts.py exits 0" 0 "$rc"
ok_within() { if [ "$2" -le "$3" ]; then ok "$1 (${2} s)"; else bad "$1" "took $2 s, more than $3"; fi; }
ok_within "the run is bounded" $(($(date +%s) - start)) 240

# field CASE NAME: the value of NAME= on CASE's line (empty when the line is missing)
field() { sed -nE "s/^case=$1 .* $2=([^ ]+).*/\\1/p; s/^case=$1 $2=([^ ]+).*/\\1/p" "$T_TMP/out" | head -1; }
plan $((2 + $(tr ',' '\n' <<<"$CASES" | wc -l))) # two counts, then one sum per case
n_lines=$(grep -c '^case=' "$T_TMP/out")
expect_eq "one result line per case asked for" "$(tr ',' '\n' <<<"$CASES" | wc -l)" "$n_lines"
expect_eq "one table row per case" "$n_lines" "$(grep -c '^| \(celery\|lab worker\) ' "$T_TMP/table.md")"
# num CASE NAME: the field as a number, or -1000 when it is missing or not a number, so a
# missing line fails the sum below instead of breaking the arithmetic.
num() { local v; v=$(field "$1" "$2"); if [[ "$v" =~ ^[0-9]+$ ]]; then echo "$v"; else echo -1000; fi; }
for c in ${CASES//,/ }; do
  sum=$(( $(num "$c" once) + $(num "$c" twice) + $(num "$c" never) + $(num "$c" waiting) ))
  expect_eq "$c: once + twice + never + waiting = the task ids sent" "$(field "$c" tasks)" "$sum"
done

plan 18
expect_eq "Celery, default early ack, pool process killed: the task is lost" 1 "$(field child-early never)"
expect_eq "... and not run again" 0 "$(field child-early again)"
expect_eq "... the result backend says WorkerLostError" "FAILURE(WorkerLostError)" "$(field child-early backend)"
expect_eq "Celery, acks_late alone, pool process killed: still lost (the failure is acked)" 1 "$(field child-late never)"
expect_eq "Celery, acks_late + reject_on_worker_lost: nothing lost" 0 "$(field child-reject never)"
expect_eq "... the killed task runs again" 1 "$(field child-reject again)"
expect_eq "... and its side effect lands twice (not idempotent)" 1 "$(field child-reject effect-twice)"
expect_eq "... every task finished" 3 "$(field child-reject once)"
expect_eq "Celery, acks_late, main process killed, visibility_timeout 3600 s: the task waits" 1 "$(field main-late waiting)"
expect_eq "... not run again within the window" 0 "$(field main-late again)"
expect_eq "Celery, acks_late, main process killed, visibility_timeout 0.3 s: nothing lost" 0 "$(field main-late-vt never)"
expect_eq "... the fresh worker runs the killed task again" 1 "$(field main-late-vt again)"
d=$(field main-late-vt delay-ms)
if [[ "$d" =~ ^[0-9]+$ ]] && [ "$d" -gt 0 ]; then ok "... a redelivery delay was measured (${d} ms)"; else bad "... a redelivery delay was measured" "got [$d]"; fi
expect_eq "Celery, task longer than visibility_timeout: done twice" 1 "$(field long-vt twice)"
expect_eq "... the second run started while the first was running" yes "$(field long-vt concurrent)"
expect_eq "lab worker, --ack early, killed mid-task: the task is lost" 1 "$(field lab-broker-early never)"
expect_eq "lab worker, --ack late, killed mid-task: nothing lost" 0 "$(field lab-broker-late never)"
expect_eq "... the killed task runs again" 1 "$(field lab-broker-late again)"

# SIGTERM in the middle of a case: every process it started is stopped, by pid, and the
# scratch directory is gone.
plan 5
/usr/bin/python3 "$DRIVER" "${ARGS[@]}" --cases main-late,lab-broker-late >"$T_TMP/term.out" 2>&1 &
dpid=$!
for _ in $(seq 1 300); do
  scratch=$(sed -nE 's/.*; scratch (.+)$/\1/p' "$T_TMP/term.out")
  [ -n "$scratch" ] && pgrep -f "$(basename "$scratch")@localhost" >/dev/null && break
  sleep 0.1
done
rport=$(sed -nE 's/.* on 127\.0\.0\.1:([0-9]+)[;,].*/\1/p' "$T_TMP/term.out" | head -1)
if [ -n "$scratch" ] && pgrep -f "$(basename "$scratch")@localhost" >/dev/null; then
  ok "a Celery worker is running before SIGTERM"
else
  bad "a Celery worker is running before SIGTERM" "$(head -c 400 "$T_TMP/term.out")"
fi
kill -TERM "$dpid"
wait "$dpid"
expect_eq "SIGTERM: exits 130" 130 "$?"
sleep 0.5
if [ -n "$scratch" ] && ! pgrep -f "$(basename "$scratch")" >/dev/null; then
  ok "SIGTERM: no Celery process (main or pool) of the run is left"
else
  bad "SIGTERM: no Celery process of the run is left" "$(pgrep -af "$(basename "${scratch:-none}")")"
fi
if [ -n "$rport" ] && ! redis-cli -p "$rport" ping >/dev/null 2>&1; then
  ok "SIGTERM: its redis-server is stopped"
else
  bad "SIGTERM: its redis-server is stopped" "port [$rport] still answers"
fi
if [ -n "$scratch" ] && [ ! -e "$scratch" ]; then ok "SIGTERM: scratch directory removed"; else bad "SIGTERM: scratch directory removed" "[$scratch]"; fi

# ghost-tasks.sh --server redis starts its own redis-server, and stops it.
plan 4
timeout 60 labs/06-job-queue/ghost-tasks.sh --server redis --jobs 4 --bin "$BIN" >"$T_TMP/gt.out" 2>&1
rc=$?
sed 's/^/    /' "$T_TMP/gt.out"
expect_eq "ghost-tasks.sh --server redis: exits 0" 0 "$rc"
check "ghost-tasks.sh --server redis: early ack loses the killed job" grep -qE '^ack=early +jobs=4 completed=3 lost=1' "$T_TMP/gt.out"
check "ghost-tasks.sh --server redis: late ack loses none" grep -qE '^ack=late +jobs=4 completed=4 lost=0' "$T_TMP/gt.out"
gport=$(sed -nE 's/.*against redis-server on 127\.0\.0\.1:([0-9]+);.*/\1/p' "$T_TMP/gt.out")
if [ -n "$gport" ] && ! redis-cli -p "$gport" ping >/dev/null 2>&1; then
  ok "ghost-tasks.sh --server redis: its redis-server is stopped at the end"
else
  bad "ghost-tasks.sh --server redis: its redis-server is stopped at the end" "port [$gport]"
fi

# Bad input: a clear error and exit 2.
plan 3
/usr/bin/python3 "$DRIVER" --cases nosuch >"$T_TMP/bad.out" 2>&1
expect_eq "unknown case: exit 2" 2 "$?"
check "unknown case: the error names it" grep -q "^celery-ghosts: error: unknown case nosuch" "$T_TMP/bad.out"
labs/06-job-queue/ghost-tasks.sh --server nosuch >"$T_TMP/bad2.out" 2>&1
expect_eq "ghost-tasks.sh --server nosuch: exit 2" 2 "$?"
finish
