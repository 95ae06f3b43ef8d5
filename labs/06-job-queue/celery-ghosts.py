#!/usr/bin/python3
"""celery-ghosts.py: the notes' "Celery ghost tasks" with the real Celery, setting by
setting, beside the lab's own worker, in one run.

Each case sends N tasks, lets a worker run them one at a time, kill -9s a process in the
middle of task K, starts what a supervisor would start, waits until nothing is queued,
unacknowledged or running (or --window seconds), and counts per task id: done once, done
twice, never done (lost: nowhere in the broker), waiting (still queued or parked in the
broker's unacknowledged set), run again, side effect applied twice, and the delay from
the kill to the killed task's next start.

  Celery 5.2 (Debian's python3-celery) on its Redis transport, prefork pool of 1, -O fair,
  prefetch multiplier 1; broker, result backend and the tasks' records on one
  redis-server of its own on a free loopback port:
    kill -9 the pool process that runs task K (the main process lives on and replaces
      it), with task_acks_late off (the default), on, on with task_reject_on_worker_lost,
      and that again with an idempotent task;
    kill -9 the main process (its pool dies with it) and start a fresh worker at once,
      with the transport's visibility_timeout at its default (3600 s) and short;
    no kill: one task longer than the short timeout while a second worker starts, with
      the timeout short and at its default.
  The lab's worker (--ack early|late, --visibility-timeout 1000 ms) on the lab broker and
  on the same redis-server: kill -9 the worker in task K, a rescuer starts at once.

Needs python3-celery and python3-redis (make deps), redis-server, and build/bin (make all);
run it with Debian's /usr/bin/python3 (the #! line does).  Everything it starts
(redis-server, the lab broker, Celery's main processes and their pool processes, the lab's
workers) is stopped by pid when it ends, fails or gets Ctrl-C/SIGTERM (exit 130); its
scratch data is in a mktemp -d directory that it removes.
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from ghostlib import TOP, Procs, Result, free_port, now_ms, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
PROG = "celery-ghosts"
QUEUE = "ghost"


def fail(msg, code=1):
    sys.stderr.write("%s: error: %s\n" % (PROG, msg))
    sys.exit(code)


try:
    import redis
    from celery import Celery
except ImportError as e:
    fail("%s: install python3-celery and python3-redis (make deps) and run this with "
         "/usr/bin/python3" % e)


class Args(argparse.ArgumentParser):
    """The program convention: one error line, a pointer to --help, exit 2."""

    def error(self, message):
        sys.stderr.write("%s: error: %s\ntry '%s --help'\n" % (PROG, message, self.prog))
        sys.exit(2)


# ---- the cases ------------------------------------------------------------------------

class Case:
    def __init__(self, key, worker, setting, kill, **kw):
        self.key, self.worker, self.setting, self.kill = key, worker, setting, kill
        self.acks_late = kw.get("acks_late", False)
        self.reject = kw.get("reject", False)
        self.vt = kw.get("vt", 3600.0)
        self.idempotent = kw.get("idempotent", False)
        self.broker = kw.get("broker", "redis")
        self.ack = kw.get("ack", "early")


def cases(vt_short, long_ms):
    vts = "%g s" % vt_short
    longs = "a %g s task" % (long_ms / 1000.0)
    c = [
        Case("child-early", "celery", "acks_late=False (default)", "pool process"),
        Case("child-late", "celery", "acks_late=True", "pool process", acks_late=True),
        Case("child-reject", "celery", "acks_late=True, reject_on_worker_lost=True",
             "pool process", acks_late=True, reject=True),
        Case("child-reject-idem", "celery",
             "acks_late=True, reject_on_worker_lost=True, idempotent task", "pool process",
             acks_late=True, reject=True, idempotent=True),
        Case("main-early", "celery", "acks_late=False, visibility_timeout=3600 s",
             "main process", vt=3600.0),
        Case("main-late", "celery", "acks_late=True, visibility_timeout=3600 s",
             "main process", acks_late=True, vt=3600.0),
        Case("main-early-vt", "celery", "acks_late=False, visibility_timeout=%s" % vts,
             "main process", vt=vt_short),
        Case("main-late-vt", "celery", "acks_late=True, visibility_timeout=%s" % vts,
             "main process", acks_late=True, vt=vt_short),
        Case("long-vt", "celery", "acks_late=True, visibility_timeout=%s, %s" % (vts, longs),
             "none (a 2nd worker joins)", acks_late=True, vt=vt_short),
        Case("long", "celery", "acks_late=True, visibility_timeout=3600 s, %s" % longs,
             "none (a 2nd worker joins)", acks_late=True, vt=3600.0),
    ]
    for broker in ("broker", "redis"):
        for ack in ("early", "late"):
            c.append(Case("lab-%s-%s" % (broker, ack), "lab worker",
                          "--ack %s, --visibility-timeout 1000 ms" % ack,
                          "the worker (one process)", broker=broker, ack=ack))
    return c


class Lab:
    def __init__(self, args, tmp):
        self.a, self.tmp = args, tmp
        self.procs = Procs()
        self.rport = None
        self.bport = None
        self.seq = 0
        self.tag = os.path.basename(tmp)  # in every worker's node name: ours, findable

    # -- servers --
    def start_redis(self):
        self.rport = free_port()
        d = os.path.join(self.tmp, "redis")
        os.mkdir(d)
        self.procs.start(["redis-server", "--port", str(self.rport), "--bind", "127.0.0.1",
                          "--dir", d, "--save", "", "--appendonly", "no"],
                         os.path.join(d, "log"))
        self.r = redis.Redis(port=self.rport, db=2)  # the tasks' records (GHOST_RECORDS)
        if not wait_for(lambda: self._ping(), 10):
            fail("redis-server did not start on 127.0.0.1:%d" % self.rport)

    def _ping(self):
        try:
            return self.r.ping()
        except redis.exceptions.ConnectionError:
            return False

    def start_broker(self):
        d = os.path.join(self.tmp, "broker")
        os.mkdir(d)
        log = os.path.join(self.tmp, "broker.log")
        self.procs.start([os.path.join(self.a.bin, "broker"), "--port", "0", "--data-dir", d], log)
        port = wait_for(lambda: self._listening(log), 10)
        if not port:
            fail("the lab broker did not start: %s" % open(log).read()[:300])
        self.bport = port

    @staticmethod
    def _listening(log):
        try:
            for line in open(log):
                if line.startswith("listening on 127.0.0.1:"):
                    return int(line.rsplit(":", 1)[1])
        except OSError:
            pass
        return None

    # -- Celery --
    def celery_env(self, case):
        env = dict(os.environ)
        url = "redis://127.0.0.1:%d/" % self.rport
        env.update(PYTHONPATH=HERE, GHOST_BROKER=url + "0", GHOST_BACKEND=url + "1",
                   GHOST_RECORDS=url + "2", GHOST_ACKS_LATE="1" if case.acks_late else "0",
                   GHOST_REJECT_LOST="1" if case.reject else "0", GHOST_VT="%g" % case.vt)
        return env

    def start_celery(self, case, name):
        self.seq += 1
        log = os.path.join(self.tmp, "celery-%s-%d.log" % (name, self.seq))
        p = self.procs.start(["/usr/bin/python3", "-m", "celery", "-A", "ghostapp", "worker",
                              "-P", "prefork", "-c", "1", "-O", "fair",
                              "--prefetch-multiplier", "1", "-Q", QUEUE,
                              "--without-mingle",
                              "-n", "%s-%d.%s@localhost" % (name, self.seq, self.tag),
                              "-l", "INFO"],
                             log, env=self.celery_env(case))
        p.log, p.celery = log, True
        return p

    def wait_ready(self, p):
        def ready():
            if p.poll() is not None:
                fail("celery worker exited (%s): %s" % (p.returncode, open(p.log).read()[-600:]))
            with open(p.log, errors="replace") as f:
                return " ready." in f.read()
        if not wait_for(ready, 60, 0.05):
            fail("celery worker not ready after 60 s: %s" % open(p.log).read()[-600:])

    def events(self, run):
        return [json.loads(x) for x in self.r.lrange("ghost:%s:events" % run, 0, -1)]

    def waiting_ids(self):
        """Task ids parked in the Redis transport's unacknowledged set or still queued."""
        ids = set()
        b = redis.Redis(port=self.rport, db=0)
        for v in b.hvals("unacked"):
            ids.add(json.loads(v)[0]["headers"]["id"])
        for v in b.lrange(QUEUE, 0, -1):
            ids.add(json.loads(v)["headers"]["id"])
        return ids

    def run_celery(self, case):
        run = "%s-%d" % (case.key, self.seq)
        n, k, ms = self.a.tasks, self.a.kill_at, self.a.work_ms
        if case.key.startswith("long"):
            n, k, ms = 1, 1, self.a.long_ms
        env = self.celery_env(case)
        sender = Celery("ghostapp", broker=env["GHOST_BROKER"], backend=env["GHOST_BACKEND"])
        ids = ["%s-t%02d" % (run, i) for i in range(1, n + 1)]
        target = ids[k - 1]
        a = self.start_celery(case, "victim")
        self.wait_ready(a)
        for i, tid in enumerate(ids, 1):
            sender.send_task("ghost.work", args=[run, i, ms, case.idempotent], task_id=tid,
                             queue=QUEUE)

        def started(tid):
            for e in self.events(run):
                if e["ev"] == "start" and e["id"] == tid:
                    return e
            return None
        first = wait_for(lambda: started(target), 30 + n * ms / 1000.0)
        if not first:
            fail("%s: task %d never started: %s" % (case.key, k, open(a.log).read()[-600:]))
        kill_t = None
        workers = [a]
        if case.kill.startswith("none"):
            # A second worker joins once the running task is older than the short timeout:
            # its start-up scan of the unacknowledged set finds it (kombu scans at start,
            # then every 10th 10 s tick).  --long-ms leaves it time to start.
            time.sleep(max(0.0, (first["t"] + self.a.vt_short * 1000 + 200 - now_ms()) / 1000.0))
        else:
            # Into the task by the part --kill-frac of it, from its own start record.
            time.sleep(max(0.0, (first["t"] + self.a.kill_frac * ms - now_ms()) / 1000.0))
        if case.kill == "pool process":
            self.procs.extra.add(first["pid"])
            kill_t = now_ms()
            os.kill(first["pid"], signal.SIGKILL)
        elif case.kill == "main process":
            self.procs.note_children(a.pid)
            kill_t = now_ms()
            a.kill()
            a.wait()
            workers.append(self.start_celery(case, "fresh"))
        else:
            workers.append(self.start_celery(case, "joiner"))

        def settled():
            # Nothing left that could still run: nothing queued or parked in the broker,
            # and every run that started has finished or its process is gone.
            if self.waiting_ids():
                return False
            ev = self.events(run)
            done = {(e["id"], e["pid"]) for e in ev if e["ev"] == "done"}
            return ev and not any(e["ev"] == "start" and (e["id"], e["pid"]) not in done
                                  and self._alive(e["pid"]) for e in ev)
        # Settled for a while, not for one look: between BRPOP and the unacked set, and
        # between an early ack and the task's first record, a task is visible nowhere.
        end = time.monotonic() + self.a.window + n * ms / 1000.0
        since = None
        while time.monotonic() < end:
            if not settled():
                since = None
            elif since is None:
                since = time.monotonic()
            elif time.monotonic() - since >= 1.5:
                break
            time.sleep(0.05)
        res = Result(n)
        res.count(self.events(run), ids, self.waiting_ids(), kill_t, target)
        st = sender.AsyncResult(target)
        res.backend = st.state if st.state != "FAILURE" else "FAILURE (%s)" % type(st.result).__name__
        for w in workers:
            self.procs.stop(w, signal.SIGKILL)
        for pid in list(self.procs.extra):
            self.procs.kill_pid(pid, signal.SIGKILL)
        self.r.flushall()
        return res

    @staticmethod
    def _alive(pid):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                return b"ghostapp" in f.read()
        except OSError:
            return False

    # -- the lab's own worker --
    def run_lab(self, case):
        self.seq += 1
        port = self.bport if case.broker == "broker" else self.rport
        stream = "ghost-%s-%d" % (case.key, self.seq)
        n, k, ms = self.a.tasks, self.a.kill_at, self.a.work_ms
        addr = "127.0.0.1:%d" % port
        up = subprocess.run([os.path.join(self.a.bin, "upload"), "--redis", addr, "--stream", stream,
                             "--count", str(n), "--quiet"], cwd=TOP, capture_output=True)
        if up.returncode:
            fail("upload failed: %s" % up.stderr.decode()[:300])
        common = [os.path.join(self.a.bin, "worker"), "--redis", addr, "--stream", stream,
                  "--role", "transcode", "--ack", case.ack, "--visibility-timeout", "1000",
                  "--work-ms", str(ms)]
        events = []
        lock = threading.Lock()

        def reader(p):
            for line in p.stdout:
                t = now_ms()
                f = line.decode(errors="replace").split()
                # ROLE CONSUMER start|done video=N id=ID [reclaimed]
                if len(f) >= 4 and f[2] in ("start", "done") and f[3].startswith("video="):
                    with lock:
                        events.append({"ev": f[2], "id": f[3][6:], "t": t, "pid": p.pid})

        def spawn(name):
            p = subprocess.Popen(common + ["--consumer", name] +
                                 (["--exit-idle-ms", "1500"] if name == "rescuer" else []),
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=TOP,
                                 start_new_session=True)
            self.procs.procs.append(p)
            th = threading.Thread(target=reader, args=(p,), daemon=True)
            th.start()
            return p, th
        victim, vth = spawn("victim")
        target = str(k)

        def started():
            with lock:
                return next((e for e in events if e["ev"] == "start" and e["id"] == target), None)
        first = wait_for(started, 30 + n * ms / 1000.0)
        if not first:
            fail("%s: the lab worker never started task %d" % (case.key, k))
        time.sleep(max(0.0, (first["t"] + self.a.kill_frac * ms - now_ms()) / 1000.0))
        kill_t = now_ms()
        victim.kill()
        victim.wait()
        vth.join(2)
        rescuer, rth = spawn("rescuer")
        try:
            rescuer.wait(timeout=self.a.window + n * ms / 1000.0 + 5)
        except subprocess.TimeoutExpired:
            rescuer.kill()
            rescuer.wait()
        rth.join(2)
        res = Result(n)
        ids = [str(i) for i in range(1, n + 1)]
        with lock:
            res.count(events, ids, self.pending_videos(port, stream), kill_t, target)
        return res

    @staticmethod
    def pending_videos(port, stream):
        """Videos whose entries are still in the group's pending list (XPENDING)."""
        c = redis.Redis(port=port)
        out = set()
        for p in c.xpending_range(stream, "transcode", "-", "+", 1000):
            for _, fields in c.xrange(stream, p["message_id"], p["message_id"]):
                out.add(fields[b"video"].decode())
        return out


# ---- the table ------------------------------------------------------------------------

COLUMNS = [("worker", False), ("broker", False), ("setting", False), ("kill -9", False),
           ("tasks", True), ("done once", True), ("done twice", True), ("never done", True),
           ("waiting", True), ("ran again", True), ("effect twice", True),
           ("killed task ran again after", False), ("result backend says", False)]


def case_line(c, r):
    """One line per run, for people and for tests/integration/celery-ghosts.sh."""
    return ("case=%s tasks=%d once=%d twice=%d never=%d waiting=%d again=%d effect-twice=%s "
            "delay-ms=%s concurrent=%s backend=%s" % (
                c.key, r.n, r.once, r.twice, r.lost, r.waiting, r.again,
                "-" if r.applied_twice is None else r.applied_twice,
                "-" if r.delay_ms is None else "%.0f" % r.delay_ms,
                "yes" if r.concurrent else "no", r.backend.replace(" ", "")))


def table_row(c, res):
    """The Markdown row of a case: counts of the first run (marked when runs disagree),
    the delay as the median and range over the runs."""
    r = res[0]
    counts = lambda x: (x.once, x.twice, x.lost, x.waiting, x.again, x.applied_twice)
    broker = "lab broker" if c.broker == "broker" else \
        ("Redis (Celery's transport)" if c.worker == "celery" else "Redis (Streams)")
    row = [c.worker, broker, c.setting, c.kill] + [str(v) for v in (
        r.n, r.once, r.twice, r.lost, r.waiting, r.again)]
    row.append("-" if r.applied_twice is None else str(r.applied_twice))
    d = [x.delay_ms for x in res if x.delay_ms is not None]
    if not d:
        delay = "-"
    else:
        delay = "%.1f s" % (statistics.median(d) / 1000.0)
        if len(d) > 1:
            delay += " (%.1f-%.1f)" % (min(d) / 1000.0, max(d) / 1000.0)
        if any(x.concurrent for x in res):
            delay += ", while the first run ran"
    row += [delay, r.backend]
    if any(counts(x) != counts(r) for x in res):
        row[5] += " (runs differ)"
    return row


def main():
    ap = Args(prog="labs/06-job-queue/celery-ghosts.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", metavar="N", type=int, default=5, help="tasks per case (default 5)")
    ap.add_argument("--kill-at", metavar="K", type=int, default=3, help="kill -9 during task K (default 3)")
    ap.add_argument("--work-ms", metavar="MS", type=int, default=1000, help="each task's work (default 1000)")
    ap.add_argument("--kill-frac", metavar="F", type=float, default=0.6,
                    help="kill that far into task K (default 0.6 of --work-ms)")
    ap.add_argument("--vt-short", metavar="S", type=float, default=0.5,
                    help="the short visibility_timeout, seconds (default 0.5; must be below "
                         "--kill-frac x --work-ms)")
    ap.add_argument("--long-ms", metavar="MS", type=int, default=5000,
                    help="the task longer than the short visibility_timeout (default 5000)")
    ap.add_argument("--window", metavar="S", type=float, default=8.0,
                    help="seconds past the tasks' own time to wait for redelivery (default 8)")
    ap.add_argument("--repeat", metavar="R", type=int, default=1, help="runs per case (default 1)")
    ap.add_argument("--only", choices=["celery", "lab"], help="only Celery's rows or the lab's")
    ap.add_argument("--cases", metavar="A,B,...", help="comma-separated case keys (default: all)")
    ap.add_argument("--md", metavar="FILE", help="also write the table as Markdown to FILE")
    ap.add_argument("--csv", metavar="FILE", help="also write one CSV row per run to FILE")
    ap.add_argument("--keep", action="store_true",
                    help="keep the scratch directory (every worker's log) and say where")
    ap.add_argument("--list", action="store_true", help="list the case keys and exit")
    ap.add_argument("--bin", metavar="DIR", default=os.environ.get("BIN", "build/bin"),
                    help="the lab programs (default build/bin)")
    a = ap.parse_args()
    if a.tasks < 1 or not 1 <= a.kill_at <= a.tasks:
        ap.error("--kill-at must be between 1 and --tasks")
    if a.vt_short * 1000 >= a.kill_frac * a.work_ms:
        ap.error("--vt-short must be below --kill-frac x --work-ms, so the killed task's "
                 "timeout has passed when the fresh worker starts")
    if a.long_ms <= a.vt_short * 1000 + 200:
        ap.error("--long-ms must be longer than the short visibility_timeout")
    if not os.path.isabs(a.bin):
        a.bin = os.path.join(TOP, a.bin)
    todo = cases(a.vt_short, a.long_ms)
    if a.list:
        print("\n".join("%-18s %s: %s, kill -9 %s" % (c.key, c.worker, c.setting, c.kill)
                        for c in todo))
        return
    if a.only:
        todo = [c for c in todo if (c.worker == "celery") == (a.only == "celery")]
    if a.cases:
        want = a.cases.split(",")
        unknown = set(want) - {c.key for c in todo}
        if unknown:
            ap.error("unknown case %s (have: %s)" % (", ".join(sorted(unknown)),
                                                     " ".join(c.key for c in cases(a.vt_short, a.long_ms))))
        todo = [c for c in todo if c.key in want]
    if any(c.worker == "lab worker" for c in todo):
        for p in ("broker", "upload", "worker"):
            if not os.access(os.path.join(a.bin, p), os.X_OK):
                fail("%s/%s is missing (make all)" % (a.bin, p))

    def on_signal(sig, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    tmp = tempfile.mkdtemp(prefix="celery-ghosts.")
    lab = Lab(a, tmp)
    rows = []
    status = 0
    try:
        lab.start_redis()
        if any(c.worker == "lab worker" and c.broker == "broker" for c in todo):
            lab.start_broker()
        print("%s: %d tasks per case, %d ms each, kill -9 %d%% into task %d; redis-server %s on "
              "127.0.0.1:%d%s; scratch %s" % (
                  PROG, a.tasks, a.work_ms, a.kill_frac * 100, a.kill_at,
                  redis.Redis(port=lab.rport).info()["redis_version"], lab.rport,
                  ", lab broker on 127.0.0.1:%d" % lab.bport if lab.bport else "", tmp), flush=True)
        csv = open(a.csv, "w") if a.csv else None
        if csv:
            csv.write("case,worker,broker,setting,kill,run,tasks,once,twice,never,waiting,again,"
                      "effect_twice,delay_ms,concurrent,backend\n")
        for c in todo:
            res = []
            for rep in range(a.repeat):
                r = lab.run_celery(c) if c.worker == "celery" else lab.run_lab(c)
                res.append(r)
                print(case_line(c, r), flush=True)
                if csv:
                    csv.write('%s,%s,%s,"%s","%s",%d,%s\n' % (
                        c.key, c.worker, c.broker, c.setting, c.kill, rep + 1,
                        ",".join(str(v) for v in (
                            r.n, r.once, r.twice, r.lost, r.waiting, r.again,
                            "" if r.applied_twice is None else r.applied_twice,
                            "" if r.delay_ms is None else "%.0f" % r.delay_ms,
                            int(r.concurrent), r.backend))))
                    csv.flush()
            rows.append(table_row(c, res))
        if csv:
            csv.close()
    except KeyboardInterrupt:
        print("%s: interrupted, stopping what it started" % PROG, file=sys.stderr)
        status = 130
    finally:
        # A second Ctrl-C must not cut the cleanup short and leave workers behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        lab.procs.stop_all()
        if a.keep:
            print("%s: the workers' logs are in %s" % (PROG, tmp), file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if status:
        sys.exit(status)
    if a.md:
        with open(a.md, "w") as f:
            f.write("| " + " | ".join(h for h, _ in COLUMNS) + " |\n")
            f.write("| " + " | ".join("---:" if right else "---" for _, right in COLUMNS) + " |\n")
            for row in rows:
                f.write("| " + " | ".join(row) + " |\n")


if __name__ == "__main__":
    main()
