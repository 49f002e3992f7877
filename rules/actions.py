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

from rules.settings import CHANNELS
from rules.yamlnodes import Mapping, line_of

PRIORITIES = ("low", "normal", "high", "urgent")
FIELDS = ("first_name", "name", "cart_value", "cart_items", "step", "currency")
MAX_MESSAGE = 300  # characters in an action's message
MAX_VALUE = 40  # characters of one field's value in a message
SETTINGS = ("channel", "fallback", "priority", "skill", "message")
_FIELD = re.compile(r"\{([^{}]*)\}")
_SKILL = re.compile(r"^[a-z][a-z0-9_-]{0,23}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


@dataclass(frozen=True)
class Action:
    channel: str
    fallback: str | None = None
    priority: str = "normal"
    skill: str | None = None
    message: str = ""

    def channels(self) -> tuple:
        return (self.channel, self.fallback) if self.fallback else (self.channel,)


def compile_action(node, line: int, problems) -> Action | None:
    if not isinstance(node, Mapping):
        problems.add(line, "a rule needs 'action' with a channel, like {channel: chat, message: \"...\"}")
        return None
    ok = True
    for key in node:
        if key not in SETTINGS:
            problems.add(line_of(node, key, line), f"'action' has no setting '{key}': allowed are {', '.join(SETTINGS)}")
            ok = False
    channel = node.get("channel")
    if channel not in CHANNELS:
        problems.add(line_of(node, "channel", line), f"'channel' must be one of {', '.join(CHANNELS)}, got {channel!r}")
        ok = False
    fallback = node.get("fallback")
    if fallback is not None and (fallback not in CHANNELS or fallback == channel):
        problems.add(line_of(node, "fallback", line),
                     f"'fallback' must be another channel of {', '.join(CHANNELS)}, got {fallback!r}")
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
            if name not in FIELDS:
                problems.add(line_of(node, "message", line),
                             f"'message' uses '{{{name}}}': the fields a message may use are {', '.join(FIELDS)}")
                ok = False
    return Action(channel, fallback, priority, skill, message) if ok else None


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
    }


def _clean(value) -> str:
    return _CONTROL.sub("", str(value)).strip()[:MAX_VALUE]
