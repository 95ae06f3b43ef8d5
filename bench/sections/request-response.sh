#!/usr/bin/env bash
# bench request-response: lab 01's timeline of one request, on loopback and over links.
# rr-client --requests 2 against jobs-server: request 1 opens a connection, request 2
# reuses it (keep-alive).  Over each link (linkem, labs/12-links: lan 0.2 ms, region
# 2 ms, continent 80 ms round trip; FULL=1 adds mobile) the same, through the emulator.
# Per row, medians over the runs: total, the client's connect, the wait from sending to
# the first byte of the answer, the server's own time (Server-Timing sum), and total /
# configured round trip: how many round trips the request cost.  The reference row is
# loopback without linkem, measured in the same run.
# Quick profile: 7 runs per link (each a new connection); FULL=1: 21.
source "$(dirname "$0")/../lib.sh"
need taskset curl python3
for p in jobs-server rr-client linkem; do
  [ -x "$BIN/$p" ] || { echo "bench request-response: $BIN/$p missing (make all)" >&2; exit 1; }
done
if [ "$FULL" = 1 ]; then RUNS=21 LINKS="loopback lan region continent mobile"; else RUNS=7 LINKS="loopback lan region continent"; fi
CSV=$OUT/request-response.csv MD=$OUT/request-response.md RAW=$B_TMP/raw.jsonl
plan_steps $(wc -w <<<"$LINKS")

start_bg JOBS pin_server "$BIN/jobs-server" --port 0 || exit 1
id=$(curl -s -X POST -d '{"work_ms":10}' "http://127.0.0.1:$JOBS/jobs" | sed -nE 's/.*"id":"([0-9]+)".*/\1/p')
[ -n "$id" ] || { echo "bench request-response: POST /jobs failed" >&2; exit 1; }
sleep 0.1 # the job is done: every GET answers the same bytes
: >"$RAW"
for link in $LINKS; do
  port=$JOBS lpid=""
  if [ "$link" != loopback ]; then
    # the link is the network: it runs beside the client, not on the server's core
    start_bg LP pin_client "$BIN/linkem" --to "127.0.0.1:$JOBS" --profile "$link" || exit 1
    port=$LP lpid=${B_PIDS[-1]}
  fi
  for _ in $(seq 1 "$RUNS"); do
    pin_client "$BIN/rr-client" --requests 2 --json "http://127.0.0.1:$port/jobs/$id" |
      sed "s/^{/{\"link\":\"$link\",/" >>"$RAW" || progress "$link: rr-client failed"
  done
  [ -n "$lpid" ] && { kill "$lpid"; wait "$lpid" 2>/dev/null; }
  progress "$link: $RUNS runs"
done

/usr/bin/python3 - "$RAW" "$CSV" "$MD" "$OUT/request-response.values.tsv" "$(machine)" "$RUNS" <<'EOF'
import json, statistics, sys
raw, out_csv, out_md, values, machine, runs = sys.argv[1:7]
rtt = {"loopback": 0, "lan": 0.2, "region": 2, "continent": 80, "mobile": 60}
rows = {}
for line in open(raw):
    j = json.loads(line)
    rows.setdefault((j["link"], j["new_connection"]), []).append(j)
order = [l for l in ["loopback", "lan", "region", "continent", "mobile"] if any(k[0] == l for k in rows)]
med = {k: {c: statistics.median(r[c] for r in v) for c in
           ("total_ms", "connect_ms", "wait_ms", "server_ms", "network_ms")} | {"n": len(v)}
       for k, v in rows.items()}
def spread(v):
    """The spread of the total beside its median: q1-q3 with 5 or more runs, else min-max."""
    t = sorted(r["total_ms"] for r in v)
    if len(t) >= 5:
        q = statistics.quantiles(t, n=4, method="inclusive")
        return f"{q[0]:.3f}-{q[2]:.3f}"
    return f"{t[0]:.3f}-{t[-1]:.3f}"
def command(link):
    port = "PORT" if link == "loopback" else "LINKEM_PORT"
    return f"build/bin/rr-client --requests 2 --json http://127.0.0.1:{port}/jobs/ID" + \
        ("" if link == "loopback" else f" (through: build/bin/linkem --to 127.0.0.1:PORT --profile {link})")
def cells(link, new):
    m, ref = med[(link, new)], med.get(("loopback", new))
    r = rtt[link]
    trips = f'{m["total_ms"] / r:.2f}' if r else "n/a"
    ratio = f'{m["total_ms"] / ref["total_ms"]:.1f}' if ref and ref["total_ms"] else "n/a"
    return [link, f"{r:g}" if r else "-", "new connection" if new else "kept alive", str(m["n"]),
            f'{m["total_ms"]:.3f}', spread(rows[(link, new)]), trips, f'{m["connect_ms"]:.3f}', f'{m["wait_ms"]:.3f}',
            f'{m["server_ms"]:.3f}', ratio]
keys = [(l, n) for l in order for n in (True, False) if (l, n) in med]
with open(out_csv, "w") as f:
    f.write("link,rtt_ms,request,runs,total_ms,total_spread,round_trips,connect_ms,wait_ms,server_ms,total_vs_loopback,command\n")
    for k in keys:
        f.write(",".join(cells(*k) + [command(k[0])]) + "\n")
with open(out_md, "w") as f:
    f.write("## request-response: one request's timeline, on loopback and over links\n\n")
    f.write(f"{machine}. jobs-server on the server core; rr-client and linkem on the client core. "
            f"Medians of {runs} runs, each a new connection then one request on it kept alive. "
            "Round trips = total / the link's configured round trip. Through linkem the client's "
            "connect returns at once (the kernel's handshake with linkem is local) and the "
            "handshake's round trip is in the wait instead.\n\n")
    f.write("| link | round trip ms | request | runs | total ms | total q1-q3 | round trips | connect ms | "
            "wait ms | server ms | total vs loopback |\n")
    f.write("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
    for k in keys:
        f.write("| " + " | ".join(cells(*k)) + " |\n")
with open(values, "w") as f:
    for (link, new), m in med.items():
        kind = "new" if new else "kept"
        f.write(f"{link}.{kind}.total_ms\t{m['total_ms']:.3f} ms\n")
        if rtt[link]:
            f.write(f"{link}.{kind}.round_trips\t{m['total_ms'] / rtt[link]:.1f}\n")
    lo = med.get(("loopback", True))
    if lo and lo["total_ms"]:
        f.write(f"loopback.new.connect_share\t{100 * lo['connect_ms'] / lo['total_ms']:.0f}%\n")
EOF
cat "$MD"
