"""Which sessions teach the model, and how their snapshots wait for the outcome (scorer/learning.py)."""

import orjson
import pytest

from scorer import keys, learning, model, session
from scorer.writer import Batch, Writer

T0 = 1_800_000_000_000


def ended(outcome, contact=None) -> dict:
    state = session.new("anon-1", "site-1", T0)
    state["outcome"], state["contact"] = outcome, contact
    return state


@pytest.mark.parametrize("outcome, contact, label", [
    ("purchase", None, False),
    ("abandoned", None, True),
    ("abandoned", "holdout", True),  # the control group: its outcome is its own
    ("abandoned", "contact", None),  # helped: its outcome is not its own
    ("purchase", "contact", None),
    ("left", None, None),  # never had a cart to abandon
])
def test_only_sessions_whose_outcome_is_their_own_are_labelled(outcome, contact, label):
    assert learning.label(ended(outcome, contact)) is label


def test_snapshots_wait_in_redis_latest_kept_and_are_taken_once(redis):
    x = model.features(session.snapshot(session.new("anon-1", "site-1", T0), T0))
    batch = Batch()
    snapshots = [learning.encode(list(dict(x, adds=n).values())) for n in range(learning.MAX_SNAPSHOTS + 3)]
    batch.session("anon-1", "{}", keys.deadlines(0), None, snapshots)
    Writer(redis).write(batch)
    held = learning.take(redis, "anon-1")
    assert [dict(zip(model.NAMES, x))["adds"] for x in learning.examples(held)] == list(range(3, learning.MAX_SNAPSHOTS + 3))
    assert learning.take(redis, "anon-1") == [] and not redis.exists(keys.snapshots("anon-1"))


def test_snapshots_of_another_format_are_skipped():
    assert learning.examples(["[99, 1, 2]", "[1, 2]", b"\x07" + learning.encode([0.0] * len(model.NAMES))[1:],
                              learning.encode([0.0] * len(model.NAMES))[:-1]]) == []


def test_snapshots_held_as_json_before_an_upgrade_are_still_learned():
    x = [float(n) for n in range(len(model.NAMES))]
    assert learning.examples([orjson.dumps([learning.JSON_FORMAT, *x]), learning.encode(x)]) == [x, x]


def test_decision_points_are_step_entries_friction_and_every_tenth_event():
    state = session.new("anon-1", "site-1", T0)
    assert learning.decision_point(state | {"events": 1}, {"event": "Page"}, None)  # the landing page
    state["events"], state["step"] = 3, "payment"
    assert learning.decision_point(state, {"event": "Payment Info Entered"}, "shipping")
    assert learning.decision_point(state, {"event": "Payment Failed"}, "payment")
    assert not learning.decision_point(state, {"event": "Payment Info Entered"}, "payment")
    state["events"] = 10
    assert learning.decision_point(state, {"event": "Payment Info Entered"}, "payment")
    state["outcome"] = "purchase"
    assert not learning.decision_point(state, {"event": "Payment Failed"}, "payment")
