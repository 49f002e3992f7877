"""The visitor inbox (tracker/inbox.py): GET /v1/inbox streams messages for one shopper's pages as SSE."""

import json

import pytest

from tracker import defaults, inbox, keys, visitor_token

SECRET_FROM = "VISITOR_SECRET"


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


@pytest.fixture
def listen(app, client, site):
    """GET /v1/inbox as the visitor's browser: with the token the collector gave it, unless told otherwise."""
    def get(anonymous_id="anon-1", token=None, **headers):
        if token is None:
            token = visitor_token.sign(app.config[SECRET_FROM], site["id"], anonymous_id)
        return client.get(f"/v1/inbox?writeKey={site['write_key']}&anonymousId={anonymous_id}&token={token}",
                          headers=headers, buffered=False)
    return get


def test_posted_message_is_delivered_as_an_sse_data_line(listen, redis):
    """A chat invitation posted for a shopper reaches their open page as an SSE data line."""
    entry_id = inbox.post(redis, "anon-1", {"type": "invite", "text": "Need a hand?"})
    response = listen(Origin="http://shop.test")
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.headers["Access-Control-Allow-Origin"] == "http://shop.test"
    assert first_data(response) == (entry_id, {"type": "invite", "text": "Need a hand?"})


def test_reconnecting_page_resumes_after_the_last_message_it_saw(listen, redis):
    """With Last-Event-ID, a page that reconnects gets only the messages it has not seen."""
    seen = inbox.post(redis, "anon-1", {"type": "invite", "text": "first"})
    newer = inbox.post(redis, "anon-1", {"type": "chat", "text": "second"})
    response = listen(**{"Last-Event-ID": seen})
    assert first_data(response) == (newer, {"type": "chat", "text": "second"})


def test_forged_last_event_id_is_ignored_not_an_error(listen, redis):
    """A Last-Event-ID that is no stream id falls back to the recent messages instead of breaking."""
    entry_id = inbox.post(redis, "anon-1", {"type": "invite", "text": "hello"})
    response = listen(**{"Last-Event-ID": "1-2-3"})
    assert first_data(response) == (entry_id, {"type": "invite", "text": "hello"})


def test_unknown_write_key_is_401(client, redis):
    """Listening with a write key no site has is refused with a JSON 401."""
    response = client.get("/v1/inbox?writeKey=wk_nobody&anonymousId=anon-1&token=x")
    assert response.status_code == 401 and response.json["error"] == "unknown write key"


def test_missing_anonymous_id_is_400(client, site):
    """Listening without an anonymousId is refused with a JSON 400 naming the field."""
    response = client.get(f"/v1/inbox?writeKey={site['write_key']}")
    assert response.status_code == 400 and response.json["error"].startswith("anonymousId: required")


def test_another_visitors_id_with_a_wrong_or_missing_token_reads_nothing(listen, redis):
    """Guessing a shopper's id is not enough: a wrong token is 403, none is 401, and no message is sent."""
    inbox.post(redis, "anon-1", {"type": "invite", "text": "private"})
    mine = visitor_token.sign("whatever", "site", "anon-2")
    for token, status, error in ((mine, 403, "token: not this visitor's token"), ("", 401, "token: required")):
        response = listen(token=token)
        assert response.status_code == status and response.json["error"].startswith(error)
        assert b"private" not in response.get_data()


def test_the_first_page_view_of_a_browser_is_answered_with_its_token_once(app, client, site):
    """The collector hands a browser's visitor its token with the first page view, and never again: who
    posts later with the same id (having guessed it) gets no token."""
    def page_view(anonymous_id):
        body = {"writeKey": site["write_key"], "batch": [{"type": "page", "anonymousId": anonymous_id}]}
        return client.post("/v1/batch", json=body, headers={"Origin": "http://shop.test"})

    first = page_view("anon-9")
    assert first.status_code == 200
    assert first.json == {"success": True, "token": visitor_token.sign(app.config[SECRET_FROM], site["id"], "anon-9")}
    assert page_view("anon-9").json == {"success": True}


def test_a_beacon_is_not_given_the_token_so_the_next_readable_batch_is(app, client, site):
    """sendBeacon's answer is never read: the token waits for the next batch the page can read."""
    body = {"writeKey": site["write_key"], "batch": [{"type": "page", "anonymousId": "anon-8"}]}
    beacon = client.post("/v1/batch", json=body, headers={"Origin": "http://shop.test", "Sec-Fetch-Mode": "no-cors"})
    assert beacon.json == {"success": True}
    fetched = client.post("/v1/batch", json=body, headers={"Origin": "http://shop.test", "Sec-Fetch-Mode": "cors"})
    assert fetched.json["token"] == visitor_token.sign(app.config[SECRET_FROM], site["id"], "anon-8")


def test_post_keeps_the_inbox_bounded_and_expiring(redis):
    """A shopper's inbox keeps at most 50 messages and expires when idle."""
    for i in range(60):
        inbox.post(redis, "anon-1", {"type": "chat", "text": str(i)})
    key = keys.inbox("anon-1")
    assert redis.xlen(key) == defaults.INBOX_LENGTH == 50
    assert 0 < redis.ttl(key) <= defaults.INBOX_TTL
