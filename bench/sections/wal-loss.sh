#!/usr/bin/env bash
# bench/sections/wal-loss.sh: what each commit level loses when the primary dies, the
# model (kv-server, crash-harness) beside PostgreSQL 15 (pg-crash-harness: a primary and
# its synchronous standby from labs/05-wal-replication/pg-pair.sh, libpq clients), the
# same scenarios row by row: kill -9 the primary (PostgreSQL: SIGKILL to its postmaster)
# at a random moment while 4 clients write unique keys, then restart it in place or
# promote the standby, and look for every acknowledged write.  The asynchronous rows put
# the standby behind a slow link (kv-server: --repl-throttle; PostgreSQL: build/bin/linkem
# between the standby and the primary), so that it lags as real standbys do.
# Each harness checks its own bounds and the row says whether they held.  Then kv-server
# alone with its replica behind linkem at lan, region and continent (FULL=1 adds mobile),
# and across a continent at 1 mbit: crash-harness --link stops the link with the primary,
# so what was in flight and queued on it is lost, and each row sets the loss beside that
# bound.  Counts, not speeds: nothing here is pinned.  Quick profile: 2 trials per row
# (~4 min); FULL=1: 3 (~6 min).
source bench/lib.sh
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
KVH=$BIN/crash-harness PGH=$BIN/pg-crash-harness LINKEM=$BIN/linkem
for p in "$KVH" "$PGH" "$BIN/kv-server" "$LINKEM"; do
  [ -x "$p" ] || { echo "bench wal-loss: $p missing (make all)" >&2; exit 1; }
done
[ -x "$PG_BIN/postgres" ] || { echo "bench wal-loss: PostgreSQL 15 is not installed (make deps)" >&2; exit 1; }
if [ "$FULL" = 1 ]; then TRIALS=3; else TRIALS=2; fi
# The slow link: 16 kB/s, slower than either system's writes at local, so the standby
# falls behind while the clients write; the same rate for both.
KV_SLOW=(--repl-throttle 16000)
PG_SLOW=(--link-rate 128kbit)
SLOW_NAME="16 kB/s"
# PostgreSQL runs as the postgres user when this runs as root: its directories go under
# build/, which that user can enter (this section's mktemp -d in /tmp it cannot).
PG_DIR=$(mktemp -d "$BUILD/pg-loss.XXXXXX") && chmod 755 "$PG_DIR" && PG_DIR=$(cd "$PG_DIR" && pwd)
pg_cleanup() { rm -rf "$PG_DIR"; b_cleanup; }
trap pg_cleanup EXIT
# one stopped pair that every PostgreSQL trial copies (initdb once, not once per row)
labs/05-wal-replication/pg-pair.sh init "$PG_DIR/template" 2>"$B_TMP/init.err" ||
  { echo "bench wal-loss: pg-pair.sh init failed: $(tail -3 "$B_TMP/init.err")" >&2; exit 1; }

COMMON=(--trials "$TRIALS" --clients 4 --kill-after 60:250)
field() { sed -nE "s/^$1 .* $2=([0-9]+).*/\1/p" | tail -1; }
# run_one SYSTEM OUTFILE ARGS...: run a harness; "ok" when its checks held
run_one() {
  local sys=$1 out=$2; shift 2
  if [ "$sys" = kv ]; then
    "$KVH" --server "$BIN/kv-server" --tmp "$B_TMP/kv" "${COMMON[@]}" "$@" >"$out" 2>"$out.err"
  else
    "$PGH" --tmp "$PG_DIR" --template "$PG_DIR/template" "${COMMON[@]}" "$@" >"$out" 2>"$out.err"
  fi && echo ok || echo FAILED
}
# cell OUTFILE CHECK -> "trials | acked | **lost** | oldest lost ms | where | check"
cell() {
  local f=$1 t a l age where
  t=$(field TOTAL trials <"$f"); a=$(field TOTAL acked <"$f"); l=$(field TOTAL lost <"$f")
  age=$(field TOTAL max_lost_age_ms <"$f")
  if grep -q '^LAG .*lost_on_old_primary' "$f"; then
    where="$(field LAG lost_on_old_primary <"$f") on the old primary, $(field LAG lost_in_primary_buffers <"$f") in its WAL buffers"
  elif grep -q '^LAG .*lost_in_lag' "$f"; then
    where="$(field LAG lost_in_lag <"$f") in the lag, $(field LAG lost_in_primary_buffer <"$f") in the primary's buffer"
  else
    where="—"
  fi
  [ "${l:-0}" = 0 ] && { age="—"; where="—"; }
  echo "${t:-0} | ${a:-0} | **${l:-?}** | $age | $where | $2"
}

# ROWS: id | level | scenario | link | kv-server arguments | PostgreSQL arguments ("-":
# no such run).  off restarts twice for PostgreSQL: with the clients flat out, and with
# each client writing every 10 ms (its walwriter writes a WAL page out as soon as one is
# full, so its writer delay shows only when the writes trickle).
OFF_BOUND="--max-loss-age-ms 1000"
ASYNC="--allow-async-loss"
ROWS=(
  "on-promote|on|promote|loopback|--level on --scenario promote|--level on --scenario promote"
  "remote_apply-promote|remote_apply|promote|loopback|--level remote_apply --scenario promote|--level remote_apply --scenario promote"
  "local-restart|local|restart|loopback|--level local --scenario restart|--level local --scenario restart"
  "off-restart|off|restart|loopback|--level off --scenario restart $OFF_BOUND|--level off --scenario restart $OFF_BOUND"
  "off-restart-trickle|off|restart, writes every 10 ms|loopback|-|--level off --scenario restart --pace-ms 10 --kill-after 300:600 $OFF_BOUND"
  "local-promote|local|promote|loopback|--level local --scenario promote $ASYNC|--level local --scenario promote $ASYNC"
  "off-promote|off|promote|loopback|--level off --scenario promote $ASYNC $OFF_BOUND|--level off --scenario promote $ASYNC $OFF_BOUND"
  "local-promote-slow|local|promote|$SLOW_NAME|--level local --scenario promote $ASYNC ${KV_SLOW[*]}|--level local --scenario promote $ASYNC ${PG_SLOW[*]}"
  "off-promote-slow|off|promote|$SLOW_NAME|--level off --scenario promote $ASYNC $OFF_BOUND ${KV_SLOW[*]}|--level off --scenario promote $ASYNC $OFF_BOUND ${PG_SLOW[*]}"
  "on-promote-slow|on|promote|$SLOW_NAME|--level on --scenario promote ${KV_SLOW[*]}|--level on --scenario promote ${PG_SLOW[*]}"
)
plan_steps "${#ROWS[@]}"
echo "id,level,scenario,link,system,trials,acked,lost,max_lost_age_ms,check,command" >"$OUT/wal-loss.csv"
LINES=()
for r in "${ROWS[@]}"; do
  IFS='|' read -r id level scen link kvargs pgargs <<<"$r"
  row="| $level | $scen | $link |"
  for sys in kv pg; do
    args=$kvargs; [ $sys = pg ] && args=$pgargs
    f=$B_TMP/$sys-$id.out
    if [ "$args" = - ]; then row+=" — | — | — | — | — | — |"; continue; fi
    # shellcheck disable=SC2086 # the arguments are words
    chk=$(run_one $sys "$f" $args)
    [ "$chk" = ok ] || echo "bench wal-loss: $sys $id: the harness's checks failed: $(tail -3 "$f" "$f.err" | tr '\n' ' ')" >&2
    row+=" $(cell "$f" "$chk") |"
    echo "$id,$level,$scen,$link,$sys,$(field TOTAL trials <"$f"),$(field TOTAL acked <"$f"),$(field TOTAL lost <"$f"),$(field TOTAL max_lost_age_ms <"$f"),$chk,$(
      if [ $sys = kv ]; then h="$KVH --server $BIN/kv-server"; else h="$PGH"; fi
      echo "$h ${COMMON[*]} $args" | tr , ' ')" >>"$OUT/wal-loss.csv"
    value "$sys.$id.acked" "$(field TOTAL acked <"$f")"
    value "$sys.$id.lost" "$(field TOTAL lost <"$f")"
  done
  LINES+=("$row")
  progress "$id"
done

{
  echo "### What a crash loses, kv-server beside PostgreSQL 15 (\`make bench-wal-loss\`, FULL=$FULL, $TRIALS trials per row)"
  echo
  echo "$(machine)."
  echo "4 clients write unique keys; the primary is killed with SIGKILL 60–250 ms after they start (PostgreSQL: its postmaster); a writer delay of 200 ms in both (kv-server \`--wal-writer-delay\`, PostgreSQL's default \`wal_writer_delay\`). \"Oldest lost\": how long before the kill the oldest lost write had been acknowledged. $SLOW_NAME link: kv-server's primary sends with \`--repl-throttle 16000\`, PostgreSQL's standby reaches its primary through \`linkem --rate ${PG_SLOW[1]}\`. \"Check\": the harness's bounds held (nothing lost at the synchronous levels nor at \`local\` on restart; at \`off\` only writes acknowledged within 1 s of the kill; on an asynchronous promote only writes the standby had not received)."
  echo
  echo "| level | scenario | standby link | kv-server trials | acked | **lost** | oldest lost ms | where | check | PostgreSQL trials | acked | **lost** | oldest lost ms | where | check |"
  echo "| --- | --- | --- | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | --- | --- |"
  printf '%s\n' "${LINES[@]}"
} >"$OUT/wal-loss.md"
cat "$OUT/wal-loss.md"

# ---- over a real link (kv-server): what the link had not delivered when it died ----
if [ "$FULL" = 1 ]; then LINKS="lan region continent mobile"; else LINKS="lan region continent"; fi
# id | the link as the table names it | crash-harness flags
LROWS=()
for l in $LINKS; do LROWS+=("$l|$l|--link $l"); done
LROWS+=("continent-1mbit|continent at 1 mbit|--link continent --link-rate 1mbit")
plan_steps $((${#LROWS[@]} * 2))
lfield() { sed -nE "s/^$2 .* $3=([0-9.]+).*/\1/p" "$1" | tail -1; }
echo "id,link,level,trials,acked,acked_per_s,ack_p50_ms,lost,max_lost_age_ms,delay_ms,primary_lag_ms,lost_bytes,undelivered_bytes,on_link_bytes,not_sent_bytes,lost_outside_bound,check,command" >"$OUT/wal-loss-link.csv"
LLINES=()
for r in "${LROWS[@]}"; do
  IFS='|' read -r id name flags <<<"$r"
  for level in local on; do
    f=$B_TMP/kv-link-$id-$level.out
    extra=""; [ $level = local ] && extra=$ASYNC
    # shellcheck disable=SC2086 # the flags are words
    chk=$(run_one kv "$f" --level $level --scenario promote $extra $flags)
    [ "$chk" = ok ] || echo "bench wal-loss: kv link $id $level: the harness's checks failed: $(tail -3 "$f" "$f.err" | tr '\n' ' ')" >&2
    t=$(lfield "$f" TOTAL trials) a=$(lfield "$f" TOTAL acked) l=$(lfield "$f" TOTAL lost)
    age=$(lfield "$f" TOTAL max_lost_age_ms) p50=$(lfield "$f" ACK p50)
    aps=$(sed -nE 's/^ACK .* ([0-9.]+) acknowledged\/s$/\1/p' "$f" | tail -1)
    dl=$(lfield "$f" LINK delay_ms | awk '{ printf "%g", $1 }') lb=$(lfield "$f" LINK lost_bytes) ud=$(lfield "$f" LINK undelivered_bytes)
    ol=$(lfield "$f" LINK sent_not_received_bytes) ns=$(lfield "$f" LINK not_sent_bytes)
    out=$(lfield "$f" LINK lost_outside_bound) lag=$(lfield "$f" LAG max_lag_ms_at_kill)
    [ "${l:-0}" = 0 ] && age="—"
    LLINES+=("| $name | $level | ${t:-0} | ${a:-0} | ${aps:-?} | ${p50:-?} | **${l:-?}** | $age | ${dl:-?} | ${lag:-?} | ${lb:-?} | ${ud:-?} | ${ol:-?} / ${ns:-?} | $chk |")
    echo "$id,$name,$level,$t,$a,$aps,$p50,$l,${age/—/},$dl,$lag,$lb,$ud,$ol,$ns,$out,$chk,$(echo "$KVH --server $BIN/kv-server ${COMMON[*]} --level $level --scenario promote $extra $flags" | tr , ' ')" >>"$OUT/wal-loss-link.csv"
    value "kv.link.$id.$level.acked" "${a:-?}"
    value "kv.link.$id.$level.lost" "${l:-?}"
    value "kv.link.$id.$level.max_lost_age_ms" "$age"
    value "kv.link.$id.$level.ack_p50_ms" "${p50:-?}"
    value "kv.link.$id.$level.lost_bytes" "${lb:-?}"
    value "kv.link.$id.$level.undelivered_bytes" "${ud:-?}"
    progress "link $id $level: lost ${l:-?} of ${a:-?}"
  done
done
{
  echo "### Asynchronous replication on failover over a link, kv-server (\`make bench-wal-loss\`, FULL=$FULL, $TRIALS trials per row)"
  echo
  echo "$(machine)."
  echo "crash-harness as above (4 clients, SIGKILL 60–250 ms after they start, promote), the replica dialling its primary through its own \`linkem\` per trial (\`--link PROFILE\`; the last row also \`--link-rate 1mbit\`). At the kill the link is stopped first and the primary right after: the site dies with its network, and what was in flight or queued on the link never arrives. \"Oldest lost\": how long before the kill the oldest lost write had been acknowledged. \"Primary's lag_ms\": the largest \`lag_ms\` the primary's \`INFO replication\` reported just before a kill (the age of the oldest WAL its replica had not acknowledged). **Undelivered**: the WAL the replica had not received when the link died, summed over the trials (the end of the killed primary's WAL minus the end of the replica's), split by the primary's \`sent_lsn\` sampled just before the kill into sent (in flight, queued in the link, or arrived and not yet acknowledged) and not yet sent; every acknowledged write in it is lost, and the harness fails the row (\"check\") if a lost write lies anywhere else. \`local\` rows with \`--allow-async-loss\`; \`on\` rows must lose nothing."
  echo
  echo "| replica's link | level | trials | acked | acked/s | ack p50 ms | **lost** | oldest lost ms | one-way delay ms | primary's lag_ms | lost bytes | undelivered bytes | sent / not yet sent | check |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
  printf '%s\n' "${LLINES[@]}"
} >"$OUT/wal-loss-link.md"
{ echo; cat "$OUT/wal-loss-link.md"; } >>"$OUT/wal-loss.md"
cat "$OUT/wal-loss-link.md"
