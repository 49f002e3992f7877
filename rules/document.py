"""A rules document: ``defaults``, ``rules`` (on live sessions) and ``outreach`` (on customers, on a schedule),
compiled and checked, each error with its line."""

import re
from dataclasses import dataclass, field

from rules.actions import Action, compile_action
from rules import customer_conditions
from rules.conditions import Problems, compile_condition, dwell_thresholds, still_thresholds
from rules.settings import Settings, compile_defaults
from rules.yamlnodes import DocumentError, Mapping, Sequence, line_of, load

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
DEFAULT_COOLDOWN = Settings.cooldown
DEFAULT_HOLDOUT = Settings.holdout


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    when: object
    action: Action

    @property
    def channel(self) -> str:
        return self.action.channel

    @property
    def message(self) -> str:
        return self.action.message


@dataclass(frozen=True)
class RuleSet:
    rules: tuple = ()
    settings: Settings = field(default_factory=Settings)
    thresholds: tuple = ()  # seconds on a step at which a rule may start to hold with no new event
    still: tuple = ()  # seconds without an action at which a rule may start to hold
    outreach: tuple = ()  # rules on customers, run by dispatch.outreach every settings.outreach_every

    @property
    def ids(self) -> list[str]:
        return [rule.id for rule in self.rules]

    @property
    def cooldown(self) -> float:
        return self.settings.cooldown

    @property
    def holdout(self) -> float:
        return self.settings.holdout

    def channel(self, name: str):
        """The settings of channel ``name`` (rules.settings.Channel): cost, save rate, handle time."""
        return self.settings.channels[name]


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
        if key not in SECTIONS:
            problems.add(line_of(document, key), f"unknown section '{key}': allowed are {', '.join(SECTIONS)}")
    settings = compile_defaults(document.get("defaults"), line_of(document, "defaults"), problems)
    seen = set()
    # A document of outreach rules alone needs no live rules.
    rules = [] if "rules" not in document and "outreach" in document else _rules(document, "rules", settings,
                                                                                 problems, seen)
    outreach = _rules(document, "outreach", settings, problems, seen) if "outreach" in document else []
    if problems:
        raise RulesError(problems)
    conditions = [rule.when for rule in rules]
    return RuleSet(tuple(rules), settings,
                   tuple(sorted(set().union(set(), *map(dwell_thresholds, conditions)))),
                   tuple(sorted(set().union(set(), *map(still_thresholds, conditions)))), tuple(outreach))


SECTIONS = ("defaults", "rules", "outreach")


def _rules(document, section, settings, problems, seen) -> list[Rule]:
    """The rules of ``section``; ``seen``: the ids taken so far, in either section (reports count by id)."""
    node, line = document.get(section), line_of(document, section)
    if not isinstance(node, Sequence):
        problems.add(line, f"'{section}' must be a list of rules, each with id, when and action")
        return []
    rules = []
    for index, item in enumerate(node):
        rule = _rule(item, line_of(node, index, line), settings, problems, section == "outreach")
        if rule and rule.id in seen:
            problems.add(line_of(item, "id"), f"rule id '{rule.id}' is used twice")
        elif rule:
            seen.add(rule.id)
            rules.append(rule)
    return rules


def _rule(item, line, settings, problems, outreach: bool = False) -> Rule | None:
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
        when = compile_condition(item["when"], line_of(item, "when", line), problems, settings,
                                 customer_conditions.COMPILERS if outreach else None)
    action = compile_action(item.get("action"), line_of(item, "action", line), problems, outreach)
    if None in (rule_id, when, action) or not isinstance(description, str):
        return None
    return Rule(rule_id, description, when, action)


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
