"""A rule's ``action``: the channel, a fallback, priority, the agent skill and a message template.

```yaml
action:
  channel: call
  fallback: chat            # when a call is not allowed now (no consent, quiet hours, ...)
  priority: high            # low, normal, high, urgent: the order agents see tasks in
  skill: vip                # only agents with this skill take it
  message: "Hi {first_name}, can we help with your {cart_items} items?"
```

A template names session fields in braces. The values come from the shopper's browser, so each is
cut short and stripped of control characters, and every surface shows the result as text (the
widget and the console set textContent); the fields are replaced by a regular expression, never by
``str.format``, which would let a template reach into Python objects.
"""

import re
from dataclasses import dataclass

from rules import durations
from rules.settings import CHANNELS
from rules.yamlnodes import Mapping, line_of

PRIORITIES = ("low", "normal", "high", "urgent")
FIELDS = ("first_name", "name", "cart_value", "cart_items", "step", "currency")
OUTREACH_CHANNELS = ("email", "sms", "call")  # a customer who has left: a call is a callback task for an agent
OUTREACH_FIELDS = (*FIELDS, "coupon")  # an outreach message may also show its coupon code
COUPON_VALID = 7 * 86400  # s a coupon stays valid unless the action says
MAX_MESSAGE = 300  # characters in an action's message
MAX_VALUE = 40  # characters of one field's value in a message
SETTINGS = ("channel", "fallback", "priority", "skill", "message")
_FIELD = re.compile(r"\{([^{}]*)\}")
_SKILL = re.compile(r"^[a-z][a-z0-9_-]{0,23}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


@dataclass(frozen=True)
class Coupon:
    """A single-use coupon an outreach email or text carries (dispatch.coupons)."""
    percent: float
    valid: float  # seconds from sending


@dataclass(frozen=True)
class Action:
    channel: str
    fallback: str | None = None
    priority: str = "normal"
    skill: str | None = None
    message: str = ""
    coupon: Coupon | None = None

    def channels(self) -> tuple:
        return (self.channel, self.fallback) if self.fallback else (self.channel,)


def compile_action(node, line: int, problems, outreach: bool = False) -> Action | None:
    """The Action of a rule's ``action``; an outreach rule's (``outreach``) reaches a customer who has left,
    so it takes email, sms or call (a callback), and may carry a coupon."""
    channels, allowed = (OUTREACH_CHANNELS, (*SETTINGS, "coupon")) if outreach else (CHANNELS, SETTINGS)
    fields = OUTREACH_FIELDS if outreach else FIELDS
    if not isinstance(node, Mapping):
        problems.add(line, f"a rule needs 'action' with a channel, like {{channel: {channels[0]}, message: \"...\"}}")
        return None
    ok = True
    for key in node:
        if key not in allowed:
            problems.add(line_of(node, key, line), f"'action' has no setting '{key}': allowed are {', '.join(allowed)}")
            ok = False
    channel = node.get("channel")
    if channel not in channels:
        problems.add(line_of(node, "channel", line), f"'channel' must be one of {', '.join(channels)}, got {channel!r}"
                     + (" (an outreach rule reaches customers who have left the page)" if outreach else ""))
        ok = False
    fallback = node.get("fallback")
    if fallback is not None and (fallback not in channels or fallback == channel):
        problems.add(line_of(node, "fallback", line),
                     f"'fallback' must be another channel of {', '.join(channels)}, got {fallback!r}")
        ok = False
    coupon = _coupon(node, line, problems) if "coupon" in node and outreach else None
    if "coupon" in node and outreach and coupon is None:
        ok = False
    priority = node.get("priority", "normal")
    if priority not in PRIORITIES:
        problems.add(line_of(node, "priority", line), f"'priority' must be one of {', '.join(PRIORITIES)}, got {priority!r}")
        ok = False
    skill = node.get("skill")
    if skill is not None and (not isinstance(skill, str) or not _SKILL.match(skill)):
        problems.add(line_of(node, "skill", line), f"'skill' must be one lower-case word like vip, got {skill!r}")
        ok = False
    message = node.get("message", "")
    if not isinstance(message, str) or len(message) > MAX_MESSAGE:
        problems.add(line_of(node, "message", line), f"'message' must be text of at most {MAX_MESSAGE} characters")
        ok = False
    else:
        for name in _FIELD.findall(message):
            if name not in fields:
                problems.add(line_of(node, "message", line),
                             f"'message' uses '{{{name}}}': the fields a message may use are {', '.join(fields)}")
                ok = False
    return Action(channel, fallback, priority, skill, message, coupon) if ok else None


def _coupon(node, line: int, problems) -> Coupon | None:
    """``coupon: {percent: 10, valid: 7d}``."""
    value, where = node["coupon"], line_of(node, "coupon", line)
    if not isinstance(value, Mapping) or not set(value) <= {"percent", "valid"} or "percent" not in value:
        problems.add(where, "'coupon' takes {percent, valid}, like {percent: 10, valid: 7d}")
        return None
    percent = value["percent"]
    if isinstance(percent, bool) or not isinstance(percent, (int, float)) or not 0 < percent <= 100:
        problems.add(line_of(value, "percent", where), f"'percent' must be a number above 0 up to 100, got {percent!r}")
        return None
    valid = durations.parse(value["valid"]) if "valid" in value else COUPON_VALID
    if not valid:
        problems.add(line_of(value, "valid", where), f"'valid' must be a duration like 7d, got {value['valid']!r}")
        return None
    return Coupon(float(percent), valid)


def fill(template: str, snap: dict, currency: str) -> str:
    """The message with each {field} replaced by the shopper's value, cut short and cleaned."""
    if "{" not in template:
        return template
    values = _values(snap, currency)
    return _FIELD.sub(lambda match: values.get(match.group(1), ""), template)


def _values(snap: dict, currency: str) -> dict:
    traits = snap.get("traits") or {}
    name = _clean(traits.get("name") or "")
    first = _clean(traits.get("first_name") or traits.get("firstName") or name.split(" ")[0])
    return {
        "first_name": first or "there",
        "name": name or "there",
        "cart_value": f"{float(snap.get('cart_value') or 0):.2f}",
        "cart_items": str(int(snap.get("cart_items") or 0)),
        "step": _clean(snap.get("step") or ""),
        "currency": currency,
        "coupon": "{coupon}",  # the code exists only once dispatch issues it (dispatch.coupons): filled in then
    }


def _clean(value) -> str:
    return _CONTROL.sub("", str(value)).strip()[:MAX_VALUE]
