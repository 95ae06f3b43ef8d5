"""ghostlib: what celery-ghosts.py needs beside its cases: processes started and stopped
by pid, and the count of what happened to each task id.

Contract
- Procs.start() runs a command in a session of its own (a Ctrl-C at the terminal reaches
  the driver only, which then stops everything itself) with its output in a log file;
  Procs.stop_all() stops every process started and every Celery pool process seen under
  one (note_children), Celery's by SIGKILL, the others by SIGTERM, and reaps them.  A pool
  process is only signalled while its command line still names ghostapp (no stray pid).
- Result.count() puts each task id in exactly one class: done once, done twice (or more),
  waiting (not done, still in the broker), never done (not done, nowhere); it asserts that
  the classes add up to the ids.
"""
import os
import signal
import socket
import subprocess
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def now_ms():
    return time.time() * 1000.0


# ---- processes: everything started is tracked by pid and stopped at the end ----------

class Procs:
    def __init__(self):
        self.procs = []          # Popen objects started here
        self.extra = set()       # pool processes seen under a Celery main process

    def start(self, argv, log, env=None):
        with open(log, "wb") as out:
            p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=TOP,
                                 start_new_session=True)
        self.procs.append(p)
        return p

    @staticmethod
    def children(pid):
        kids = []
        try:
            for t in os.listdir("/proc/%d/task" % pid):
                with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                    kids += [int(x) for x in f.read().split()]
        except OSError:
            pass
        return kids

    def note_children(self, pid):
        kids = self.children(pid)
        self.extra.update(kids)
        return kids

    def stop(self, p, sig=signal.SIGTERM):
        """Stop one started process and the pool processes under it, by pid."""
        for k in self.note_children(p.pid):
            self.kill_pid(k, signal.SIGKILL)
        if p.poll() is None:
            try:
                p.send_signal(sig)
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            except ProcessLookupError:
                pass

    def kill_pid(self, pid, sig):
        # Only a process that is still ours: a pool process of a ghostapp worker.
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                if b"ghostapp" not in f.read():
                    return
            os.kill(pid, sig)
        except OSError:
            pass

    def stop_all(self):
        # Celery's workers by SIGKILL (a warm shutdown would wait for the running task),
        # the servers by SIGTERM.
        for p in reversed(self.procs):
            if p.poll() is None:
                self.stop(p, signal.SIGKILL if getattr(p, "celery", False) else signal.SIGTERM)
        for pid in list(self.extra):
            self.kill_pid(pid, signal.SIGKILL)
        self.extra.clear()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout, step=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


class Result:
    """What happened to each task id in one run of a case."""

    def __init__(self, n):
        self.n = n
        self.once = self.twice = self.lost = self.waiting = 0
        self.again = 0           # started more than once: redelivered
        self.applied_twice = None  # the side effect landed twice (Celery's task only)
        self.delay_ms = None     # kill (or first start) to the target task's next start
        self.concurrent = False  # that second run started while the first still ran
        self.backend = "-"

    def count(self, events, ids, waiting_ids, kill_t, target):
        runs = {i: {"start": [], "done": [], "effect": []} for i in ids}
        for e in events:
            if e["id"] in runs and e["ev"] in runs[e["id"]]:
                runs[e["id"]][e["ev"]].append(e)
        has_effects = any(e["ev"] == "effect" for e in events)
        if has_effects:
            self.applied_twice = 0
        for i in ids:
            d = len(runs[i]["done"])
            if d >= 2:
                self.twice += 1
            elif d == 1:
                self.once += 1
            elif i in waiting_ids:
                self.waiting += 1
            else:
                self.lost += 1
            if len(runs[i]["start"]) >= 2:
                self.again += 1
            if has_effects and sum(1 for e in runs[i]["effect"] if e.get("applied")) >= 2:
                self.applied_twice += 1
        if target is not None:
            s = sorted(e["t"] for e in runs[target]["start"])
            if kill_t is not None:
                later = [t for t in s if t > kill_t]
                if later:
                    self.delay_ms = later[0] - kill_t
            elif len(s) >= 2:
                self.delay_ms = s[1] - s[0]
                first_done = min((e["t"] for e in runs[target]["done"]), default=None)
                self.concurrent = first_done is None or s[1] < first_done
        # Every task id is in exactly one class.
        assert self.once + self.twice + self.lost + self.waiting == self.n
