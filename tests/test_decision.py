"""The decision (rules/decision.py): the allowed action with the highest expected value, and why."""

from rules.decision import decide, expected_value, why
from rules.document import compile_text

RULES = """
defaults:
  channels:
    chat: {cost: 2, save_rate: 0.10}
    call: {cost: 6, save_rate: 0.34}
rules:
  - id: stuck
    description: Payment keeps failing
    when: {step: payment}
    action: {channel: chat, message: "Hi {first_name}, need a hand?"}
  - id: big-cart
    description: A big cart at payment
    when: {all: [{step: payment}, {cart_value: {over: 300}}]}
    action: {channel: call, fallback: email, priority: high, skill: vip}
"""


def snap(**fields):
    base = {"anonymous_id": "anon-1", "step": "payment", "cart_value": 420, "cart_items": 2, "score": 0.81,
            "now": 1_800_000_000_000, "traits": {"vip": True, "name": "Ann Lee"}, "user_id": "u-1"}
    return dict(base, **fields)


def test_the_action_with_the_highest_expected_value_wins():
    """0.81 x 420 x 0.34 - 6 = 109.67 for the call beats 0.81 x 420 x 0.10 - 2 = 32.02 for the chat."""
    ruleset = compile_text(RULES)
    found = decide(ruleset, snap(), "1-0")
    assert (found["rule"], found["channel"], found["priority"], found["skill"]) == ("big-cart", "call", "high", "vip")
    assert found["value"] == 109.67
    assert found["why"] == "call: vip, cart 420.00 EUR, P(abandon) 0.81, call saves 34 % of such carts"


def test_a_small_cart_takes_the_cheap_channel():
    """With 200 in the cart only the chat rule holds; its message is filled with the shopper's name."""
    found = decide(compile_text(RULES), snap(cart_value=200), "1-0")
    assert (found["rule"], found["channel"], found["message"]) == ("stuck", "chat", "Hi Ann, need a hand?")


def test_a_blocked_channel_gives_way_to_the_fallback_or_another_rule():
    """No consent to call: the call rule's fallback (email) is blocked too, so the chat rule acts."""
    ruleset = compile_text(RULES)

    def allow(channel, skill):
        return (channel, "") if channel == "chat" else (None, "no consent")

    assert decide(ruleset, snap(), "1-0", allow)["channel"] == "chat"
    assert decide(ruleset, snap(), "1-0", lambda c, s: (None, "nobody")) is None


def test_a_call_with_no_agent_free_becomes_a_callback_valued_at_its_own_rate():
    ruleset = compile_text(RULES)

    def allow(channel, skill):
        return ("callback" if channel == "call" else channel), ""

    found = decide(ruleset, snap(), "1-0", allow)
    assert found["channel"] == "callback"
    assert found["why"].endswith("a callback saves 15 % of such carts")


def test_learned_save_rates_change_the_choice():
    """Once calls are seen to save only 2 % (and chat 30 %), the chat is worth more."""
    found = decide(compile_text(RULES), snap(), "1-0", rates={"call": 0.02, "chat": 0.30, "email": 0.0})
    assert found["channel"] == "chat"


def test_the_decision_id_is_stable_for_the_same_trigger():
    ruleset = compile_text(RULES)
    assert decide(ruleset, snap(), "1-0")["id"] == decide(ruleset, snap(), "1-0")["id"]
    assert decide(ruleset, snap(), "1-0")["id"] != decide(ruleset, snap(), "2-0")["id"]


def test_an_unknown_score_is_said_in_words():
    ruleset = compile_text(RULES)
    assert expected_value(ruleset, snap(score=None), "chat") == 0.5 * 420 * 0.10 - 2
    assert "P(abandon) not learned yet (0.5 assumed)" in why(ruleset, snap(score=None, traits={}), "chat")
