"""Existing Segment and RudderStack instrumentation, pointed at Handrail, delivers unchanged."""

import json

import pytest
import rudderstack.analytics.client as rudder
import segment.analytics.client as segment

from tracker import stream


def stored(redis) -> list[dict]:
    return [json.loads(fields[b"m"]) for key in stream.all_keys(4) for _, fields in redis.xrange(key)]


LIBRARIES = {
    "segment": lambda key, host, gzip: segment.Client(write_key=key, host=host, gzip=gzip, sync_mode=True, max_retries=0),
    "rudderstack": lambda key, host, gzip: rudder.Client(write_key=key, host=host, gzip=gzip, sync_mode=True, max_retries=0),
}


@pytest.mark.parametrize("gzip", [False, True])
@pytest.mark.parametrize("library", sorted(LIBRARIES))
def test_library_messages_arrive_as_sent(library, gzip, live_server, redis, site):
    """identify, page and track from the vendor's own Python library land in the stream, with their
    messageIds, ids, names and properties intact (HTTP Basic auth, gzip on and off)."""
    errors = []
    client = LIBRARIES[library](site["write_key"], live_server, gzip)
    client.on_error = lambda error, batch: errors.append(error)
    client.identify("user-7", {"email": "ada@example.com", "plan": "gold"}, anonymous_id="anon-7")
    client.page("user-7", "Shop", "Payment", {"path": "/checkout/payment"}, anonymous_id="anon-7")
    client.track("user-7", "Payment Failed", {"reason": "card_declined"}, anonymous_id="anon-7")
    client.flush()
    assert errors == []
    messages = sorted(stored(redis), key=lambda m: m["type"])
    assert [m["type"] for m in messages] == ["identify", "page", "track"]
    assert all(m["userId"] == "user-7" and m["anonymousId"] == "anon-7" for m in messages)
    assert len({m["messageId"] for m in messages}) == 3
    identify, page, track = messages
    # RudderStack sends traits under context.traits, Segment at the top: the scorer reads both.
    traits = identify.get("traits") or identify["context"]["traits"]
    assert traits == {"email": "ada@example.com", "plan": "gold"}
    assert page["name"] == "Payment" and page["properties"]["path"] == "/checkout/payment"
    assert track["event"] == "Payment Failed" and track["properties"] == {"reason": "card_declined"}


@pytest.mark.parametrize("library", sorted(LIBRARIES))
def test_unknown_write_key_is_reported_by_the_library(library, live_server, redis):
    """A wrong key is a 401 whose code and message the library reports; nothing is stored."""
    client = LIBRARIES[library]("wk_wrong", live_server, False)
    with pytest.raises(Exception) as raised:  # each library has its own APIError class
        client.track("user-7", "Order Completed", {"total": 10})
    assert raised.value.status == 401 and raised.value.code == "unauthorized"
    assert raised.value.message == "unknown write key"
    assert stored(redis) == []
