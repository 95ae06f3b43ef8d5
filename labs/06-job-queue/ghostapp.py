"""ghostapp: the Celery app of the job-queue lab, one task that stands for real work.

celery-ghosts.py starts `celery -A ghostapp worker` processes with these settings from
the environment (Celery reads its configuration once, when the worker imports this):

  GHOST_BROKER        redis://127.0.0.1:PORT/0, the lab's own redis-server
  GHOST_BACKEND       redis://127.0.0.1:PORT/1, the result backend
  GHOST_RECORDS       redis://127.0.0.1:PORT/2, where the task writes what it did
  GHOST_ACKS_LATE     1: task_acks_late (acknowledge when the task returns); 0: on start
  GHOST_REJECT_LOST   1: task_reject_on_worker_lost (requeue when the pool process dies)
  GHOST_VT            the Redis transport's visibility_timeout, seconds

ghost.work(run, seq, ms, idempotent) appends `start` to the list ghost:RUN:events, works
ms/2 milliseconds, applies its side effect (`effect`), works ms/2 more and appends `done`.  Each event is one JSON
object with the task id, seq, the pool process's pid and the wall clock in ms, so the
driver can count, per task id, how many times it started, finished and took effect.
The side effect is INCR ghost:RUN:effect:ID (doing it twice counts twice); with
idempotent=True it is SET ... NX, a dedup key: a second run finds it and changes nothing.
"""
import json
import os
import time

import redis
from celery import Celery

app = Celery("ghostapp", broker=os.environ.get("GHOST_BROKER", "redis://127.0.0.1:6379/0"),
             backend=os.environ.get("GHOST_BACKEND", "redis://127.0.0.1:6379/1"))
app.conf.update(
    task_acks_late=os.environ.get("GHOST_ACKS_LATE", "0") == "1",
    task_reject_on_worker_lost=os.environ.get("GHOST_REJECT_LOST", "0") == "1",
    broker_transport_options={"visibility_timeout": float(os.environ.get("GHOST_VT", "3600"))},
    worker_prefetch_multiplier=1,
    task_default_queue="ghost",
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
)

_records = None


def records():
    """One connection per pool process, made after the fork."""
    global _records
    if _records is None:
        _records = redis.Redis.from_url(os.environ.get("GHOST_RECORDS", "redis://127.0.0.1:6379/2"))
    return _records


def record(run, ev, task_id, seq, **extra):
    e = {"ev": ev, "id": task_id, "seq": seq, "pid": os.getpid(), "t": time.time() * 1000.0}
    e.update(extra)
    records().rpush("ghost:%s:events" % run, json.dumps(e))


@app.task(name="ghost.work", bind=True)
def work(self, run, seq, ms, idempotent=False):
    tid = self.request.id
    record(run, "start", tid, seq, redelivered=bool((self.request.delivery_info or {}).get("redelivered")))
    time.sleep(ms / 2000.0)
    # The side effect lands half way (an e-mail sent, a card charged), so a run killed
    # later has done it and a second run does it again unless the task is idempotent.
    key = "ghost:%s:effect:%s" % (run, tid)
    if idempotent:
        applied = bool(records().set(key, 1, nx=True))
    else:
        records().incr(key)
        applied = True
    record(run, "effect", tid, seq, applied=applied)
    time.sleep(ms / 2000.0)
    record(run, "done", tid, seq)
    return seq
