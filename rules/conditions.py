"""Conditions of a rule's ``when``: compiled from YAML, evaluated on a session snapshot.

A snapshot is plain data from the scorer: ``step``, ``step_seconds``, ``path``, ``cart_value``,
``cart_items``, ``score``, ``now`` (ms), ``recent`` ([event name, ms] pairs), ``signals`` (friction
event -> times), ``fields`` (form field -> errors), ``still_seconds`` (since the shopper last did
anything), ``device``, ``returning``, ``user_id`` and ``traits``. Each condition returns whether it
holds and, when it does, the evidence in words an agent can read.
"""

from dataclasses import dataclass
from fnmatch import fnmatchcase

from rules import durations
from rules.hours import Hours
from rules.yamlnodes import Mapping, Sequence, line_of


class Problems(list):
    """(line, message) pairs collected while compiling a document."""

    def add(self, line: int, message: str) -> None:
        self.append((line, message))


@dataclass(frozen=True)
class Step:
    steps: tuple

    def evaluate(self, snap):
        step = snap.get("step")
        return (True, [f"step is {step}"]) if step in self.steps else (False, [])


@dataclass(frozen=True)
class Count:
    event: str
    within: float  # seconds
    at_least: int

    def evaluate(self, snap):
        since = snap["now"] - self.within * 1000
        n = sum(1 for name, at in snap.get("recent", ()) if name == self.event and at >= since)
        if n >= self.at_least:
            times = "1 time" if n == 1 else f"{n} times"
            return True, [f"{self.event} {times} in {durations.describe(self.within)}"]
        return False, []


@dataclass(frozen=True)
class Dwell:
    over: float  # seconds
    step: str | None

    def evaluate(self, snap):
        if self.step is not None and snap.get("step") != self.step:
            return False, []
        seconds = snap.get("step_seconds", 0)
        if snap.get("step") and seconds > self.over:
            return True, [f"on {snap['step']} for {int(seconds)} s"]
        return False, []


@dataclass(frozen=True)
class Range:
    field: str
    label: str
    over: float | None
    under: float | None

    def evaluate(self, snap):
        value = snap.get(self.field, 0) or 0
        if self.over is not None and not value > self.over:
            return False, []
        if self.under is not None and not value < self.under:
            return False, []
        return True, [f"{self.label} {value:g}"]


def segments(snap: dict) -> set[str]:
    """The shopper's segments, from identify traits: the `segment` trait itself, vip (a `vip`
    trait), member (signed in, or a `plan`), new (first visit, not signed in)."""
    traits = snap.get("traits") or {}
    found = {str(traits["segment"]).strip().lower()} if traits.get("segment") else set()
    if traits.get("vip") in (True, "true", "yes", "1"):
        found.add("vip")
    if snap.get("user_id") or traits.get("plan"):
        found.add("member")
    elif not snap.get("returning"):
        found.add("new")
    return found


@dataclass(frozen=True)
class Choice:
    """The shopper's device, segment or returning flag is one of the values given."""

    kind: str  # device, segment, returning
    values: tuple

    def evaluate(self, snap):
        if self.kind == "segment":
            found = segments(snap) & set(self.values)
            return (True, [f"segment {sorted(found)[0]}"]) if found else (False, [])
        value = snap.get(self.kind)
        if value not in self.values:
            return False, []
        if self.kind == "returning":
            return True, ["returning visitor" if value else "first visit"]
        return True, [f"on {value}"]


@dataclass(frozen=True)
class Page:
    """The page being read matches a glob: ``/checkout/*``, ``*/payment``."""

    patterns: tuple

    def evaluate(self, snap):
        path = snap.get("path") or ""
        held = any(fnmatchcase(path, pattern) for pattern in self.patterns)
        return (True, [f"on page {path}"]) if held else (False, [])


@dataclass(frozen=True)
class Idle:
    """The shopper has done nothing (no click, page, form or cart event) for longer than ``over``."""

    over: float  # seconds

    def evaluate(self, snap):
        seconds = snap.get("still_seconds", 0)
        return (True, [f"no action for {int(seconds)} s"]) if seconds > self.over else (False, [])


@dataclass(frozen=True)
class Friction:
    """At least ``at_least`` of one kind of friction in the session; form errors maybe on one field."""

    kind: str  # a key of FRICTION
    at_least: int
    field: str | None = None

    def evaluate(self, snap):
        event, label = FRICTION[self.kind]
        if self.field is not None:
            n = (snap.get("fields") or {}).get(self.field, 0)
            label = f"{label} on {self.field}"
        else:
            n = (snap.get("signals") or {}).get(event, 0)
        return (True, [f"{n} {label}"]) if n >= self.at_least else (False, [])


@dataclass(frozen=True)
class BusinessHours:
    """Now is (or, with ``inside`` false, is not) within the shop's business hours."""

    hours: Hours | None  # None: the shop has none set, so it is always open
    inside: bool

    def evaluate(self, snap):
        now_inside = self.hours is None or self.hours.contains(snap["now"])
        if now_inside != self.inside:
            return False, []
        return True, ["in business hours" if now_inside else "outside business hours"]


@dataclass(frozen=True)
class Combine:
    kind: str  # all, any, not
    parts: tuple

    def evaluate(self, snap):
        evidence = []
        if self.kind == "not":
            held, _ = self.parts[0].evaluate(snap)
            return (not held), []
        for part in self.parts:
            held, found = part.evaluate(snap)
            if held:
                evidence.extend(found)
                if self.kind == "any":
                    return True, evidence
            elif self.kind == "all":
                return False, []
        return (self.kind == "all"), evidence


FRICTION = {  # condition -> (event, words for the evidence)
    "rage_clicks": ("Rage Click", "rage clicks"),
    "dead_clicks": ("Dead Click", "dead clicks"),
    "form_errors": ("Form Error", "form errors"),
    "js_errors": ("JS Error", "JS errors"),
    "payment_failures": ("Payment Failed", "payment failures"),
}
KINDS = ("all", "any", "not", "step", "page", "count", "dwell", "idle", "cart_value", "cart_items", "score",
         "device", "segment", "returning", *FRICTION, "business_hours")
# A customer's, evaluated by the scheduled outreach (rules.customer_conditions), not on a live session.
CUSTOMER_KINDS = ("cart_left", "no_order_for", "orders", "replenishment_due")
# What an outreach rule may use: its own conditions and those that mean the same for a customer.
OUTREACH_KINDS = ("all", "any", "not", "cart_value", "cart_items", "segment", "business_hours", *CUSTOMER_KINDS)
DEVICES = ("mobile", "tablet", "desktop")
RANGES = {"cart_value": "cart value", "cart_items": "items in cart", "score": "score"}


def compile_condition(node, line: int, problems: Problems, settings=None, customer=None):
    """A Condition, or None with the reasons added to ``problems``. ``settings``: the document's
    rules.settings.Settings, for conditions that read them (business_hours). ``customer``: for an
    outreach rule, the compilers of the customer conditions (rules.customer_conditions.COMPILERS)."""
    kinds = OUTREACH_KINDS if customer else KINDS
    if not isinstance(node, Mapping) or len(node) != 1:
        problems.add(line, f"a condition is one of {', '.join(kinds)} with its settings, got {_show(node)}")
        return None
    (kind, value), = node.items()
    line = line_of(node, kind, line)
    if kind not in kinds and (kind in KINDS or kind in CUSTOMER_KINDS):
        problems.add(line, f"'{kind}' is a customer condition: it belongs in an outreach rule" if customer is None
                     else f"'{kind}' is a live session's condition, and outreach rules look at customers who "
                          f"have left: allowed are {', '.join(OUTREACH_KINDS)}")
        return None
    if customer and kind in CUSTOMER_KINDS:
        return customer[kind](value, line, problems)
    if kind in ("all", "any"):
        if not isinstance(value, Sequence) or not value:
            problems.add(line, f"'{kind}' takes a list of conditions")
            return None
        parts = [compile_condition(item, line_of(value, i, line), problems, settings, customer)
                 for i, item in enumerate(value)]
        return Combine(kind, tuple(parts)) if None not in parts else None
    if kind == "not":
        part = compile_condition(value, line, problems, settings, customer)
        return Combine("not", (part,)) if part else None
    if kind == "step":
        steps = list(value) if isinstance(value, Sequence) else [value]
        if not steps or not all(isinstance(s, str) and s for s in steps):
            problems.add(line, f"'step' takes a step name like payment, or a list of them, got {_show(value)}")
            return None
        return Step(tuple(steps))
    if kind == "count":
        return _count(value, line, problems)
    if kind == "dwell":
        return _dwell(value, line, problems)
    if kind in RANGES:
        return _range(kind, value, line, problems)
    if kind in ("device", "segment"):
        return _choice(kind, value, line, problems)
    if kind == "returning":
        if not isinstance(value, bool):
            problems.add(line, f"'returning' is true or false, got {_show(value)}")
            return None
        return Choice("returning", (value,))
    if kind == "page":
        return _page(value, line, problems)
    if kind == "idle":
        return _idle(value, line, problems)
    if kind in FRICTION:
        return _friction(kind, value, line, problems)
    if kind == "business_hours":
        if not isinstance(value, bool):
            problems.add(line, f"'business_hours' is true (inside them) or false (outside), got {_show(value)}")
            return None
        return BusinessHours(settings.business_hours if settings else None, value)
    problems.add(line, f"unknown condition '{kind}': allowed are {', '.join(kinds)}")
    return None


def _settings(kind, value, line, allowed, problems) -> bool:
    if not isinstance(value, Mapping):
        problems.add(line, f"'{kind}' takes settings {{{', '.join(allowed)}}}, got {_show(value)}")
        return False
    ok = True
    for key in value:
        if key not in allowed:
            problems.add(line_of(value, key, line), f"'{kind}' has no setting '{key}': allowed are {', '.join(allowed)}")
            ok = False
    return ok


def _duration(settings, key, line, problems):
    seconds = durations.parse(settings[key]) if key in settings else None
    if seconds is None or seconds <= 0:
        got = f"got {_show(settings[key])}" if key in settings else "it is missing"
        problems.add(line_of(settings, key, line), f"'{key}' must be a duration like 5m, {got}")
    return seconds


def _count(value, line, problems):
    if not _settings("count", value, line, ("event", "within", "at_least"), problems):
        return None
    event = value.get("event")
    if not isinstance(event, str) or not event:
        problems.add(line_of(value, "event", line), "'event' must be an event name like Payment Failed")
    within = _duration(value, "within", line, problems)
    at_least = value.get("at_least", 1)
    if not isinstance(at_least, int) or isinstance(at_least, bool) or at_least < 1:
        problems.add(line_of(value, "at_least", line), f"'at_least' must be a whole number of 1 or more, got {_show(at_least)}")
        return None
    if not isinstance(event, str) or not event or within is None:
        return None
    return Count(event, within, at_least)


def _dwell(value, line, problems):
    if not _settings("dwell", value, line, ("over", "step"), problems):
        return None
    over = _duration(value, "over", line, problems)
    step = value.get("step")
    if step is not None and not isinstance(step, str):
        problems.add(line_of(value, "step", line), f"'step' must be a step name like payment, got {_show(step)}")
        return None
    return Dwell(over, step) if over is not None else None


def _range(kind, value, line, problems):
    if not _settings(kind, value, line, ("over", "under"), problems):
        return None
    bounds = {}
    for key in ("over", "under"):
        bound = value.get(key)
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, (int, float))):
            problems.add(line_of(value, key, line), f"'{key}' must be a number, got {_show(bound)}")
            return None
        bounds[key] = bound
    if bounds["over"] is None and bounds["under"] is None:
        problems.add(line, f"'{kind}' needs 'over' or 'under' (a number)")
        return None
    return Range(kind, RANGES[kind], bounds["over"], bounds["under"])


def _choice(kind, value, line, problems):
    values = list(value) if isinstance(value, Sequence) else [value]
    names = [v.strip().lower() for v in values if isinstance(v, str) and v.strip()]
    if not values or len(names) != len(values):
        example = "mobile" if kind == "device" else "vip"
        problems.add(line, f"'{kind}' takes a name like {example}, or a list of them, got {_show(value)}")
        return None
    if kind == "device" and not set(names) <= set(DEVICES):
        problems.add(line, f"'device' must be {', '.join(DEVICES)}, got {_show(value)}")
        return None
    return Choice(kind, tuple(names))


def _page(value, line, problems):
    patterns = list(value) if isinstance(value, Sequence) else [value]
    if not patterns or not all(isinstance(p, str) and p.startswith(("/", "*")) for p in patterns):
        problems.add(line, f"'page' takes a path or a pattern like /checkout/*, or a list of them, got {_show(value)}")
        return None
    return Page(tuple(patterns))


def _idle(value, line, problems):
    if isinstance(value, Mapping):
        if not _settings("idle", value, line, ("over",), problems):
            return None
        over = _duration(value, "over", line, problems)
    else:
        over = durations.parse(value)
        if not over:
            problems.add(line, f"'idle' must be a duration like 2m, or {{over: 2m}}, got {_show(value)}")
    return Idle(over) if over else None


def _friction(kind, value, line, problems):
    allowed = ("at_least", "field") if kind == "form_errors" else ("at_least",)
    if isinstance(value, int) and not isinstance(value, bool):
        value = {"at_least": value}
    elif not _settings(kind, value, line, allowed, problems):
        return None
    at_least = value.get("at_least", 1)
    if not isinstance(at_least, int) or isinstance(at_least, bool) or at_least < 1:
        problems.add(line_of(value, "at_least", line) if isinstance(value, Mapping) else line,
                     f"'at_least' must be a whole number of 1 or more, got {_show(at_least)}")
        return None
    field = value.get("field")
    if field is not None and (not isinstance(field, str) or not field.strip()):
        problems.add(line_of(value, "field", line), f"'field' must be a form field's name like email, got {_show(field)}")
        return None
    return Friction(kind, at_least, field[:24] if field else None)


def _show(value) -> str:
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    return text if len(text) <= 60 else text[:57] + "..."


def dwell_thresholds(condition) -> set[float]:
    """Seconds on a step at which this condition may become true with no new event."""
    return _thresholds(condition, Dwell)


def still_thresholds(condition) -> set[float]:
    """Seconds without an action at which this condition may become true with no new event."""
    return _thresholds(condition, Idle)


def _thresholds(condition, kind) -> set[float]:
    if isinstance(condition, kind):
        return {condition.over}
    if isinstance(condition, Combine):
        return set().union(*(_thresholds(part, kind) for part in condition.parts))
    return set()
