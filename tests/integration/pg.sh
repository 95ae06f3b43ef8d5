#!/usr/bin/env bash
# The real PostgreSQL beside lab 05's model: pg-pair.sh starts a primary and a synchronous
# streaming standby and leaves nothing behind (stop, an interrupt); a write at `on` reaches the
# standby, at `remote_apply` it is visible there at once; pg-crash-harness (libpq) kills
# the primary's postmaster with SIGKILL and finds every acknowledged write after a promote
# or a restart, shows asynchronous replication losing the lag behind a slow link
# (linkem), and counts a planted loss as a loss.
source tests/lib.sh
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PAIR=labs/05-wal-replication/pg-pair.sh
H=$BIN/pg-crash-harness
for t in postgres pg_ctl initdb pg_basebackup psql; do
  [ -x "$PG_BIN/$t" ] || { bad "PostgreSQL 15" "$PG_BIN/$t is missing: run 'make deps'"; finish; }
done
need /usr/bin/python3 timeout
[ -x "$H" ] || { bad "pg-crash-harness" "$H is missing (make asan)"; finish; }
# The servers run as the postgres user when this runs as root: their directories go
# under build/ (a mktemp -d in /tmp is closed to that user).
PGD=$(mktemp -d "$BUILD/pg-test.XXXXXX") && chmod 755 "$PGD" && PGD=$(cd "$PGD" && pwd)
pg_cleanup() {
  local d
  for d in "$PGD"/pair "$PGD"/run; do [ -e "$d" ] && "$PAIR" stop "$d" >/dev/null 2>&1; done
  rm -rf "$PGD"
  t_cleanup
}
trap pg_cleanup EXIT
psql_at() { timeout 20 "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$1" -U postgres -d postgres -Atc "$2" 2>&1; }
# instance_left DIR: pids of postgres processes working in DIR or under it (each
# server's cwd is its data directory)
instance_left() {
  local p
  for p in $(pgrep -x postgres); do
    case $(readlink "/proc/$p/cwd" 2>/dev/null) in "$1" | "$1"/*) echo "$p" ;; esac
  done
}

# ---- command line ----
plan 7
"$PAIR" frobnicate "$PGD/x" >/dev/null 2>&1
expect_eq "pg-pair: unknown command exits 2" 2 $?
"$PAIR" start "$PGD/x" --link-rate >/dev/null 2>&1
expect_eq "pg-pair: option without its value exits 2" 2 $?
out=$(PG_BIN=/nonexistent "$PAIR" start "$PGD/x" 2>&1)
expect_eq "pg-pair: PostgreSQL missing exits 1" 1 $?
check "... with a message that says make deps ($out)" grep -q "PostgreSQL 15 is not installed .*make deps" <<<"$out"
"$H" --level maybe >/dev/null 2>&1
expect_eq "pg-crash-harness: bad --level exits 2" 2 $?
"$H" --kill-after 300:100 >/dev/null 2>&1
expect_eq "pg-crash-harness: --kill-after MIN > MAX exits 2" 2 $?

# One stopped pair the later runs copy (initdb once): the `run` below and every harness
# trial.  The pair by hand is made from scratch.
check "pg-pair init (a template)" timeout 120 "$PAIR" init "$PGD/tpl"

# ---- a pair by hand ----
plan 24
if out=$(timeout 120 "$PAIR" start "$PGD/pair" 2>"$T_TMP/pair.err"); then
  ok "pg-pair start"
else
  bad "pg-pair start" "$(tail -5 "$T_TMP/pair.err")"; finish
fi
eval "$out"
check "start prints both ports" test -n "${PG_PRIMARY_PORT:-}" -a -n "${PG_STANDBY_PORT:-}"
expect_eq "the standby streams, as the synchronous one" "streaming|sync" \
  "$(psql_at "$PG_PRIMARY_PORT" "SELECT state, sync_state FROM pg_stat_replication WHERE application_name = 'standby'")"
expect_eq "listens on 127.0.0.1 only, no Unix socket" "127.0.0.1|" \
  "$(psql_at "$PG_PRIMARY_PORT" "SELECT current_setting('listen_addresses'), current_setting('unix_socket_directories')")"
expect_eq "the standby is in recovery" t "$(psql_at "$PG_STANDBY_PORT" "SELECT pg_is_in_recovery()")"
expect_eq "the standby refuses writes" "ERROR:  cannot execute INSERT in a read-only transaction" \
  "$(psql_at "$PG_STANDBY_PORT" "INSERT INTO kv VALUES ('x', 'y')")"
expect_eq "a write at on" "INSERT 0 1" \
  "$(PGOPTIONS='-c synchronous_commit=on' timeout 20 "$PG_BIN/psql" -X -h 127.0.0.1 -p "$PG_PRIMARY_PORT" -U postgres -c "INSERT INTO kv VALUES ('user:1', 'alice')" 2>&1)"
# on: the standby has flushed it; replay may trail by a moment
for i in $(seq 1 100); do [ "$(psql_at "$PG_STANDBY_PORT" "SELECT v FROM kv WHERE k = 'user:1'")" = alice ] && break; sleep 0.05; done
expect_eq "... is on the standby" alice "$(psql_at "$PG_STANDBY_PORT" "SELECT v FROM kv WHERE k = 'user:1'")"
# remote_apply: the commit returns once the standby has replayed it: visible at the first read
PGOPTIONS='-c synchronous_commit=remote_apply' psql_at "$PG_PRIMARY_PORT" "INSERT INTO kv VALUES ('user:2', 'bob')" >/dev/null
expect_eq "a write at remote_apply is visible on the standby at the first read" bob \
  "$(psql_at "$PG_STANDBY_PORT" "SELECT v FROM kv WHERE k = 'user:2'")"
# The standby frozen (SIGSTOP to each of its processes, the WAL receiver among them): a
# commit at on waits (PostgreSQL waits without a bound), hidden from other sessions
# meanwhile; local does not wait.
sby=$(instance_left "$PGD/pair/standby")
check "the standby's processes are found by their working directory" test -n "$sby"
kill -STOP $sby
expect_eq "standby frozen: a commit at local still returns" "INSERT 0 1" \
  "$(PGOPTIONS='-c synchronous_commit=local' timeout 20 "$PG_BIN/psql" -X -h 127.0.0.1 -p "$PG_PRIMARY_PORT" -U postgres -c "INSERT INTO kv VALUES ('user:3', 'carol')" 2>&1)"
PGOPTIONS='-c synchronous_commit=on' timeout 2 "$PG_BIN/psql" -X -h 127.0.0.1 -p "$PG_PRIMARY_PORT" -U postgres -c "INSERT INTO kv VALUES ('user:4', 'dan')" >/dev/null 2>&1
expect_eq "standby frozen: a commit at on is still waiting after 2 s (timeout's 124)" 124 $?
expect_eq "... and other sessions on the primary do not see it yet" 0 \
  "$(psql_at "$PG_PRIMARY_PORT" "SELECT count(*) FROM kv WHERE k = 'user:4'")"
kill -CONT $sby
for i in $(seq 1 100); do [ "$(psql_at "$PG_PRIMARY_PORT" "SELECT count(*) FROM kv WHERE k = 'user:4'")" = 1 ] && break; sleep 0.05; done
expect_eq "standby back: the waiting commit completes and shows" 1 \
  "$(psql_at "$PG_PRIMARY_PORT" "SELECT count(*) FROM kv WHERE k = 'user:4'")"
# promote by hand
kill -9 "$(head -1 "$PGD/pair/primary/postmaster.pid")"
check "pg-pair promote" timeout 120 "$PAIR" promote "$PGD/pair"
expect_eq "the promoted standby takes writes" "INSERT 0 1" \
  "$(timeout 20 "$PG_BIN/psql" -X -h 127.0.0.1 -p "$PG_STANDBY_PORT" -U postgres -c "INSERT INTO kv VALUES ('user:5', 'eve')" 2>&1)"
expect_eq "... and has what on acknowledged" alice "$(psql_at "$PG_STANDBY_PORT" "SELECT v FROM kv WHERE k = 'user:1'")"
check "pg-pair stop" timeout 120 "$PAIR" stop "$PGD/pair"
expect_eq "stop: no server process left" "" "$(instance_left "$PGD/pair")"
check "stop: the directory is removed" test ! -e "$PGD/pair"

# Interrupted in the middle of `run`: the signal goes to the whole job (job control makes
# it a process group of its own, as a terminal's Ctrl-C does), and nothing is left.
# SIGTERM, not SIGINT: a shell that was itself started in the background passes SIGINT
# on ignored, and a script cannot trap a signal ignored at its start; pg-pair.sh traps
# INT and TERM alike.
set -m
"$PAIR" run "$PGD/run" --from "$PGD/tpl" -- sleep 300 >"$T_TMP/run.out" 2>&1 &
job=$!
set +m
for i in $(seq 1 1200); do grep -q '^STANDBY_PID=' "$PGD/run/pair.env" 2>/dev/null && grep -q 'streaming' "$T_TMP/run.out" && break; sleep 0.1; done
check "run: the pair came up" grep -q 'synchronous, streaming' "$T_TMP/run.out"
kill -TERM -- -"$job" 2>/dev/null
for i in $(seq 1 600); do kill -0 "$job" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$job" 2>/dev/null; then
  bad "run + SIGTERM: the job ends" "still running after 60 s"; kill -KILL -- -"$job" 2>/dev/null
else
  ok "run + SIGTERM: the job ends"
fi
wait "$job" 2>/dev/null
expect_eq "run + SIGTERM: no server process left" "" "$(instance_left "$PGD/run")"
check "run + SIGTERM: the directory is removed" test ! -e "$PGD/run"

# ---- the crash harness ----
plan 4
HA=("$H" --tmp "$PGD" --template "$PGD/tpl" --clients 4 --kill-after 60:250)
harness() { # NAME args...: passes when the harness exits 0; shows its loss table
  local n=$1; shift
  if timeout 600 "${HA[@]}" "$@" >"$T_TMP/h.out" 2>"$T_TMP/h.err"; then ok "$n"; else bad "$n" "$(tail -5 "$T_TMP/h.out") $(tail -3 "$T_TMP/h.err")"; fi
  grep -E '^(#|TOTAL|ACK|LAG|NOT)' "$T_TMP/h.out" | sed 's/^/      /'
}
harness "on: SIGKILL the postmaster, promote the standby, 3 trials, 0 acknowledged lost" \
  --level on --scenario promote --trials 3
check "on: writes were acknowledged" grep -qE '^TOTAL .* acked=[1-9]' "$T_TMP/h.out"
harness "local: SIGKILL the postmaster, restart in place, 2 trials, 0 lost" --level local --scenario restart --trials 2
check "local: writes were acknowledged" grep -qE '^TOTAL .* acked=[1-9]' "$T_TMP/h.out"
plan 5
# Asynchronous replication behind a slow link: linkem at 16 kB/s between the standby and
# its primary, while 4 clients write faster than that at local, so the standby lags and a
# promote loses acknowledged writes: EXPECTED, it is what asynchronous replication trades.
# The harness fails if a lost write is missing from the old primary too (a lost local
# flush, not the lag) or breaks the commit-order prefix.  on over the same link loses
# nothing: it pays in commit latency instead.
export LINKEM=$BIN/linkem
[ -x "$LINKEM" ] || { bad "linkem" "$LINKEM is missing (make asan)"; finish; }
harness "local + promote over a 16 kB/s link: acknowledged writes lost (expected: async), all in the lag" \
  --level local --scenario promote --trials 3 --link-rate 128kbit --allow-async-loss
check "local + promote over a slow link: the loss is real (lost > 0 in 3 trials)" grep -qE '^TOTAL .* lost=[1-9]' "$T_TMP/h.out"
check "... every lost write still on the old primary's disk, none in its buffers" \
  grep -qE '^LAG .* lost_on_old_primary=[1-9][0-9]* lost_in_primary_buffers=0 ' "$T_TMP/h.out"
harness "on + promote over the same link: 0 acknowledged lost" --level on --scenario promote --trials 2 --link-rate 128kbit
check "on over the slow link: writes were acknowledged" grep -qE '^TOTAL .* acked=[1-9]' "$T_TMP/h.out"
plan 4
# A planted loss: the 5 oldest acknowledged writes of client 0 are deleted before the
# read-back.  The harness must count exactly them, fail, and see that they break the
# prefix (each was answered before a surviving write was sent).
if timeout 300 "${HA[@]}" --level on --scenario promote --trials 1 --plant-loss 5 >"$T_TMP/h.out" 2>"$T_TMP/h.err"; then
  bad "planted loss: the harness fails" "it exited 0"
else
  ok "planted loss: the harness fails"
fi
check "planted loss: counted, lost=5" grep -qE '^TOTAL .* lost=5 ' "$T_TMP/h.out"
check "planted loss: not a prefix of the commit order" grep -q '^NOT A PREFIX: 5 ' "$T_TMP/h.out"
expect_eq "no harness directory left" "tpl" "$(ls "$PGD")"
finish
