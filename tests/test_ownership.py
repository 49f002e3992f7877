"""Stream shards owned by one scorer at a time (scorer/ownership.py), as Scorer uses them: shared out between
scorers, drained first when taken over, fenced at the batch's write."""


import pytest

from rules import store
from scorer import keys, ownership, recording
from scorer.consumer import Scorer, now_ms
from tests.test_consumer import SHARDS, SITE, STUCK_AT_PAYMENT, drain, event, live
from tracker import stream


def scorer_named(redis, name: str, decisions: list | None = None) -> Scorer:
    store.save(redis, STUCK_AT_PAYMENT, "test")
    scorer = Scorer(redis, SHARDS, on_decision=(decisions if decisions is not None else []).append, name=name)
    scorer.ensure_groups()
    return scorer


def browsing(shopper: str, count: int) -> list[dict]:
    return [event("Product Viewed", {"product_id": f"p-{n}"}, shopper=shopper) for n in range(count)]


@pytest.fixture
def renew_at_once(monkeypatch):
    monkeypatch.setattr(ownership, "RENEW_EVERY", 0.0)


def test_two_scorers_share_the_shards_out(redis, renew_at_once):
    """The first takes every shard; once a second is alive, the first gives half back and the second takes it."""
    first, second = scorer_named(redis, "scorer-a"), scorer_named(redis, "scorer-b")
    first.step(block=10)
    assert first.ownership.owned == [0, 1, 2, 3]
    second.step(block=10)  # alive now, but nothing is free yet
    assert second.ownership.owned == []
    first.step(block=10)
    second.step(block=10)
    assert first.ownership.owned == [0, 1] and second.ownership.owned == [2, 3]
    assert redis.get(keys.owner(3)) == b"scorer-b"


def test_a_second_scorer_leaves_alone_the_session_the_first_is_in_the_middle_of(redis, renew_at_once, monkeypatch):
    """While one scorer has a shopper's session loaded and is about to store it, the shopper's next event is
    appended and the other scorer steps: it does not take that event (the shard is not its own), so neither
    write drops the other's event; the owner applies it at its next step."""
    first, second = scorer_named(redis, "scorer-a"), scorer_named(redis, "scorer-b")
    for scorer in (first, second, first, second):
        scorer.step(block=10)
    owner, other = (first, second) if stream.shard_of("anon-1", SHARDS) in first.ownership.owned else (second, first)
    write = owner.writer.write
    meanwhile = []

    def other_steps_first(batch):
        if not meanwhile:
            stream.append(redis, SITE, [event("Product Viewed", {"product_id": "second"})], SHARDS)
            meanwhile.append(other.step(block=10))
        write(batch)

    monkeypatch.setattr(owner.writer, "write", other_steps_first)
    stream.append(redis, SITE, [event("Product Viewed", {"product_id": "first"})], SHARDS)
    assert owner.step(block=10) == 1 and meanwhile == [0]
    assert owner.step(block=10) == 1
    assert live(redis)["events"] == 2


def test_a_shard_taken_over_is_drained_before_its_new_entries(redis, monkeypatch):
    """A scorer dies after reading a batch it never stored; the shopper goes on. The scorer that takes the
    shards applies the dead one's entries first, then the new ones: nothing is skipped as applied before."""
    first = scorer_named(redis, "scorer-a")
    real = recording.add

    def dies(records, state, message, at):
        raise ConnectionError("killed mid-batch")

    monkeypatch.setattr(recording, "add", dies)
    stream.append(redis, SITE, browsing("anon-1", 3), SHARDS)
    with pytest.raises(ConnectionError):
        first.step(block=10)
    monkeypatch.setattr(recording, "add", real)
    stream.append(redis, SITE, [event("Product Added", {"product_id": "boots", "price": 120})], SHARDS)
    redis.delete(*[keys.owner(shard) for shard in range(SHARDS)])  # its leases expire, and it is no longer
    redis.zrem(keys.SCORERS, "scorer-a")  # counted as alive
    second = scorer_named(redis, "scorer-b")
    assert drain(second) == 4
    state = live(redis)
    assert state["events"] == 4 and state["cart"]["count"] == 1  # without the drain first: 1


def test_a_batch_of_a_shard_lost_meanwhile_is_not_stored_and_its_new_owner_applies_it(redis):
    """A scorer that stalled past its lease: the batch it was applying touches a shard another scorer owns by
    then, so none of it is stored (no half batch); the new owner applies those entries, once."""
    first = scorer_named(redis, "scorer-a")
    first.step(block=10)
    stream.append(redis, SITE, browsing("anon-1", 2), SHARDS)
    shard = stream.shard_of("anon-1", SHARDS)
    redis.set(keys.owner(shard), "scorer-b")  # its lease of that shard passed on while it stalled
    first.step(block=10)
    assert not redis.exists(keys.session("anon-1"))
    second = scorer_named(redis, "scorer-b")
    assert drain(second) == 2 and live(redis)["events"] == 2


def test_a_stopped_scorer_gives_its_shards_back_at_once(redis):
    scorer = scorer_named(redis, "scorer-a")

    class StopAfterOneStep:
        steps = 0

        def is_set(self):
            self.steps += 1
            return self.steps > 1

    scorer.run(StopAfterOneStep())
    assert not any(redis.exists(keys.owner(shard)) for shard in range(SHARDS))
    assert redis.zscore(keys.SCORERS, "scorer-a") is None
    assert scorer.ownership.owned == []


def test_an_order_by_user_id_read_by_one_scorer_reaches_the_session_another_owns(redis, renew_at_once):
    """The shop's server reports an order by userId alone: its shard's owner hands it to the owner of the
    identified shopper's session, which completes that session (the order read where it landed would race
    with the session's owner)."""
    first, second = scorer_named(redis, "scorer-a"), scorer_named(redis, "scorer-b")
    for scorer in (first, second, first, second):
        scorer.step(block=10)
    assert first.ownership.owned == [0, 1] and second.ownership.owned == [2, 3]
    assert stream.shard_of("anon-1", SHARDS) == 2 and stream.shard_of("u:user-0", SHARDS) == 0
    identify = {"type": "identify", "anonymousId": "anon-1", "userId": "user-0", "traits": {},
                "messageId": "m-identify", "receivedAt": now_ms()}
    stream.append(redis, SITE, [identify, event("Product Added", {"product_id": "boots", "price": 120})], SHARDS)
    assert drain(second) == 2
    order = {"type": "track", "userId": "user-0", "event": "Order Completed", "properties": {"revenue": 120},
             "messageId": "m-order", "receivedAt": now_ms()}
    stream.append(redis, SITE, [order], SHARDS)
    assert drain(first) == 0  # handed over, not applied here
    assert drain(second) == 1
    state = live(redis)
    assert (state["outcome"], state["events"]) == ("purchase", 3)
    assert redis.get(keys.session("u:user-0")) is None
    assert all(redis.xpending(key, keys.GROUP)["pending"] == 0 for key in stream.all_keys(SHARDS))
