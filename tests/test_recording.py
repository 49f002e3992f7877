"""Sessions recorded for replay (scorer/recording.py, written in the scorer's batch script): enough to
rebuild the live session exactly, nothing more, capped, and gone after the retention."""

import time

import orjson
import pytest

from demo.simulator import population
from rules.document import compile_text
from scorer import defaults, keys, recording, replay, session
from scorer.consumer import now_ms
from tests.test_consumer import SHARDS, SITE, drain, event, live, scorer_with, to_payment
from tracker import stream

RULES = "rules:\n  - id: big-cart\n    when: {cart_value: {over: 500}}\n    action: {channel: chat}\n"
BOOKKEEPING = ("seen", "last_id", "quiet_until", "contact", "channel", "decision", "closed", "rule")  # the scorer's


def recordings(redis, anonymous_id: str = "anon-1") -> list[list]:
    """Every recording of one visitor, decoded, oldest first."""
    found = [item for item in replay.find(redis, 0, SHARDS) if item[0] == anonymous_id]
    return [[orjson.loads(raw) for raw in redis.lrange(keys.recording(*item), 0, -1)] for item in found]


def rebuilt(redis, session_key: str, started: int, items: list) -> dict:
    """A recorded session applied again by the replay, with the rules of the scorer."""
    state = recording.start(session_key, started, items[0])
    replay.Replayer(redis, compile_text(RULES), until=now_ms()).session(state, items[1:], {})
    return state


def comparable(state: dict, trimmed: tuple = ()) -> dict:
    """The session as a replay can know it: the personal traits masked, the scorer's bookkeeping left
    out, and so are the ``trimmed`` lists."""
    return dict({name: value for name, value in state.items() if name not in BOOKKEEPING + trimmed},
                traits=recording.mask(state["traits"]))


@pytest.fixture
def scorer(redis):
    return scorer_with(redis, [], RULES)


def test_recorded_shoppers_rebuild_exactly_the_live_sessions(redis, scorer):
    """300 simulated shoppers (every persona) through the real scorer, as live traffic reaches it (a
    shopper's messages seconds apart: one of each shopper's per batch): each recording, applied
    again, gives the session the scorer holds, score included. Many reach the 2 KB cap and lose
    their oldest timeline and recent entries alike; a stream entry id one digit longer than the
    replay's stand-in may let one keep an entry the other lost."""
    shoppers = population(300, seed=3, rate=1.0, start_ms=now_ms() - 10 * 60 * 1000)
    scripts = [[dict(message, receivedAt=at) for at, message in shopper.messages()] for shopper in shoppers]
    applied = 0
    for n in range(max(map(len, scripts))):  # the n-th message of every shopper who has one
        stream.append(redis, SITE, [script[n] for script in scripts if n < len(script)], SHARDS)
        applied += drain(scorer)
    assert applied == sum(map(len, scripts))
    at_the_cap = trimmed_apart = 0
    for shopper in shoppers:
        (items,) = recordings(redis, shopper.anonymous_id)
        state = live(redis, shopper.anonymous_id)
        again = rebuilt(redis, shopper.anonymous_id, state["started_at"], items)
        assert comparable(again, ("timeline", "recent")) == comparable(state, ("timeline", "recent"))
        for name in ("timeline", "recent"):
            shorter, longer = sorted((again[name], state[name]), key=len)
            assert longer[len(longer) - len(shorter):] == shorter and len(longer) - len(shorter) <= 1
            trimmed_apart += again[name] != state[name]
        # the session's own bytes (the scorer's bookkeeping left out) within 100 of where trimming starts
        at_the_cap += (len(orjson.dumps(state)) - session._bookkeeping_bytes(state)
                       > defaults.MAX_STATE_BYTES - session.BOOKKEEPING_ROOM - 100)
    assert at_the_cap > 30 and trimmed_apart <= 3


def test_odd_messages_are_recorded_so_that_they_apply_the_same(redis):
    """Odd but accepted input (numbers as text, objects where text belongs, long strings, a cart of
    15 with junk in it, RudderStack's traits) applies to the same session from its slim record."""
    long = "x" * 2000
    products = [{"product_id": f"p{n}", "name": {"odd": n}, "price": "12.5", "quantity": "2"} for n in range(14)]
    odd = [
        {"type": "identify", "anonymousId": "anon-1", "userId": "u" * 150,
         "context": {"traits": {"email": "ada@example.com", "segment": "vip", "consent": {"email": True, "call": "yes"},
                                "address": "1 Main St"}, "userAgent": "Mozilla/5.0 (iPad; CPU OS 17_0)",
                     "timezone": "Europe/Amsterdam" + long}},
        {"type": "page", "anonymousId": "anon-1", "name": "Cart page", "category": "  Checkout ",
         "context": {"page": {"path": "/cart/" + long}}},
        {"type": "page", "anonymousId": "anon-1", "properties": {"path": "/p/1", "category": ["x"]}},
        {"type": "track", "anonymousId": "anon-1", "event": "Product Added",
         "properties": {"sku": 123, "name": long, "price": "99.99", "quantity": 3.7}},
        {"type": "track", "anonymousId": "anon-1", "event": "Cart Viewed",
         "properties": {"products": ["junk", None] + products, "total": "310"}},
        {"type": "track", "anonymousId": "anon-1", "event": "Checkout Step Viewed", "properties": {"step": 0}},
        {"type": "track", "anonymousId": "anon-1", "event": "Form Error",
         "properties": {"field": {"name": "card"}, "message": long, "value": "4111 1111 1111 1111"}},
        {"type": "track", "anonymousId": "anon-1", "event": "Idle", "properties": {"seconds": "45"}},
        {"type": "track", "anonymousId": "anon-1", "event": "Payment Failed", "properties": {"reason": None}},
        {"type": "track", "anonymousId": "anon-1", "userId": "u-2", "event": "Order Completed",
         "properties": {"revenue": None, "total": "12,50"}},
        {"type": "track", "anonymousId": "anon-1", "event": "E" * 200, "properties": {"reason": "x"}},
    ]
    state, replayed = session.new("anon-1", SITE, 1_000), session.new("anon-1", SITE, 1_000)
    slim = []
    for n, message in enumerate(odd):
        slim.append(recording.slim(state, message))
        session.apply(state, message, 1_000 + n * 700)
        session.apply(replayed, slim[-1], 1_000 + n * 700)
    assert comparable(replayed) == comparable(state)
    assert replayed["device"] == "tablet"
    assert replayed["cart"]["count"] == 16  # of the first 10 entries, 8 products, 2 of each
    recorded = orjson.dumps(slim).decode()
    assert "4111" not in recorded and "1 Main St" not in recorded and "ada@example.com" not in recorded
    assert "x" * 201 not in recorded  # every string cut


def test_personal_traits_are_kept_only_as_present(redis, scorer):
    """Name, email and phone are not in the recording; that they were given, and the segment, are."""
    identify = {"type": "identify", "anonymousId": "anon-1", "userId": "u-1", "messageId": "m-id",
                "receivedAt": now_ms(), "traits": {"name": "Ada Lovelace", "email": "ada@example.com",
                                                   "phone": "+31 6 1234 5678", "segment": "vip"}}
    stream.append(redis, SITE, [identify] + to_payment(), SHARDS)
    drain(scorer)
    (items,) = recordings(redis)
    raw = b"".join(redis.lrange(keys.recording("anon-1", live(redis)["started_at"]), 0, -1))
    assert b"Ada" not in raw and b"ada@example.com" not in raw and b"1234" not in raw
    assert items[1][2]["traits"] == {"name": "*" * 12, "email": "*" * 15, "phone": "*" * 15, "segment": "vip"}
    assert live(redis)["traits"]["email"] == "ada@example.com"  # the live session keeps them


def test_each_message_is_recorded_once_with_its_time_and_the_score_the_rules_saw(redis, scorer):
    """A header, then [at, score, message] per message; the batch's last message carries the score."""
    at = now_ms() - 5_000
    stream.append(redis, SITE, to_payment(at) + [event("Payment Failed", {"reason": "declined"}, at + 2_000)], SHARDS)
    drain(scorer)
    (items,) = recordings(redis)
    header, *entries = items
    assert header == {"v": recording.FORMAT, "site": SITE, "visits": 1, "anonymous_id": None, "user_id": None,
                      "traits": {}, "device": None, "tz": None, "seen": 0}
    assert [(entry[0], entry[2]["event"]) for entry in entries] == [
        (at, "Product Added"), (at, "Checkout Step Viewed"), (at + 2_000, "Payment Failed")]
    assert entries[-1][1] == live(redis)["score"]
    assert entries[2][2]["properties"] == {"reason": "declined"}
    index = keys.recorded(stream.shard_of("anon-1", SHARDS))
    assert redis.zscore(index, recording.member("anon-1", at)) == at + 2_000  # the last message's time


def test_a_session_records_at_most_400_messages(redis, scorer):
    """A visitor sending 450 events grows their recording no further than the cap; the live session counts all."""
    at = now_ms() - 60_000
    stream.append(redis, SITE, [event("Product Viewed", {"product_id": f"p{n}"}, at + n) for n in range(450)], SHARDS)
    drain(scorer)
    (items,) = recordings(redis)
    assert len(items) == defaults.REPLAY_MAX_MESSAGES and live(redis)["events"] == 450


def test_the_next_visit_is_a_recording_of_its_own_that_starts_returning(redis, scorer):
    """After 30 minutes away, the visitor's next session is recorded apart, starting from what it carried over."""
    long_ago = now_ms() - 40 * 60 * 1000
    phone = {"userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"}
    first = dict(event("Product Added", {"product_id": "boots", "price": 120}, long_ago), context=phone)
    stream.append(redis, SITE, [first], SHARDS)
    stream.append(redis, SITE, [event("Product Viewed", {"product_id": "hat"})], SHARDS)
    drain(scorer)
    earlier, later = recordings(redis)
    assert earlier[0]["visits"] == 1 and len(earlier) == 2 and earlier[1][2]["context"] == phone
    assert later[0]["visits"] == 2 and later[0]["device"] == "mobile" and later[0]["anonymous_id"] == "anon-1"
    assert "context" not in later[1][2]  # the device is known: the user agent is not kept again


def test_recordings_expire_after_the_retention_and_old_index_entries_are_trimmed(redis, scorer):
    """Kept HANDRAIL_REPLAY_DAYS days after the last message; an index entry older than that goes
    with the next write to its shard."""
    scorer.replay_days = 2
    index = keys.recorded(stream.shard_of("anon-1", SHARDS))
    stale = now_ms() - 3 * 86400 * 1000
    redis.zadd(index, {recording.member("anon-1", stale): stale})
    stream.append(redis, SITE, to_payment(), SHARDS)
    drain(scorer)
    (member,) = redis.zrange(index, 0, -1)
    assert 2 * 86400 - 5 <= redis.ttl(keys.recording(*recording.parse(member))) <= 2 * 86400


def test_with_no_retention_nothing_is_recorded(redis, scorer):
    """--replay-days 0: the scorer records nothing."""
    scorer.replay_days = 0
    stream.append(redis, SITE, to_payment(), SHARDS)
    drain(scorer)
    assert replay.count(redis, 0, SHARDS) == 0 and redis.keys("hr:rec:*") == [] and live(redis)["events"] == 2


def test_a_scorer_started_with_replay_days_keeps_recordings_that_long(redis, redis_server, tmp_path):
    """`handrail scorer --replay-days 3` (the real process) records with a three-day expiry."""
    import os
    import subprocess
    import sys

    from tests.service import ROOT

    env = dict(os.environ, HANDRAIL_ADMIN_TOKEN="t", REDIS_URL=redis_server.url, HANDRAIL_REPLAY_DAYS="3")
    process = subprocess.Popen([sys.executable, "-m", "handrail", "scorer", "--shards", str(SHARDS)], cwd=ROOT,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        stream.append(redis, SITE, to_payment(), SHARDS)
        deadline = time.monotonic() + 20
        while not replay.count(redis, 0, SHARDS) and time.monotonic() < deadline:
            time.sleep(0.05)
        (member,) = redis.zrange(keys.recorded(stream.shard_of("anon-1", SHARDS)), 0, -1)
        assert 3 * 86400 - 5 <= redis.ttl(keys.recording(*recording.parse(member))) <= 3 * 86400
    finally:
        process.terminate()
        process.wait(15)
