#!/usr/bin/env bash
# bench notify-link: the notify comparison (labs 07-10) over links, and the delay of
# every change of a job, not only of its completion.
# A job of 200 ms changes 12 times, every 20 ms while it runs: over a continent (80 ms
# round trip) four changes happen within one round trip.  notify-client --changes
# (labs/07-push/nchanges.c) records when the client first knew each version and the
# server's stamp (at_us) of each change; per row: completion delay p50/p99, every
# change's delay p50/p99/max (versions 2..12), requests and bytes per job, and the
# change delays in round trips of the link.  Modes: short polling every 100 ms and
# every 1 s, long polling, SSE, WebSocket.  The webhook is not here: its delivery is a
# connection from the server to the client, which would need a link of its own.
# Links: loopback (the reference row, same run), lan, region, continent (linkem,
# labs/12-links); FULL=1 adds mobile.  Each cell: a fresh jobs-server and linkem.
# Quick profile: 10 clients x 2 jobs, one run per cell; FULL=1: 50 clients x 4 jobs,
# median of 3 runs.
source "$(dirname "$0")/../lib.sh"
need taskset python3
for p in jobs-server notify-client linkem; do
  [ -x "$BIN/$p" ] || { echo "bench notify-link: $BIN/$p missing (make all)" >&2; exit 1; }
done
WORK_MS=200
if [ "$FULL" = 1 ]; then
  RUNS=3 CLIENTS=50 JOBS=4 LINKS="loopback lan region continent mobile"
else
  RUNS=1 CLIENTS=10 JOBS=2 LINKS="loopback lan region continent"
fi
MODES="short-100ms short-1s long sse ws"
CSV=$OUT/notify-link.csv MD=$OUT/notify-link.md RAW=$B_TMP/raw.jsonl
: >"$RAW"
plan_steps $(( $(wc -w <<<"$LINKS") * $(wc -w <<<"$MODES") ))

for link in $LINKS; do
  for mode in $MODES; do
    case $mode in
      short-100ms) args="--mode short --interval 100" ;; short-1s) args="--mode short --interval 1000" ;;
      *) args="--mode $mode" ;;
    esac
    for run in $(seq 1 "$RUNS"); do
      start_bg JPORT pin_server "$BIN/jobs-server" --port 0 --max-streams 8192 --max-waiters 20000 || exit 1
      jpid=${B_PIDS[-1]} port=$JPORT lpid=""
      if [ "$link" != loopback ]; then
        start_bg LP pin_client "$BIN/linkem" --to "127.0.0.1:$JPORT" --profile "$link" || exit 1
        port=$LP lpid=${B_PIDS[-1]}
      fi
      # shellcheck disable=SC2086 # args is a list of words
      js=$(pin_client "$BIN/notify-client" --server "127.0.0.1:$port" --json --changes --timeout 60 \
             --clients "$CLIENTS" --jobs "$JOBS" --work-ms "$WORK_MS" $args 2>"$B_TMP/err") ||
        progress "$link $mode: $(head -c 300 "$B_TMP/err")"
      [ -n "$js" ] && printf '{"link":"%s","label":"%s","run":%d,%s\n' "$link" "$mode" "$run" "${js#\{}" >>"$RAW"
      for p in $lpid $jpid; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    done
    progress "$link $mode done"
  done
done

/usr/bin/python3 - "$RAW" "$CSV" "$MD" "$OUT/notify-link.values.tsv" "$(machine)" "$RUNS" "$CLIENTS" "$JOBS" "$WORK_MS" <<'EOF'
import json, statistics, sys
raw, out_csv, out_md, values, machine, runs, clients, jobs, work = sys.argv[1:10]
rtt = {"loopback": 0, "lan": 0.2, "region": 2, "continent": 80, "mobile": 60}
cols = ["delay_p50_ms", "delay_p99_ms", "change_p50_ms", "change_p99_ms", "change_max_ms",
        "requests_per_job", "bytes_per_job"]
cells = {}
for line in open(raw):
    j = json.loads(line)
    cells.setdefault((j["link"], j["label"]), []).append(j)
links = [l for l in rtt if any(k[0] == l for k in cells)]
modes = ["short-100ms", "short-1s", "long", "sse", "ws"]
med = {}
for k, rs in cells.items():
    med[k] = {c: statistics.median(r.get(c, float("nan")) for r in rs) for c in cols}
    med[k]["completed"] = min(r["completed"] for r in rs)
    med[k]["changes"] = min(r.get("changes", 0) for r in rs)
    med[k]["missing"] = max(r.get("changes_missing", 0) for r in rs)
    p50s = sorted(r.get("change_p50_ms", float("nan")) for r in rs)
    med[k]["change_p50_spread"] = f"{p50s[0]:.3f}-{p50s[-1]:.3f}"
ARGS = {"short-100ms": "--mode short --interval 100", "short-1s": "--mode short --interval 1000"}
def command(k):
    port = "PORT" if k[0] == "loopback" else "LINKEM_PORT"
    c = (f"build/bin/notify-client --server 127.0.0.1:{port} --json --changes --timeout 60 "
         f"--clients {clients} --jobs {jobs} --work-ms {work} {ARGS.get(k[1], '--mode ' + k[1])}")
    return c if k[0] == "loopback" else c + f" (through: build/bin/linkem --to 127.0.0.1:PORT --profile {k[0]})"
def row(k):
    v, r = med[k], rtt[k[0]]
    trips = lambda x: f"{x / r:.2f}" if r else "n/a"
    return [k[0], k[1], f'{v["completed"]}', f'{v["changes"]}', f'{v["delay_p50_ms"]:.3f}',
            f'{v["delay_p99_ms"]:.3f}', f'{v["change_p50_ms"]:.3f}', v["change_p50_spread"], f'{v["change_p99_ms"]:.3f}',
            f'{v["change_max_ms"]:.3f}', trips(v["change_p50_ms"]), trips(v["change_p99_ms"]),
            f'{v["requests_per_job"]:.2f}', f'{v["bytes_per_job"]:.0f}']
keys = [(l, m) for l in links for m in modes if (l, m) in med]
head = ["link", "mode", "jobs done", "changes", "done p50 ms", "done p99 ms", "change p50 ms",
        "change p50 min-max", "change p99 ms", "change max ms", "change p50 / RTT", "change p99 / RTT", "requests/job",
        "bytes/job"]
with open(out_csv, "w") as f:
    f.write(",".join(h.replace(" ", "_").replace("/", "per") for h in head) + ",command\n")
    for k in keys:
        f.write(",".join(row(k) + [command(k)]) + "\n")
with open(out_md, "w") as f:
    f.write("## notify-link: every pattern over a link, and the delay of every change\n\n")
    f.write(f"{machine}. {clients} clients x {jobs} jobs of {work} ms (a change every "
            f"{int(work) // 10} ms while a job runs); median of {runs} run(s) per cell. done = the "
            "completion's delay (server's done_us to the client knowing); change = every change "
            "of every job, versions 2..12 (server's at_us to the client first knowing that "
            "version or a later one). RTT = the link's configured round trip. Loopback is the "
            "reference row, measured in the same run.\n\n")
    f.write("| " + " | ".join(head) + " |\n")
    f.write("| --- | --- " + "| ---: " * (len(head) - 2) + "|\n")
    for k in keys:
        f.write("| " + " | ".join(row(k)) + " |\n")
with open(values, "w") as f:
    for (link, mode), v in med.items():
        for c in ("change_p50_ms", "change_p99_ms", "change_max_ms", "delay_p50_ms"):
            f.write(f"{mode}.{link}.{c}\t{v[c]:.1f} ms\n")
        f.write(f"{mode}.{link}.requests_per_job\t{v['requests_per_job']:.2f}\n")
EOF
cat "$MD"
