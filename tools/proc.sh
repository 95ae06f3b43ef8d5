# tools/proc.sh: process chores shared by tests/lib.sh and bench/lib.sh.
# (Functions that reap children set a variable instead of printing: in a `$(...)`
# subshell the server would not be a child any more.)

# wait_listening LOG PID: wait (10 s at most) for the `listening on 127.0.0.1:PORT`
# line a wirelab server prints, and print PORT; fails when PID exits first.
wait_listening() {
  local log=$1 pid=$2 i port
  for i in $(seq 1 200); do
    port=$(sed -nE 's/^listening on 127\.0\.0\.1:([0-9]+)$/\1/p' "$log" | head -1)
    [ -n "$port" ] && { echo "$port"; return 0; }
    kill -0 "$pid" 2>/dev/null || return 1
    [ "$(sed -E 's/.*\) (.).*/\1/' "/proc/$pid/stat" 2>/dev/null)" = Z ] && return 1
    sleep 0.05
  done
  return 1
}

# proc_state PID: sets PROC_STATE to the state letter of PID (R, S, D, Z, ...) and
# succeeds when PID is a child of this shell not yet reaped (a zombie included:
# `kill -0` succeeds on one too); fails when it was reaped already or is not ours,
# so a recycled pid is never signalled by mistake.
proc_state() {
  local st
  PROC_STATE=
  { read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1
  st=${st##*) } # after the command name, which may hold spaces and parentheses
  # shellcheck disable=SC2086
  set -- $st # state ppid ...
  [ "${2:-}" = "$BASHPID" ] || return 1
  PROC_STATE=$1
}

# stop_pid PID [SECONDS]: SIGTERM PID (a child of this shell), wait for it to exit
# (SECONDS, default 10, then SIGKILL) and reap it.  Sets STOP_STATUS to its exit
# status, `killed` when it did not stop in time, or `gone` when it was reaped already
# (or never ours).  A wirelab server answers SIGTERM with exit status 0.
stop_pid() {
  local p=$1 end=$((SECONDS + ${2:-10}))
  STOP_STATUS=gone
  proc_state "$p" || return 0
  [ "$PROC_STATE" = Z ] || kill -TERM "$p" 2>/dev/null
  while [ "$SECONDS" -lt "$end" ] && proc_state "$p" && [ "$PROC_STATE" != Z ]; do
    sleep 0.05
  done
  if proc_state "$p" && [ "$PROC_STATE" != Z ]; then
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    STOP_STATUS=killed
    return 0
  fi
  wait "$p" 2>/dev/null
  STOP_STATUS=$?
}

# stop_all PID...: SIGTERM them all (a daemon that is not our child too, like nginx's
# master), then stop_pid our children among them; exit statuses not looked at.
stop_all() {
  local p
  for p in "$@"; do kill -TERM "$p" 2>/dev/null; done
  for p in "$@"; do stop_pid "$p"; done
}

# The first line of an ASan, LSan or UBSan report.
SANITIZER_RE='ERROR: (AddressSanitizer|LeakSanitizer)|WARNING: AddressSanitizer|AddressSanitizer:DEADLYSIGNAL|runtime error: '

# sanitizer_report FILE...: print the first lines of the first sanitizer report found
# in the FILEs (missing ones are skipped); fails when there is none.
sanitizer_report() {
  local f
  for f in "$@"; do
    [ -f "$f" ] && grep -qaE "$SANITIZER_RE" "$f" || continue
    printf '%s:\n' "$f"
    grep -aE -A 14 -m 1 "$SANITIZER_RE" "$f" | head -15
    return 0
  done
  return 1
}
