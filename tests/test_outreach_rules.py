"""Outreach rules (rules/customer_conditions.py and the `outreach` section of rules/document.py): checked with
their lines like the live rules, and evaluated on a customer snapshot."""

import pytest

from rules.document import RulesError, compile_text

DAY = 86_400_000  # ms
NOW = 1_800_000_000_000

OUTREACH = """\
rules: []
outreach:
  - id: cart-left-yesterday
    description: Left a cart and did not buy within a day
    when:
      all:
        - cart_left: {over: 20h}
        - cart_value: {over: 30}
    action: {channel: email, coupon: {percent: 10, valid: 7d}, message: "Hi {first_name}, {coupon} is yours"}
  - id: lapsed-regular
    when:
      all:
        - no_order_for: 90d
        - orders: {at_least: 3}
    action: {channel: call, priority: high}
  - id: beans-due
    when: {replenishment_due: {product: "*beans*"}}
    action: {channel: sms, fallback: email}
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises(RulesError) as caught:
        compile_text(text)
    return caught.value.lines("rules.yaml")


def rule(ruleset, rule_id):
    return next(r for r in ruleset.outreach if r.id == rule_id)


def test_an_outreach_section_compiles_beside_the_live_rules():
    ruleset = compile_text(OUTREACH)
    assert ruleset.rules == () and [r.id for r in ruleset.outreach] == ["cart-left-yesterday", "lapsed-regular",
                                                                        "beans-due"]
    action = rule(ruleset, "cart-left-yesterday").action
    assert (action.channel, action.coupon.percent, action.coupon.valid) == ("email", 10.0, 7 * 86400)
    assert ruleset.settings.outreach_every == 3600


@pytest.mark.parametrize("text, error", [
    ("outreach:\n  - id: a\n    when: {step: payment}\n    action: {channel: email}\n",
     "rules.yaml:3: 'step' is a live session's condition, and outreach rules look at customers who have left: "
     "allowed are all, any, not, cart_value, cart_items, segment, business_hours, cart_left, no_order_for, orders, "
     "replenishment_due"),
    ("rules:\n  - id: a\n    when: {no_order_for: 30d}\n    action: {channel: chat}\n",
     "rules.yaml:3: 'no_order_for' is a customer condition: it belongs in an outreach rule"),
    ("outreach:\n  - id: a\n    when: {cart_left: {over: 1d}}\n    action: {channel: chat}\n",
     "rules.yaml:4: 'channel' must be one of email, sms, call, got 'chat' (an outreach rule reaches customers who "
     "have left the page)"),
    ("outreach:\n  - id: a\n    when: {cart_left: {over: 2d, within: 1d}}\n    action: {channel: email}\n",
     "rules.yaml:3: 'cart_left' needs 'within' longer than 'over', got over 2d and within 1d"),
    ("outreach:\n  - id: a\n    when: {no_order_for: soon}\n    action: {channel: email}\n",
     "rules.yaml:3: 'no_order_for' must be a duration like 90d, got 'soon'"),
    ("outreach:\n  - id: a\n    when: {orders: {at_least: 0}}\n    action: {channel: email}\n",
     "rules.yaml:3: 'at_least' must be a whole number of 1 or more, got 0"),
    ("outreach:\n  - id: a\n    when: {cart_left: {over: 1d}}\n    action: {channel: email, coupon: {percent: 150}}\n",
     "rules.yaml:4: 'percent' must be a number above 0 up to 100, got 150"),
    ("rules:\n  - id: a\n    when: {step: payment}\n    action: {channel: chat, coupon: {percent: 5}}\n",
     "rules.yaml:4: 'action' has no setting 'coupon': allowed are channel, fallback, priority, skill, message"),
    ("rules:\n  - id: a\n    when: {step: payment}\n    action: {channel: chat}\n"
     "outreach:\n  - id: a\n    when: {cart_left: {over: 1d}}\n    action: {channel: email}\n",
     "rules.yaml:6: rule id 'a' is used twice"),
    ("defaults: {outreach_every: 1m}\nrules: []\n",
     "rules.yaml:1: 'outreach_every' must be a duration of 5m or more, like 1h, got '1m'"),
])
def test_each_outreach_mistake_is_named_at_its_line(text, error):
    assert errors_of(text) == [error]


def customer(**fields):
    return {"now": NOW, "site": "s", "user_id": "u-1", "traits": {}, **fields}


def test_cart_left_holds_after_over_and_until_within():
    when = rule(compile_text(OUTREACH), "cart-left-yesterday").when
    cart = {"cart_value": 120.0, "cart_items": 1}
    assert when.evaluate(customer(cart_left_at=NOW - 19 * 3600_000, **cart))[0] is False
    held, evidence = when.evaluate(customer(cart_left_at=NOW - 21 * 3600_000, **cart))
    assert held and evidence == ["cart of 120.00 left 21 h ago", "cart value 120"]
    assert when.evaluate(customer(cart_left_at=NOW - 8 * DAY, **cart))[0] is False  # past the default 7 days
    assert when.evaluate(customer(cart_left_at=NOW - DAY, cart_value=0, cart_items=0))[0] is False


def test_a_lapsed_regular_is_one_who_ordered_often_and_not_lately():
    when = rule(compile_text(OUTREACH), "lapsed-regular").when
    assert when.evaluate(customer(last_order_at=NOW - 91 * DAY, orders=3)) == (True, ["no order for 91 days",
                                                                                      "3 orders"])
    assert when.evaluate(customer(last_order_at=NOW - 89 * DAY, orders=5))[0] is False
    assert when.evaluate(customer(last_order_at=NOW - 91 * DAY, orders=2))[0] is False
    assert when.evaluate(customer(orders=0))[0] is False


def test_a_replenishment_is_due_on_its_day_and_not_before():
    when = rule(compile_text(OUTREACH), "beans-due").when
    beans = {"product": "beans-1kg", "name": "House beans, 1 kg", "every": 28 * 86400}
    assert when.evaluate(customer(due=[dict(beans, due_at=NOW + 3600_000)]))[0] is False
    assert when.evaluate(customer(due=[dict(beans, due_at=NOW)])) == (True, ["House beans, 1 kg due (bought every 28d)"])
    assert when.evaluate(customer(due=[dict(beans, due_at=NOW - 8 * DAY)]))[0] is False
    assert when.evaluate(customer(due=[dict(beans, product="grinder", name="Grinder", due_at=NOW)]))[0] is False
