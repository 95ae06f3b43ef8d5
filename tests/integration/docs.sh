#!/usr/bin/env bash
# docs: the commands the docs give a reader work as written, and the tree speaks of the
# project alone.
#
# Every ```sh block of labs/*/NOTES.md and README.md that is not a `make` step is run
# as a reader would paste it: from the top of the tree, on the release build
# (build/bin), with bash -e (a command that fails fails the block; a command meant to
# fail says so with `|| echo ...`).  The rule is in docs/conventions.md ("Lab notes");
# docs_blocks.py extracts the blocks and enforces the parts of it that are about text.
# Ports: each distinct port a block names is mapped, on every line of that block, to a
# port that was free a moment before (docs_blocks.py), so that runs in parallel and on
# CI do not collide.  Each block runs in a session of its own under a time limit: it
# fails when it hangs, exits non-zero, or leaves anything it started still running
# 5 s after it ended.  The README's lab commands must appear in their lab's run blocks.
# Last, a grep over every tracked file for words about how the project was made rather
# than what it is (docs/conventions.md, "Lab notes").
source "$(dirname "$0")/../lib.sh"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
need curl redis-cli redis-server protoc timeout setsid
[ -x "$BUILD/bin/jobs-server" ] || { bad "release build" "no $BUILD/bin/jobs-server: run make all"; finish; }

BLOCK_LIMIT=${DOCS_BLOCK_LIMIT:-120} # seconds per block (a PostgreSQL pair takes most of a minute on a loaded machine)
mkdir -p "$T_TMP/blocks"

plan 1
if /usr/bin/python3 tests/integration/docs_blocks.py "$TOP" "$T_TMP/blocks" >"$T_TMP/blocks.txt"; then
  ok "blocks follow the run-block rule; README lab commands are in their labs' blocks"
else
  bad "run-block rule" "$(grep ': error: ' "$T_TMP/blocks.txt")"
fi

# run_block FILE: run one extracted block; prints why it failed, nothing when it passed.
run_block() {
  local f=$1 log=$1.log sid rc left why="" i
  local src
  src=$(head -1 "$f")
  if [ "$BUILD" != build ]; then sed -i "s#\bbuild/bin/#$BUILD/bin/#g" "$f"; fi
  # setsid: the block leads a session of its own, so what it leaves behind can be found.
  # (the block's shell writes its pid, which is its session id, before it starts)
  timeout -s KILL "$BLOCK_LIMIT" setsid bash -c 'echo $$ >"$1.sid"; exec bash -e "$1"' block "$f" \
    >"$log" 2>&1 </dev/null
  rc=$?
  sid=$(cat "$f.sid" 2>/dev/null)
  case $rc in 124 | 137) why="hung: still running after ${BLOCK_LIMIT} s" ;; esac
  [ -z "$why" ] && [ "$rc" -ne 0 ] && why="exit status $rc"
  if [ -n "$sid" ]; then
    for i in $(seq 50); do
      left=$(ps -o pid=,args= -s "$sid" 2>/dev/null)
      [ -z "$left" ] && break
      sleep 0.1
    done
    if [ -n "$left" ]; then
      why="${why:+$why; }left running: $(echo "$left" | head -3 | tr -s ' \n' ' ')"
      for p in $(ps -o pid= -s "$sid" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    fi
  fi
  [ -n "$why" ] && printf '%s (%s); output ends: %s' "$why" "${src#\# }" "$(tail -c 400 "$log")"
}

# DOCS_ONLY=TEXT runs only the blocks whose FILE:LINE contains TEXT (while editing one).
mapfile -t runs < <(awk -v only="${DOCS_ONLY:-}" '$1 == "run" && index($3, only) { print $2 " " $3 }' "$T_TMP/blocks.txt")
plan ${#runs[@]}
[ -n "${DOCS_ONLY:-}" ] || [ ${#runs[@]} -ge 12 ] || bad "blocks found" "only ${#runs[@]} run blocks"
# DOCS_JOBS blocks at a time (their ports differ); each writes its verdict to NAME.why.
jobs_max=${DOCS_JOBS:-3}
for r in "${runs[@]}"; do
  name=${r%% *}
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
  (
    t0=$(date +%s)
    run_block "$T_TMP/blocks/$name.sh" >"$T_TMP/blocks/$name.why"
    echo "$(($(date +%s) - t0))" >"$T_TMP/blocks/$name.secs"
  ) &
done
wait
for r in "${runs[@]}"; do
  name=${r%% *} where=${r#* }
  why=$(cat "$T_TMP/blocks/$name.why" 2>/dev/null || echo "did not run")
  if [ -z "$why" ]; then ok "block $where ($(cat "$T_TMP/blocks/$name.secs") s)"; else bad "block $where" "$why"; fi
done

# pg_ctl detaches PostgreSQL from the block's session, so the session check above does
# not see it: a pair a block started under build/pg-demo must be stopped by the block.
plan 1
if pgrep -f -- "-D $TOP/build/pg-demo/" >/dev/null; then
  bad "no PostgreSQL left running" "a pair under build/pg-demo: $(pgrep -af -- "-D $TOP/build/pg-demo/" | head -2)"
  labs/05-wal-replication/pg-pair.sh stop build/pg-demo >/dev/null 2>&1
else
  ok "no PostgreSQL left running by the blocks"
fi

# ---- words about how the project was made --------------------------------------
# Names of people and roles, references to tickets and instructions, run diaries and
# first-person asides.  Code uses "helper" for functions and programs; the patterns
# catch it only where it names a person.
plan 1
words='\bissues? ?#?[0-9]+|\bengineers?\b|\bthe brief\b|\bthe lead\b|\b(another|other|the|a) helpers?\b( (said|asked|wrote|engineer|session)|,|\.)|\bthis round\b|\b[Rr]uns? [0-9]+( ?(-|to|\.\.\.) ?[0-9]+)?( (was|were|of|hit|had)|,|\)|:)|\bI (have|had|tried|think|measured|ran|found|used|saw|added|changed|did|was)\b|\b[Ww]e (tried|measured|ran|found|saw)\b|load averages? (of )?[0-9]|\bthe issue\b'
hits=$(git ls-files -- . ':!tests/integration/docs.sh' ':!tests/mutants' |
  xargs grep -nIE "$words" 2>/dev/null | head -20)
if [ -z "$hits" ]; then ok "no process words in the tree"; else bad "process words" "$hits"; fi

finish
