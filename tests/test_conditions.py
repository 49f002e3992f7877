"""Conditions of a rule (rules/conditions.py): whether they hold on a snapshot, and the evidence in words."""

import pytest

from rules.conditions import Problems, compile_condition, dwell_thresholds
from rules.yamlnodes import load

NOW = 1_800_000_000_000  # ms


def when(text: str):
    """The condition compiled from YAML text; fails the test if it does not compile."""
    problems = Problems()
    condition = compile_condition(load(text), 1, problems)
    assert not problems and condition is not None, problems
    return condition


def problems_of(text: str) -> list:
    problems = Problems()
    assert compile_condition(load(text), 1, problems) is None
    return list(problems)


def snap(**fields) -> dict:
    base = {"step": None, "step_seconds": 0, "cart_value": 0, "cart_items": 0, "score": None,
            "now": NOW, "recent": []}
    return dict(base, **fields)


def ago(seconds: float) -> int:
    return int(NOW - seconds * 1000)


def test_step_holds_on_that_step_only():
    """'step: payment' holds on payment, with evidence naming the step, and not elsewhere."""
    condition = when("step: payment")
    assert condition.evaluate(snap(step="payment")) == (True, ["step is payment"])
    assert condition.evaluate(snap(step="shipping")) == (False, [])
    assert condition.evaluate(snap()) == (False, [])


def test_step_may_list_several_steps():
    """'step: [shipping, payment]' holds on either step."""
    condition = when("step: [shipping, payment]")
    assert condition.evaluate(snap(step="shipping"))[0] and condition.evaluate(snap(step="payment"))[0]
    assert not condition.evaluate(snap(step="cart"))[0]


def test_count_within_window_holds_at_the_threshold():
    """Two Payment Failed within 5 minutes hold, and the evidence says how many and in what window."""
    condition = when("count: {event: Payment Failed, within: 5m, at_least: 2}")
    recent = [["Payment Failed", ago(240)], ["Product Viewed", ago(100)], ["Payment Failed", ago(10)]]
    assert condition.evaluate(snap(recent=recent)) == (True, ["Payment Failed 2 times in 5m"])


def test_count_ignores_events_outside_the_window():
    """A failure older than the window does not count towards the threshold."""
    condition = when("count: {event: Payment Failed, within: 5m, at_least: 2}")
    recent = [["Payment Failed", ago(301)], ["Payment Failed", ago(10)]]
    assert condition.evaluate(snap(recent=recent)) == (False, [])


def test_count_ignores_other_events():
    """Other events, however many, do not count towards another event's threshold."""
    condition = when("count: {event: Payment Failed, within: 5m, at_least: 2}")
    recent = [["Form Error", ago(5)]] * 5 + [["Payment Failed", ago(5)]]
    assert condition.evaluate(snap(recent=recent))[0] is False


def test_count_at_least_defaults_to_one():
    """Without at_least, one event in the window is enough."""
    condition = when("count: {event: Exit Intent, within: 30s}")
    assert condition.evaluate(snap(recent=[["Exit Intent", ago(1)]])) == (True, ["Exit Intent 1 time in 30s"])


def test_dwell_holds_after_the_time_on_the_step():
    """Over a minute on payment holds, with evidence of how long; under a minute does not."""
    condition = when("dwell: {step: payment, over: 60s}")
    assert condition.evaluate(snap(step="payment", step_seconds=95.4)) == (True, ["on payment for 95 s"])
    assert condition.evaluate(snap(step="payment", step_seconds=59)) == (False, [])


def test_dwell_on_a_named_step_ignores_other_steps():
    """A dwell on payment does not hold for a long time spent on shipping."""
    condition = when("dwell: {step: payment, over: 1m}")
    assert condition.evaluate(snap(step="shipping", step_seconds=600)) == (False, [])


def test_dwell_without_step_holds_on_any_step_but_not_before_one():
    """A dwell with no step holds on whatever step the shopper is on, but not with no step at all."""
    condition = when("dwell: {over: 2m}")
    assert condition.evaluate(snap(step="cart", step_seconds=121))[0] is True
    assert condition.evaluate(snap(step=None, step_seconds=1000))[0] is False


def test_cart_value_over():
    """cart_value over 100 holds above 100 only, with the value as evidence."""
    condition = when("cart_value: {over: 100}")
    assert condition.evaluate(snap(cart_value=120.5)) == (True, ["cart value 120.5"])
    assert condition.evaluate(snap(cart_value=100)) == (False, [])


def test_cart_value_under_and_between():
    """'under' holds below the bound; over and under together make a range."""
    assert when("cart_value: {under: 20}").evaluate(snap(cart_value=5))[0] is True
    between = when("cart_value: {over: 50, under: 200}")
    assert [between.evaluate(snap(cart_value=v))[0] for v in (40, 100, 250)] == [False, True, False]


def test_cart_items_counts_quantities():
    """cart_items compares the number of items with its bound."""
    condition = when("cart_items: {over: 2}")
    assert condition.evaluate(snap(cart_items=3)) == (True, ["items in cart 3"])


def test_score_without_a_score_yet_is_zero():
    """A score condition does not hold before the model has scored the session."""
    assert when("score: {over: 0.5}").evaluate(snap(score=None))[0] is False
    assert when("score: {over: 0.5}").evaluate(snap(score=0.8)) == (True, ["score 0.8"])


def test_all_holds_only_when_every_part_holds_and_gathers_evidence():
    """'all' holds when every part does, with the evidence of each part in order."""
    condition = when("all:\n  - step: payment\n  - cart_value: {over: 100}\n")
    assert condition.evaluate(snap(step="payment", cart_value=150)) == (True, ["step is payment", "cart value 150"])
    assert condition.evaluate(snap(step="payment", cart_value=50)) == (False, [])


def test_any_holds_when_one_part_holds():
    """'any' holds on the first part that does, with its evidence."""
    condition = when("any:\n  - step: payment\n  - cart_value: {over: 100}\n")
    assert condition.evaluate(snap(step="cart", cart_value=150)) == (True, ["cart value 150"])
    assert condition.evaluate(snap(step="cart", cart_value=10)) == (False, [])


def test_not_inverts():
    """'not' holds exactly when its condition does not."""
    condition = when("not: {step: payment}")
    assert condition.evaluate(snap(step="cart"))[0] is True
    assert condition.evaluate(snap(step="payment"))[0] is False


def test_nested_conditions_compile_and_evaluate():
    """all/any/not nest: payment step, and either many failures or a large cart."""
    condition = when(
        "all:\n"
        "  - step: payment\n"
        "  - not: {cart_items: {under: 1}}\n"
        "  - any:\n"
        "    - count: {event: Payment Failed, within: 5m, at_least: 3}\n"
        "    - cart_value: {over: 500}\n"
    )
    assert condition.evaluate(snap(step="payment", cart_items=2, cart_value=600)) == (
        True, ["step is payment", "cart value 600"])
    assert condition.evaluate(snap(step="payment", cart_items=0, cart_value=600))[0] is False


def test_dwell_thresholds_are_found_inside_combinations():
    """The dwell times a scorer must wake up for are collected from nested conditions."""
    condition = when("any:\n  - dwell: {over: 1m}\n  - all:\n    - dwell: {over: 90s}\n    - step: payment\n")
    assert dwell_thresholds(condition) == {60.0, 90.0}


@pytest.mark.parametrize("text,expected", [
    ("step: 3", "'step' takes a step name like payment"),
    ("count: {event: X, within: 1m, at_least: 0}", "'at_least' must be a whole number of 1 or more, got 0"),
    ("count: {within: 1m}", "'event' must be an event name like Payment Failed"),
    ("count: {event: X}", "'within' must be a duration like 5m, it is missing"),
    ("dwell: {over: soon}", "'over' must be a duration like 5m, got 'soon'"),
    ("cart_value: {}", "'cart_value' needs 'over' or 'under' (a number)"),
    ("cart_value: {over: lots}", "'over' must be a number, got 'lots'"),
    ("cart_value: {above: 5}", "'cart_value' has no setting 'above': allowed are over, under"),
    ("all: []", "'all' takes a list of conditions"),
    ("device: phone", "'device' must be mobile, tablet, desktop, got 'phone'"),
    ("segment: [vip, 3]", "'segment' takes a name like vip, or a list of them"),
    ("returning: sometimes", "'returning' is true or false, got 'sometimes'"),
    ("{step: payment, cart_value: {over: 1}}", "a condition is one of all, any, not, step"),
])
def test_bad_condition_says_what_is_allowed(text, expected):
    """Each malformed condition is refused with a message saying what is allowed."""
    (line, message), *_ = problems_of(text)
    assert message.startswith(expected), message


def test_device_holds_for_the_devices_named():
    condition = when("device: [mobile, tablet]")
    assert condition.evaluate(snap(device="mobile")) == (True, ["on mobile"])
    assert condition.evaluate(snap(device="desktop")) == (False, []) == condition.evaluate(snap())


def test_returning_tells_a_return_visit_from_a_first_one():
    assert when("returning: true").evaluate(snap(returning=True)) == (True, ["returning visitor"])
    assert when("returning: false").evaluate(snap(returning=True)) == (False, [])
    assert when("returning: false").evaluate(snap(returning=False)) == (True, ["first visit"])


@pytest.mark.parametrize("fields, segment", [
    ({"traits": {"vip": True}, "user_id": "u1"}, "vip"),
    ({"traits": {"segment": "Gold"}, "user_id": "u1"}, "gold"),
    ({"user_id": "u1"}, "member"),
    ({"returning": False}, "new"),
])
def test_segment_comes_from_identify_traits(fields, segment):
    assert when(f"segment: {segment}").evaluate(snap(**fields)) == (True, [f"segment {segment}"])


def test_a_returning_anonymous_shopper_is_in_no_segment_but_their_own():
    assert when("segment: [new, member, vip]").evaluate(snap(returning=True)) == (False, [])


def test_page_matches_a_glob_on_the_current_path():
    """'page: /checkout/*' holds on /checkout/payment, not on /cart; a list holds for any of them."""
    condition = when("page: /checkout/*")
    assert condition.evaluate(snap(path="/checkout/payment")) == (True, ["on page /checkout/payment"])
    assert condition.evaluate(snap(path="/cart")) == (False, [])
    assert condition.evaluate(snap()) == (False, [])
    assert when("page: [/cart, '*/payment']").evaluate(snap(path="/de/payment"))[0]


def test_page_must_be_a_path_or_pattern():
    """A page that is not a path says what is allowed."""
    assert problems_of("page: checkout") == [
        (1, "'page' takes a path or a pattern like /checkout/*, or a list of them, got 'checkout'")]


def test_idle_holds_after_the_shopper_did_nothing_that_long():
    """'idle: 2m' holds once the shopper has not acted for more than two minutes."""
    condition = when("idle: 2m")
    assert condition.evaluate(snap(still_seconds=121.5)) == (True, ["no action for 121 s"])
    assert condition.evaluate(snap(still_seconds=119)) == (False, [])
    assert when("idle: {over: 30s}").evaluate(snap(still_seconds=31))[0]
    assert problems_of("idle: 2 minutes") == [(1, "'idle' must be a duration like 2m, or {over: 2m}, got '2 minutes'")]


def test_idle_thresholds_wake_the_scorer():
    """The seconds of an idle condition are what the scorer must wake up for without a new event."""
    from rules.conditions import still_thresholds
    assert still_thresholds(when("all: [{idle: 90s}, {any: [{idle: 3m}, {step: payment}]}]")) == {90.0, 180.0}


def test_friction_counts_hold_at_their_threshold():
    """rage_clicks, dead_clicks, js_errors and payment_failures count the session's signals."""
    signals = {"Rage Click": 3, "Dead Click": 1, "JS Error": 2, "Payment Failed": 2}
    assert when("rage_clicks: 3").evaluate(snap(signals=signals)) == (True, ["3 rage clicks"])
    assert when("rage_clicks: {at_least: 4}").evaluate(snap(signals=signals)) == (False, [])
    assert when("dead_clicks: 2").evaluate(snap(signals=signals)) == (False, [])
    assert when("js_errors: {at_least: 2}").evaluate(snap(signals=signals)) == (True, ["2 JS errors"])
    assert when("payment_failures: 2").evaluate(snap(signals=signals)) == (True, ["2 payment failures"])
    assert when("rage_clicks: 1").evaluate(snap()) == (False, [])


def test_form_errors_on_a_named_field():
    """form_errors with a field counts the errors on that field only."""
    fields = {"postcode": 3, "email": 1}
    condition = when("form_errors: {field: postcode, at_least: 2}")
    assert condition.evaluate(snap(fields=fields)) == (True, ["3 form errors on postcode"])
    assert when("form_errors: {field: email, at_least: 2}").evaluate(snap(fields=fields)) == (False, [])
    assert when("form_errors: 4").evaluate(snap(signals={"Form Error": 4}, fields=fields))[0]


def test_friction_errors_name_the_setting():
    """A field on rage clicks, or a count of zero, is refused with what is allowed."""
    assert problems_of("rage_clicks: {at_least: 2, field: x}") == [
        (1, "'rage_clicks' has no setting 'field': allowed are at_least")]
    assert problems_of("js_errors: {at_least: 0}") == [(1, "'at_least' must be a whole number of 1 or more, got 0")]


def test_business_hours_condition_reads_the_documents_hours():
    """business_hours: true holds inside the shop's hours, false outside; with none set, always open."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from rules.document import compile_text

    text = ("defaults: {business_hours: {days: mon-fri, hours: '09:00-17:00', timezone: Europe/Paris}}\n"
            "rules:\n  - id: a\n    when: {business_hours: false}\n    action: {channel: email}\n")
    (rule,) = compile_text(text).rules
    monday_noon = int(datetime(2026, 11, 23, 12, tzinfo=ZoneInfo("Europe/Paris")).timestamp() * 1000)
    assert rule.when.evaluate(snap(now=monday_noon)) == (False, [])
    assert rule.when.evaluate(snap(now=monday_noon + 6 * 3600_000)) == (True, ["outside business hours"])
    assert when("business_hours: true").evaluate(snap()) == (True, ["in business hours"])
    assert problems_of("business_hours: 9-5") == [
        (1, "'business_hours' is true (inside them) or false (outside), got '9-5'")]
