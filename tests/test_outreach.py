"""The outreach (dispatch/outreach.py): outreach rules run on customers on a schedule, through the live
policies, to a real SMTP server (aiosmtpd) and real RQ jobs. A real scorer keeps the customers from their
visits as `handrail scorer` does."""

import time

import pytest

from dispatch import coupons, customers, outreach, tasks
from reports import figures
from rules import do_not_contact, store
from rules.document import compile_text
from scorer.consumer import now_ms
from tests.test_credit import scorer_with
from tests.channel_jobs import enqueue_decision, work
from tests.conftest import ADMIN_TOKEN
from tests.smtp_inbox import smtp_inbox
from tests.test_consumer import SHARDS, drain, event, to_payment
from tracker import stream

HOUR, DAY = 3600, 86400
RULES = """\
defaults: {holdout: 0}
rules:
  - id: stuck-at-payment
    when: {all: [{step: payment}, {payment_failures: 2}]}
    action: {channel: chat}
outreach:
  - id: cart-left-yesterday
    description: Left a cart and did not buy within a day
    when:
      all:
        - cart_left: {over: 20h}
        - cart_value: {over: 30}
    action: {channel: email, coupon: {percent: 10, valid: 7d}, message: "Hi {first_name}, here is {coupon} for it"}
  - id: beans-due
    description: Time for more beans
    when: {replenishment_due: {product: "beans*"}}
    action: {channel: email, message: "Running low on beans, {first_name}?"}
"""
ANN = {"first_name": "Ann", "email": "ann@example.test", "consent": {"email": True}}


@pytest.fixture
def mail_env(monkeypatch):
    monkeypatch.setenv("HANDRAIL_RETRY_INTERVALS", "0,0,0")
    monkeypatch.setenv("HANDRAIL_COUPON_SECRET", "coupon-secret")


@pytest.fixture
def scorer(redis):
    return scorer_with(redis, RULES)


def left_a_cart(redis, scorer, site: str, traits: dict, hours_ago: float, shopper: str = "anon-1") -> None:
    """Signed in, put the boots in the cart, reached payment, and went away ``hours_ago``."""
    at = now_ms() - int(hours_ago * HOUR * 1000)
    signed_in = {"type": "identify", "anonymousId": shopper, "userId": "u-ann", "traits": traits,
                 "messageId": f"m-id-{shopper}", "receivedAt": at}
    stream.append(redis, site, [signed_in] + to_payment(at, shopper), SHARDS)
    drain(scorer)
    scorer.run_deadlines()  # the visit has ended: the customer's profile keeps the open cart
    work(redis)


def cart_left_days_ago(redis, site: str, user: str, days: float, consent: str = "email") -> None:
    """A known customer who left a cart of boots at payment ``days`` ago (kept as the scorer would)."""
    customers.remember(redis, site, user, {"email": f"{user}@example.test", "consent": consent}, user, 0.0)
    customers.left(redis, site, user, {"at": now_ms() / 1000 - days * DAY, "anonymous_id": user, "step": "payment",
                                       "cart": {"items": [{"id": "boots", "name": "Boots", "price": 120, "quantity": 1}],
                                                "value": 120, "count": 1}})


def run_outreach(redis, at: float | None = None) -> list[dict]:
    made = outreach.run(redis, compile_text(RULES), at or now_ms() / 1000, lambda d: enqueue_decision(redis, d))
    work(redis)
    return made


def test_a_cart_left_yesterday_gets_one_email_with_a_working_coupon_and_not_a_second(redis, scorer, site, mail_env,
                                                                                        client, monkeypatch):
    left_a_cart(redis, scorer, site["id"], ANN, hours_ago=25)
    with smtp_inbox() as inbox:
        monkeypatch.setenv("HANDRAIL_SMTP_URL", inbox.url)
        (decision,) = run_outreach(redis)
        assert run_outreach(redis) == [] and run_outreach(redis, now_ms() / 1000 + HOUR) == []
    assert inbox.recipients == [["ann@example.test"]]
    task = tasks.get(redis, decision["id"])
    assert (task["status"], task["reason"]["rule"], task["user_id"]) == ("sent", "cart-left-yesterday", "u-ann")
    assert task["reason"]["evidence"][0].startswith("cart of 120.00 left 25 h ago")
    plain = inbox.messages[0].get_body(("plain",)).get_content()
    code = task["coupon"]
    assert f"Hi Ann, here is {code} for it" in plain and "1 x Boots (120.00)" in plain
    assert f"{code} (10 % off, valid until" in plain

    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    shown = client.get(f"/api/coupons/{code}", headers=headers).get_json()
    assert shown["valid"] is True and shown["percent"] == 10 and shown["expires_at"] - shown["issued_at"] == 7 * DAY
    # She comes back and orders with it: redeemed, and the order is credited to the outreach.
    stream.append(redis, site["id"], [event("Order Completed", {"order_id": "A-9", "revenue": 108, "coupon": code},
                                            shopper="anon-2")], SHARDS)
    drain(scorer)
    work(redis)
    shown = client.get(f"/api/coupons/{code}", headers=headers).get_json()
    assert (shown["valid"], shown["why"], shown["order_id"]) == (False, "used", "A-9")
    assert tasks.get(redis, task["id"])["credited"]["order_id"] == "A-9"
    used = client.post(f"/api/coupons/{code}/redeem", json={"by": "someone-else"}, headers=headers)
    assert used.status_code == 409 and used.get_json()["why"] == "used"
    # The reports credit it to the outreach rule: fired, converted, the coupon redeemed once.
    (row,) = [row for row in figures.collect(redis, time.time() - DAY)["rules"] if row["rule"] == "cart-left-yesterday"]
    assert (row["channel"], row["fired"], row["converted"], row["redeemed"]) == ("email", 1, 1, 1)


def test_a_customer_who_opted_out_gets_nothing(redis, scorer, site, mail_env, monkeypatch):
    """No consent to email; or consent but on the do-not-contact list: no email, no task."""
    left_a_cart(redis, scorer, site["id"], dict(ANN, consent={"sms": True}), hours_ago=25)
    with smtp_inbox() as inbox:
        monkeypatch.setenv("HANDRAIL_SMTP_URL", inbox.url)
        assert run_outreach(redis) == []
        left_a_cart(redis, scorer, site["id"], ANN, hours_ago=25, shopper="anon-3")
        do_not_contact.add(redis, ["ann@example.test"])
        assert run_outreach(redis) == []
    assert inbox.seen == 0 and tasks.listing(redis) == []


def test_a_cart_left_too_recently_waits(redis, scorer, site, mail_env):
    left_a_cart(redis, scorer, site["id"], ANN, hours_ago=2)
    assert run_outreach(redis) == []


def test_a_shopper_contacted_in_the_page_is_not_emailed_about_the_same_cart(redis, scorer, site, mail_env):
    """Stuck at payment, she got a chat invitation; she left anyway: no email about that cart next day."""
    at = now_ms() - 25 * HOUR * 1000
    signed_in = {"type": "identify", "anonymousId": "anon-1", "userId": "u-ann", "traits": ANN,
                 "messageId": "m-id", "receivedAt": at}
    stream.append(redis, site["id"], [signed_in] + to_payment(at)
                  + [event("Payment Failed", at=at), event("Payment Failed", at=at + 1000)], SHARDS)
    drain(scorer)
    scorer.run_deadlines()
    work(redis)
    assert [t["channel"] for t in tasks.listing(redis)] == ["chat"]  # contacted in the page
    # (The scorer decided on its own clock, just now: the outreach runs a day on, past the cooldown and the
    # day's budget, so that only the cart's own contact stands in the way.)
    assert run_outreach(redis, now_ms() / 1000 + 25 * HOUR) == []


def test_a_replenishment_rule_fires_on_the_day_the_interval_runs_out_and_not_before(redis, site, mail_env,
                                                                                     monkeypatch):
    """Beans bought 28 days apart: the next bag is due 28 days after the last, to the day."""
    store.save(redis, RULES, "test")
    customers.remember(redis, site["id"], "u-bo", {"first_name": "Bo", "email": "bo@example.test",
                                                   "consent": "email"}, "anon-bo", 0.0)
    start = now_ms() / 1000 - 60 * DAY
    beans = [{"id": "beans-1kg", "name": "House beans, 1 kg"}]
    for n, at in enumerate((start, start + 28 * DAY)):
        customers.record_order(redis, site["id"], "u-bo", {"order_id": f"B-{n}", "revenue": 24.5, "at": at,
                                                           "products": beans})
    due = start + 56 * DAY
    with smtp_inbox() as inbox:
        monkeypatch.setenv("HANDRAIL_SMTP_URL", inbox.url)
        assert run_outreach(redis, due - HOUR) == []
        (decision,) = run_outreach(redis, due + 60)
    assert decision["rule"] == "beans-due" and decision["evidence"] == ["House beans, 1 kg due (bought every 28d)"]
    assert inbox.recipients == [["bo@example.test"]]
    assert "Running low on beans, Bo?" in inbox.messages[0].get_body(("plain",)).get_content()


def test_without_her_own_history_the_shops_typical_interval_is_used(redis, site):
    """Cy bought beans once; other customers reorder them every 20 days: Cy's reorder is due 20 days on."""
    start = 1_700_000_000.0
    beans = [{"id": "beans-1kg", "name": "House beans, 1 kg"}]
    for user, gap in (("u-1", 18), ("u-2", 22)):
        for at in (start, start + gap * DAY):
            customers.record_order(redis, site["id"], user, {"order_id": f"{user}-{at}", "revenue": 1, "at": at,
                                                             "products": beans})
    customers.record_order(redis, site["id"], "u-cy", {"order_id": "C-1", "revenue": 1, "at": start + 5 * DAY,
                                                       "products": beans})
    from dispatch import replenishment

    (item,) = replenishment.due(redis, site["id"], "u-cy")
    assert item["due_at"] == int((start + 25 * DAY) * 1000) and item["every"] == 20 * DAY
    # The same order told twice changes nothing.
    customers.record_order(redis, site["id"], "u-cy", {"order_id": "C-1", "revenue": 1, "at": start + 5 * DAY,
                                                       "products": beans})
    assert replenishment.due(redis, site["id"], "u-cy") == [item]


def test_a_coupon_is_single_use_and_expires(redis):
    task = {"id": "t-1", "site": "s", "user_id": "u-1"}
    coupons.issue(redis, "HELP-ABC", task, 10, 7 * DAY, now=1000.0)
    assert coupons.redeem(redis, "HELP-ABC", "anon-1", now=1000.0 + 8 * DAY) == coupons.EXPIRED
    assert coupons.redeem(redis, "HELP-ABC", "anon-1", now=2000.0) == coupons.OK
    assert coupons.redeem(redis, "HELP-ABC", "anon-1", "A-1", now=2001.0) == coupons.OK  # entered, then ordered
    assert coupons.redeem(redis, "HELP-ABC", "anon-2", now=2002.0) == coupons.USED
    assert coupons.redeem(redis, "NOPE", "anon-1") == coupons.UNKNOWN
    assert coupons.show(redis, "HELP-ABC")["order_id"] == "A-1"
    issued_again = coupons.issue(redis, "HELP-ABC", task, 50, DAY, now=3000.0)
    assert issued_again["percent"] == 10 and issued_again["redeemed_at"] == 2000.0


def test_each_run_queues_the_next_once(redis, site, mail_env, monkeypatch):
    """The scheduled job runs the rules in force and queues the run of the next slot; asking again for the
    same slot queues nothing more."""
    from rq.registry import ScheduledJobRegistry

    store.save(redis, RULES, "test")
    first = outreach.schedule(redis, 3600, now=1_800_000_000.0)
    assert first == "outreach-1800003600" and outreach.schedule(redis, 3600, now=1_800_000_100.0) == first
    registry = ScheduledJobRegistry(queue=outreach.queue(redis))
    assert registry.get_job_ids() == [first]
    outreach.queue(redis).enqueue(outreach.JOB)  # run now, as the scheduler would at the slot
    work(redis)
    assert len(registry.get_job_ids()) == 2  # the next hour's slot is queued


def test_a_coupon_entered_in_the_shop_is_redeemed_by_that_shopper(redis, scorer, site):
    """The shop's page sends Coupon Entered with the code: redeemed by her; another shopper cannot use it."""
    coupons.issue(redis, "HELP-XYZ", {"id": "t-9", "site": site["id"], "user_id": None}, 10, 7 * DAY)
    stream.append(redis, site["id"], [event("Coupon Entered", {"coupon_id": "HELP-XYZ"}, shopper="anon-5"),
                                      event("Coupon Entered", {"coupon_id": "SHOP-OWN"}, shopper="anon-5")], SHARDS)
    drain(scorer)
    work(redis)
    assert coupons.show(redis, "HELP-XYZ")["why"] == "used"
    assert coupons.redeem(redis, "HELP-XYZ", "anon-5") == coupons.OK
    assert coupons.redeem(redis, "HELP-XYZ", "anon-6") == coupons.USED


LAPSED = """\
defaults: {holdout: 0, business_hours: {days: mon-fri, hours: "09:00-18:00", timezone: UTC}}
outreach:
  - id: lapsed-regular
    description: A regular who has not ordered for three months
    when: {all: [{no_order_for: 90d}, {orders: {at_least: 3}}]}
    action: {channel: call, priority: high}
"""


def test_a_lapsed_regular_gets_a_callback_task_in_business_hours_only(redis, site):
    """Three orders, the last 100 days ago, consent to calls: a callback waits for an agent on a weekday at
    noon; on Saturday nothing is queued (the next weekday's run will)."""
    store.save(redis, LAPSED, "test")
    ruleset = compile_text(LAPSED)
    monday_noon = 1_796_644_800.0  # Mon 7 Dec 2026 12:00 UTC
    customers.remember(redis, site["id"], "u-reg", {"first_name": "Reg", "phone": "020 7946 0958",
                                                    "consent": "call"}, "anon-reg", 0.0)
    for n in range(3):
        customers.record_order(redis, site["id"], "u-reg", {"order_id": f"R-{n}", "revenue": 30,
                                                            "at": monday_noon - (100 + 30 * n) * DAY})
    assert outreach.run(redis, ruleset, monday_noon - 2 * DAY, lambda d: None) == []  # Saturday
    (decision,) = outreach.run(redis, ruleset, monday_noon, lambda d: enqueue_decision(redis, d))
    work(redis)
    task = tasks.get(redis, decision["id"])
    assert (task["channel"], task["priority"], task["contact"]["tel"]) == ("callback", "high", "tel:+442079460958")
    assert task["reason"]["evidence"] == ["no order for 100 days", "3 orders"]


def test_a_draft_is_tried_on_the_customers_of_last_week(redis, redis_server, site, runner, tmp_path):
    """`handrail rules replay` tells how many customers each outreach rule would have reached: two carts
    left this week and one a month ago; one of the two customers never agreed to email."""
    from handrail.cli import main

    for user, consent, days in (("u-1", "email", 3), ("u-2", "sms", 2), ("u-3", "email", 30)):
        cart_left_days_ago(redis, site["id"], user, days, consent)
    draft = tmp_path / "rules.yaml"
    draft.write_text(RULES)
    shown = runner.invoke(main, ["rules", "replay", str(draft), "--since", "7d", "--json",
                                 "--redis-url", redis_server.url])
    assert shown.exit_code == 0, shown.output
    import json

    reached = json.loads(shown.output.strip().splitlines()[-1])["outreach"]
    assert reached["cart-left-yesterday"] == {"customers": 1, "by_channel": {"email": 1}}
    assert reached["beans-due"] == {"customers": 0, "by_channel": {}}
    table = runner.invoke(main, ["rules", "replay", str(draft), "--since", "7d", "--redis-url", redis_server.url])
    assert "cart-left-yesterday" in table.output and "1 by email" in table.output
    assert tasks.listing(redis) == []  # nobody was contacted
