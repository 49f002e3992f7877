"""The funnel and its friction (scorer/funnel.py counting as sessions end, reports/funnel.py reading): real
sessions through the real scorer on the real Redis."""

import time

from reports import funnel, hours
from scorer import funnel as scorer_funnel
from scorer import keys
from scorer.consumer import now_ms
from tests.test_consumer import SHARDS, SITE, drain, event, live, scorer_with
from tests.test_recording import RULES, rebuilt, recordings
from tracker import stream


def page(path: str, at: int, shopper: str) -> dict:
    return {"type": "page", "anonymousId": shopper, "context": {"page": {"path": path}},
            "messageId": f"m-{time.monotonic_ns()}", "receivedAt": at}


def checkout(at: int, shopper: str, through: tuple = ("shipping", "payment")) -> list[dict]:
    """A 120.00 pair of boots in the cart, then the checkout steps ``through``, each on its page."""
    messages = [event("Product Added", {"product_id": "boots", "name": "Boots", "price": 120}, at, shopper),
                event("Cart Viewed", {}, at, shopper), event("Checkout Started", {}, at, shopper)]
    for n, step in enumerate(through, 1):
        messages += [page(f"/checkout/{step}?session=abc", at, shopper),
                     event("Checkout Step Viewed", {"step": n, "step_name": step}, at, shopper)]
    return messages


def ended_long_ago() -> int:
    """A moment far enough back that a session last seen then has ended by now."""
    return now_ms() - 31 * 60 * 1000


def report(redis) -> dict:
    now = time.time()
    return funnel.section(hours.Reader(redis, hours.hour_of(now) - 2, hours.hour_of(now)))


def test_payment_drop_off_and_the_failure_reason_that_preceded_the_abandonment(redis):
    """One shopper reaches payment, fails to pay twice (card declined) and leaves; one buys; one gives up on
    shipping after a form error on the postcode: the payment step loses one of the two who reached it, the
    card declined at /checkout/payment shows once (one session) and abandoned, the postcode error by field."""
    scorer = scorer_with(redis, [], RULES)
    at = ended_long_ago()
    failing = checkout(at, "leaver") + [event("Payment Failed", {"reason": "card declined"}, at, "leaver")
                                      for _ in range(2)]
    buying = checkout(at, "buyer") + [event("Order Completed", {"revenue": 120}, at, "buyer")]
    postcode = checkout(at, "stuck", through=("shipping",)) + [
        event("Form Error", {"field": "postcode", "message": "not a postcode"}, at, "stuck")]
    stream.append(redis, SITE, failing + buying + postcode, SHARDS)
    drain(scorer)
    assert all(live(redis, shopper)["closed"] for shopper in ("leaver", "buyer", "stuck"))
    found = report(redis)
    assert (found["sessions"], found["purchased"]) == (3, 1)
    steps = {row["step"]: row for row in found["steps"]}
    assert [row["step"] for row in found["steps"]] == ["cart", "checkout", "shipping", "payment", "complete"]
    assert (steps["payment"]["reached"], steps["payment"]["abandoned"], steps["payment"]["drop_off"]) == (2, 1, 0.5)
    assert (steps["shipping"]["reached"], steps["shipping"]["abandoned"]) == (3, 1)
    assert (steps["cart"]["abandoned"], steps["complete"]["reached"], steps["complete"]["drop_off"]) == (0, 1, 0.0)
    assert found["friction"] == [
        {"page": "/checkout/payment", "kind": "payment_failed", "detail": "card declined", "sessions": 1,
         "abandoned": 1, "abandon_rate": 1.0},
        {"page": "/checkout/shipping", "kind": "form_error", "detail": "postcode", "sessions": 1,
         "abandoned": 1, "abandon_rate": 1.0},
    ]


def test_friction_in_a_session_that_buys_counts_but_not_as_abandoned(redis):
    """A dead click on the pay button of a shopper who buys anyway: one session with it, none abandoned."""
    scorer = scorer_with(redis, [], RULES)
    at = ended_long_ago()
    stream.append(redis, SITE, checkout(at, "buyer") + [
        event("Dead Click", {"selector": "button#pay|now", "text": "Pay"}, at, "buyer"),
        event("Order Completed", {"revenue": 120}, at, "buyer")], SHARDS)
    drain(scorer)
    (row,) = report(redis)["friction"]
    assert row == {"page": "/checkout/payment", "kind": "dead_click", "detail": "button#paynow", "sessions": 1,
                   "abandoned": 0, "abandon_rate": 0.0}


def test_a_hostile_session_adds_only_a_few_capped_fields(redis):
    """A session with 40 form errors on distinct 5000-character field names, on a 5000-character page with
    "|" in it, adds its first few friction signals, each cut to 80 characters: the hash stays small."""
    scorer = scorer_with(redis, [], RULES)
    at, long = ended_long_ago(), "x|" * 2500
    stream.append(redis, SITE, checkout(at, "hostile") + [page(f"/{long}", at, "hostile")] + [
        event("Form Error", {"field": f"{n}{long}", "message": long}, at, "hostile") for n in range(40)], SHARDS)
    drain(scorer)
    rows = report(redis)["friction"]
    assert len(rows) == scorer_funnel.MAX_MARKS
    assert all(len(row["page"]) <= 80 and len(row["detail"]) <= 80 and "|" not in row["detail"] for row in rows)
    stored = redis.hgetall(keys.REPORT.format(hour=hours.hour_of(at / 1000)))
    assert len(stored) <= 20 and all(len(field) <= 300 for field in stored)


def flood(redis, scorer, at: int, bots: int) -> None:
    """``bots`` abandoned sessions at shipping, each with 4 form errors on fields no other has."""
    for first in range(0, bots, 20):  # 180 messages: one read takes them all, so no session ends half-read
        messages = []
        for n in range(first, first + 20):
            messages += checkout(at, f"bot-{n}", through=("shipping",)) + [
                event("Form Error", {"field": f"field-{n}-{k}"}, at, f"bot-{n}") for k in range(4)]
        stream.append(redis, SITE, messages, SHARDS)
        drain(scorer)


def test_distinct_friction_beyond_the_hours_bound_is_counted_as_other(redis):
    """300 abandoned sessions, each with 4 errors on fields no other has: the hour's hash stops growing at its
    bound, what did not fit shows as "(other)" form errors, and the error counted before the flood keeps
    its own row."""
    scorer = scorer_with(redis, [], RULES)
    at = ended_long_ago()
    stream.append(redis, SITE, checkout(at, "first", through=("shipping",)) + [
        event("Form Error", {"field": "postcode"}, at, "first")], SHARDS)
    drain(scorer)
    flood(redis, scorer, at, 300)
    stream.append(redis, SITE, checkout(at, "last", through=("shipping",)) + [
        event("Form Error", {"field": "postcode"}, at, "last")], SHARDS)
    drain(scorer)
    key = keys.REPORT.format(hour=hours.hour_of(at / 1000))
    assert scorer_funnel.HOUR_FIELDS <= redis.hlen(key) <= scorer_funnel.MOST_FIELDS < 1300
    counts = hours.total(hours.read(redis, keys.REPORT, hours.hour_of(at / 1000), hours.hour_of(at / 1000)))
    assert counts["sessions"] == 302
    every = {(row["page"], row["detail"]): row for row in funnel.friction(counts, shown=10_000)}
    assert sum(row["abandoned"] for row in every.values()) == 300 * 4 + 2  # each signal once, by name or not
    other = every["(other)", "(other)"]
    assert other["kind"] == "form_error" and other["abandoned"] > 300 * 4 + 2 - scorer_funnel.HOUR_FIELDS
    assert every["/checkout/shipping", "postcode"]["abandoned"] == 2
    shown = report(redis)["friction"]
    assert len(shown) == funnel.FRICTION_ROWS and shown[0] == other  # the most abandoned first


def test_a_days_hash_has_its_own_bound_and_a_whole_day_report_still_counts_every_signal(redis, monkeypatch):
    """With the day's bound below an hour's, a report over the whole day (read from the day's hash) holds at
    most that many named signals, and every signal is still counted once, by name or as "(other)"."""
    monkeypatch.setattr(scorer_funnel, "DAY_FIELDS", 200)
    scorer = scorer_with(redis, [], RULES)
    at = ended_long_ago()
    flood(redis, scorer, at, 100)
    hour = hours.hour_of(at / 1000)
    assert redis.hlen(hours.day_key(keys.REPORT, hour // 24)) <= 200 + scorer_funnel.ALWAYS_FIELDS
    assert redis.hlen(hours.hour_key(keys.REPORT, hour)) > 400  # the hour's bound is the larger here
    day = funnel.section(hours.Reader(redis, hour // 24 * 24, hour // 24 * 24 + 23))
    every = funnel.friction(hours.Reader(redis, hour // 24 * 24, hour // 24 * 24 + 23).total(keys.REPORT),
                            shown=10_000)
    assert day["sessions"] == 100
    assert sum(row["abandoned"] for row in every) == 100 * 4
    assert len(every) < 200 and ("(other)", "(other)") in {(row["page"], row["detail"]) for row in every}


def test_a_recorded_session_rebuilds_the_same_steps_and_friction_marks(redis):
    """The selector of a rage and a dead click is recorded with the session, so that a replay rebuilds the
    marks the live session counts (and nothing more of the click: not the element's text)."""
    scorer = scorer_with(redis, [], RULES)
    clicks = [event("Rage Click", {"selector": "div.promo>button", "text": "Apply"}, shopper="clicker"),
              event("Dead Click", {"selector": "button#pay", "text": "Pay"}, shopper="clicker")]
    stream.append(redis, SITE, checkout(now_ms(), "clicker") + clicks, SHARDS)
    drain(scorer)
    state = live(redis, "clicker")
    assert state["marks"] == [["/checkout/payment", "rage_click", "div.promo>button"],
                              ["/checkout/payment", "dead_click", "button#pay"]]
    (items,) = recordings(redis, "clicker")
    assert all("text" not in item[2].get("properties", {}) for item in items[1:])
    again = rebuilt(redis, "clicker", state["started_at"], items)
    assert (again["reached"], again["marks"]) == (state["reached"], state["marks"])
