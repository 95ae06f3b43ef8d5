#!/usr/bin/env bash
# bench links: how accurate linkem (labs/12-links) is, every row in one run.
#   1. round trip through linkem at each profile against the configured one (p50, p99
#      of link-probe echo exchanges), beside loopback without linkem measured in the same
#      run; target: within 5% + 100 us of the configured round trip, p50 and p99
#   2. throughput against --rate for 1 and 100 connections (link-probe bulk, bytes as
#      the client received them), with linkem's CPU time per MB moved; target: within 5%;
#      loopback without linkem is the ceiling row
#   3. resident memory with fast senders and receivers that never read (link-probe
#      flood): RSS one second apart at the end of the flood, against the idle RSS plus
#      connections x (--queue + 64 KiB of segment records: io/link's bound per flow);
#      target: flat (under 1 MiB in that second), and below that bound
# linkem runs on the server core, link-probe (both ends) on the client core.
# Quick profile: profiles lan, region, continent; 200/100/20 exchanges; 2 s per rate
# cell at 10 and 100 mbit; 10 and 100 stuck connections.  FULL=1 adds mobile and 1 gbit,
# 1000/500/100 exchanges, 5 s per cell, 1000 stuck connections.
source "$(dirname "$0")/../lib.sh"
need taskset
for p in linkem link-probe; do
  [ -x "$BIN/$p" ] || { echo "bench links: $BIN/$p missing (make all)" >&2; exit 1; }
done
if [ "$FULL" = 1 ]; then
  PROFILES="lan region continent mobile" N_LAN=1000 N_REGION=500 N_CONT=100 N_MOB=100 SECS=5
  RATES="10mbit 100mbit 1gbit" STUCK="10 100 1000" FLOOD=12
else
  PROFILES="lan region continent" N_LAN=200 N_REGION=100 N_CONT=20 N_MOB=20 SECS=2
  RATES="10mbit 100mbit" STUCK="10 100" FLOOD=5
fi
CSV=$OUT/links.csv MD=$OUT/links.md
TICKS=$(getconf CLK_TCK)
echo "test,case,conns,configured,p50,p99,measured,unit,ratio,cpu_ms_per_mb,target,met,command" >"$CSV"
P=$BIN/link-probe L=$BIN/linkem # for the command column
plan_steps $(( $(wc -w <<<"$PROFILES") + 1 + 2 * $(wc -w <<<"$RATES") + 2 + $(wc -w <<<"$STUCK") ))

start_bg SRV pin_client "$BIN/link-probe" serve --port 0 || exit 1
kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# link VAR ARGS...: a fresh linkem to the probe server on the server core; port in VAR,
# pid in LPID (stopped by stop_link)
link() {
  local var=$1; shift
  start_bg "$var" pin_server "$BIN/linkem" --to "127.0.0.1:$SRV" "$@" || return 1
  LPID=${B_PIDS[-1]}
}
stop_link() { kill "$LPID" 2>/dev/null; wait "$LPID" 2>/dev/null; }
# met ERR_US CONFIGURED_US -> yes/no against 5% + 100 us
met_rtt() { awk -v e="$1" -v c="$2" 'BEGIN { print (e < 0 ? -e : e) <= 0.05 * c + 100 ? "yes" : "no" }'; }

# 1. round trips
r=$(pin_client "$BIN/link-probe" rtt --to "127.0.0.1:$SRV" --count "$N_LAN")
echo "rtt,loopback (no linkem),1,0,$(kv "$r" rtt_p50_us),$(kv "$r" rtt_p99_us),,us,,,reference,,$P rtt --to 127.0.0.1:PORT --count $N_LAN" >>"$CSV"
progress "loopback: p50 $(kv "$r" rtt_p50_us) us"
for prof in $PROFILES; do
  case $prof in
    lan) n=$N_LAN rtt_us=200 ;; region) n=$N_REGION rtt_us=2000 ;;
    continent) n=$N_CONT rtt_us=80000 ;; mobile) n=$N_MOB rtt_us=60000 ;;
  esac
  link LP --profile "$prof" || exit 1
  r=$(pin_client "$BIN/link-probe" rtt --to "127.0.0.1:$LP" --count "$n")
  stop_link
  p50=$(kv "$r" rtt_p50_us) p99=$(kv "$r" rtt_p99_us)
  if [ "$prof" = mobile ]; then # +-10 ms each way: the round trip is 40-80 ms, no single target
    tgt="within 40000-80000 + 5%" m=$(awk -v a="$p50" -v b="$p99" 'BEGIN { print (a >= 40000 && b <= 84000) ? "yes" : "no" }')
  else
    tgt="5% + 100 us"
    m=$([ "$(met_rtt "$(awk -v a="$p50" -v c="$rtt_us" 'BEGIN{print a-c}')" "$rtt_us")" = yes ] &&
        [ "$(met_rtt "$(awk -v a="$p99" -v c="$rtt_us" 'BEGIN{print a-c}')" "$rtt_us")" = yes ] && echo yes || echo no)
  fi
  echo "rtt,$prof ($n exchanges),1,$rtt_us,$p50,$p99,,us,$(ratio "$p50" "$rtt_us"),,$tgt,$m,$P rtt --to 127.0.0.1:LINKEM_PORT --count $n (through: $L --to 127.0.0.1:PORT --profile $prof)" >>"$CSV"
  progress "$prof: configured $rtt_us us, p50 $p50 p99 $p99 (met: $m)"
done

# 2. rates, and linkem's CPU per MB
r=$(pin_client "$BIN/link-probe" bulk --to "127.0.0.1:$SRV" --seconds "$SECS")
echo "rate,loopback (no linkem),1,,,,$(awk -v b="$(kv "$r" rate_Bps)" 'BEGIN{printf "%.1f", b*8/1e6}'),mbit/s,,,ceiling,,$P bulk --to 127.0.0.1:PORT --seconds $SECS" >>"$CSV"
progress "loopback: $(kv "$r" rate_Bps) B/s"
for rate in $RATES; do
  conf=$(sed -E 's/mbit$/e6/; s/gbit$/e9/' <<<"$rate" | awk '{printf "%.0f", $1 + 0}')
  for c in 1 100; do
    link LP --rate "$rate" --delay 1ms || exit 1
    t0=$(cpu_ticks "$LPID")
    r=$(pin_client "$BIN/link-probe" bulk --to "127.0.0.1:$LP" --conns "$c" --seconds "$SECS")
    t1=$(cpu_ticks "$LPID")
    stop_link
    bps=$(kv "$r" rate_Bps) bytes=$(kv "$r" bytes)
    mbit=$(awk -v b="$bps" 'BEGIN{printf "%.2f", b*8/1e6}')
    rat=$(awk -v b="$bps" -v c="$conf" 'BEGIN{printf "%.3f", b*8/c}')
    cpu=$(awk -v t=$((t1 - t0)) -v hz="$TICKS" -v b="$bytes" 'BEGIN{ if (b > 0) printf "%.2f", t/hz*1000/(b/1e6); else print "n/a" }')
    m=$(awk -v r="$rat" 'BEGIN{print (r >= 0.95 && r <= 1.05) ? "yes" : "no"}')
    echo "rate,$rate,$c,$(awk -v c="$conf" 'BEGIN{print c/1e6}'),,,$mbit,mbit/s,$rat,$cpu,within 5%,$m,$P bulk --to 127.0.0.1:LINKEM_PORT --conns $c --seconds $SECS (through: $L --to 127.0.0.1:PORT --rate $rate --delay 1ms)" >>"$CSV"
    progress "$rate x $c: $mbit mbit/s (x$rat), $cpu ms CPU per MB"
  done
done

# 3. memory under receivers that never read.  The senders fill the kernel's socket
# buffers as well as linkem's (megabytes per socket with autotuning), so the samples are
# taken at the end of the flood, one second apart, once linkem's share is full.
Q=262144
for c in $STUCK; do
  link LP --queue 256k || exit 1
  base=$(rss_kib "$LPID")
  pin_client "$BIN/link-probe" flood --to "127.0.0.1:$LP" --conns "$c" --seconds "$FLOOD" >"$B_TMP/flood" 2>&1 &
  fp=$!
  sleep $((FLOOD - 2)); a=$(rss_kib "$LPID")
  sleep 1; b=$(rss_kib "$LPID")
  wait "$fp"
  stop_link
  bound=$(( base + c * (Q + 65536) / 1024 ))
  m=$(awk -v a="$a" -v b="$b" -v bound="$bound" 'BEGIN{print (b <= bound && b - a <= 1024) ? "yes" : "no"}')
  echo "memory,$c stuck receivers,$c,$bound,$a,$b,$(( b - base )),KiB,$(ratio "$b" "$bound"),,flat and <= bound,$m,$P flood --to 127.0.0.1:LINKEM_PORT --conns $c --seconds $FLOOD (through: $L --to 127.0.0.1:PORT --queue 256k)" >>"$CSV"
  progress "$c stuck: RSS $base -> $a -> $b KiB (bound $bound, met: $m)"
done

{
  echo "## links: linkem against the link it was told to be"
  echo
  echo "$(machine). linkem on core $CPU_SERVER, link-probe (both ends) on core $CPU_CLIENT."
  echo
  echo "| round trip | configured us | p50 us | p99 us | p50 / configured | target | met |"
  echo "| --- | ---: | ---: | ---: | ---: | --- | --- |"
  grep '^rtt,' "$CSV" | while IFS=, read -r _ cs _ cf p50 p99 _ _ ra _ tg mt _; do
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$cs" "${cf:-0}" "$p50" "$p99" "${ra:-n/a}" "$tg" "${mt:-}"
  done
  echo
  echo "| rate | connections | configured mbit/s | received mbit/s | ratio | linkem CPU ms per MB | target | met |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |"
  grep '^rate,' "$CSV" | while IFS=, read -r _ cs c cf _ _ me _ ra cpu tg mt _; do
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$cs" "$c" "${cf:-}" "$me" "${ra:-n/a}" "${cpu:-}" "$tg" "${mt:-}"
  done
  echo
  echo "| memory, --queue 256k, ${FLOOD} s of flood | connections | bound KiB: idle + conns x (queue + 64 KiB) | RSS 2 s before the end KiB | 1 s later KiB | growth from idle KiB | RSS / bound | met |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
  grep '^memory,' "$CSV" | while IFS=, read -r _ cs c bd a b g _ ra _ _ mt _; do
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$cs" "$c" "$bd" "$a" "$b" "$g" "$ra" "$mt"
  done
} >"$MD"
cat "$MD"
