"""The visitor inbox (tracker/inbox.py): GET /v1/inbox streams messages for one shopper's pages as SSE."""

import json

from tracker import defaults, inbox, keys


def first_data(response) -> tuple[str, dict]:
    """Read the event stream until the first data line; the event id and message. Closes the response."""
    text, last_id = "", None
    try:
        for chunk in response.response:
            text += chunk.decode() if isinstance(chunk, bytes) else chunk
            for block in text.split("\n\n")[:-1]:
                lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
                last_id = lines.get("id", last_id)
                if "data" in lines:
                    return last_id, json.loads(lines["data"])
    finally:
        response.close()
    raise AssertionError(f"the stream ended without a data line: {text!r}")


def test_posted_message_is_delivered_as_an_sse_data_line(client, redis, site):
    """A chat invitation posted for a shopper reaches their open page as an SSE data line."""
    entry_id = inbox.post(redis, "anon-1", {"type": "invite", "text": "Need a hand?"})
    response = client.get(f"/v1/inbox?writeKey={site['write_key']}&anonymousId=anon-1",
                          headers={"Origin": "http://shop.test"}, buffered=False)
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.headers["Access-Control-Allow-Origin"] == "http://shop.test"
    assert first_data(response) == (entry_id, {"type": "invite", "text": "Need a hand?"})


def test_reconnecting_page_resumes_after_the_last_message_it_saw(client, redis, site):
    """With Last-Event-ID, a page that reconnects gets only the messages it has not seen."""
    seen = inbox.post(redis, "anon-1", {"type": "invite", "text": "first"})
    newer = inbox.post(redis, "anon-1", {"type": "chat", "text": "second"})
    response = client.get(f"/v1/inbox?writeKey={site['write_key']}&anonymousId=anon-1",
                          headers={"Last-Event-ID": seen}, buffered=False)
    assert first_data(response) == (newer, {"type": "chat", "text": "second"})


def test_forged_last_event_id_is_ignored_not_an_error(client, redis, site):
    """A Last-Event-ID that is no stream id falls back to the recent messages instead of breaking."""
    entry_id = inbox.post(redis, "anon-1", {"type": "invite", "text": "hello"})
    response = client.get(f"/v1/inbox?writeKey={site['write_key']}&anonymousId=anon-1",
                          headers={"Last-Event-ID": "1-2-3"}, buffered=False)
    assert first_data(response) == (entry_id, {"type": "invite", "text": "hello"})


def test_unknown_write_key_is_401(client, redis):
    """Listening with a write key no site has is refused with a JSON 401."""
    response = client.get("/v1/inbox?writeKey=wk_nobody&anonymousId=anon-1")
    assert response.status_code == 401 and response.json["error"] == "unknown write key"


def test_missing_anonymous_id_is_400(client, site):
    """Listening without an anonymousId is refused with a JSON 400 naming the field."""
    response = client.get(f"/v1/inbox?writeKey={site['write_key']}")
    assert response.status_code == 400 and response.json["error"].startswith("anonymousId: required")


def test_post_keeps_the_inbox_bounded_and_expiring(redis):
    """A shopper's inbox keeps at most 50 messages and expires when idle."""
    for i in range(60):
        inbox.post(redis, "anon-1", {"type": "chat", "text": str(i)})
    key = keys.inbox("anon-1")
    assert redis.xlen(key) == defaults.INBOX_LENGTH == 50
    assert 0 < redis.ttl(key) <= defaults.INBOX_TTL
