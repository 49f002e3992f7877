"""The stream consumer (scorer/consumer.py) on real Redis streams: sessions, decisions, exactly once."""

import json
import time

import pytest

from rules import keys as rules_keys
from rules import store
from scorer import checkpoint, defaults, keys, learner, learning, recording, session
from scorer.consumer import Scorer, now_ms
from tracker import stream

SHARDS = 4
SITE = "site-1"
MODEL_KEY = checkpoint.signing_key("test-secret")  # the learner's checkpoints, which the scorers take

STUCK_AT_PAYMENT = """\
defaults: {holdout: 0}
rules:
  - id: stuck-at-payment
    description: Payment keeps failing
    when:
      all:
        - step: payment
        - count: {event: Payment Failed, within: 5m, at_least: 2}
    action: {channel: chat, message: "Trouble paying?"}
"""

LINGERING = """\
defaults: {holdout: 0}
rules:
  - id: lingering
    description: On payment for a while
    when: {dwell: {step: payment, over: 1s}}
    action: {channel: chat}
"""


def event(what: str, properties: dict | None = None, at: int | None = None, shopper: str = "anon-1",
          message_id: str | None = None) -> dict:
    """A message as the collector writes it, with a fresh messageId unless one is given."""
    return {
        "type": "track", "anonymousId": shopper, "event": what, "properties": properties or {},
        "messageId": message_id or f"m-{time.monotonic_ns()}", "receivedAt": at or now_ms(),
    }


def to_payment(at: int | None = None, shopper: str = "anon-1") -> list[dict]:
    """A 120.00 pair of boots in the cart, then the payment step."""
    return [
        event("Product Added", {"product_id": "boots", "name": "Boots", "price": 120}, at, shopper),
        event("Checkout Step Viewed", {"step": 3, "step_name": "payment"}, at, shopper),
    ]


@pytest.fixture
def decisions():
    return []


@pytest.fixture
def scorer(redis, decisions):
    """A scorer on the test Redis with the stuck-at-payment rule in force."""
    return scorer_with(redis, decisions, STUCK_AT_PAYMENT)


def scorer_with(redis, decisions: list, rules: str, free=None) -> Scorer:
    """A scorer on the test Redis with these rules in force, handing decisions to ``decisions``;
    ``free(skills, channel)`` answers whether an agent is free (None: not asked)."""
    store.save(redis, rules, "test")
    scorer = Scorer(redis, SHARDS, on_decision=decisions.append, name="test-scorer", free=free,
                    checkpointer=checkpoint.Checkpointer(redis, MODEL_KEY))
    scorer.ensure_groups()
    return scorer


def drain(scorer) -> int:
    """Run the scorer until a read finds nothing new; how many entries it applied."""
    applied = total = scorer.step(block=10)
    while applied:
        applied = scorer.step(block=10)
        total += applied
    return total


def live(redis, anonymous_id: str = "anon-1") -> dict:
    return json.loads(redis.get(keys.session(anonymous_id)))


def teach(redis) -> int:
    """What the learner process does with the examples the scorers handed it: learned and published (a scorer
    takes the model within MODEL_POLL); how many snapshots were learned."""
    learner.ensure_group(redis)
    trainer = learner.Learner(redis, checkpoint.Checkpointer(redis, MODEL_KEY), name="test-learner")
    learned = trainer.step(block=10)
    trainer.publish()
    return learned


def handed(redis) -> list[tuple[bool, int]]:
    """(abandoned, snapshots) of each settled session the scorer handed the learner, in order."""
    return [(abandoned, len(snapshots)) for abandoned, snapshots in
            (learner.parse(fields) for _, fields in redis.xrange(keys.EXAMPLES))]


def entries(redis) -> list:
    """Every stream entry, in the shape the consumer reads them."""
    return [(key, entry) for key in stream.all_keys(SHARDS) for entry in redis.xrange(key)]


def test_events_build_the_live_session(redis, scorer):
    """Stream entries become a live session: cart, step, event count and timeline."""
    stream.append(redis, SITE, to_payment(), SHARDS)
    assert drain(scorer) == 2
    state = live(redis)
    assert state["anonymous_id"] == "anon-1" and state["site"] == SITE
    assert state["step"] == "payment" and state["cart"]["value"] == 120.0 and state["events"] == 2
    assert [e["what"] for e in session.timeline(state)] == ["Product Added", "Checkout Step Viewed"]


def test_two_payment_failures_on_payment_make_exactly_one_decision(redis, scorer, decisions):
    """The second Payment Failed on the payment step fires the rule once, with its evidence and context."""
    stream.append(redis, SITE, to_payment() + [event("Payment Failed", {"reason": "card declined"})], SHARDS)
    drain(scorer)
    assert decisions == []
    stream.append(redis, SITE, [event("Payment Failed", {"reason": "card declined"})], SHARDS)
    drain(scorer)
    (decision,) = decisions
    assert decision["rule"] == "stuck-at-payment" and decision["text"] == "Payment keeps failing"
    assert decision["evidence"] == ["step is payment", "Payment Failed 2 times in 5m"]
    assert (decision["channel"], decision["message"], decision["anonymous_id"]) == ("chat", "Trouble paying?", "anon-1")
    context = decision["context"]
    assert context["step"] == "payment"
    assert context["cart"] == {"items": [{"id": "boots", "name": "Boots", "price": 120.0, "quantity": 1}],
                               "value": 120.0, "count": 1}
    assert [e["what"] for e in context["timeline"]][-2:] == ["Payment Failed", "Payment Failed"]
    assert context["timeline"][-1]["detail"] == "card declined"


def test_further_failures_within_the_cooldown_make_no_second_contact(redis, scorer, decisions):
    """After a contact, more failures from the same shopper do not contact them again."""
    stream.append(redis, SITE, to_payment() + [event("Payment Failed"), event("Payment Failed")], SHARDS)
    drain(scorer)
    stream.append(redis, SITE, [event("Payment Failed"), event("Payment Failed")], SHARDS)
    drain(scorer)
    assert len(decisions) == 1 and live(redis)["events"] == 6


def test_other_shoppers_are_decided_separately(redis, scorer, decisions):
    """Two struggling shoppers each get their own decision."""
    for shopper in ("anon-a", "anon-b"):
        failures = [event("Payment Failed", shopper=shopper) for _ in range(2)]
        stream.append(redis, SITE, to_payment(shopper=shopper) + failures, SHARDS)
    drain(scorer)
    assert sorted(d["anonymous_id"] for d in decisions) == ["anon-a", "anon-b"]


def test_the_shopper_who_waited_longest_is_decided_on_first(redis, scorer, decisions):
    """One read takes the shards one after the other; within it, sessions go oldest first: of two shoppers
    stuck in the same read, the one whose failures arrived first is decided on first, whichever shard
    holds them."""
    shoppers = {stream.shard_of(f"anon-{n}", SHARDS): f"anon-{n}" for n in range(40)}
    early, late = shoppers[max(shoppers)], shoppers[min(shoppers)]  # the early one's shard is read last
    for shopper in (early, late):
        stream.append(redis, SITE, to_payment(shopper=shopper) + [event("Payment Failed", shopper=shopper)
                                                                   for _ in range(2)], SHARDS)
        time.sleep(0.005)  # stream ids count milliseconds: the late one's come after
    drain(scorer)
    assert [d["anonymous_id"] for d in decisions] == [early, late]


def test_replayed_entries_are_not_applied_twice(redis, scorer, decisions):
    """Processing the same stream entries again (a reclaimed batch) changes nothing and contacts nobody twice."""
    stream.append(redis, SITE, to_payment() + [event("Payment Failed"), event("Payment Failed")], SHARDS)
    drain(scorer)
    before = live(redis)
    assert scorer.process(entries(redis)) == 0
    assert live(redis)["events"] == before["events"] == 4
    assert live(redis)["timeline"] == before["timeline"]
    assert len(decisions) == 1


def test_duplicate_message_id_is_applied_once(redis, scorer):
    """A message the client resent (same messageId, two stream entries) counts once."""
    message = event("Payment Failed", message_id="m-1")
    key = stream.all_keys(SHARDS)[stream.shard_of("anon-1", SHARDS)]
    for _ in range(2):  # written around the collector's own dedup, as after its 24 h have passed
        redis.xadd(key, {"site": SITE, "m": json.dumps(message)})
    assert drain(scorer) == 1
    assert live(redis)["events"] == 1 and live(redis)["signals"] == {"Payment Failed": 1}


def test_entries_are_acknowledged(redis, scorer):
    """Applied entries leave nothing pending in the consumer group."""
    stream.append(redis, SITE, to_payment(), SHARDS)
    drain(scorer)
    assert all(redis.xpending(key, keys.GROUP)["pending"] == 0 for key in stream.all_keys(SHARDS))


def test_dwell_rule_fires_from_a_deadline_without_a_new_event(redis, decisions):
    """A shopper who stays on payment past the dwell time is picked up by run_deadlines, once."""
    scorer = scorer_with(redis, decisions, LINGERING)
    arrived = now_ms() - 600  # on payment for 0.6 s when the scorer sees it: not yet over 1 s
    stream.append(redis, SITE, to_payment(arrived), SHARDS)
    assert scorer.step(block=10) == 2
    assert decisions == []
    time.sleep(max(0, arrived + 1000 - now_ms()) / 1000 + 0.05)
    assert scorer.run_deadlines() == 1
    (decision,) = decisions
    assert decision["rule"] == "lingering" and decision["evidence"] == ["on payment for 1 s"]
    assert decision["context"]["step"] == "payment"
    assert scorer.run_deadlines() == 0 and len(decisions) == 1


def test_idle_session_ends_as_abandoned_with_a_cart(redis, scorer, decisions):
    """A session idle past the 30 minute timeout ends as abandoned when it had a cart, an example to learn."""
    long_ago = now_ms() - 31 * 60 * 1000
    stream.append(redis, SITE, to_payment(long_ago), SHARDS)
    drain(scorer)
    assert live(redis)["outcome"] == "abandoned"
    assert handed(redis) == [(True, 2)] and decisions == []  # the first event's snapshot and the payment step's


def test_no_rule_fires_after_a_purchase(redis, scorer, decisions):
    """A shopper who completed the order is not contacted, whatever came before."""
    stream.append(redis, SITE, to_payment() + [event("Payment Failed"), event("Order Completed"),
                                               event("Payment Failed")], SHARDS)
    drain(scorer)
    assert live(redis)["outcome"] == "purchase" and decisions == []


@pytest.mark.parametrize("read_max, contacted", [(64 * SHARDS, False), (1, True)])
def test_a_scorer_behind_reads_more_and_does_not_contact_a_shopper_who_bought_since(redis, decisions, monkeypatch,
                                                                                   read_max, contacted):
    """Behind (a read found a shard full), the scorer reads twice as much at each read, up to READ_MAX over its
    shards: a shopper whose failures and order wait in the backlog together is judged on the order and not
    contacted, where reads of a fixed size (READ_MAX no more than READ_COUNT) contact them on the failures.
    Caught up, it reads READ_COUNT again."""
    monkeypatch.setattr(defaults, "READ_COUNT", 1)
    monkeypatch.setattr(defaults, "READ_MAX", read_max)
    scorer = scorer_with(redis, decisions, STUCK_AT_PAYMENT)
    browsing = [event("Product Viewed", {"product_id": f"p-{n}"}) for n in range(30)]  # reads of 1, 2, 4, 8, 16
    stream.append(redis, SITE, browsing + to_payment() + [event("Payment Failed"), event("Payment Failed"),
                                                         event("Order Completed")], SHARDS)
    assert drain(scorer) == 35
    assert live(redis)["outcome"] == "purchase"
    assert [decision["rule"] for decision in decisions] == (["stuck-at-payment"] if contacted else [])
    assert scorer.read_count == 1


def test_a_read_behind_a_backlog_takes_at_most_read_max_over_all_the_shards(redis, decisions, monkeypatch):
    """READ_MAX bounds a read over all the shards a scorer reads, however many there are."""
    monkeypatch.setattr(defaults, "READ_COUNT", 1)
    monkeypatch.setattr(defaults, "READ_MAX", 2 * SHARDS)  # 2 a shard
    scorer = scorer_with(redis, decisions, STUCK_AT_PAYMENT)
    stream.append(redis, SITE, [event("Product Viewed", {"product_id": f"p-{n}"}) for n in range(9)], SHARDS)
    steps = [scorer.step(block=10) for _ in range(6)]
    assert steps == [1, 2, 2, 2, 2, 0]


def test_a_large_read_is_stored_in_slices_with_due_deadlines_decided_in_between(redis, monkeypatch):
    """A read behind a backlog is applied and stored BATCH_MAX entries at a time: a shopper whose dwell falls due
    meanwhile is decided on after the first slice is stored, not after the whole read."""
    monkeypatch.setattr(defaults, "BATCH_MAX", 2)
    backlog = [f"anon-b{n}" for n in range(6)]
    stored_when_decided = []

    class Decisions(list):
        def append(self, decision):
            stored_when_decided.append(sum(redis.exists(keys.session(name)) for name in backlog))
            super().append(decision)

    decisions = Decisions()
    scorer = scorer_with(redis, decisions, LINGERING)
    now = [now_ms()]
    scorer.clock = lambda: now[0]
    stream.append(redis, SITE, to_payment(now[0]), SHARDS)
    assert scorer.step(block=10) == 2 and decisions == []
    stream.append(redis, SITE, [event("Product Viewed", at=now[0], shopper=name) for name in backlog], SHARDS)
    now[0] += 2000  # past the dwell of 1 s
    assert scorer.step(block=10) == 6  # one read: 6 entries of 6 shoppers, in 3 slices
    assert [decision["anonymous_id"] for decision in decisions] == ["anon-1"]
    assert stored_when_decided == [2]
    assert all(redis.exists(keys.session(name)) for name in backlog)


def test_thousands_of_one_shoppers_events_in_one_read_are_applied_and_acknowledged(redis, decisions, monkeypatch):
    """A hostile visitor's 8,100 events wait in one shard and come in one read: all are applied, every entry is
    acknowledged (more ids than one Lua call takes at once), and the session holds its latest snapshots only."""
    monkeypatch.setattr(defaults, "READ_COUNT", 10_000)
    scorer = scorer_with(redis, decisions, STUCK_AT_PAYMENT)
    at = now_ms()
    flood = [event("Rage Click", at=at, message_id=f"m-flood-{n}") for n in range(8100)]
    for start in range(0, len(flood), 1000):
        stream.append(redis, SITE, flood[start:start + 1000], SHARDS)
    assert scorer.step(block=10) == 8100
    assert live(redis)["events"] == 8100
    assert all(redis.xpending(key, keys.GROUP)["pending"] == 0 for key in stream.all_keys(SHARDS))
    assert redis.llen(keys.snapshots("anon-1")) == learning.MAX_SNAPSHOTS


def test_holdout_shopper_is_not_handed_on(redis, decisions):
    """With everybody but a sliver held out, the rule's decision is recorded but not handed to dispatch."""
    scorer = scorer_with(redis, decisions, STUCK_AT_PAYMENT.replace("holdout: 0", "holdout: 0.9999"))
    stream.append(redis, SITE, to_payment() + [event("Payment Failed"), event("Payment Failed")], SHARDS)
    drain(scorer)
    assert decisions == []
    assert redis.hget(rules_keys.HELD_OUT, "stuck-at-payment") == b"1"


def test_odd_but_accepted_page_context_does_not_stop_the_scorer(redis, scorer, decisions):
    """A page message with a non-object context.page is applied, and the shopper's later events still count."""
    odd = {"type": "page", "anonymousId": "anon-1", "name": "Checkout", "context": {"page": "checkout"},
           "messageId": "m-odd", "receivedAt": now_ms()}
    stream.append(redis, SITE, [odd] + to_payment() + [event("Payment Failed"), event("Payment Failed")], SHARDS)
    assert drain(scorer) == 5
    assert session.timeline(live(redis))[0]["detail"] == "Checkout" and len(decisions) == 1


def test_a_purchase_teaches_the_snapshots_held_since_its_decision_points(redis, scorer):
    """Snapshots taken at step entries and friction, over several batches, are handed on as one purchase."""
    stream.append(redis, SITE, to_payment(), SHARDS)  # the first event and the payment step: two decision points
    drain(scorer)
    assert redis.llen(keys.snapshots("anon-1")) == 2 and handed(redis) == []
    stream.append(redis, SITE, [event("Payment Failed"), event("Order Completed", {"revenue": 120})], SHARDS)
    drain(scorer)
    assert handed(redis) == [(False, 3)] and not redis.exists(keys.snapshots("anon-1"))


def test_a_contacted_session_teaches_nothing(redis, scorer, decisions):
    """A shopper who was contacted and then bought is not taken as proof that failures are harmless."""
    stream.append(redis, SITE, to_payment() + [event("Payment Failed"), event("Payment Failed")], SHARDS)
    drain(scorer)
    assert len(decisions) == 1 and live(redis)["contact"] == "contact"
    stream.append(redis, SITE, [event("Order Completed", {"revenue": 120})], SHARDS)
    drain(scorer)
    assert live(redis)["outcome"] == "purchase" and handed(redis) == []
    assert not redis.exists(keys.snapshots("anon-1"))  # dropped, not left to expire


def test_a_held_out_session_is_learned_from(redis, decisions):
    """The control group's sessions end on their own: they are what the model learns from."""
    scorer = scorer_with(redis, decisions, STUCK_AT_PAYMENT.replace("holdout: 0", "holdout: 0.9999"))
    stream.append(redis, SITE, to_payment() + [event("Payment Failed"), event("Payment Failed")], SHARDS)
    drain(scorer)
    stream.append(redis, SITE, [event("Order Completed")], SHARDS)
    drain(scorer)
    assert decisions == [] and live(redis)["contact"] == "holdout" and handed(redis) == [(False, 4)]


def test_a_visitor_back_after_30_minutes_starts_a_new_returning_session(redis, scorer):
    """The old session is closed (abandoned, learned) and a new one begins, counted as a return visit."""
    long_ago = now_ms() - 31 * 60 * 1000
    stream.append(redis, SITE, to_payment(long_ago), SHARDS)
    stream.append(redis, SITE, [event("Product Viewed", {"product_id": "hat"})], SHARDS)
    drain(scorer)
    state = live(redis)
    assert (state["visits"], state["events"], state["cart"]["items"], state["outcome"]) == (2, 1, [], None)
    assert handed(redis) == [(True, 2)]  # the first visit's two snapshots, as an abandonment


def test_session_state_stays_under_2_kb_in_redis(redis, scorer):
    """A long, busy session is stored in at most 2 KB."""
    many = [event("Product Viewed", {"product_id": f"p{i}", "name": "A product with a long name " * 3})
            for i in range(60)]
    stream.append(redis, SITE, to_payment() + many + [event("Payment Failed")] * 1, SHARDS)
    drain(scorer)
    assert len(redis.get(keys.session("anon-1"))) <= 2048 and live(redis)["events"] == 63


def test_a_server_side_order_with_only_the_user_id_ends_the_identified_shoppers_session(redis, scorer):
    """After identify joins anonymousId and userId, the shop's server reporting the order by userId
    alone completes the anonymous session: no abandoned cart, no contact."""
    identify = {"type": "identify", "anonymousId": "anon-1", "userId": "user-7", "traits": {"name": "Ada"},
                "messageId": "m-identify", "receivedAt": now_ms()}
    stream.append(redis, SITE, [identify] + to_payment(), SHARDS)
    drain(scorer)
    order = {"type": "track", "userId": "user-7", "event": "Order Completed", "properties": {"revenue": 120},
             "messageId": "m-order", "receivedAt": now_ms()}
    stream.append(redis, SITE, [order], SHARDS)
    drain(scorer)
    state = live(redis)
    assert (state["outcome"], state["user_id"], state["events"]) == ("purchase", "user-7", 4)
    assert redis.get(keys.session("u:user-7")) is None


def test_a_running_scorer_fires_a_dwell_deadline_within_a_second_of_it_being_due(redis, decisions):
    """The scorer's own loop, no event after the step: the decision comes less than 1 s after the
    dwell time passed."""
    import threading

    scorer = scorer_with(redis, decisions, LINGERING)
    stop = threading.Event()
    loop = threading.Thread(target=scorer.run, args=(stop,))
    loop.start()
    try:
        arrived = now_ms()
        stream.append(redis, SITE, to_payment(arrived), SHARDS)
        deadline = time.monotonic() + 5
        while not decisions and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        loop.join(5)
    (decision,) = decisions
    due = arrived + 1000
    assert 0 <= decision["decided_at"] - due < 1000


def test_a_rule_on_the_shoppers_device_and_segment_sees_the_live_session(redis, decisions):
    """device and segment read what the snippet and identify sent: a VIP on a phone at payment."""
    scorer = scorer_with(redis, decisions, """\
defaults: {holdout: 0}
rules:
  - id: vip-on-a-phone
    when: {all: [{step: payment}, {device: mobile}, {segment: vip}]}
    action: {channel: chat}
""")
    phone = {"userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"}
    identify = {"type": "identify", "anonymousId": "anon-1", "userId": "u-1", "traits": {"vip": True},
                "context": phone, "messageId": "m-id", "receivedAt": now_ms()}
    stream.append(redis, SITE, [identify] + to_payment(), SHARDS)
    drain(scorer)
    (decision,) = decisions
    assert decision["evidence"] == ["step is payment", "on mobile", "segment vip"]


CALL_OR_CHAT = """\
defaults: {holdout: 0, quiet_hours: none}
rules:
  - id: big-cart-failing
    description: Payment failing on a big cart
    when: {all: [{step: payment}, {payment_failures: 2}]}
    action: {channel: call, fallback: chat, priority: high, message: "Hi {first_name}, shall we call you?"}
"""


def identify(traits: dict, shopper: str = "anon-1") -> dict:
    return {"type": "identify", "anonymousId": shopper, "userId": f"u-{shopper}", "traits": traits,
            "messageId": f"m-id-{shopper}", "receivedAt": now_ms()}


def failing(shopper: str = "anon-1", at: int | None = None) -> list[dict]:
    return to_payment(at, shopper) + [event("Payment Failed", at=at, shopper=shopper) for _ in range(2)]


def test_a_consenting_shopper_is_called_and_one_without_consent_gets_the_fallback_chat(redis, decisions):
    """The call needs the consent trait and a phone; without them the rule's fallback, chat, is taken."""
    scorer = scorer_with(redis, decisions, CALL_OR_CHAT)
    stream.append(redis, SITE, [identify({"first_name": "Ann", "phone": "+49 170 1", "consent": {"call": True}},
                                         "anon-a")] + failing("anon-a"), SHARDS)
    stream.append(redis, SITE, [identify({"first_name": "Bo"}, "anon-b")] + failing("anon-b"), SHARDS)
    drain(scorer)
    by_shopper = {d["anonymous_id"]: d for d in decisions}
    assert by_shopper["anon-a"]["channel"] == "call" and by_shopper["anon-a"]["priority"] == "high"
    assert by_shopper["anon-a"]["message"] == "Hi Ann, shall we call you?"
    assert by_shopper["anon-a"]["why"].startswith("call: member, cart 120.00 EUR")
    assert by_shopper["anon-b"]["channel"] == "chat"


def test_no_invitation_while_no_agent_is_free_and_a_call_waits_as_a_callback(redis, decisions):
    """With nobody free, the chat is withheld and the consenting shopper's call becomes a callback."""
    scorer = scorer_with(redis, decisions, CALL_OR_CHAT, free=lambda skills, channel, site: False)
    stream.append(redis, SITE, [identify({"phone": "+49 170 1", "consent": "call"}, "anon-a")] + failing("anon-a"),
                  SHARDS)
    stream.append(redis, SITE, failing("anon-b"), SHARDS)
    drain(scorer)
    assert [(d["anonymous_id"], d["channel"]) for d in decisions] == [("anon-a", "callback")]


def test_a_shopper_on_the_do_not_contact_list_is_never_contacted(redis, decisions):
    scorer = scorer_with(redis, decisions, STUCK_AT_PAYMENT)
    redis.sadd(rules_keys.DO_NOT_CONTACT, "anon-1")
    stream.append(redis, SITE, failing("anon-1") + failing("anon-2"), SHARDS)
    drain(scorer)
    assert [d["anonymous_id"] for d in decisions] == ["anon-2"]


def test_how_a_contacted_session_ends_is_recorded_for_its_channel(redis, decisions):
    """A contacted session that ended without buying counts as tried and not saved for chat."""
    from rules import outcomes

    scorer = scorer_with(redis, decisions, CALL_OR_CHAT)
    stream.append(redis, SITE, failing("anon-1", now_ms() - 31 * 60 * 1000), SHARDS)
    drain(scorer)
    assert [d["channel"] for d in decisions] == ["chat"]
    assert outcomes.counts(redis) == {"chat": (1, 0)}


def test_an_idle_rule_fires_from_a_deadline_and_a_heartbeat_does_not_count_as_acting(redis, decisions):
    """'idle: 1s' at payment: the shopper's heartbeat keeps the session alive but is not an action,
    so the deadline one second after the last action fires the rule."""
    scorer = scorer_with(redis, decisions, """\
defaults: {holdout: 0}
rules:
  - id: gone-quiet
    when: {all: [{step: payment}, {idle: 1s}]}
    action: {channel: chat}
""")
    acted = now_ms() - 500
    stream.append(redis, SITE, to_payment(acted) + [event("Heartbeat", at=acted + 400)], SHARDS)
    drain(scorer)
    assert decisions == []
    time.sleep(max(0, acted + 1000 - now_ms()) / 1000 + 0.05)
    assert scorer.run_deadlines() == 1
    (decision,) = decisions
    assert decision["rule"] == "gone-quiet" and decision["evidence"] == ["step is payment", "no action for 1 s"]


def test_entries_processed_again_are_recorded_for_replay_once(redis, scorer):
    """A reclaimed batch (entries applied before a crash) adds nothing to the session's recording."""
    stream.append(redis, SITE, to_payment() + [event("Payment Failed")], SHARDS)
    drain(scorer)
    key = keys.recording("anon-1", live(redis)["started_at"])
    assert redis.llen(key) == 4  # the header and three messages
    assert scorer.process(entries(redis)) == 0
    assert redis.llen(key) == 4


def test_a_contacted_session_tells_its_purchase_with_the_contacting_decision(redis, decisions):
    """The decision that contacted the shopper is kept in the session, and their Order Completed is told
    (on_outcome) with that decision's id and the order; a second order in the session is not told again."""
    told = []
    store.save(redis, STUCK_AT_PAYMENT, "test")
    scorer = Scorer(redis, SHARDS, on_decision=decisions.append, name="test-scorer",
                    on_outcome=lambda kind, outcome: told.append((kind, outcome)))
    scorer.ensure_groups()
    stream.append(redis, SITE, failing(), SHARDS)
    drain(scorer)
    (decision,) = decisions
    assert live(redis)["decision"] == decision["id"]
    stream.append(redis, SITE, [event("Order Completed", {"order_id": "A-1", "revenue": 99.5}),
                                event("Order Completed", {"order_id": "A-2", "revenue": 1})], SHARDS)
    drain(scorer)
    ((kind, outcome),) = told
    assert kind == "purchase" and outcome["decision"] == decision["id"] and outcome["anonymous_id"] == "anon-1"
    assert (outcome["order"]["order_id"], outcome["order"]["revenue"]) == ("A-1", 99.5)
    assert decision["context"]["customer"]["segments"] == ["new"]


def test_a_batch_puts_all_its_decisions_to_the_policy_each_getting_its_own_verdict(redis, scorer, decisions,
                                                                                  monkeypatch):
    """The decisions of one batch are admitted together (Scorer._admit): a shopper who asked not to be
    contacted, in the middle, is not asked about, and the shoppers around them get their own answers."""
    monkeypatch.setattr(defaults, "ADMIT_WAIT", 60.0)
    monkeypatch.setattr(defaults, "ADMIT_TOGETHER", 1)
    messages = failing("anon-a") + [identify({"do_not_contact": True}, "anon-b")] + failing("anon-b") \
        + failing("anon-c")
    stream.append(redis, SITE, messages, SHARDS)
    drain(scorer)

    assert sorted(decision["anonymous_id"] for decision in decisions) == ["anon-a", "anon-c"]
    for shopper, contact in (("anon-a", "contact"), ("anon-b", None), ("anon-c", "contact")):
        state = live(redis, shopper)
        assert state["contact"] == contact and state["quiet_until"] > now_ms()
    assert state["decision"] == next(d["id"] for d in decisions if d["anonymous_id"] == "anon-c")
    logged = [entry[b"anonymous_id"].decode() for _, entry in redis.xrange(rules_keys.DECISIONS)]
    assert sorted(logged) == ["anon-a", "anon-c"]


def test_a_batch_that_fails_before_its_write_leaves_no_decision_behind_for_the_next(redis, scorer, decisions,
                                                                                  monkeypatch):
    monkeypatch.setattr(defaults, "ADMIT_TOGETHER", 1)  # anon-a's decision waits for the batch's end
    monkeypatch.setattr(defaults, "ADMIT_WAIT", 60.0)
    real = recording.add

    def add(records, state, message, at):
        if message["anonymousId"] == "anon-z":  # the batch's last session: anon-a's decision is made by then
            raise ConnectionError("the batch stops here")
        real(records, state, message, at)

    monkeypatch.setattr(recording, "add", add)
    stream.append(redis, SITE, failing("anon-a") + [event("Product Viewed", shopper="anon-z")], SHARDS)
    with pytest.raises(ConnectionError):
        scorer.step(block=10)
    monkeypatch.setattr(recording, "add", real)
    drain(scorer_with(redis, decisions, STUCK_AT_PAYMENT))  # the scorer started again, under the same name

    assert [decision["anonymous_id"] for decision in decisions] == ["anon-a"]
    assert live(redis, "anon-a")["contact"] == "contact" and live(redis, "anon-z")["events"] == 1


# (ADMIT_TOGETHER, ADMIT_WAIT, whether the first decision is handed on before the next shopper is looked at)
WAITS = pytest.mark.parametrize("together, wait, at_once", [(1, 0.0, True), (1, 60.0, False), (100, 60.0, True)])


def admitting(monkeypatch, together: int, wait: float) -> None:
    monkeypatch.setattr(defaults, "ADMIT_TOGETHER", together)
    monkeypatch.setattr(defaults, "ADMIT_WAIT", wait)


class Handed(list):
    """Decisions handed on, each also written to ``log`` as "decided <anonymous id>": what came first."""

    def __init__(self, log: list):
        super().__init__()
        self.log = log

    def append(self, decision):
        self.log.append(f"decided {decision['anonymous_id']}")
        super().append(decision)


@WAITS
def test_a_decision_waits_for_the_rest_of_a_large_batch_no_longer_than_admit_wait(redis, monkeypatch, together,
                                                                                  wait, at_once):
    """anon-a is decided on first in the batch (5 entries): handed on before anon-z is applied unless the
    batch is one whose decisions go together, and they may wait."""
    log = []
    observe = learning.observe

    def observed(state, message, at, stats):
        log.append(f"applied {state['session']}")
        return observe(state, message, at, stats)

    admitting(monkeypatch, together, wait)
    monkeypatch.setattr(learning, "observe", observed)
    scorer = scorer_with(redis, Handed(log), STUCK_AT_PAYMENT)
    stream.append(redis, SITE, failing("anon-a") + [event("Product Viewed", shopper="anon-z")], SHARDS)
    drain(scorer)

    assert (log.index("decided anon-a") < log.index("applied anon-z")) == at_once
    assert live(redis, "anon-a")["contact"] == "contact"


@WAITS
def test_a_deadline_decision_waits_for_the_rest_of_a_large_batch_no_longer_than_admit_wait(redis, monkeypatch,
                                                                                           together, wait, at_once):
    """Two shoppers due on payment at once: the first one's decision is handed on before the second is
    looked at, unless the deadline batch is one whose decisions go together, and they may wait."""
    log = []
    deadline = Scorer._deadline

    def looked_at(self, state, now, due, out):
        log.append(f"looked at {state['session']}")
        return deadline(self, state, now, due, out)

    admitting(monkeypatch, together, wait)
    monkeypatch.setattr(Scorer, "_deadline", looked_at)
    scorer = scorer_with(redis, Handed(log), LINGERING)
    arrived = now_ms() - 600
    stream.append(redis, SITE, to_payment(arrived, "anon-a") + to_payment(arrived, "anon-z"), SHARDS)
    assert scorer.step(block=10) == 4 and log == []
    time.sleep(max(0, arrived + 1000 - now_ms()) / 1000 + 0.05)
    assert scorer.run_deadlines() == 2

    first, second = (entry.split()[-1] for entry in log if entry.startswith("looked at"))
    assert (log.index(f"decided {first}") < log.index(f"looked at {second}")) == at_once
    assert sorted(entry for entry in log if entry.startswith("decided")) == ["decided anon-a", "decided anon-z"]
    assert live(redis, "anon-a")["contact"] == "contact" == live(redis, "anon-z")["contact"]


def test_under_steady_load_deadlines_are_looked_at_every_deadline_every_ms(redis, decisions, monkeypatch):
    """Reads every 10 ms (another shopper browsing), on the scorer's clock: a look for due deadlines comes
    once in DEADLINE_EVERY, not after every read, and the lingering shopper is decided on within that
    time of the dwell being passed."""
    now, looks = [now_ms()], []
    run_deadlines = Scorer.run_deadlines

    def counted(self):
        looks.append(now[0])
        return run_deadlines(self)

    monkeypatch.setattr(Scorer, "run_deadlines", counted)  # on the class: no cycle holds the scorer's sockets
    scorer = scorer_with(redis, decisions, LINGERING)
    scorer.clock = lambda: now[0]
    stream.append(redis, SITE, to_payment(now[0]), SHARDS)
    due = now[0] + 1000  # the rule's dwell: over 1 s
    for _ in range(200):  # 2 s
        now[0] += 10
        stream.append(redis, SITE, [event("Product Viewed", at=now[0], shopper="anon-browsing")], SHARDS)
        scorer.step(block=10)
    assert all(later - earlier >= defaults.DEADLINE_EVERY for earlier, later in zip(looks, looks[1:]))
    assert 2000 // defaults.DEADLINE_EVERY <= len(looks) <= 2000 // defaults.DEADLINE_EVERY + 1
    (decision,) = decisions
    assert decision["anonymous_id"] == "anon-1" and due < decision["decided_at"] <= due + defaults.DEADLINE_EVERY


def test_a_look_that_finds_a_shard_full_is_followed_by_another_at_once(redis, decisions, monkeypatch):
    """More sessions due than one look takes (READ_COUNT a shard): the next step looks again without waiting
    DEADLINE_EVERY, until every one was handled."""
    monkeypatch.setattr(defaults, "READ_COUNT", 1)
    scorer = scorer_with(redis, decisions, LINGERING)
    arrived = now_ms()
    shoppers = [name for name in (f"anon-{n}" for n in range(100)) if stream.shard_of(name, SHARDS) == 0][:3]
    for shopper in shoppers:
        stream.append(redis, SITE, to_payment(arrived, shopper), SHARDS)
    scorer.clock = lambda: arrived
    while scorer.step(block=10):  # READ_COUNT 1: an entry a shard a read
        pass
    assert decisions == []
    scorer.clock = lambda: arrived + 2000  # past the dwell for all three; the clock stands still from here
    for _ in range(3):  # one due a look, the three on one shard
        scorer.step(block=1)
    assert sorted(decision["anonymous_id"] for decision in decisions) == shoppers
