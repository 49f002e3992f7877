"""The learner (scorer/learner.py): learns what the scorers hand it, publishes checkpoints the scorers take,
loses no example when it dies, and trains alone."""

import pytest

from scorer import checkpoint, defaults, keys, learner
from scorer.consumer import Scorer, now_ms
from tests.test_consumer import MODEL_KEY, SHARDS, SITE, STUCK_AT_PAYMENT, drain, handed, live, scorer_with, to_payment
from tracker import stream

GONE = 31 * 60 * 1000  # ms: sessions last seen this long ago have ended


def checkpointer(redis) -> checkpoint.Checkpointer:
    return checkpoint.Checkpointer(redis, MODEL_KEY)


def new_learner(redis, name: str = "learner-1") -> learner.Learner:
    learner.ensure_group(redis)
    return learner.Learner(redis, checkpointer(redis), name=name)


def abandoned_carts(redis, scorer, count: int, first: int = 0) -> None:
    """``count`` shoppers who reached payment with a cart and left: two snapshots each, handed on as abandoned."""
    stream.append(redis, SITE, [m for n in range(first, first + count)
                                for m in to_payment(now_ms() - GONE, shopper=f"gone-{n}")], SHARDS)
    drain(scorer)


@pytest.fixture
def no_wait(monkeypatch):
    monkeypatch.setattr(learner, "PUBLISH_AFTER", 0.0)
    monkeypatch.setattr(defaults, "MODEL_POLL", 0.0)


def test_the_scorers_take_the_model_the_learner_publishes(redis, no_wait):
    """Sixteen abandoned carts (32 snapshots) learned and published: a scorer that had no model to score with
    scores the next shopper, with the learner's model."""
    scorer = Scorer(redis, SHARDS, on_decision=[].append, name="s-1", checkpointer=checkpointer(redis))
    scorer.ensure_groups()
    abandoned_carts(redis, scorer, 16)
    assert handed(redis) == [(True, 2)] * 16 and scorer.model.learned == 0
    trainer = new_learner(redis)
    assert trainer.step(block=10) == 32
    assert checkpoint.history(redis)[0]["learned"] == 32
    assert redis.xlen(keys.EXAMPLES) == 0  # published examples are acknowledged and deleted
    stream.append(redis, SITE, to_payment(shopper="next"), SHARDS)
    drain(scorer)
    assert scorer.model.learned == 32 and live(redis, "next")["score"] is not None


def test_examples_learned_but_not_published_are_learned_by_the_next_learner(redis):
    """A learner that dies between learning and its checkpoint loses nothing: the next one starts from the last
    checkpoint and learns what it had read again, once."""
    scorer = scorer_with(redis, [], STUCK_AT_PAYMENT)
    abandoned_carts(redis, scorer, 5)
    first = new_learner(redis, "learner-1")
    assert first.step(block=10) == 10 and first.publish() is not None  # published: 10 learned
    abandoned_carts(redis, scorer, 5, first=5)
    assert first.step(block=10) == 10  # read and learned, not yet published: then it dies
    redis.delete(keys.LEASE)  # its lease expires
    second = new_learner(redis, "learner-2")
    assert second.step(block=10) == 10  # what the first read and did not publish
    second.publish()
    assert checkpoint.history(redis)[0]["learned"] == 20 and redis.xlen(keys.EXAMPLES) == 0


def test_one_learner_trains_at_a_time(redis):
    """A second learner waits while the first holds the lease; the first, its lease taken meanwhile (it stalled
    past LEASE_MS), saves nothing; the second, holding it, learns from the last checkpoint on."""
    scorer = scorer_with(redis, [], STUCK_AT_PAYMENT)
    first, second = new_learner(redis, "learner-1"), new_learner(redis, "learner-2")
    abandoned_carts(redis, scorer, 3)
    assert first.step(block=10) == 6 and first.publish() is not None
    assert second.step(block=10) is None
    abandoned_carts(redis, scorer, 3, first=3)
    assert first.step(block=10) == 6  # learned, not yet published
    redis.set(keys.LEASE, "learner-2")  # the first stalled: its lease passed on
    assert first.publish() is None and checkpoint.history(redis)[0]["learned"] == 6
    assert second.step(block=10) == 6  # from the last checkpoint, the first's unpublished examples
    assert second.publish() is not None and first.step(block=10) is None
    assert checkpoint.history(redis)[0]["learned"] == 12


def test_a_stopped_learner_publishes_and_gives_up_its_lease(redis):
    scorer = scorer_with(redis, [], STUCK_AT_PAYMENT)
    abandoned_carts(redis, scorer, 2)
    trainer = new_learner(redis)

    class StopAfterOneStep:
        def __init__(self):
            self.steps = 0

        def is_set(self):
            self.steps += 1
            return self.steps > 1

        def wait(self, seconds):
            raise AssertionError("the learner held the lease: it never waits")

    trainer.run(StopAfterOneStep())
    assert checkpoint.history(redis)[0]["learned"] == 4 and not redis.exists(keys.LEASE)


def test_an_entry_of_unknown_snapshots_teaches_nothing_and_is_not_left_pending(redis, no_wait):
    learner.ensure_group(redis)
    redis.xadd(keys.EXAMPLES, {"a": "1", "x1": b"\x07not a snapshot"})
    trainer = new_learner(redis)
    assert trainer.step(block=10) == 0
    assert checkpoint.history(redis) == [] and redis.xlen(keys.EXAMPLES) == 0


def test_a_checkpoint_every_so_many_snapshots_learned_before_publish_after(redis, monkeypatch):
    """Under a steady flow of outcomes the scorers get the model every checkpoint.EVERY snapshots, not only once
    PUBLISH_AFTER has passed."""
    monkeypatch.setattr(learner, "PUBLISH_AFTER", 3600.0)
    scorer = scorer_with(redis, [], STUCK_AT_PAYMENT)
    learner.ensure_group(redis)
    trainer = learner.Learner(redis, checkpoint.Checkpointer(redis, MODEL_KEY, every=6), name="learner-1")
    abandoned_carts(redis, scorer, 2)
    assert trainer.step(block=10) == 4 and checkpoint.history(redis) == []
    abandoned_carts(redis, scorer, 1, first=2)
    assert trainer.step(block=10) == 2 and checkpoint.history(redis)[0]["learned"] == 6
