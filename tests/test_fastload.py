"""tracker/fastload.py: the collector's fast path gives exactly marshmallow's answers."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from tracker import defaults
from tracker.fastload import FastLoader
from tracker.schemas import BatchSchema, MessageSchema, identified

MESSAGE_FIELDS = list(MessageSchema().fields) + ["sentAt", "integrations", "extra"]


def lengths(limit: int):
    """Strings around a limit, where off-by-one mistakes live."""
    return st.one_of(st.text(max_size=8), st.integers(limit - 1, limit + 1).map(lambda n: "x" * n))


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), lengths(defaults.MAX_ID),
                    st.sampled_from(["track", "page", "identify", "shout", "2026-11-23T10:00:00Z", "yesterday"]),
                    lengths(defaults.MAX_STRING))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.text(max_size=5), lengths(100)), inner, max_size=4)),
    max_leaves=12)
VALID = {"type": "track", "anonymousId": "a-1", "event": "Cart Viewed", "timestamp": "2026-11-23T10:00:00Z",
         "properties": {"value": 1}}
# A valid message with a few fields changed or removed: the one wrong field is what must be caught.
field_values = st.one_of(json_values, lengths(defaults.MAX_ID), lengths(64), st.just(None))
messages = st.builds(
    lambda changes, removed: {k: v for k, v in {**VALID, **changes}.items() if k not in removed},
    st.dictionaries(st.sampled_from(MESSAGE_FIELDS), field_values, max_size=3),
    st.sets(st.sampled_from(list(VALID)), max_size=2),
)


def outcome(load, data):
    try:
        return "ok", load(data)
    except ValidationError as error:
        return "error", error.messages


@settings(max_examples=200, deadline=None)
@given(messages)
def test_message_fast_path_agrees_with_marshmallow(data):
    """For any message, the fast path accepts what marshmallow accepts, with the same result, and
    refuses with marshmallow's own messages."""
    schema = MessageSchema()
    assert outcome(FastLoader(schema, whole=[identified]).load, data) == outcome(schema.load, data)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["batch", "sentAt", "writeKey", "context", "extra"]),
                       st.one_of(json_values, st.lists(st.dictionaries(st.text(max_size=3), scalars), max_size=3)),
                       max_size=5))
def test_batch_fast_path_agrees_with_marshmallow(data):
    """The same holds for the batch envelope."""
    schema = BatchSchema()
    assert outcome(FastLoader(schema).load, data) == outcome(schema.load, data)


def test_a_typical_message_takes_the_fast_path():
    """A valid message is loaded without calling marshmallow at all."""
    class Refusing(MessageSchema):
        def load(self, *args, **kwargs):
            raise AssertionError("marshmallow was called")

    message = {"type": "track", "anonymousId": "a", "event": "Cart Viewed", "properties": {"value": 1},
               "timestamp": "2026-11-23T10:00:00Z", "integrations": {}}
    assert FastLoader(Refusing(), whole=[identified]).load(message) == {k: v for k, v in message.items() if k != "integrations"}


def test_unknown_field_kinds_are_refused_when_built():
    """A schema with a field the fast path cannot check fails loudly at start, not silently later."""
    from marshmallow import Schema, fields

    class Odd(Schema):
        when = fields.DateTime()

    with pytest.raises(TypeError, match="does not know the field"):
        FastLoader(Odd())
