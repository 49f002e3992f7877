"""Wire schemas of the collector: the Segment HTTP Tracking API shape, with a cap on every length."""

import re
from datetime import datetime

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from tracker import defaults

TYPES = ("track", "page", "identify")


def _iso8601(value: str) -> None:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"must be an ISO 8601 time like 2026-11-23T10:00:00Z, got {value[:40]!r}")


# C0 and C1 controls and DEL: no shop's id has one, and an id is a Redis key, a log line and what an agent
# reads, where one can rewrite the line it is printed on (an escape sequence in a terminal).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _printable(value: str) -> None:
    found = not value.isprintable() and _CONTROL.search(value)  # isprintable: one C call, true of most ids
    if found:
        raise ValidationError(f"must not contain control characters, found U+{ord(found.group()):04X} "
                              f"at character {found.start() + 1}")


def _bounded(value) -> None:
    """Free-form objects (properties, traits, context) are bounded too: depth, keys, string length.
    Iterative, with exact type tests: this runs on every message the collector takes."""
    pending = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        kind = type(item)
        if kind is str:
            if len(item) > defaults.MAX_STRING:
                raise ValidationError(f"a string of {len(item)} characters, the limit is {defaults.MAX_STRING}")
        elif kind is dict or kind is list:
            if depth >= defaults.MAX_DEPTH:
                raise ValidationError(f"nested deeper than {defaults.MAX_DEPTH} levels")
            if len(item) > defaults.MAX_KEYS:
                what = "keys in one object" if kind is dict else "items in one list"
                raise ValidationError(f"{len(item)} {what}, the limit is {defaults.MAX_KEYS}")
            for child in (item.values() if kind is dict else item):
                if type(child) is str:
                    if len(child) > defaults.MAX_STRING:
                        raise ValidationError(
                            f"a string of {len(child)} characters, the limit is {defaults.MAX_STRING}")
                elif type(child) is dict or type(child) is list:
                    pending.append((child, depth + 1))


def _object() -> fields.Dict:
    return fields.Dict(keys=fields.String(validate=validate.Length(max=100)), validate=_bounded)


def _short(limit: int, *checks, **kwargs) -> fields.String:
    return fields.String(validate=[validate.Length(max=limit), *checks], **kwargs)


def identified(data: dict) -> None:
    """A message names its visitor, and a track message its event."""
    if not data.get("anonymousId") and not data.get("userId"):
        raise ValidationError("anonymousId or userId is required", "anonymousId")
    if data["type"] == "track" and not data.get("event"):
        raise ValidationError("a track message needs an event name", "event")


class MessageSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # Segment libraries add fields (integrations, channel, ...) we do not use

    type = fields.String(required=True, validate=validate.OneOf(TYPES))
    anonymousId = _short(defaults.MAX_ID, _printable, allow_none=True)
    userId = _short(defaults.MAX_ID, _printable, allow_none=True)
    messageId = _short(defaults.MAX_ID, _printable)
    timestamp = _short(64, _iso8601)
    event = _short(defaults.MAX_NAME)
    name = _short(defaults.MAX_NAME, allow_none=True)
    properties = _object()
    traits = _object()
    context = _object()

    @validates_schema
    def _identified(self, data, **kwargs):
        identified(data)


class BatchSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    batch = fields.List(
        fields.Dict(),
        required=True,
        validate=validate.Length(min=1, max=defaults.MAX_BATCH_MESSAGES),
    )
    sentAt = _short(64, _iso8601)
    writeKey = _short(100)
    context = _object()


def flatten(messages: dict, prefix: str = "") -> list[str]:
    """marshmallow's nested error dict as 'where: what' lines, e.g. 'batch[2].anonymousId: ...'."""
    lines = []
    for key, value in messages.items():
        if isinstance(key, int):
            where = f"{prefix}[{key}]"
        elif key == "_schema":
            where = prefix
        else:
            where = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            lines.extend(flatten(value, where))
        else:
            lines.extend(f"{where or 'body'}: {text}" for text in value)
    return lines
