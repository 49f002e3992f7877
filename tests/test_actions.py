"""A rule's action (rules/actions.py): channel, fallback, priority, skill and the message template."""

import pytest

from rules.actions import fill
from rules.document import RulesError, compile_text


def action(text: str):
    (rule,) = compile_text(f"rules:\n  - id: a\n    when: {{step: payment}}\n    action: {text}\n").rules
    return rule.action


def errors_of(text: str) -> list[str]:
    with pytest.raises(RulesError) as caught:
        compile_text(f"rules:\n  - id: a\n    when: {{step: payment}}\n    action: {text}\n")
    return caught.value.lines("rules.yaml")


def test_every_setting_of_an_action():
    found = action("{channel: call, fallback: chat, priority: high, skill: vip, message: 'Hi {first_name}'}")
    assert (found.channel, found.fallback, found.priority, found.skill) == ("call", "chat", "high", "vip")
    assert found.channels() == ("call", "chat")
    plain = action("{channel: chat}")
    assert (plain.fallback, plain.priority, plain.skill, plain.message) == (None, "normal", None, "")


@pytest.mark.parametrize("text, error", [
    ("{channel: chat, fallback: chat}", "'fallback' must be another channel of chat, call, email, sms, webhook, got 'chat'"),
    ("{channel: chat, priority: asap}", "'priority' must be one of low, normal, high, urgent, got 'asap'"),
    ("{channel: chat, skill: 'Big Spender'}", "'skill' must be one lower-case word like vip, got 'Big Spender'"),
    ("{channel: chat, message: 'Hi {password}'}",
     "'message' uses '{password}': the fields a message may use are first_name, name, cart_value, cart_items, step, currency"),
    ("{channel: chat, message: '{cart_value.__class__}'}",
     "'message' uses '{cart_value.__class__}': the fields a message may use are first_name, name, cart_value, "
     "cart_items, step, currency"),
])
def test_bad_action_settings_say_what_is_allowed(text, error):
    assert errors_of(text) == [f"rules.yaml:4: {error}"]


def test_template_fills_session_fields():
    snap = {"traits": {"name": "Ann Lee"}, "cart_value": 420, "cart_items": 3, "step": "payment"}
    message = "Hi {first_name}, your {cart_items} items ({cart_value} {currency}) are safe at {step}."
    assert fill(message, snap, "EUR") == "Hi Ann, your 3 items (420.00 EUR) are safe at payment."


def test_template_without_a_name_stays_friendly():
    assert fill("Hi {first_name}!", {"traits": {}}, "EUR") == "Hi there!"


def test_shopper_values_are_cut_and_cleaned_and_never_formatted():
    """A hostile name is cut to 40 characters, loses its line breaks, and braces in it are not filled."""
    name = "<img src=x onerror=alert(1)>\n{cart_value}" + "x" * 100
    filled = fill("Hi {first_name}", {"traits": {"first_name": name}, "cart_value": 9}, "EUR")
    assert filled == "Hi <img src=x onerror=alert(1)>{cart_value}"  # not "9": a value is never a template
    assert "\n" not in filled and len(filled) == 3 + 40
