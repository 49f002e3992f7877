"""Running dispatch jobs as the service does, for the channel tests: enqueue a decision as the scorer does,
then a real RQ worker (in this process, until the queue is empty) runs every job it leads to."""

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

import psutil
import rq
from rq.serializers import JSONSerializer

from dispatch import keys, tasks
from tests.service import ROOT
from tests.test_tasks import decision

CUSTOMER = {"first_name": "Ada", "email": "ada@example.test", "phone": "+49 30 1234-567", "consent": "email,sms,call"}


def contact_decision(channel: str, decision_id: str = "d-1", **customer) -> dict:
    made = decision(decision_id, "anon-1")
    made["channel"] = channel
    made["context"] = {"cart": {"items": [{"name": "Red shoes", "quantity": 2, "price": 60.0}], "value": 120.0},
                       "step": "payment", "timeline": [], "customer": dict(CUSTOMER, **customer)}
    return made


def queue(redis, name: str = keys.QUEUE) -> rq.Queue:
    return rq.Queue(name, connection=redis, serializer=JSONSerializer)


def enqueue_decision(redis, made: dict) -> rq.job.Job:
    """As the scorer queues a decision (handrail.scorer_process)."""
    return queue(redis, keys.DECISIONS).enqueue("dispatch.jobs.handle_decision", made, job_id=made["id"],
                                                retry=rq.Retry(max=3, interval=0))


def work(redis) -> None:
    """A real RQ worker in this process, on the dispatch queues as `handrail run` starts it, until they are empty
    (retries with no interval included)."""
    rq.SimpleWorker([queue(redis, name) for name in keys.QUEUES], connection=redis,
                    serializer=JSONSerializer).work(burst=True)


@contextmanager
def worker_process(redis_url: str, env: dict, log_path):
    """A real `rq worker` process on the dispatch queue, as `handrail run` starts one, stopped after."""
    with open(log_path, "wb") as log:
        worker = subprocess.Popen([sys.executable, "-m", "rq.cli", "worker", "--url", redis_url, "--serializer",
                                   "json", *keys.QUEUES], cwd=ROOT, env=dict(os.environ, **env), stdout=log, stderr=log)
        try:
            yield worker
        finally:
            worker.terminate()
            worker.wait(30)


def kill_sender(worker: subprocess.Popen, port: int) -> None:
    """SIGKILL the worker's process that holds a connection to ``port``: the work horse in mid-send."""
    senders = [child for child in psutil.Process(worker.pid).children(recursive=True)
               if any(c.raddr and c.raddr.port == port for c in child.net_connections(kind="tcp"))]
    assert len(senders) == 1, f"expected one worker process connected to port {port}, found {senders}"
    senders[0].send_signal(signal.SIGKILL)


def wait_for_status(redis, task_id: str, status: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while (task := tasks.get(redis, task_id))["status"] != status and time.monotonic() < deadline:
        time.sleep(0.1)
    return task
