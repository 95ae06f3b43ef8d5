#!/usr/bin/env bash
# bench pubsub-link: the broker (labs/11-pubsub) and redis-server behind the same
# rate-limited link (linkem, labs/12-links: one linkem per server, same profile), one
# publisher and 1, 10, 50 subscribers on the far side, 1 KiB payloads (1061 bytes per
# delivery with RESP framing), broker-bench fanout: 256 PUBLISH in flight, every
# PUBLISH timed to its reply.
#   1. delivered msgs/s against the link's capacity / delivery size, and the
#      publisher's latency p50/p99, at loopback (reference, no linkem), lan (1 gbit),
#      region (1 gbit), continent (100 mbit); both servers with Redis's default pubsub
#      output limit (32mb 8mb 60); 1000 publishes per run
#   2. where output-buffer limits cut in: both servers with a small hard limit (1mb 0 0)
#      and 8000 publishes (8 MB per subscriber), 10 and 50 subscribers over region
#      (FULL=1 adds continent): subscribers cut off, what was delivered, publisher p99
# Broker and redis alternate run by run, servers on the server core, linkem and the
# load on the client core.  Quick profile: one run per cell; FULL=1: median of 3.
source "$(dirname "$0")/../lib.sh"
need redis-server redis-cli taskset python3
for p in broker broker-bench linkem; do
  [ -x "$BIN/$p" ] || { echo "bench pubsub-link: $BIN/$p missing (make all)" >&2; exit 1; }
done
if [ "$FULL" = 1 ]; then REPS=3 CUT_LINKS="region continent"; else REPS=1 CUT_LINKS="region"; fi
LINKS="loopback lan region continent" SUBS="1 10 50" SIZE=1024 MSGS=1000 CUT_MSGS=8000
CSV=$OUT/pubsub-link.csv MD=$OUT/pubsub-link.md RAW=$B_TMP/raw.txt
: >"$RAW"
plan_steps $(( $(wc -w <<<"$LINKS") + $(wc -w <<<"$CUT_LINKS") ))

# run TEST LINK SUBS MSGS SERVER PORT: one broker-bench fanout, its line into RAW
run() {
  local out
  out=$(pin_client "$BIN/broker-bench" fanout --port "$6" --subs "$3" --msgs "$4" --size "$SIZE" \
          --window 256 2>"$B_TMP/err") || progress "$1 $2 $3 $5: $(head -c 200 "$B_TMP/err")"
  [ -n "$out" ] && echo "test=$1 link=$2 server=$5 $out" >>"$RAW"
}
# cell TEST LINK MSGS BPORT RPORT: every subscriber count, broker and redis alternating,
# each through its own linkem of the profile (none for loopback)
cell() {
  local test=$1 link=$2 msgs=$3 bp=$4 rp=$5 s r pids=()
  if [ "$link" != loopback ]; then
    start_bg LB pin_client "$BIN/linkem" --to "127.0.0.1:$bp" --profile "$link" || exit 1
    pids+=("${B_PIDS[-1]}") bp=$LB
    start_bg LR pin_client "$BIN/linkem" --to "127.0.0.1:$rp" --profile "$link" || exit 1
    pids+=("${B_PIDS[-1]}") rp=$LR
  fi
  for s in $SUBS; do
    [ "$test" = cut ] && [ "$s" = 1 ] && continue
    for _ in $(seq 1 "$REPS"); do
      run "$test" "$link" "$s" "$msgs" broker "$bp"
      run "$test" "$link" "$s" "$msgs" redis "$rp"
    done
  done
  for r in "${pids[@]}"; do kill "$r" 2>/dev/null; wait "$r" 2>/dev/null; done
  progress "$test $link done"
}

start_bg BPORT pin_server "$BIN/broker" --port 0 --pubsub-buffer-limit 32mb 8mb 60 || exit 1
start_redis RPORT --appendonly no --client-output-buffer-limit "pubsub 32mb 8mb 60" || exit 1
for link in $LINKS; do cell fanout "$link" "$MSGS" "$BPORT" "$RPORT"; done
start_bg BCUT pin_server "$BIN/broker" --port 0 --pubsub-buffer-limit 1mb 0 0 || exit 1
start_redis RCUT --appendonly no --client-output-buffer-limit "pubsub 1mb 0 0" || exit 1
for link in $CUT_LINKS; do cell cut "$link" "$CUT_MSGS" "$BCUT" "$RCUT"; done

/usr/bin/python3 - "$RAW" "$CSV" "$MD" "$OUT/pubsub-link.values.tsv" "$(machine)" "$REPS" \
  "$(redis-server --version | sed -nE 's/.*v=([0-9.]+).*/\1/p')" "$MSGS" "$CUT_MSGS" "$SIZE" "$CPU_CLIENT" <<'EOF'
import statistics, sys
raw, out_csv, out_md, values, machine, reps, rver, msgs, cut_msgs, size, core = sys.argv[1:12]
def command(test, link, subs):
    c = (f"taskset -c {core} build/bin/broker-bench fanout --port PORT --subs {subs} "
         f"--msgs {msgs if test == 'fanout' else cut_msgs} --size {size} --window 256")
    return c if link == "loopback" else c + f" (through: build/bin/linkem --to 127.0.0.1:PORT --profile {link})"
def mm(k, f):
    v = sorted(float(r[f]) for r in runs.get(k, []))
    return f"{v[0]:.0f}-{v[-1]:.0f}" if v else "n/a"
rate = {"loopback": 0, "lan": 1e9, "region": 1e9, "continent": 1e8}
rtt = {"loopback": "-", "lan": "0.2", "region": "2", "continent": "80"}
runs = {}
for line in open(raw):
    kv = dict(w.split("=", 1) for w in line.split())
    runs.setdefault((kv["test"], kv["link"], int(kv["subs"]), kv["server"]), []).append(kv)
def med(k, f):
    rs = runs.get(k)
    return statistics.median(float(r[f]) for r in rs) if rs else float("nan")
frame = next((int(r["frame"]) for rs in runs.values() for r in rs), 1061)
def cap(link):
    return rate[link] / 8 / frame if rate[link] else 0
def fmt(x, d=0):
    return "n/a" if x != x else f"{x:.{d}f}"
rows_a, rows_b = [], []
for (test, link, subs, server) in sorted(runs, key=lambda k: (k[0], list(rate).index(k[1]), k[2], k[3])):
    if server != "broker":
        continue
    b, r = (test, link, subs, "broker"), (test, link, subs, "redis")
    bd, rd = med(b, "delivered_per_s"), med(r, "delivered_per_s")
    c = cap(link)
    common = [link, rtt[link], str(subs)]
    if test == "fanout":
        rows_a.append(common + [fmt(c) if c else "n/a", fmt(bd), mm(b, "delivered_per_s"), fmt(rd), mm(r, "delivered_per_s"),
                                fmt(bd / c, 2) if c else "n/a", fmt(rd / c, 2) if c else "n/a",
                                fmt(med(b, "publish_p50_ms"), 1), fmt(med(b, "publish_p99_ms"), 1),
                                fmt(med(r, "publish_p50_ms"), 1), fmt(med(r, "publish_p99_ms"), 1),
                                fmt(bd / rd, 2) if rd else "n/a",
                                fmt(med(b, "cut")), fmt(med(r, "cut"))])
    else:
        rows_b.append(common + [fmt(med(b, "cut")), fmt(med(r, "cut")), fmt(bd), fmt(rd),
                                fmt(med(b, "delivered") / 1000, 1), fmt(med(r, "delivered") / 1000, 1),
                                fmt(med(b, "publish_p99_ms"), 1), fmt(med(r, "publish_p99_ms"), 1)])
head_a = ["link", "RTT ms", "subscribers", "link capacity msgs/s", "broker msgs/s", "broker min-max",
          "redis msgs/s", "redis min-max",
          "broker / capacity", "redis / capacity", "broker publish p50 ms", "broker publish p99 ms",
          "redis publish p50 ms", "redis publish p99 ms", "broker vs redis", "broker cut", "redis cut"]
head_b = ["link", "RTT ms", "subscribers", "broker cut", "redis cut", "broker msgs/s", "redis msgs/s",
          "broker delivered k msgs", "redis delivered k msgs", "broker publish p99 ms",
          "redis publish p99 ms"]
with open(out_csv, "w") as f:
    f.write("test," + ",".join(h.replace(" ", "_").replace("/", "per") for h in head_a) + ",command\n")
    for r in rows_a:
        f.write("fanout," + ",".join(r + [command("fanout", r[0], r[2])]) + "\n")
    f.write("test," + ",".join(h.replace(" ", "_").replace("/", "per") for h in head_b) + ",command\n")
    for r in rows_b:
        f.write("cut," + ",".join(r + [command("cut", r[0], r[2])]) + "\n")
with open(out_md, "w") as f:
    f.write(f"## pubsub-link: broker and redis-server {rver} behind the same link\n\n")
    f.write(f"{machine}. One publisher (256 PUBLISH in flight, each timed to its reply) and N "
            f"subscribers, all across the link; 1 KiB payloads, {frame} bytes per delivery; "
            f"median of {reps} run(s), broker and redis alternating. Link capacity = rate / 8 / "
            f"{frame}. Both servers cut a subscriber whose pending output passes the same limit.\n\n")
    f.write("Fan-out against the link, 1000 publishes, limit 32mb 8mb 60 (Redis's default):\n\n")
    f.write("| " + " | ".join(head_a) + " |\n| --- " + "| ---: " * (len(head_a) - 1) + "|\n")
    for r in rows_a:
        f.write("| " + " | ".join(r) + " |\n")
    f.write("\nWhere the limit cuts in: 8000 publishes (8 MB per subscriber), limit 1mb 0 0:\n\n")
    f.write("| " + " | ".join(head_b) + " |\n| --- " + "| ---: " * (len(head_b) - 1) + "|\n")
    for r in rows_b:
        f.write("| " + " | ".join(r) + " |\n")
with open(values, "w") as f:
    for r in rows_a:
        f.write(f"fanout.{r[0]}.{r[2]}.broker_per_capacity\t{r[8]}\n")
        f.write(f"fanout.{r[0]}.{r[2]}.broker_publish_p99_ms\t{r[11]} ms\n")
    for r in rows_b:
        f.write(f"cut.{r[0]}.{r[2]}.broker_cut\t{r[3]}\n")
        f.write(f"cut.{r[0]}.{r[2]}.redis_cut\t{r[4]}\n")
EOF
cat "$MD"
