"""A rules document: ``defaults`` and ``rules``, compiled and checked, each error with its line."""

import re
from dataclasses import dataclass, field

from rules import durations
from rules.conditions import Problems, compile_condition, dwell_thresholds
from rules.yamlnodes import DocumentError, Mapping, Sequence, line_of, load

CHANNELS = ("chat",)  # the channels dispatch can deliver today
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
MAX_MESSAGE = 300  # characters in an action's message
DEFAULT_COOLDOWN = 1800.0  # seconds between proactive contacts of one shopper
DEFAULT_HOLDOUT = 0.1  # share of shoppers never contacted: the control group


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    when: object
    channel: str
    message: str


@dataclass(frozen=True)
class RuleSet:
    rules: tuple = ()
    cooldown: float = DEFAULT_COOLDOWN
    holdout: float = DEFAULT_HOLDOUT
    thresholds: tuple = field(default=())  # dwell seconds that deadlines must wake the scorer for

    @property
    def ids(self) -> list[str]:
        return [rule.id for rule in self.rules]


class RulesError(ValueError):
    """An invalid document; ``problems`` holds (line, message) pairs."""

    def __init__(self, problems):
        self.problems = sorted(problems)
        super().__init__("; ".join(f"line {line}: {message}" for line, message in self.problems))

    def lines(self, filename: str) -> list[str]:
        return [f"{filename}:{line}: {message}" for line, message in self.problems]


def compile_text(text: str) -> RuleSet:
    """The RuleSet of ``text``, or RulesError listing every problem found."""
    try:
        document = load(text)
    except DocumentError as error:
        raise RulesError([(error.line, error.message)]) from None
    problems = Problems()
    if not isinstance(document, Mapping):
        raise RulesError([(1, "a rules document is a mapping with 'defaults' and 'rules'")])
    for key in document:
        if key not in ("defaults", "rules"):
            problems.add(line_of(document, key), f"unknown section '{key}': allowed are defaults, rules")
    cooldown, holdout = _defaults(document.get("defaults"), line_of(document, "defaults"), problems)
    rules = _rules(document, problems)
    if problems:
        raise RulesError(problems)
    thresholds = set().union(*(dwell_thresholds(rule.when) for rule in rules)) if rules else set()
    return RuleSet(tuple(rules), cooldown, holdout, tuple(sorted(thresholds)))


def _defaults(node, line, problems):
    cooldown, holdout = DEFAULT_COOLDOWN, DEFAULT_HOLDOUT
    if node is None:
        return cooldown, holdout
    if not isinstance(node, Mapping):
        problems.add(line, "'defaults' takes settings {cooldown, holdout}")
        return cooldown, holdout
    for key, value in node.items():
        where = line_of(node, key, line)
        if key == "cooldown":
            cooldown = durations.parse(value)
            if not cooldown:  # 0 would let every event contact the shopper again
                problems.add(where, f"'cooldown' must be a duration above zero like 30m, got '{value}'")
        elif key == "holdout":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                problems.add(where, f"'holdout' must be a share from 0 up to (not including) 1, like 0.1, got '{value}'")
            else:
                holdout = float(value)
        else:
            problems.add(where, f"'defaults' has no setting '{key}': allowed are cooldown, holdout")
    return cooldown or DEFAULT_COOLDOWN, holdout


def _rules(document, problems) -> list[Rule]:
    node, line = document.get("rules"), line_of(document, "rules")
    if not isinstance(node, Sequence):
        problems.add(line, "'rules' must be a list of rules, each with id, when and action")
        return []
    rules, seen = [], set()
    for index, item in enumerate(node):
        rule = _rule(item, line_of(node, index, line), problems)
        if rule and rule.id in seen:
            problems.add(line_of(item, "id"), f"rule id '{rule.id}' is used twice")
        elif rule:
            seen.add(rule.id)
            rules.append(rule)
    return rules


def _rule(item, line, problems) -> Rule | None:
    if not isinstance(item, Mapping):
        problems.add(line, "a rule is a mapping with id, description, when and action")
        return None
    for key in item:
        if key not in ("id", "description", "when", "action"):
            problems.add(line_of(item, key, line), f"a rule has no '{key}': allowed are id, description, when, action")
    rule_id = item.get("id")
    if not isinstance(rule_id, str) or not ID_PATTERN.match(rule_id):
        problems.add(line_of(item, "id", line), f"'id' must be lower-case letters, digits and dashes, like stuck-at-payment, got {rule_id!r}")
        rule_id = None
    description = item.get("description", rule_id or "")
    if not isinstance(description, str):
        problems.add(line_of(item, "description", line), "'description' must be text")
    if "when" not in item:
        problems.add(line, "a rule needs 'when': the conditions under which it fires")
        when = None
    else:
        when = compile_condition(item["when"], line_of(item, "when", line), problems)
    channel, message = _action(item.get("action"), line_of(item, "action", line), problems)
    if None in (rule_id, when, channel) or not isinstance(description, str):
        return None
    return Rule(rule_id, description, when, channel, message)


def _action(node, line, problems):
    if not isinstance(node, Mapping):
        problems.add(line, "a rule needs 'action' with a channel, like {channel: chat, message: \"...\"}")
        return None, None
    for key in node:
        if key not in ("channel", "message"):
            problems.add(line_of(node, key, line), f"'action' has no setting '{key}': allowed are channel, message")
    channel = node.get("channel")
    if channel not in CHANNELS:
        problems.add(line_of(node, "channel", line), f"'channel' must be one of {', '.join(CHANNELS)}, got {channel!r}")
        channel = None
    message = node.get("message", "")
    if not isinstance(message, str) or len(message) > MAX_MESSAGE:
        problems.add(line_of(node, "message", line), f"'message' must be text of at most {MAX_MESSAGE} characters")
        message = None
    return (channel, message) if message is not None else (None, None)


def check_file(path: str) -> list[str]:
    """Error lines ``FILE:LINE: message`` for the file at ``path``; empty when it is valid."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        return [f"{path}:1: cannot read the file ({error})"]
    try:
        compile_text(text)
    except RulesError as error:
        return error.lines(path)
    return []
