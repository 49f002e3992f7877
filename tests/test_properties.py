"""Properties of the rule evaluator (rules/conditions.py) and of live sessions (scorer/session.py, applied by
scorer/consumer.py) under generated input: arrival order, duplicate deliveries, clocks far off, huge and
unicode text. Examples are bounded (max_examples) to keep the file quick; the database is off so that a
run does not depend on the last one."""

import itertools
import re
import uuid
from datetime import datetime, timezone

import orjson
import yaml
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from rules.conditions import Combine
from rules.document import RulesError, compile_text
from scorer import defaults, keys, session
from scorer.consumer import Scorer
from tests.test_collector import stored
from tests.test_consumer import SHARDS, SITE, live
from tracker import defaults as wire, stream

T0 = 1_800_000_000_000  # ms, the collector's clock when a generated session starts

# Redis is shared by the examples of one test on purpose (one server, flushed around each test); every
# example works on a session of its own (a fresh anonymousId), so none sees another's.
ON_REDIS = settings(max_examples=40, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
PURE = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
HUGE = settings(PURE, max_examples=60)  # examples of texts up to 2,000 characters: fewer, each costs more

# Text as a browser can send it: anything JSON carries (the collector's strict parser refuses lone
# surrogates), including control characters, quotes and emoji, which JSON spells in 2 to 6 bytes.
CHARS = st.characters(exclude_categories=("Cs",))


def hostile_text(cap: int) -> st.SearchStrategy[str]:
    """Short mixed text, or one character repeated up to the collector's cap (the cheapest worst case)."""
    return st.one_of(st.text(CHARS, max_size=12), st.builds(lambda char, n: char * n, CHARS, st.integers(0, cap)))


# --- the rule evaluator ------------------------------------------------------------------------------------

EVENTS = ("Payment Failed", "Rage Click", "Form Error", "Product Added")
COUNTS = st.builds(lambda event, within, at_least: {"count": {"event": event, "within": f"{within}s",
                                                              "at_least": at_least}},
                   st.sampled_from(EVENTS), st.integers(1, 900), st.integers(1, 4))
LEAVES = st.one_of(
    st.sampled_from(["payment", "shipping", "cart"]).map(lambda step: {"step": step}),
    COUNTS,
    st.builds(lambda over: {"cart_value": {"over": over}}, st.integers(0, 300)),
    st.builds(lambda n: {"payment_failures": n}, st.integers(1, 4)),
    st.builds(lambda over: {"idle": f"{over}s"}, st.integers(1, 300)),
    st.builds(lambda over: {"dwell": {"over": f"{over}s"}}, st.integers(1, 300)),
    st.sampled_from(["/checkout/*", "*/payment", "/cart"]).map(lambda page: {"page": page}),
    st.sampled_from(["mobile", "desktop"]).map(lambda device: {"device": device}),
)
CONDITIONS = st.recursive(LEAVES, lambda inner: st.one_of(
    st.lists(inner, min_size=1, max_size=4).map(lambda parts: {"all": parts}),
    st.lists(inner, min_size=1, max_size=4).map(lambda parts: {"any": parts}),
    inner.map(lambda part: {"not": part}),
), max_leaves=8)


@st.composite
def snapshots(draw) -> dict:
    """A snapshot as scorer.session.snapshot makes it, with values around the conditions' thresholds."""
    now = T0 + draw(st.integers(0, 3_600_000))
    recent = draw(st.lists(st.tuples(st.sampled_from(EVENTS), st.integers(0, 900_000)), max_size=12))
    return {
        "now": now, "step": draw(st.sampled_from([None, "payment", "shipping", "cart"])),
        "step_seconds": draw(st.integers(0, 600)), "still_seconds": draw(st.integers(0, 600)),
        "cart_value": draw(st.integers(0, 400)), "path": draw(st.sampled_from(["/", "/checkout/payment", "/cart"])),
        "device": draw(st.sampled_from(["mobile", "desktop", None])),
        "recent": [[event, now - ago] for event, ago in recent],
        "signals": {"Payment Failed": sum(1 for event, _ in recent if event == "Payment Failed")},
        "fields": {}, "traits": {}, "returning": False, "user_id": None,
    }


def compiled(when: dict):
    """The condition of a one-rule document, compiled as PUT /api/rules compiles it."""
    text = yaml.safe_dump({"rules": [{"id": "r", "when": when, "action": {"channel": "chat"}}]})
    return compile_text(text).rules[0].when


@PURE
@given(when=CONDITIONS, snap=snapshots(), order=st.randoms(use_true_random=False))
def test_all_any_and_not_hold_exactly_as_their_parts_do_in_any_order(when, snap, order):
    """`all` holds iff every part does, `any` iff one does, `not` iff its part does not; the order the product
    owner listed the parts in changes the evidence's order at most, never whether the rule fires."""
    condition = compiled(when)
    held, evidence = condition.evaluate(snap)
    if isinstance(condition, Combine):
        parts = [part.evaluate(snap) for part in condition.parts]
        expected = {"all": all, "any": any}.get(condition.kind, lambda found: not found[0])([h for h, _ in parts])
        assert held == expected
        if held and condition.kind == "all":  # an agent sees why: the evidence of every part
            assert evidence == [line for _, found in parts for line in found]
        shuffled = list(condition.parts)
        order.shuffle(shuffled)
        again, found = Combine(condition.kind, tuple(shuffled)).evaluate(snap)
        assert again == held
        if condition.kind == "all":
            assert sorted(found) == sorted(evidence)


@PURE
@given(when=st.one_of(COUNTS, st.lists(COUNTS, min_size=1, max_size=3).map(lambda parts: {"any": parts})),
       snap=snapshots(), order=st.randoms(use_true_random=False))
def test_a_rule_does_not_depend_on_the_order_recent_events_are_listed_in(when, snap, order):
    """A session lists recent events in arrival order, and the snippet's retried batches arrive after later
    ones: a count over a window reads the events' times, so the order they are listed in changes nothing."""
    condition = compiled(when)
    shuffled = dict(snap, recent=list(snap["recent"]))
    order.shuffle(shuffled["recent"])
    assert condition.evaluate(shuffled) == condition.evaluate(snap)


# Where YAML starts a new line, as the error's line numbers count: \r, NEL and the Unicode separators too.
YAML_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")
RULE_TEXT = st.one_of(
    st.text(CHARS, max_size=300),
    # YAML of the right outline with anything inside: where compile errors come from.
    st.builds(lambda when, action: yaml.safe_dump({"rules": [{"id": "r", "when": when, "action": action}]},
                                                  allow_unicode=True),
              st.recursive(st.one_of(st.none(), st.booleans(), st.integers(),
                                     st.floats(allow_nan=False, allow_infinity=False), hostile_text(3000)),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(st.sampled_from(
                                                       ["step", "count", "all", "any", "not", "event", "within",
                                                        "at_least", "over", "page", "idle", "x"]), inner, max_size=3)),
                           max_leaves=10),
              st.dictionaries(st.sampled_from(["channel", "message", "x"]), hostile_text(3000), max_size=2)),
)


@PURE
@given(text=RULE_TEXT)
@example(text="defaults: {cooldown: 30m}\nrules: []\x1f\n")  # a control character once made a 500
@example(text="008: 1\r08: 2")  # YAML starts line 2 at the \r: the errors may name it
def test_any_rules_text_is_compiled_or_refused_with_its_lines(text):
    """Whatever a product owner pastes (huge, unicode, the wrong shapes): rules, or errors with a line each,
    never a crash (PUT /api/rules would answer 500 and the editor show nothing)."""
    try:
        compile_text(text)
    except RulesError as error:
        assert error.problems
        lines = len(YAML_LINE_BREAK.split(text))
        assert all(isinstance(line, int) and 1 <= line <= lines and message for line, message in error.problems)


# --- sessions: arrival order ----------------------------------------------------------------------------

CATALOGUE = {f"p{i}": (f"Product {i}", price) for i, price in enumerate((19.99, 4.5, 120.0, 0.1, 0.2, 35.05))}
PATHS = ("/", "/product/boots", "/cart", "/checkout/payment")


def _order_free_message(kind: str, detail: int) -> dict:
    """A message whose effect on the session's totals does not depend on when it arrives."""
    if kind == "add":
        product = f"p{detail % len(CATALOGUE)}"
        name, price = CATALOGUE[product]  # a product has one name and price, whichever add arrives first
        props = {"product_id": product, "name": name, "price": price, "quantity": detail % 3 + 1}
        return {"type": "track", "event": "Product Added", "properties": props}
    if kind == "page":
        return {"type": "page", "context": {"page": {"path": PATHS[detail % len(PATHS)]}}}
    if kind == "form":
        return {"type": "track", "event": "Form Error", "properties": {"field": f"field{detail % 4}"}}
    if kind == "idle":
        return {"type": "track", "event": "Idle", "properties": {"seconds": detail}}
    if kind == "step":
        return {"type": "track", "event": "Checkout Step Viewed", "properties": {"step_name": f"s{detail % 3}"}}
    return {"type": "track", "event": kind, "properties": {}}


ORDER_FREE = st.lists(st.builds(_order_free_message, st.sampled_from(
    ["add", "page", "form", "idle", "step", "Product Viewed", "Payment Failed", "Rage Click", "Dead Click",
     "JS Error", "Exit Intent", "Heartbeat"]), st.integers(0, 600)), min_size=1, max_size=30)


def _applied(messages: list[dict], times: list[int]) -> dict:
    state = session.new("anon-1", SITE, times[0])
    for message, at in zip(messages, times):
        session.apply(state, dict(message, anonymousId="anon-1"), at)
    return state


def _totals(state: dict) -> dict:
    """What must not depend on arrival order. Not in it, because they do: the step, the page being read,
    the timeline and recent events, the funnel's first steps and marks (the last or first to arrive wins)."""
    return {
        "events": state["events"], "signals": state["signals"], "fields": state["fields"], "n": state["n"],
        "cart": {item["id"]: (item["name"], item["price"], item["quantity"]) for item in state["cart"]["items"]},
        "value": state["cart"]["value"], "count": state["cart"]["count"], "pages": sorted(state["pages"]),
        "page_views": {kind: counts[0] for kind, counts in state["kinds"].items()},
    }


@PURE
@given(messages=ORDER_FREE, order=st.randoms(use_true_random=False),
       gaps=st.lists(st.integers(0, 60_000), min_size=30, max_size=30))
def test_a_sessions_totals_do_not_depend_on_the_order_its_events_arrive_in(messages, order, gaps):
    """Batches the snippet retried arrive after later ones: the event count, friction signals, form errors per
    field, page views, idle time and the cart (of products added; prices in whole cents, as money is) come out
    the same in any arrival order."""
    times = list(itertools.accumulate(gaps[: len(messages)], initial=T0))[1:]  # arrival times, rising
    shuffled = list(messages)
    order.shuffle(shuffled)
    assert _totals(_applied(shuffled, times)) == _totals(_applied(messages, times))


# --- sessions: duplicate deliveries, through the real consumer -------------------------------------------

def _deliver(redis, messages: list[dict]) -> list:
    """Each message as its own stream entry (around the collector's dedup, as a repeat after its 24 h would
    be), in the shape the consumer reads entries."""
    key = stream.all_keys(SHARDS)[stream.shard_of(messages[0]["anonymousId"], SHARDS)]
    ids = [redis.xadd(key, {"site": SITE, "m": orjson.dumps(message)}) for message in messages]
    return [(key, (entry_id, fields)) for entry_id, fields in redis.xrange(key, ids[0], ids[-1]) if entry_id in ids]


def _scorer(redis) -> Scorer:
    scorer = Scorer(redis, SHARDS, on_decision=lambda decision: None, name="prop-scorer")
    scorer.clock = lambda: T0 + 3_600_000  # scores are taken "now": the same now for every run compared
    scorer.replay_days = 0  # recording for replay has tests of its own (tests/test_recording.py)
    scorer.ownership.refresh(force=True)  # its batches are stored only in shards it owns (scorer.ownership)
    return scorer


@ON_REDIS
@given(messages=ORDER_FREE, repeats=st.lists(st.tuples(st.integers(0, 29), st.integers(0, 29)), max_size=6))
def test_a_message_delivered_twice_is_applied_once(redis, messages, repeats):
    """The same messageId in a second stream entry (a client's resend) leaves the stored session exactly as
    one delivery does; and entries processed again after a crash (their acknowledgement lost) change nothing.
    Repeats come within SEEN_LENGTH messages of the first, the ids a session remembers: this is the scorer's
    own guard, behind the collector's, which drops a repeated messageId for 24 h before it reaches a stream."""
    shopper = f"anon-{uuid.uuid4().hex}"
    once = [dict(message, anonymousId=shopper, messageId=f"m{i}", receivedAt=T0 + i * 1000)
            for i, message in enumerate(messages)]
    twice = list(once)
    for original, later in repeats:  # a resend of message `original`, arriving `later` entries after it
        if original < len(once):
            at = min(len(twice), twice.index(once[original]) + 1 + later % (defaults.SEEN_LENGTH // 2))
            twice.insert(at, dict(once[original], receivedAt=twice[at - 1]["receivedAt"]))
    _scorer(redis).process(_deliver(redis, once))
    expected = live(redis, shopper)
    redis.delete(keys.session(shopper))
    scorer = _scorer(redis)
    entries = _deliver(redis, twice)
    assert scorer.process(entries) == len(once)
    after = live(redis, shopper)
    assert {**after, "last_id": None} == {**expected, "last_id": None}
    assert scorer.process(entries) == 0 and live(redis, shopper) == after


# --- clocks: the shopper's far off, the collector's jumping -------------------------------------------------

FAR_TIMES = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(timezone.utc))


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@PURE
@given(messages=ORDER_FREE, stamps=st.lists(st.tuples(FAR_TIMES, FAR_TIMES), min_size=30, max_size=30))
def test_the_shoppers_clock_does_not_move_the_session(messages, stamps):
    """A browser's clock may be years off, and sentAt corrects its timestamps only as far as it can: the session
    runs on the collector's receivedAt, so whatever timestamp and sentAt a message carries, the session is the
    same."""
    times = [T0 + i * 1000 for i in range(len(messages))]
    dated = [dict(message, timestamp=_iso(stamp), originalTimestamp=_iso(sent), sentAt=_iso(sent))
             for message, (stamp, sent) in zip(messages, stamps)]
    assert _applied(dated, times) == _applied(messages, times)


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stamp=FAR_TIMES, sent=FAR_TIMES, per_message=st.booleans())
@example(stamp=datetime(1, 1, 2, tzinfo=timezone.utc), sent=datetime(9999, 12, 30, tzinfo=timezone.utc),
         per_message=False)
def test_any_time_is_stored_corrected_or_refused_naming_it(app, client, redis, site, stamp, sent, per_message):
    """A timestamp and a sentAt anywhere in years 1 to 9999: stored with the skew between them kept (the event
    happened that long before the sending), or, when the correction leaves the calendar, a 400 naming the
    timestamp. Never a server error (a batch-wide sentAt once made a 500)."""
    app.config.update(RATE_LIMIT_IP=0, RATE_LIMIT_SITE=0)
    shopper = f"anon-{uuid.uuid4().hex}"
    message = {"type": "track", "event": "Payment Failed", "anonymousId": shopper, "timestamp": _iso(stamp)}
    body = {"writeKey": site["write_key"], "batch": [dict(message, sentAt=_iso(sent)) if per_message else message]}
    if not per_message:
        body["sentAt"] = _iso(sent)
    response = client.post("/v1/batch", json=body)
    assert response.status_code in (200, 400), response.data[:300]
    if response.status_code == 400:
        assert response.json["error"].startswith("batch[0].timestamp: ") and "out of range" in response.json["error"]
        return
    kept, = [message for message in stored(redis) if message["anonymousId"] == shopper]
    assert kept["originalTimestamp"] == _iso(stamp)
    corrected = datetime.fromisoformat(kept["timestamp"].replace("Z", "+00:00"))
    received = datetime.fromtimestamp(kept["receivedAt"] / 1000, timezone.utc)
    # ms precision on both sides of the subtraction
    assert abs(((received - corrected) - (sent - stamp)).total_seconds()) < 0.002


@ON_REDIS
@given(messages=ORDER_FREE,
       jumps=st.lists(st.integers(-366 * 86_400_000, 366 * 86_400_000), min_size=30, max_size=30))
def test_a_collector_clock_that_jumps_keeps_sessions_sane(redis, messages, jumps):
    """Collectors on several machines stamp receivedAt with their own clocks, which may disagree or jump (NTP,
    a VM resumed): however the times go, the scorer applies every entry, no time spent on a page is negative,
    no timeline entry is before the session's start, and the stored session keeps its size."""
    shopper = f"anon-{uuid.uuid4().hex}"
    sent = [dict(message, anonymousId=shopper, messageId=f"m{i}", receivedAt=T0 + jump)
            for i, (message, jump) in enumerate(zip(messages, jumps))]
    assert _scorer(redis).process(_deliver(redis, sent)) == len(sent)
    raw = redis.get(keys.session(shopper))
    state = orjson.loads(raw)
    assert len(raw) <= defaults.MAX_STATE_BYTES
    assert all(ms >= 0 for _, ms in state["kinds"].values())
    assert all(tenths >= 0 for tenths, _, _ in state["timeline"])
    assert 0 <= state["events"] <= len(sent)


# --- huge and unicode text ------------------------------------------------------------------------------

@st.composite
def hostile_messages(draw, text=hostile_text) -> dict:
    """A message the collector accepts, every text at most at its cap and of any characters."""
    props = draw(st.dictionaries(
        st.sampled_from(["product_id", "sku", "name", "price", "quantity", "field", "message", "reason",
                         "step_name", "step", "path", "category", "seconds", "total", "coupon"]),
        st.one_of(text(wire.MAX_STRING), st.integers(-10**15, 10**15),
                  st.floats(allow_nan=False, allow_infinity=False)), max_size=8))
    kind = draw(st.sampled_from(["track", "page", "identify"]))
    message = {"type": kind, "properties": props,
               "anonymousId": draw(text(wire.MAX_ID).filter(bool)), "messageId": draw(text(wire.MAX_ID)),
               "context": {"userAgent": draw(text(wire.MAX_STRING)), "timezone": draw(text(wire.MAX_STRING)),
                           "page": {"path": draw(text(wire.MAX_STRING)), "title": draw(text(wire.MAX_STRING))}}}
    if draw(st.booleans()):
        message["userId"] = draw(text(wire.MAX_ID))
    if kind == "track":
        message["event"] = draw(st.one_of(st.sampled_from(session.FRICTION + ("Product Added", "Checkout Step Viewed",
                                                                              "Order Completed")),
                                          text(wire.MAX_NAME)).filter(bool))
    if kind == "identify":
        message["traits"] = draw(st.dictionaries(st.sampled_from(["name", "email", "phone", "segment", "vip",
                                                                  "consent", "x"]), text(wire.MAX_STRING), max_size=4))
    return message


def _texts(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def _hostile_session(messages: list[dict]) -> tuple[dict, bytes]:
    anonymous_id = messages[0]["anonymousId"]
    state = session.new(anonymous_id, SITE, T0)
    for i, message in enumerate(messages):
        session.remember(state, message.get("messageId"))
        session.apply(state, dict(message, anonymousId=anonymous_id), T0 + i * 1000)
    return state, session.dump(state)


@HUGE
@given(messages=st.lists(hostile_messages(), min_size=1, max_size=25))
# 200 emoji as the anonymousId: its JSON alone was more than the budget, and storing the session raised
@example(messages=[{"type": "track", "event": "Rage Click", "anonymousId": "\U0001F600" * 200,
                    "userId": "\x01" * 200, "properties": {}}])
def test_huge_and_unicode_text_is_capped_and_the_stored_session_bounded(messages):
    """Any text the collector lets through: applying and storing never fail, every text kept is cut to its cap,
    and the stored session passes MAX_STATE_BYTES only by texts never cut (the ids the session is found and
    reached by, cart item ids, form field names, the time zone), which the collector caps in turn."""
    state, raw = _hostile_session(messages)
    assert orjson.loads(raw) == state
    ids = {state["session"], state["anonymous_id"]}
    assert all(len(text) <= defaults.MAX_TEXT or text in ids for text in _texts(state))
    never_cut = orjson.dumps([state["session"], state["anonymous_id"], state["user_id"], state["tz"],
                              [item["id"] for item in state["cart"]["items"]], list(state["fields"])])
    assert len(raw) <= defaults.MAX_STATE_BYTES + len(never_cut)


def plain_text(cap: int) -> st.SearchStrategy[str]:
    """Ids and names as shops and the snippet make them: letters, digits, dashes."""
    alphabet = st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
    return st.one_of(st.text(alphabet, max_size=12), st.builds(lambda char, n: char * n, alphabet, st.integers(0, cap)))


@HUGE
@given(messages=st.lists(hostile_messages(text=plain_text), min_size=1, max_size=25))
def test_a_session_of_plain_text_at_every_cap_is_stored_within_its_budget(messages):
    """With ids and texts of letters and digits, however long, the stored session keeps to MAX_STATE_BYTES."""
    _, raw = _hostile_session(messages)
    assert len(raw) <= defaults.MAX_STATE_BYTES


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(message=hostile_messages())
def test_whatever_the_collector_takes_the_scorer_applies(app, client, redis, site, message):
    """End to end: a hostile message the collector accepts reaches a scorer that applies and stores it (a crash
    there would stop every session on the stream, the same entry failing at each restart)."""
    app.config.update(RATE_LIMIT_IP=0, RATE_LIMIT_SITE=0)
    message = dict(message, messageId=uuid.uuid4().hex)
    response = client.post("/v1/batch", json={"writeKey": site["write_key"], "batch": [message]})
    assume(response.status_code == 200)  # a message over 32 KB is refused: the collector's tests cover it
    key = stream.all_keys(app.config["STREAM_SHARDS"])[stream.shard_of(stream.session_key(message),
                                                                        app.config["STREAM_SHARDS"])]
    (entry_id, fields), = redis.xrevrange(key, count=1)
    assert _scorer(redis).process([(key, (entry_id, fields))]) == 1
    assert redis.get(keys.session(stream.session_key(message))) is not None
