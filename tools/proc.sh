# tools/proc.sh: process chores shared by tests/lib.sh and bench/lib.sh.

# wait_listening LOG PID: wait (10 s at most) for the `listening on 127.0.0.1:PORT`
# line a wirelab server prints, and print PORT; fails when PID exits first.
wait_listening() {
  local log=$1 pid=$2 i port
  for i in $(seq 1 200); do
    port=$(sed -nE 's/^listening on 127\.0\.0\.1:([0-9]+)$/\1/p' "$log" | head -1)
    [ -n "$port" ] && { echo "$port"; return 0; }
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# stop_all PID...: SIGTERM each, then reap them.
stop_all() {
  local p
  for p in "$@"; do kill "$p" 2>/dev/null || true; done
  for p in "$@"; do wait "$p" 2>/dev/null || true; done
}
