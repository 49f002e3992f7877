"""A rules document (rules/document.py): compiled, or every error with its line and what is allowed."""

from pathlib import Path

import pytest

from rules.document import DEFAULT_COOLDOWN, RulesError, check_file, compile_text

SHIPPED = Path(__file__).resolve().parent.parent / "rules.yaml"


def errors_of(text: str) -> list[str]:
    with pytest.raises(RulesError) as caught:
        compile_text(text)
    return caught.value.lines("rules.yaml")


def test_shipped_rules_file_compiles():
    """The rules.yaml shipped with Handrail compiles into its rules and their defaults."""
    ruleset = compile_text(SHIPPED.read_text(encoding="utf-8"))
    assert ruleset.ids == ["stuck-at-payment", "big-cart-payment-trouble", "long-on-payment",
                           "shipping-form-trouble", "gone-quiet-with-a-cart"]
    assert ruleset.cooldown == 30 * 60 and ruleset.holdout == 0.1
    assert ruleset.thresholds == (60.0,)  # the dwell the scorer must wake up for
    assert ruleset.still == (120.0,)  # and the idle time


def test_rule_keeps_its_description_channel_and_message():
    """A compiled rule carries the words the agent and the shopper will see."""
    (rule,) = compile_text(
        "rules:\n"
        "  - id: a\n"
        "    description: Stuck\n"
        "    when: {step: payment}\n"
        "    action: {channel: chat, message: \"Need help?\"}\n"
    ).rules
    assert (rule.id, rule.description, rule.channel, rule.message) == ("a", "Stuck", "chat", "Need help?")


def test_defaults_apply_when_the_section_is_left_out():
    """Without 'defaults', the cooldown is 30 minutes and the holdout 10 %."""
    ruleset = compile_text("rules: []\n")
    assert ruleset.cooldown == DEFAULT_COOLDOWN == 1800 and ruleset.holdout == 0.1


def test_bad_duration_is_reported_on_its_own_line():
    """'within: 5 minutes' is refused on the line it is written, with an example of a duration."""
    text = (
        "rules:\n"
        "  - id: a\n"
        "    when:\n"
        "      count:\n"
        "        event: Payment Failed\n"
        "        within: 5 minutes\n"
        "    action: {channel: chat}\n"
    )
    assert errors_of(text) == ["rules.yaml:6: 'within' must be a duration like 5m, got '5 minutes'"]


def test_unknown_condition_lists_the_allowed_ones():
    """An unknown condition is named on its line with every allowed condition."""
    text = "rules:\n  - id: a\n    when:\n      weather: rainy\n    action: {channel: chat}\n"
    assert errors_of(text) == [
        "rules.yaml:4: unknown condition 'weather': allowed are all, any, not, step, page, count, dwell, idle, "
        "cart_value, cart_items, score, device, segment, returning, rage_clicks, dead_clicks, form_errors, "
        "js_errors, payment_failures, business_hours"
    ]


def test_unknown_channel_names_the_allowed_ones():
    """A channel dispatch cannot deliver is refused on its line, naming the allowed channels."""
    text = "rules:\n  - id: a\n    when: {step: payment}\n    action:\n      channel: carrier-pigeon\n"
    assert errors_of(text) == ["rules.yaml:5: 'channel' must be one of chat, call, email, sms, webhook, got 'carrier-pigeon'"]


def test_duplicate_rule_id_is_reported_at_the_second_rule():
    """The second rule reusing an id is reported on its id line."""
    text = (
        "rules:\n"
        "  - id: stuck\n"
        "    when: {step: payment}\n"
        "    action: {channel: chat}\n"
        "  - id: stuck\n"
        "    when: {step: shipping}\n"
        "    action: {channel: chat}\n"
    )
    assert errors_of(text) == ["rules.yaml:5: rule id 'stuck' is used twice"]


def test_duplicate_key_is_reported_rather_than_silently_overwritten():
    """A key given twice in one mapping is an error on the second key's line."""
    text = "defaults:\n  cooldown: 30m\n  cooldown: 5m\nrules: []\n"
    assert errors_of(text) == ["rules.yaml:3: 'cooldown' is given twice"]


def test_yaml_syntax_error_has_its_line():
    """A YAML syntax error is reported as not valid YAML on the offending line."""
    text = "rules:\n  - id: a\n    when: {step: payment}\n   action: {channel: chat}\n"
    (line,) = errors_of(text)
    assert line.startswith("rules.yaml:4: not valid YAML:")


def test_anchors_and_aliases_are_refused_at_the_alias_and_a_billion_laughs_is_no_work():
    """An alias is refused on its line; nine nested levels of ten aliases (10^9 nodes written out) are
    refused as quickly, not expanded."""
    text = ("defaults: &d {cooldown: 30m}\nsettings: *d\nrules: []\n")
    assert errors_of(text) == ["rules.yaml:2: anchors and aliases (& and *) are not allowed here: write the rule "
                               "out in full"]
    laughs = ["a0: &a0 [lol]"] + [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 10)]
    (line,) = errors_of("\n".join(laughs) + "\nrules: []\n")
    assert "anchors and aliases" in line


@pytest.mark.parametrize("holdout", ["1", "1.5", "-0.1", "lots", "true"])
def test_holdout_out_of_range_is_refused(holdout):
    """A holdout outside [0, 1), or not a number, is refused saying what is allowed."""
    (line,) = errors_of(f"defaults:\n  holdout: {holdout}\nrules: []\n")
    assert line.startswith("rules.yaml:2: 'holdout' must be a share from 0 up to (not including) 1, like 0.1")


def test_holdout_zero_is_allowed():
    """holdout: 0 (contact everybody) is valid."""
    assert compile_text("defaults: {holdout: 0}\nrules: []\n").holdout == 0.0


def test_bad_cooldown_is_refused():
    """A cooldown that is not a duration is refused with an example."""
    assert errors_of("defaults:\n  cooldown: half an hour\nrules: []\n") == [
        "rules.yaml:2: 'cooldown' must be a duration above zero like 30m, got 'half an hour'"
    ]


def test_every_problem_is_listed_in_line_order():
    """Several mistakes in one document are all reported, sorted by line."""
    text = (
        "defaults:\n"
        "  colour: red\n"
        "rules:\n"
        "  - id: Bad_Id\n"
        "    when: {step: payment}\n"
        "    action: {channel: chat}\n"
        "  - id: ok\n"
        "    priority: 1\n"
        "    action: {channel: chat, colour: red}\n"
    )
    assert errors_of(text) == [
        "rules.yaml:2: 'defaults' has no setting 'colour': allowed are cooldown, holdout, contacts, quiet_hours, "
            "business_hours, currency, channels, outreach_every",
        "rules.yaml:4: 'id' must be lower-case letters, digits and dashes, like stuck-at-payment, got 'Bad_Id'",
        "rules.yaml:7: a rule needs 'when': the conditions under which it fires",
        "rules.yaml:8: a rule has no 'priority': allowed are id, description, when, action",
        "rules.yaml:9: 'action' has no setting 'colour': allowed are channel, fallback, priority, skill, message",
    ]


def test_unknown_section_is_refused():
    """A top-level section other than defaults and rules is named with the allowed ones."""
    assert errors_of("rules: []\nschedule: daily\n") == [
        "rules.yaml:2: unknown section 'schedule': allowed are defaults, rules, outreach"
    ]


def test_empty_document_is_refused():
    """An empty document says what a rules document is."""
    assert errors_of("") == ["rules.yaml:1: a rules document is a mapping with 'defaults' and 'rules'"]


def test_overlong_message_is_refused():
    """An action message over 300 characters is refused on its line."""
    text = f"rules:\n  - id: a\n    when: {{step: payment}}\n    action:\n      channel: chat\n      message: {'x' * 301}\n"
    assert errors_of(text) == ["rules.yaml:6: 'message' must be text of at most 300 characters"]


def test_check_file_of_valid_file_is_empty():
    """check_file finds nothing wrong in the shipped rules."""
    assert check_file(str(SHIPPED)) == []


def test_check_file_prints_file_colon_line_colon_message(tmp_path):
    """check_file reports each error as FILE:LINE: message with the path it was given."""
    path = tmp_path / "bad.yaml"
    path.write_text("rules:\n  - id: a\n    when: {step: payment}\n    action: {channel: fax}\n")
    assert check_file(str(path)) == [f"{path}:4: 'channel' must be one of chat, call, email, sms, webhook, got 'fax'"]


def test_check_file_of_missing_file_says_it_cannot_read_it(tmp_path):
    """A file that does not exist is one error line, not a traceback."""
    path = tmp_path / "nope.yaml"
    (line,) = check_file(str(path))
    assert line.startswith(f"{path}:1: cannot read the file")


def test_zero_cooldown_is_refused():
    """A zero cooldown would let every event contact the shopper again: it is refused."""
    assert errors_of("defaults:\n  cooldown: 0s\nrules: []\n") == [
        "rules.yaml:2: 'cooldown' must be a duration above zero like 30m, got '0s'"
    ]


RULE = "rules:\n  - id: a\n    when: {step: payment}\n    action: {channel: chat}\n"


@pytest.mark.parametrize("text, error", [
    ("defaults: 30m\n" + RULE,
     "rules.yaml:1: 'defaults' takes settings {cooldown, holdout, contacts, quiet_hours, business_hours, currency, "
     "channels, outreach_every}"),
    ("defaults: {contacts: 3}\n" + RULE,
     "rules.yaml:1: 'contacts' takes the most contacts per shopper, like {session: 1, day: 2, week: 3}"),
    ("defaults: {business_hours: '09:00-18:00'}\n" + RULE,
     "rules.yaml:1: 'business_hours' takes {days: mon-fri, hours: 09:00-18:00, timezone: Europe/Berlin}"),
    ("defaults: {business_hours: {hours: '09:00-18:00', timezone: UTC, open: yes}}\n" + RULE,
     "rules.yaml:1: 'business_hours' has no setting 'open': allowed are days, hours, timezone"),
    ("defaults: {quiet_hours: '09:00-09:00'}\n" + RULE,
     "rules.yaml:1: 'quiet_hours' hours must be a span of some minutes within a day, like 09:00-18:00, got '09:00-09:00'"),
    ("defaults: {channels: [chat]}\n" + RULE,
     "rules.yaml:1: 'channels' takes settings per channel, like {call: {cost: 6, save_rate: 0.25}}"),
    ("defaults: {channels: {chat: 2}}\n" + RULE, "rules.yaml:1: 'chat' takes {cost, save_rate, handle_time}"),
    ("rules: {id: a}\n", "rules.yaml:1: 'rules' must be a list of rules, each with id, when and action"),
    ("rules:\n  - stuck-at-payment\n", "rules.yaml:2: a rule is a mapping with id, description, when and action"),
    ("rules:\n  - id: a\n    description: [x]\n    when: {step: payment}\n    action: {channel: chat}\n",
     "rules.yaml:3: 'description' must be text"),
    ("rules:\n  - id: a\n    when: {step: payment}\n",
     "rules.yaml:2: a rule needs 'action' with a channel, like {channel: chat, message: \"...\"}"),
    ("rules:\n  - id: a\n    when: {dwell: {over: 1m, step: 3}}\n    action: {channel: chat}\n",
     "rules.yaml:3: 'step' must be a step name like payment, got 3"),
    ("rules:\n  - id: a\n    when: {dwell: {over: 1m, at: payment}}\n    action: {channel: chat}\n",
     "rules.yaml:3: 'dwell' has no setting 'at': allowed are over, step"),
    ("rules:\n  - id: a\n    when: {dwell: {over: 1m, on: payment}}\n    action: {channel: chat}\n",
     "rules.yaml:3: keys must be words, got True: YAML reads 'on' as true; put it in quotes"),
    ("rules:\n  - id: a\n    when: {form_errors: {field: 7}}\n    action: {channel: chat}\n",
     "rules.yaml:3: 'field' must be a form field's name like email, got 7"),
    ("rules:\n  - id: a\n    when: {step: payment}\n    action: {channel: chat}\n    1: x\n",
     "rules.yaml:5: keys must be words, got 1"),
])
def test_each_structural_error_says_what_is_allowed(text, error):
    assert errors_of(text) == [error]
