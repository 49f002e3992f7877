"""Sessions kept parsed between batches (scorer/held.py): used only while Redis holds what was written."""

import orjson
import pytest

from scorer import keys, recording, session
from scorer.held import Held
from tests.test_consumer import decisions, drain, event, scorer, to_payment  # noqa: F401 (fixtures)
from tracker import stream

SHARDS = 4


def stored(redis, shopper: str = "anon-1") -> dict:
    return orjson.loads(redis.get(keys.session(shopper)))


def test_a_state_someone_else_wrote_is_the_one_the_next_event_meets(redis, scorer):
    stream.append(redis, "site-1", [event("Product Added", {"product_id": "boots", "name": "Boots", "price": 120})],
                  SHARDS)
    drain(scorer)
    assert len(scorer.held) == 1
    # Another scorer (a deadline it took, say) emptied the cart since this one wrote the session.
    state = stored(redis)
    state["cart"] = {"items": [], "value": 0.0, "count": 0}
    redis.set(keys.session("anon-1"), session.dump(state))

    stream.append(redis, "site-1", [event("Product Added", {"product_id": "hat", "name": "Hat", "price": 20})],
                  SHARDS)
    drain(scorer)

    assert [item["id"] for item in stored(redis)["cart"]["items"]] == ["hat"]
    assert stored(redis)["cart"]["value"] == 20.0


def test_a_batch_that_fails_halfway_leaves_no_changed_copy_to_apply_its_events_to_again(redis, scorer, monkeypatch):
    stream.append(redis, "site-1", [event("Product Added", {"product_id": "boots", "name": "Boots", "price": 120})],
                  SHARDS)
    drain(scorer)
    failing = [True]

    def add(records, state, message, at):  # after the entry id and message id are taken, before the event is applied
        if failing.pop():
            raise ConnectionError("the batch stops here")

    monkeypatch.setattr(recording, "add", add)
    stream.append(redis, "site-1", [event("Product Added", {"product_id": "hat", "name": "Hat", "price": 20})],
                  SHARDS)
    with pytest.raises(ConnectionError):
        scorer.step(block=10)
    monkeypatch.setattr(recording, "add", lambda *args: None)
    # The scorer's own pending entries, read again as after a restart.
    scorer._drain_own_pending()

    state = stored(redis)
    assert [item["id"] for item in state["cart"]["items"]] == ["boots", "hat"]
    assert state["events"] == 2


def test_it_keeps_the_sessions_written_last_up_to_its_size():
    held = Held(2)
    for name in ("a", "b", "c"):
        held.keep(name, b'{"n": "%s"}' % name.encode(), {"n": name})
    assert len(held) == 2
    assert held.take("a", b'{"n": "a"}') == {"n": "a"}  # parsed again: dropped as the oldest
    assert held.take("c", b'{"n": "c"}') == {"n": "c"}
    assert held.take("b", None) is None


def test_a_decision_keeps_the_cart_it_was_made_on_while_the_held_session_goes_on(redis, scorer, decisions):
    stream.append(redis, "site-1", to_payment() + [event("Payment Failed"), event("Payment Failed")], SHARDS)
    drain(scorer)
    assert len(decisions) == 1
    stream.append(redis, "site-1", [event("Product Added", {"product_id": "hat", "name": "Hat", "price": 20})],
                  SHARDS)
    drain(scorer)

    assert stored(redis)["cart"]["value"] == 140.0
    cart = decisions[0]["context"]["cart"]
    assert [item["id"] for item in cart["items"]] == ["boots"] and cart["value"] == 120.0
