"""The learner as a process (handrail/learner_process.py) beside a scorer process: the scorer hands it the
sessions' outcomes, it publishes the model and the scorer scores with it; stopped, it saves what it learned,
and the next learner goes on from there."""

import json
import os
import signal
import subprocess
import sys
import time

from scorer import checkpoint, keys
from tests.service import ROOT
from tests.test_scorer_process import SHARDS, SITE, start, wait_for
from tracker import stream

TOKEN = "process-test-token"  # the scorer's, in tests.test_scorer_process.start


def start_learner(redis_url: str, name: str) -> subprocess.Popen:
    env = dict(os.environ, HANDRAIL_ADMIN_TOKEN=TOKEN, REDIS_URL=redis_url)
    return subprocess.Popen([sys.executable, "-m", "handrail", "learner", "--name", name],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def shoppers(first: int, count: int, at: int) -> list[dict]:
    """Even shoppers buy; odd ones reach payment with a cart at ``at`` and leave: two snapshots each."""
    messages = []
    for s in range(first, first + count):
        messages += [
            {"type": "track", "anonymousId": f"anon-{s}", "event": "Product Added", "receivedAt": at,
             "properties": {"product_id": "boots", "price": 50}, "messageId": f"a-{s}"},
            {"type": "track", "anonymousId": f"anon-{s}", "event": "Checkout Step Viewed", "receivedAt": at,
             "properties": {"step_name": "payment"}, "messageId": f"b-{s}"},
        ]
        if not s % 2:
            messages.append({"type": "track", "anonymousId": f"anon-{s}", "event": "Order Completed",
                             "receivedAt": at, "properties": {"revenue": 50}, "messageId": f"c-{s}"})
    return messages


def browsing(redis, shopper: str) -> float | None:
    """Another product view of ``shopper``'s, applied: their score then."""
    stream.append(redis, SITE, [{"type": "track", "anonymousId": shopper, "event": "Product Viewed",
                                 "receivedAt": int(time.time() * 1000), "properties": {"product_id": "hat"},
                                 "messageId": f"view-{time.monotonic_ns()}"}], SHARDS)
    time.sleep(0.2)
    return json.loads(redis.get(keys.session(shopper)))["score"]


def learned(redis) -> int:
    kept = checkpoint.history(redis)
    return kept[0]["learned"] if kept else 0


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(10) == 0


def test_the_scorer_scores_with_the_model_the_learner_publishes_and_a_new_learner_goes_on(redis, redis_server):
    long_ago = int(time.time() * 1000) - 31 * 60 * 1000  # sessions last seen then have ended: abandoned carts
    first = shoppers(0, 40, long_ago)  # 20 purchases, 20 abandonments: 80 snapshots to learn
    stream.append(redis, SITE, first, SHARDS)
    scorer, learner = start(redis_server.url), start_learner(redis_server.url, "learner-1")
    try:
        wait_for(lambda: learned(redis) == 80)
        stream.append(redis, SITE, shoppers(101, 1, int(time.time() * 1000)), SHARDS)  # on payment now
        wait_for(lambda: browsing(redis, "anon-101") is not None, timeout=10)  # within MODEL_POLL of the publish
        stop(learner)  # it had published everything: stopping saves no new version
        assert learned(redis) == 80
        learner = start_learner(redis_server.url, "learner-2")
        stream.append(redis, SITE, shoppers(200, 10, long_ago), SHARDS)  # 20 snapshots more
        wait_for(lambda: learned(redis) == 100)
        model, _ = checkpoint.load(redis, checkpoint.signing_key(TOKEN))
        assert model.learned == 100
    finally:
        stop(learner)
        stop(scorer)


def test_the_learner_refuses_to_start_without_a_secret(redis_server):
    env = {name: value for name, value in os.environ.items()
           if name not in ("HANDRAIL_ADMIN_TOKEN", "HANDRAIL_MODEL_SECRET")}
    done = subprocess.run([sys.executable, "-m", "handrail", "learner"], cwd=ROOT, capture_output=True, text=True,
                          env=dict(env, REDIS_URL=redis_server.url), timeout=60)
    assert done.returncode != 0 and "HANDRAIL_MODEL_SECRET or HANDRAIL_ADMIN_TOKEN" in done.stderr
