"""The ``defaults`` section: contact policies over every channel, and what each channel costs.

```yaml
defaults:
  cooldown: 30m                         # at most one contact per shopper per 30 min, any channel
  holdout: 0.1                          # the control group: never contacted
  contacts: {session: 1, day: 2, week: 3}
  quiet_hours: "21:00-09:00"            # the shopper's local time: no calls, no texts
  business_hours: {days: mon-fri, hours: "09:00-18:00", timezone: Europe/Berlin}
  currency: EUR
  channels:
    call: {cost: 6, save_rate: 0.25, handle_time: 8m}
```

The save rates here are priors: what a channel is assumed to save before outcomes are recorded
(rules.outcomes learns the real ones). Costs are in the shop's currency, per contact.
"""

from dataclasses import dataclass, field, replace

from rules import durations, hours
from rules.yamlnodes import Mapping, line_of

CHANNELS = ("chat", "call", "email", "sms", "webhook")  # what a rule's action may name
CALLBACK = "callback"  # a call queued for the next free agent, when none is free now


@dataclass(frozen=True)
class Channel:
    name: str
    cost: float  # per contact, in the shop's currency
    save_rate: float  # prior share of contacted carts bought afterwards
    handle_time: float  # seconds of agent time one contact takes
    needs_agent: bool  # an agent with the skill must be free (chat, call)
    needs_consent: bool  # the shopper must have agreed to it (call, email, sms)
    quiet: bool  # never in the shopper's quiet hours (calls and texts)
    staffed: bool  # only in business hours (chat and calls)


PRIORS = {
    "chat": Channel("chat", 2.0, 0.10, 360.0, needs_agent=True, needs_consent=False, quiet=False, staffed=True),
    "call": Channel("call", 6.0, 0.25, 480.0, needs_agent=True, needs_consent=True, quiet=True, staffed=True),
    CALLBACK: Channel(CALLBACK, 6.0, 0.15, 480.0, needs_agent=False, needs_consent=True, quiet=True, staffed=True),
    "email": Channel("email", 0.05, 0.03, 0.0, needs_agent=False, needs_consent=True, quiet=False, staffed=False),
    "sms": Channel("sms", 0.10, 0.04, 0.0, needs_agent=False, needs_consent=True, quiet=True, staffed=False),
    "webhook": Channel("webhook", 0.0, 0.02, 0.0, needs_agent=False, needs_consent=False, quiet=False,
                       staffed=False),
}


@dataclass(frozen=True)
class Budget:
    session: int = 1
    day: int = 2
    week: int = 3


@dataclass(frozen=True)
class Settings:
    cooldown: float = 1800.0  # seconds between proactive contacts of one shopper
    holdout: float = 0.1  # share of shoppers never contacted: the control group
    contacts: Budget = Budget()
    quiet_hours: hours.Hours | None = hours.Hours(21 * 60, 9 * 60)
    business_hours: hours.Hours | None = None  # None: agents may be on shift at any hour
    currency: str = "EUR"
    channels: dict = field(default_factory=lambda: dict(PRIORS))
    outreach_every: float = 3600.0  # seconds between two runs of the outreach rules (dispatch.outreach)


SETTINGS = ("cooldown", "holdout", "contacts", "quiet_hours", "business_hours", "currency", "channels",
            "outreach_every")
OUTREACH_EVERY_MIN = 300  # s: the outreach reads every customer due; more often than this only adds load


def compile_defaults(node, line: int, problems) -> Settings:
    """The Settings of a ``defaults`` mapping; problems get (line, message) for each mistake."""
    settings = Settings()
    if node is None:
        return settings
    if not isinstance(node, Mapping):
        problems.add(line, f"'defaults' takes settings {{{', '.join(SETTINGS)}}}")
        return settings
    changes = {}
    for key, value in node.items():
        where = line_of(node, key, line)
        if key not in SETTINGS:
            problems.add(where, f"'defaults' has no setting '{key}': allowed are {', '.join(SETTINGS)}")
            continue
        found = _SETTERS[key](value, where, problems)
        if found is not None:
            changes[key] = None if found is _NONE else found
    return replace(settings, **changes)


def _cooldown(value, line, problems):
    seconds = durations.parse(value)
    if not seconds:  # 0 would let every event contact the shopper again
        problems.add(line, f"'cooldown' must be a duration above zero like 30m, got '{value}'")
    return seconds or None


def _holdout(value, line, problems):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        problems.add(line, f"'holdout' must be a share from 0 up to (not including) 1, like 0.1, got '{value}'")
        return None
    return float(value)


def _contacts(value, line, problems):
    if not isinstance(value, Mapping):
        problems.add(line, "'contacts' takes the most contacts per shopper, like {session: 1, day: 2, week: 3}")
        return None
    limits = {}
    for key, count in value.items():
        where = line_of(value, key, line)
        if key not in ("session", "day", "week"):
            problems.add(where, f"'contacts' has no setting '{key}': allowed are session, day, week")
        elif isinstance(count, bool) or not isinstance(count, int) or count < 0:
            problems.add(where, f"'{key}' must be a whole number of contacts, 0 or more, got {count!r}")
        else:
            limits[key] = count
    return replace(Budget(), **limits)


def _quiet_hours(value, line, problems):
    if value in (None, False, "none"):
        return _NONE
    try:
        start, end = hours.span(value)
    except hours.HoursError as error:
        problems.add(line, f"'quiet_hours' {error}")
        return None
    return hours.Hours(start, end)


def _business_hours(value, line, problems):
    if value in (None, False, "none", "always"):
        return _NONE
    if not isinstance(value, Mapping):
        problems.add(line, "'business_hours' takes {days: mon-fri, hours: 09:00-18:00, timezone: Europe/Berlin}")
        return None
    ok = True
    for key in value:
        if key not in ("days", "hours", "timezone"):
            problems.add(line_of(value, key, line), f"'business_hours' has no setting '{key}': allowed are days, hours, timezone")
            ok = False
    try:
        start, end = hours.span(value.get("hours", ""))
    except hours.HoursError as error:
        problems.add(line_of(value, "hours", line), f"'business_hours' {error}")
        ok = False
    try:
        weekdays = hours.days(value.get("days", "every day"))
    except hours.HoursError as error:
        problems.add(line_of(value, "days", line), f"'business_hours' {error}")
        ok = False
    name = value.get("timezone")
    if not isinstance(name, str) or hours.zone(name) is None:
        problems.add(line_of(value, "timezone", line),
                     f"'timezone' must be a time zone name like Europe/Berlin, got {name!r}")
        ok = False
    return hours.Hours(start, end, weekdays, name) if ok else None


def _currency(value, line, problems):
    if not isinstance(value, str) or not (value.isalpha() and value.isupper() and len(value) == 3):
        problems.add(line, f"'currency' must be a three-letter code like EUR, got {value!r}")
        return None
    return value


def _channels(value, line, problems):
    if not isinstance(value, Mapping):
        problems.add(line, "'channels' takes settings per channel, like {call: {cost: 6, save_rate: 0.25}}")
        return None
    channels = dict(PRIORS)
    for name, node in value.items():
        where = line_of(value, name, line)
        if name not in PRIORS:
            problems.add(where, f"unknown channel '{name}': allowed are {', '.join(PRIORS)}")
            continue
        if not isinstance(node, Mapping):
            problems.add(where, f"'{name}' takes {{cost, save_rate, handle_time}}")
            continue
        changes = {}
        for key, setting in node.items():
            at = line_of(node, key, where)
            number = isinstance(setting, (int, float)) and not isinstance(setting, bool)
            if key == "cost" and number and setting >= 0:
                changes["cost"] = float(setting)
            elif key == "save_rate" and number and 0 <= setting <= 1:
                changes["save_rate"] = float(setting)
            elif key == "handle_time" and durations.parse(setting) is not None:
                changes["handle_time"] = durations.parse(setting)
            elif key in ("cost", "save_rate", "handle_time"):
                allowed = {"cost": "a number, 0 or more, in the shop's currency",
                           "save_rate": "a share from 0 to 1, like 0.25",
                           "handle_time": "a duration like 8m"}[key]
                problems.add(at, f"'{key}' must be {allowed}, got {setting!r}")
            else:
                problems.add(at, f"'{name}' has no setting '{key}': allowed are cost, save_rate, handle_time")
        channels[name] = replace(PRIORS[name], **changes)
    return channels


def _outreach_every(value, line, problems):
    seconds = durations.parse(value)
    if not seconds or seconds < OUTREACH_EVERY_MIN:
        problems.add(line, f"'outreach_every' must be a duration of 5m or more, like 1h, got '{value}'")
        return None
    return seconds


_NONE = object()  # a setting turned off explicitly, told apart from one left out or refused
_SETTERS = {
    "cooldown": _cooldown, "holdout": _holdout, "contacts": _contacts, "quiet_hours": _quiet_hours,
    "business_hours": _business_hours, "currency": _currency, "channels": _channels,
    "outreach_every": _outreach_every,
}
