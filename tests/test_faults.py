"""Faults under load: while simulated shoppers keep sending, kill -9 the scorer, the learner, the RQ worker, a
gunicorn web worker and Redis itself (started again from its AOF). The shoppers resend what was not answered 200,
with the same messageIds, as hr.js does. Once everything is back and drained:
- every event the collector accepted was applied to its session exactly once (the session's `events`,
  as GET /api/sessions shows it, equals the messages accepted for that shopper);
- no decision made two tasks, and no shopper got two tasks or two chat invitations;
- every stuck shopper whose decisive event was accepted got its task;
- every session outcome handed to the learner was learned and published.
"""

import json
import threading
import time
import urllib.error
import urllib.request

import pytest
import redis as redis_lib

from bench.collector import limits_off
from bench.e2e import consumed, drain, prepare
from bench.parts import Parts
from bench.shoppers import Plan, drive
from scorer import checkpoint
from scorer import keys as scorer_keys
from tracker import defaults as tracker_defaults
from tracker import keys as tracker_keys

TOKEN = "faults-admin-token"
PLAN = Plan(shoppers=40, rate=80.0, seconds=30.0, stuck=0.25, ramp=3.0, seed=7)
# seconds into the load, what is killed
FAULTS = [(5.0, "scorer"), (10.0, "worker"), (12.5, "learner"), (15.0, "web-worker"), (20.0, "redis")]
PUBLISHED_WITHIN = 15.0  # seconds after the load for the learner to have published every example handed to it


def _api(url: str, path: str):
    request = urllib.request.Request(url + path, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def _session(url: str, anonymous_id: str) -> dict:
    """The live session; a lost one as a session with nothing applied."""
    try:
        return _api(url, f"/api/sessions/{anonymous_id}")
    except urllib.error.HTTPError as error:
        if error.code != 404:
            raise
        return {"events": 0}


@pytest.fixture(scope="module")
def faulted(tmp_path_factory):
    shards = tracker_defaults.STREAM_SHARDS
    with Parts(tmp_path_factory.mktemp("faults"), TOKEN, limits_off()) as parts:
        write_key = prepare(parts)
        killed, began = [], time.monotonic() + 3.0  # the driver's first shopper starts about 3 s in

        def faults():
            for at, name in FAULTS:
                time.sleep(max(0.0, began + at - time.monotonic()))
                killed.append((name, parts.kill(name)))

        killer = threading.Thread(target=faults, daemon=True)
        killer.start()

        def settled():
            try:
                with parts.client() as redis:
                    return consumed(redis, shards)
            except (redis_lib.ConnectionError, FileNotFoundError):  # Redis is being started again
                return False

        out = drive(parts.url, write_key, PLAN, TOKEN, record=True, settled=settled)
        killer.join()
        with parts.client() as redis:
            drain(redis, shards)
            invites = {anonymous_id: [json.loads(fields[b"m"]) for _, fields in
                                      redis.xrange(tracker_keys.inbox(anonymous_id))]
                       for anonymous_id in out.accepted_ids}
        sessions = {anonymous_id: _session(parts.url, anonymous_id) for anonymous_id in out.accepted_ids}
        with parts.client() as redis:
            deadline = time.monotonic() + PUBLISHED_WITHIN
            while redis.xlen(scorer_keys.EXAMPLES) and time.monotonic() < deadline:
                time.sleep(0.2)
            examples_left, learned = redis.xlen(scorer_keys.EXAMPLES), checkpoint.history(redis)
        tasks = _api(parts.url, "/api/tasks?limit=500")["tasks"]
        yield {"out": out, "killed": killed, "restarts": dict(parts.restarts), "sessions": sessions,
               "tasks": tasks, "invites": invites, "examples_left": examples_left, "learned": learned}


def test_every_fault_happened_during_the_load(faulted):
    assert [name for name, _ in faulted["killed"]] == [name for _, name in FAULTS]
    assert faulted["restarts"]["redis"] == 1
    assert faulted["restarts"]["scorer"] >= 1 and faulted["restarts"]["worker"] >= 1
    assert faulted["restarts"]["learner"] >= 1
    assert faulted["out"].resent > 0  # the collector refused or dropped requests while Redis or a worker was down


def test_every_accepted_event_is_applied_exactly_once(faulted):
    out = faulted["out"]
    assert out.lost == 0 and out.accepted == out.sent_events
    applied = {anonymous_id: state["events"] for anonymous_id, state in faulted["sessions"].items()}
    accepted = {anonymous_id: len(ids) for anonymous_id, ids in out.accepted_ids.items()}
    assert applied == accepted
    assert sum(applied.values()) == out.accepted


def test_no_decision_makes_two_tasks_and_no_shopper_gets_two(faulted):
    tasks = faulted["tasks"]
    ids = [task["id"] for task in tasks]
    shoppers = [task["anonymous_id"] for task in tasks]
    assert len(ids) == len(set(ids))
    assert len(shoppers) == len(set(shoppers))
    assert tasks, "no task was made: the test saw no decision at all"


def test_no_shopper_is_invited_twice(faulted):
    invited = {anonymous_id: [m["task_id"] for m in messages if m["type"] == "invite"]
               for anonymous_id, messages in faulted["invites"].items()}
    assert {anonymous_id: ids for anonymous_id, ids in invited.items() if len(ids) > 1} == {}
    by_task = {task["id"]: task for task in faulted["tasks"]}
    for anonymous_id, ids in invited.items():
        for task_id in ids:
            assert by_task[task_id]["anonymous_id"] == anonymous_id


def test_every_stuck_shopper_whose_trigger_was_accepted_gets_one_task(faulted):
    triggered = {anonymous_id for anonymous_id, arrival in faulted["out"].stuck.items() if arrival is not None}
    with_task = {task["anonymous_id"] for task in faulted["tasks"]}
    assert triggered and triggered <= with_task


def test_every_outcome_handed_to_the_learner_is_learned_and_published(faulted):
    """The learner killed mid-load: the one started after it learns what it had not checkpointed (an example
    is deleted from the stream only once a checkpoint has it), so the stream empties."""
    assert faulted["examples_left"] == 0
    assert faulted["learned"] and faulted["learned"][0]["learned"] > 0
