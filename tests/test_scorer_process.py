"""The scorer as a process (handrail/scorer_process.py): killed mid-batch, it loses nothing and
applies nothing twice; its decisions are run before the outcome jobs it queued earlier. (The model it
scores with comes from the learner: tests/test_learner_process.py.)"""

import json
import os
import signal
import subprocess
import sys
import time

import rq
from rq.serializers import JSONSerializer

from dispatch import keys as dispatch_keys
from handrail.scorer_process import callbacks
from scorer import keys
from scorer.consumer import IDENTIFIED
from tests.channel_jobs import contact_decision, work
from tests.service import ROOT
from tracker import stream

SHARDS = 4
SITE = "site-1"
SESSIONS = 300
PER_SESSION = 40


def start(redis_url: str, name: str = "scorer-under-test") -> subprocess.Popen:
    env = dict(os.environ, HANDRAIL_ADMIN_TOKEN="process-test-token", REDIS_URL=redis_url)
    return subprocess.Popen([sys.executable, "-m", "handrail", "scorer", "--shards", str(SHARDS), "--name", name],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def applied(redis) -> int:
    """Events applied so far, summed over the sessions the scorer has stored."""
    names = redis.keys(keys.session("*"))
    return sum(json.loads(raw)["events"] for raw in redis.mget(names)) if names else 0


def wait_for(check, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_sigkill_mid_batch_loses_no_event_and_applies_none_twice(redis, redis_server):
    now = int(time.time() * 1000)
    messages = [{"type": "track", "anonymousId": f"anon-{s}", "event": "Product Viewed",
                 "properties": {"product_id": f"p{n}"}, "messageId": f"m-{s}-{n}", "receivedAt": now}
                for n in range(PER_SESSION) for s in range(SESSIONS)]
    for start_at in range(0, len(messages), 500):
        stream.append(redis, SITE, messages[start_at:start_at + 500], SHARDS)
    total = len(messages)
    kills = []
    for fraction in (0.2, 0.5, 0.8):  # three SIGKILLs, each while the scorer is busy with a batch
        process = start(redis_server.url)
        wait_for(lambda: applied(redis) >= total * fraction)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        kills.append(applied(redis))
    assert all(0 < seen < total for seen in kills)
    process = start(redis_server.url)  # the same consumer name takes up what the killed one left pending
    try:
        wait_for(lambda: applied(redis) == total)
        time.sleep(0.5)  # time enough to apply anything twice, were it going to
        states = [json.loads(raw) for raw in redis.mget(redis.keys(keys.session("*")))]
        assert len(states) == SESSIONS and {state["events"] for state in states} == {PER_SESSION}
        assert all(redis.xpending(key, keys.GROUP)["pending"] == 0 for key in stream.all_keys(SHARDS))
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0


def test_a_decision_is_run_before_the_outcome_jobs_queued_ahead_of_it(redis):
    """The scorer queues outcomes in bursts (each batch's identifies, session ends, orders); a decision
    queued behind 30 of them is the next job a dispatch worker runs, as `handrail run` starts it: a shopper
    is waiting on it."""
    wired = callbacks(redis)
    for n in range(30):
        wired["on_outcome"](IDENTIFIED, {"site": SITE, "user_id": f"u-{n}", "traits": {"first_name": "Ada"},
                                         "anonymous_id": f"anon-{n}", "decision": None})
    made = contact_decision("chat", "d-late")
    wired["on_decision"](made)
    work(redis)
    ran = [job_id for name in dispatch_keys.QUEUES for registry in (rq.registry.FinishedJobRegistry,
                                                                    rq.registry.FailedJobRegistry)
           for job_id in registry(name, connection=redis).get_job_ids()]
    jobs = rq.job.Job.fetch_many(ran, connection=redis, serializer=JSONSerializer)
    started = sorted((job.started_at, job.func_name) for job in jobs)
    assert len(started) == 31 and started[0][1] == "dispatch.jobs.handle_decision", started[:3]
