#!/usr/bin/env bash
# programs: every program in build/bin keeps the program convention (docs/conventions.md,
# "Programs").  The list comes from `ls $BUILD/bin`, so a new program is checked the day
# it is added:
#   - `--help` exits 0, prints its options on stdout and nothing on stderr;
#   - an unknown option exits 2 with `PROGRAM: error: ...` and then `try 'PROGRAM --help'`;
#   - a server (its --help names --port, --listen or `listening on`) is started on a free
#     port, prints `listening on`, and exits 0 on SIGTERM (and on SIGINT).  A program
#     whose --help names a port but is not a server is a client of one (CLIENTS below);
#     a program that is neither in SERVERS nor in CLIENTS fails until it is put in one.
# The sanitized build ($BIN) runs where it has the program; simdjson-bench (C++, no
# sanitized build) runs from $BUILD/bin.
source "$(dirname "$0")/../lib.sh"

need strings
mapfile -t progs < <(ls "$BUILD/bin")
[ ${#progs[@]} -ge 20 ] || { bad "programs" "only ${#progs[@]} programs in $BUILD/bin: run make all"; finish; }

D=$T_TMP/data
mkdir -p "$D"
# How each server starts on a free port (after the program's path).
declare -A SERVERS=(
  [broker]="--port 0"
  [jobs-server]="--port 0"
  [kv-server]="--role primary --port 0 --repl-port 0 --data-dir $D/kv"
  [server-blocking]="--port 0"
  [server-epoll]="--port 0"
  [server-uring]="--port 0"
  [link-probe]="serve --port 0"
  [linkem]="--to 127.0.0.1:PROBE_PORT --listen 127.0.0.1:0"
)
# Options a program puts on the command lines of the programs it starts, not its own.
declare -A PASSED_ON=(
  [crash-harness]="--data-dir --delay --listen --port --primary --profile --queue --rate --repl-port --role --sync-timeout --synchronous-commit --to"
  [pg-crash-harness]="--from"
)
# Programs whose --help names a port of a server they talk to.
declare -A CLIENTS=([broker-bench]=1)

bin_of() { if [ -x "$BIN/$1" ]; then echo "$BIN/$1"; else echo "$BUILD/bin/$1"; fi; }

for p in "${progs[@]}"; do
  b=$(bin_of "$p")
  plan 2
  "$b" --help >"$T_TMP/help.out" 2>"$T_TMP/help.err" </dev/null
  rc=$?
  if [ "$rc" -ne 0 ]; then bad "$p --help" "exit status $rc (want 0): $(head -c 300 "$T_TMP/help.err")"
  elif [ -s "$T_TMP/help.err" ]; then bad "$p --help" "wrote to stderr: $(head -c 300 "$T_TMP/help.err")"
  elif ! grep -q -- '--[a-z]' "$T_TMP/help.out"; then bad "$p --help" "lists no option: $(head -c 300 "$T_TMP/help.out")"
  else ok "$p --help exits 0 and lists its options"; fi

  # Every option the program compares an argument with ("--NAME" as a string in the
  # binary: the programs that parse with strcmp) is in its --help, but for --help itself
  # and the options it passes on to the programs it starts (PASSED_ON).  getopt_long's
  # tables hold names without the dashes, so those programs are not covered here.
  plan 1
  miss=""
  for o in $(strings -n 3 "$BUILD/bin/$p" | grep -oE '^--[a-z][a-z0-9-]+$' | sort -u); do
    [ "$o" = --help ] && continue
    [[ " ${PASSED_ON[$p]:-} " == *" $o "* ]] && continue
    grep -q -- "$o" "$T_TMP/help.out" || miss+="$o "
  done
  if [ -z "$miss" ]; then ok "$p --help names every option it parses"
  else bad "$p --help names every option it parses" "missing: $miss"; fi

  "$b" --no-such-option >"$T_TMP/bad.out" 2>"$T_TMP/bad.err" </dev/null
  rc=$?
  l1=$(sed -n 1p "$T_TMP/bad.err") l2=$(sed -n 2p "$T_TMP/bad.err")
  if [ "$rc" -eq 2 ] && [[ $l1 == "$p: error: "* ]] && [ "$l2" = "try '$p --help'" ]; then
    ok "$p --no-such-option: exit 2, '$p: error:' and the try line"
  else
    bad "$p --no-such-option" "exit $rc, stderr: $(head -c 300 "$T_TMP/bad.err")"
  fi

  if grep -qE -- '--port|--listen|listening on' "$T_TMP/help.out"; then
    if [ -n "${CLIENTS[$p]:-}" ]; then continue; fi
    if [ -z "${SERVERS[$p]:-}" ]; then
      plan 1
      bad "$p is a server?" "its --help names a port: add it to SERVERS (or CLIENTS) in programs.sh"
      continue
    fi
  fi
done

# Servers: listening on a free port, then exit 0 on SIGTERM and on SIGINT.
start_server PROBE "$(bin_of link-probe)" serve --port 0 || finish
for p in "${!SERVERS[@]}"; do
  [ -x "$BUILD/bin/$p" ] || { plan 1; bad "$p" "in SERVERS but not in $BUILD/bin"; continue; }
  args=${SERVERS[$p]//PROBE_PORT/$PROBE}
  for sig in TERM INT; do
    plan 1
    rm -rf "$D/kv"
    # shellcheck disable=SC2086 # args is a list of words
    start_server SRV "$(bin_of "$p")" $args || continue
    if [ "$sig" = TERM ]; then
      stop_server SRV "$p: listening, then exit 0 on SIGTERM"
    else
      kill -INT "$SRV_PID"
      # 10 s to exit, then SIGKILL (no background guard: a subshell would carry lib.sh's traps)
      for _ in $(seq 100); do
        proc_state "$SRV_PID" && [ "$PROC_STATE" != Z ] || break
        sleep 0.1
      done
      proc_state "$SRV_PID" && [ "$PROC_STATE" != Z ] && kill -KILL "$SRV_PID"
      wait "$SRV_PID"
      rc=$?
      expect_eq "$p: listening, then exit 0 on SIGINT" 0 "$rc"
    fi
  done
done
stop_server PROBE

# broker --data-dir creates the last component only, like mkdir: a missing parent is an
# error with its reason, and nothing is created.
plan 2
timeout 20 "$(bin_of broker)" --port 0 --data-dir "$D/missing/broker" >"$T_TMP/bm.out" 2>&1
expect_eq "broker --data-dir under a missing parent: exit 1" 1 $?
[ ! -e "$D/missing" ] && ok "broker --data-dir: no parent directory created" ||
  bad "broker --data-dir" "created $D/missing"

# The crash harness on SIGTERM: the servers it started are gone, and so is the scratch
# directory it made (mktemp under $TMPDIR).
plan 3
H=$T_TMP/harness
mkdir -p "$H"
TMPDIR=$H "$(bin_of crash-harness)" --server "$(bin_of kv-server)" --level on --scenario promote \
  --trials 50 >"$T_TMP/ch.out" 2>&1 &
hp=$!
# the children seen are kept from the same look: between trials there are none
kids=""
for _ in $(seq 300); do kids=$(pgrep -P "$hp" | tr '\n' ' '); [ -n "${kids// /}" ] && break; sleep 0.1; done
[ -n "${kids// /}" ] || bad "crash-harness started servers" "none seen in 30 s: $(tail -c 300 "$T_TMP/ch.out")"
kill -TERM "$hp"
wait "$hp"
rc=$?
expect_eq "crash-harness: exit 1 after SIGTERM (a run cut short)" 1 "$rc"
left=""
for k in $kids; do [ -d "/proc/$k" ] && left+="$k "; done
expect_eq "crash-harness: its servers are gone after SIGTERM" "" "$left"
expect_eq "crash-harness: its scratch directory is removed" "" "$(ls -A "$H")"

finish
