"""Which sessions teach the model, and how their snapshots wait for the outcome and are handed to the learner
(scorer/learning.py, held and handed on in scorer/writer.py's batch write)."""

import orjson
import pytest

from scorer import keys, learner, learning, model, session
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


def adds(n: int) -> bytes:
    """A held snapshot whose `adds` feature is ``n``."""
    x = model.features(session.new("anon-1", "site-1", T0), T0)
    return learning.encode(list(dict(x, adds=n).values()))


def write(redis, held: list[bytes] = (), settled: tuple | None = None) -> None:
    """One batch's write (scorer.writer): ``held`` snapshots of anon-1 pushed, or ``settled``: (label, snapshots
    taken in the batch) handed on."""
    batch = Batch()
    if settled is not None:
        batch.settled("anon-1", *settled)
    if held:
        batch.session("anon-1", "{}", keys.deadlines(0), None, list(held))
    Writer(redis).write(batch)


def handed(redis) -> list[tuple[bool, list[int]]]:
    return [(abandoned, [dict(zip(model.NAMES, x))["adds"] for x in snapshots])
            for abandoned, snapshots in (learner.parse(fields) for _, fields in redis.xrange(keys.EXAMPLES))]


def test_snapshots_wait_in_redis_latest_kept_and_are_handed_to_the_learner_once(redis):
    write(redis, held=[adds(n) for n in range(learning.MAX_SNAPSHOTS + 3)])
    assert redis.llen(keys.snapshots("anon-1")) == learning.MAX_SNAPSHOTS  # the latest
    write(redis, settled=(True, [adds(11), adds(12)]))  # two more taken in the settling batch
    assert handed(redis) == [(True, list(range(5, 13)))]  # the latest MAX_SNAPSHOTS, in order
    assert not redis.exists(keys.snapshots("anon-1"))
    write(redis, settled=(False, []))
    assert len(handed(redis)) == 1  # nothing held any more: nothing handed on twice


def test_a_session_with_nothing_to_teach_drops_its_snapshots(redis):
    write(redis, held=[adds(1), adds(2)])
    write(redis, settled=(None, [adds(3)]))
    assert handed(redis) == [] and not redis.exists(keys.snapshots("anon-1"))


def test_a_session_renewed_in_the_settling_batch_keeps_its_new_snapshots(redis):
    """The old visit's snapshots go to the learner; the new visit's, written in the same batch, stay held."""
    write(redis, held=[adds(1)])
    write(redis, held=[adds(7)], settled=(True, [adds(2)]))
    assert handed(redis) == [(True, [1, 2])]
    still = learning.examples(redis.lrange(keys.snapshots("anon-1"), 0, -1))
    assert [dict(zip(model.NAMES, x))["adds"] for x in still] == [7]


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


def test_a_contacted_session_takes_no_snapshot_its_held_out_twin_does():
    state = session.new("anon-1", "site-1", T0)
    state["events"], state["step"] = 3, "payment"
    state["contact"] = "holdout"
    assert learning.decision_point(state, {"event": "Payment Failed"}, "payment")
    state["contact"] = "contact"  # never learned from (label): a snapshot would only be dropped at its end
    assert not learning.decision_point(state, {"event": "Payment Failed"}, "payment")
