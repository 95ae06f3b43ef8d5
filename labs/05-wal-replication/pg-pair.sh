#!/usr/bin/env bash
# pg-pair.sh: a PostgreSQL 15 primary and a synchronous streaming standby on loopback,
# the real system beside kv-server's model (lab 05; NOTES.md "The real PostgreSQL").
#
#   pg-pair.sh start DIR [--from TEMPLATE] [--link-rate R] [--link-delay D] [-c NAME=VALUE]...
#   pg-pair.sh stop DIR        stop both servers (and the link) and remove DIR (all of it)
#   pg-pair.sh promote DIR     promote the standby (pg_ctl promote)
#   pg-pair.sh restart DIR     start the primary again over its data (after a kill -9)
#   pg-pair.sh init DIR        create a stopped pair, a template for start --from
#   pg-pair.sh run DIR [start options] -- CMD...   start, run CMD, stop (always)
#
# start creates the pair under DIR when it has none (initdb, a table kv(k text primary key,
# v text), pg_basebackup -R with a replication slot), or copies TEMPLATE's, picks free
# loopback ports, starts both, waits until the standby streams as the synchronous one
# (synchronous_standby_names = 'standby'), and prints shell assignments on stdout:
#   PG_PRIMARY_PORT=N PG_STANDBY_PORT=N [PG_LINK_PORT=N]
# Clients pick the commit level per session (synchronous_commit is a session setting):
# `off` and `local` never wait for the standby, the remote levels wait for it.
# --link-rate/--link-delay put the standby behind build/bin/linkem (a slow link);
# -c sets a primary setting (e.g. -c wal_writer_delay=100ms).  PG_PAIR_QUIET=1 keeps
# the progress lines off stderr (errors still show).
#
# Trust authentication on 127.0.0.1 only, listen_addresses = '127.0.0.1', no Unix
# socket.  As root the servers run as the `postgres` user (PostgreSQL refuses root):
# DIR is given to that user, and every directory above it must let it through.  A failed
# or interrupted start stops what it started and removes DIR; `run` stops on every exit.
set -u
PROG=pg-pair
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
LINKEM=${LINKEM:-$TOP/build/bin/linkem}
PYTHON=/usr/bin/python3
source "$TOP/tools/proc.sh"

die() { echo "$PROG: error: $*" >&2; exit 1; }
usage() { echo "$PROG: error: $*" >&2; echo "try '$PROG --help'" >&2; exit 2; }
say() { [ -n "${PG_PAIR_QUIET:-}" ] || echo "$PROG: $*" >&2; } # progress; errors always show

# as_pg CMD...: run as the postgres user when root, from a directory it can read.
as_pg() {
  if [ "$(id -u)" = 0 ]; then (cd "$DIR" && runuser -u postgres -- "$@"); else (cd "$DIR" && "$@"); fi
}
psql_at() { # PORT SQL: one value per line, unaligned
  "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$1" -U postgres -d postgres -Atc "$2"
}
# alive PID: running, not a zombie.  A killed postmaster stays a zombie until init reaps
# it, which can take seconds; kill -0 (and PostgreSQL's own lock-file check) see it alive.
alive() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) && [ -n "$s" ] && [[ $s != Z* ]]; }
free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
env_get() { sed -nE "s/^$1=//p" "$DIR/pair.env" 2>/dev/null | tail -1; }
env_set() { # NAME VALUE: pair.env holds the running pair's ports and process ids
  { grep -v "^$1=" "$DIR/pair.env" 2>/dev/null; echo "$1=$2"; } >"$DIR/pair.env.new"
  mv "$DIR/pair.env.new" "$DIR/pair.env"
}

check_installed() {
  [ -x "$PG_BIN/postgres" ] && [ -x "$PG_BIN/pg_basebackup" ] && [ -x "$PG_BIN/psql" ] ||
    die "PostgreSQL 15 is not installed ($PG_BIN/postgres, pg_basebackup, psql): run 'make deps'"
  [ -x "$PYTHON" ] || die "$PYTHON is missing: run 'make deps'"
  if [ "$(id -u)" = 0 ]; then id postgres >/dev/null 2>&1 || die "no 'postgres' user: run 'make deps' (postgresql-15 creates it)"; fi
}

# make_dir: DIR exists and belongs to the user the servers run as.
make_dir() {
  mkdir -p "$DIR" || die "cannot create $DIR"
  DIR=$(cd "$DIR" && pwd)
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$DIR"
    runuser -u postgres -- test -w "$DIR" -a -x "$DIR" 2>/dev/null ||
      die "the postgres user cannot reach $DIR (each directory above it needs o+x; PostgreSQL does not run as root)"
  fi
}

# The settings both nodes share (pg_basebackup copies them); ports.conf, written at
# every start, holds what changes: the port and, on the standby, where the primary is.
base_conf() {
  cat <<EOF

# ---- pg-pair.sh ----
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
synchronous_standby_names = 'standby'
wal_level = replica
max_wal_senders = 4
max_connections = 100
logging_collector = off
log_line_prefix = '%m [%p] '
include_if_exists = 'ports.conf'
EOF
}

pg_ctl_start() { # NODE: start it on a free port and wait until it accepts
  local node=$1 t
  for t in 1 2 3; do # a free port can be taken by someone else before we bind it
    local port; port=$(free_port) || die "no free port"
    write_ports "$node" "$port"
    if as_pg "$PG_BIN/pg_ctl" -D "$DIR/$node" -l "$DIR/$node.log" -w -t 120 start >/dev/null 2>&1; then
      env_set "${node^^}_PORT" "$port"
      env_set "${node^^}_PID" "$(head -1 "$DIR/$node/postmaster.pid")"
      return 0
    fi
    grep -q 'could not bind\|Address already in use' "$DIR/$node.log" || break
  done
  echo "$PROG: error: the $node did not start; $DIR/$node.log says:" >&2
  tail -5 "$DIR/$node.log" >&2
  return 1
}

write_ports() { # NODE PORT
  local node=$1 port=$2 up
  {
    echo "port = $port"
    if [ "$node" = standby ]; then
      up=$(env_get LINK_PORT); up=${up:-$(env_get PRIMARY_PORT)}
      echo "primary_conninfo = 'host=127.0.0.1 port=$up user=postgres application_name=standby'"
      echo "primary_slot_name = 'standby'"
      echo "synchronous_standby_names = ''" # once promoted, it has no standby of its own
    else
      local s; for s in "${SETTINGS[@]}"; do echo "${s%%=*} = '${s#*=}'"; done
    fi
  } >"$DIR/$node/ports.conf"
  [ "$(id -u)" = 0 ] && chown postgres: "$DIR/$node/ports.conf"
  return 0
}

# init: initdb, a table, a base backup with a slot; both stopped.
do_init() {
  local p="$DIR/primary"
  say "initdb $p"
  as_pg "$PG_BIN/initdb" -D "$p" -U postgres --auth=trust -E UTF8 --locale=C -N >"$DIR/initdb.log" 2>&1 ||
    { tail -5 "$DIR/initdb.log" >&2; die "initdb failed"; }
  base_conf >>"$p/postgresql.conf"
  printf '%s\n' '# pg-pair.sh: trust on 127.0.0.1 only; no Unix socket' \
    'host all all 127.0.0.1/32 trust' 'host replication all 127.0.0.1/32 trust' >"$p/pg_hba.conf"
  [ "$(id -u)" = 0 ] && chown postgres: "$p/pg_hba.conf"
  pg_ctl_start primary || return 1
  local port; port=$(env_get PRIMARY_PORT)
  # at local: the standby that synchronous_standby_names waits for does not exist yet
  PGOPTIONS='-c synchronous_commit=local' psql_at "$port" "CREATE TABLE kv (k text PRIMARY KEY, v text NOT NULL)" >/dev/null || die "CREATE TABLE failed"
  say "pg_basebackup -R into $DIR/standby"
  as_pg "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$port" -U postgres -D "$DIR/standby" -R -X stream \
    -c fast -C -S standby >"$DIR/basebackup.log" 2>&1 || { tail -5 "$DIR/basebackup.log" >&2; die "pg_basebackup failed"; }
  # -R wrote primary_conninfo into postgresql.auto.conf; ports.conf sets it at each start
  sed -i '/^primary_conninfo/d' "$DIR/standby/postgresql.auto.conf"
  as_pg "$PG_BIN/pg_ctl" -D "$DIR/primary" -m fast -w -t 60 stop >/dev/null 2>&1 ||
    die "the primary did not stop cleanly; $DIR/primary.log says: $(tail -3 "$DIR/primary.log")"
}

stop_node() { # NODE: immediate shutdown (stop deletes the data: a shutdown checkpoint
  # would be written for nothing), then SIGKILL to what is left
  local node=$1
  if [ -f "$DIR/$node/postmaster.pid" ] && alive "$(head -1 "$DIR/$node/postmaster.pid")"; then
    as_pg "$PG_BIN/pg_ctl" -D "$DIR/$node" -m immediate -w -t 20 stop >/dev/null 2>&1
  fi
  [ -d "$DIR/$node" ] && wait_gone "$DIR/$node" 0
  return 0
}

# instance_pids DATADIR: the processes of one PostgreSQL instance.  Each child of the
# postmaster is its own session (it calls setsid), and is re-parented when the
# postmaster dies, so neither the group nor the parent finds them; every one of them
# works in the data directory, so its cwd does.
instance_pids() {
  local p
  for p in $(pgrep -x postgres); do p=/proc/$p
    [ "$(readlink "$p/cwd" 2>/dev/null)" = "$1" ] && [ "$(cat "$p/comm" 2>/dev/null)" = postgres ] &&
      echo "${p#/proc/}"
  done
  return 0
}

# wait_gone DATADIR SECONDS: the instance's processes have exited (the children of a
# postmaster killed with -9 exit by themselves, soon); SIGKILL what is left after that.
wait_gone() {
  local i pids
  for i in $(seq 1 $(($2 * 20))); do
    [ -z "$(instance_pids "$1")" ] && return 0
    sleep 0.05
  done
  pids=$(instance_pids "$1")
  [ -n "$pids" ] && kill -KILL $pids 2>/dev/null && sleep 0.2
  return 0
}

start_link() {
  [ -x "$LINKEM" ] || die "$LINKEM is missing (make all): --link-rate/--link-delay need the link emulator"
  local args=(--listen 127.0.0.1:0 --to "127.0.0.1:$(env_get PRIMARY_PORT)")
  [ -n "$LINK_RATE" ] && args+=(--rate "$LINK_RATE")
  [ -n "$LINK_DELAY" ] && args+=(--delay "$LINK_DELAY")
  : >"$DIR/link.log"
  "$LINKEM" "${args[@]}" >>"$DIR/link.log" 2>&1 &
  local pid=$! port
  env_set LINK_PID "$pid"
  port=$(wait_listening "$DIR/link.log" "$pid") || { cat "$DIR/link.log" >&2; die "linkem did not start"; }
  env_set LINK_PORT "$port"
}

wait_streaming() { # the standby is connected and synchronous
  local i s port; port=$(env_get PRIMARY_PORT)
  for i in $(seq 1 1200); do
    s=$(psql_at "$port" "SELECT state || ' ' || sync_state FROM pg_stat_replication WHERE application_name = 'standby'" 2>/dev/null)
    [ "$s" = "streaming sync" ] && return 0
    alive "$(env_get STANDBY_PID)" || break
    sleep 0.1
  done
  echo "$PROG: error: the standby is not streaming (state: '${s:-none}'); $DIR/standby.log says:" >&2
  tail -5 "$DIR/standby.log" >&2
  return 1
}

do_start() {
  [ -e "$DIR/pair.env" ] && die "$DIR holds a pair already ('$0 stop $DIR' first)"
  make_dir
  : >"$DIR/pair.env"
  trap 'say "interrupted: stopping"; do_stop; exit 130' INT TERM
  if [ ! -d "$DIR/primary" ]; then
    if [ -n "$FROM" ]; then
      [ -d "$FROM/primary" ] && [ -d "$FROM/standby" ] || { do_stop; die "$FROM is not a pair template ('$0 init $FROM')"; }
      cp -a "$FROM/primary" "$FROM/standby" "$DIR/" || { do_stop; die "cannot copy $FROM"; }
    else
      do_init || { do_stop; exit 1; }
    fi
  fi
  pg_ctl_start primary || { do_stop; exit 1; }
  if [ -n "$LINK_RATE$LINK_DELAY" ]; then start_link || { do_stop; exit 1; }; fi
  pg_ctl_start standby || { do_stop; exit 1; }
  wait_streaming || { do_stop; exit 1; }
  trap - INT TERM
  echo "PG_PRIMARY_PORT=$(env_get PRIMARY_PORT)"
  echo "PG_STANDBY_PORT=$(env_get STANDBY_PORT)"
  [ -n "$(env_get LINK_PORT)" ] && echo "PG_LINK_PORT=$(env_get LINK_PORT)"
  say "primary 127.0.0.1:$(env_get PRIMARY_PORT), standby 127.0.0.1:$(env_get STANDBY_PORT) (synchronous, streaming${LINK_RATE:+, link $LINK_RATE}${LINK_DELAY:+ delay $LINK_DELAY})"
  return 0
}

do_stop() {
  [ -d "$DIR" ] || return 0
  stop_node standby
  stop_node primary
  local l; l=$(env_get LINK_PID)
  if [ -n "$l" ] && kill -0 "$l" 2>/dev/null; then kill "$l" 2>/dev/null; wait "$l" 2>/dev/null; fi
  rm -rf "$DIR"
}

do_restart() { # the primary, in place, after its postmaster was killed
  wait_gone "$DIR/primary" 10
  # the lock file of a killed postmaster is stale once its processes are gone; while the
  # zombie waits for init, the new postmaster would take it for a running one and refuse
  local f="$DIR/primary/postmaster.pid"
  [ -f "$f" ] && ! alive "$(head -1 "$f")" && rm -f "$f"
  local port; port=$(env_get PRIMARY_PORT) # ports.conf still names it, and the -c settings
  as_pg "$PG_BIN/pg_ctl" -D "$DIR/primary" -l "$DIR/primary.log" -w -t 120 start >/dev/null 2>&1 ||
    { tail -5 "$DIR/primary.log" >&2; die "the primary did not restart"; }
  env_set PRIMARY_PID "$(head -1 "$DIR/primary/postmaster.pid")"
  say "primary restarted on 127.0.0.1:$port (crash recovery done)"
}

do_promote() {
  as_pg "$PG_BIN/pg_ctl" -D "$DIR/standby" -w -t 120 promote >/dev/null 2>&1 ||
    { tail -5 "$DIR/standby.log" >&2; die "the standby was not promoted"; }
  say "standby promoted: 127.0.0.1:$(env_get STANDBY_PORT) takes writes"
}

help() {
  sed -n '2,/^set -u/p' "$0" | sed -e '/^set -u/d' -e 's/^# \{0,1\}//'
}

# ---- command line ----
[ $# -ge 1 ] || usage "a command is needed"
CMD=$1; shift
case $CMD in --help|-h|help) help; exit 0 ;; esac
[ $# -ge 1 ] || usage "$CMD needs a directory"
DIR=$1; shift
FROM="" LINK_RATE="" LINK_DELAY="" SETTINGS=() RUN=()
while [ $# -gt 0 ]; do
  case $1 in
    --from) [ $# -ge 2 ] || usage "--from needs a value"; FROM=$2; shift 2 ;;
    --link-rate) [ $# -ge 2 ] || usage "--link-rate needs a value"; LINK_RATE=$2; shift 2 ;;
    --link-delay) [ $# -ge 2 ] || usage "--link-delay needs a value"; LINK_DELAY=$2; shift 2 ;;
    -c) [ $# -ge 2 ] && [[ $2 == [a-z_]*=* ]] || usage "-c needs NAME=VALUE"; SETTINGS+=("$2"); shift 2 ;;
    --) shift; RUN=("$@"); break ;;
    *) usage "unknown option '$1'" ;;
  esac
done
case $DIR in /*) ;; *) DIR=$PWD/$DIR ;; esac
check_installed
case $CMD in
  start) do_start ;;
  stop) do_stop ;;
  promote) do_promote ;;
  restart) do_restart ;;
  init)
    [ -e "$DIR/primary" ] && die "$DIR holds a pair already"
    make_dir; : >"$DIR/pair.env"
    trap 'do_stop; exit 130' INT TERM
    do_init || { do_stop; exit 1; }
    rm -f "$DIR/pair.env" ;;
  run)
    [ ${#RUN[@]} -gt 0 ] || usage "run needs -- CMD..."
    trap 'exit 130' INT # during the start, its own trap stops what it started
    trap 'exit 143' TERM
    out=$(do_start) || exit 1
    trap 'do_stop' EXIT
    eval "$out"
    export PG_PRIMARY_PORT PG_STANDBY_PORT
    [ -n "${PG_LINK_PORT:-}" ] && export PG_LINK_PORT
    "${RUN[@]}" ;;
  *) usage "unknown command '$CMD'" ;;
esac
