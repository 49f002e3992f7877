"""The collector (tracker/collector.py): the Segment HTTP Tracking API shape, all of a request or nothing."""

import gzip
import http.client
import json
from datetime import datetime
from urllib.parse import urlsplit

import pytest

from tracker import defaults, stream

SHARDS = 4  # the app's STREAM_SHARDS


def stored(redis) -> list[dict]:
    """Every message in the event stream shards, as the scorer will read it."""
    messages = []
    for key in stream.all_keys(SHARDS):
        for _, fields in redis.xrange(key):
            messages.append(json.loads(fields[b"m"]))
    return messages


def track(event="Product Viewed", **extra) -> dict:
    return {"type": "track", "anonymousId": "anon-1", "event": event, "messageId": "m-1", **extra}


def post_text(client, path, body, **kwargs):
    """Post the way the browser snippet does: a JSON text with Content-Type text/plain."""
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(path, data=data, content_type="text/plain", **kwargs)


def test_batch_with_write_key_in_text_plain_body_lands_in_stream(client, redis, site):
    """A text/plain batch carrying writeKey is accepted and every message lands in the streams."""
    body = {
        "writeKey": site["write_key"],
        "sentAt": "2026-11-23T10:00:01Z",
        "batch": [
            track("Product Added", properties={"price": 20}, timestamp="2026-11-23T10:00:00Z"),
            {"type": "page", "anonymousId": "anon-1", "name": "Cart", "messageId": "m-2"},
        ],
    }
    response = post_text(client, "/v1/batch", body)
    assert response.status_code == 200 and response.json == {"success": True}
    messages = sorted(stored(redis), key=lambda m: m["messageId"])
    assert [m["type"] for m in messages] == ["track", "page"]
    assert messages[0]["event"] == "Product Added" and messages[0]["properties"] == {"price": 20}
    assert all(m["sentAt"] == "2026-11-23T10:00:01Z" and isinstance(m["receivedAt"], int) for m in messages)


def test_stream_entries_carry_the_site_id(client, redis, site):
    """Each stream entry names the site whose write key sent it."""
    post_text(client, "/v1/batch", {"writeKey": site["write_key"], "batch": [track()]})
    entries = [e for key in stream.all_keys(SHARDS) for e in redis.xrange(key)]
    assert [fields[b"site"].decode() for _, fields in entries] == [site["id"]]


def test_http_basic_auth_with_write_key_as_user_name(client, redis, site):
    """A Segment library's HTTP Basic auth (write key as user, empty password) is accepted."""
    response = client.post(
        "/v1/batch", json={"batch": [track()]}, auth=(site["write_key"], "")
    )
    assert response.status_code == 200
    assert [m["event"] for m in stored(redis)] == ["Product Viewed"]


@pytest.mark.parametrize("path,body,expected", [
    ("/v1/track", {"anonymousId": "a", "event": "Cart Viewed"}, ("track", "Cart Viewed")),
    ("/v1/page", {"anonymousId": "a", "name": "Home"}, ("page", None)),
    ("/v1/identify", {"userId": "u-7", "traits": {"name": "Ada"}}, ("identify", None)),
])
def test_single_message_endpoints_store_the_message_as_the_path_says(client, redis, site, path, body, expected):
    """/v1/track, /v1/page and /v1/identify each store one message of the type the path names."""
    response = post_text(client, path, dict(body, writeKey=site["write_key"]))
    assert response.status_code == 200 and response.json == {"success": True}
    (message,) = stored(redis)
    assert (message["type"], message.get("event")) == expected
    assert "writeKey" not in message


def test_batch_context_applies_to_messages_without_their_own(client, redis, site):
    """A batch-level context is given to messages that carry none."""
    body = {"writeKey": site["write_key"], "context": {"page": {"path": "/cart"}}, "batch": [track()]}
    post_text(client, "/v1/batch", body)
    assert stored(redis)[0]["context"] == {"page": {"path": "/cart"}}


def assert_refused(response, status: int, *words: str):
    """A 4xx whose JSON body says what is wrong (each of ``words`` appears in the error)."""
    assert response.status_code == status, response.data
    body = response.get_json()
    assert body["success"] is False
    for word in words:
        assert word in body["error"], body


def test_malformed_json_is_400_and_nothing_is_stored(client, redis, site):
    """A body that is not JSON gets a 400 saying so, and nothing is stored."""
    response = post_text(client, "/v1/batch", '{"writeKey": "x", "batch": [')
    assert_refused(response, 400, "body", "malformed JSON")
    assert stored(redis) == []


@pytest.mark.parametrize("value", ["NaN", "Infinity", '"\\ud800"'])
def test_json_outside_the_standard_is_400(client, redis, site, value):
    """NaN, Infinity and a lone surrogate are not JSON (RFC 8259): refused, not stored half-understood."""
    body = '{"writeKey": "%s", "batch": [{"type": "track", "event": "x", "anonymousId": "a", "properties": {"v": %s}}]}'
    assert_refused(post_text(client, "/v1/batch", body % (site["write_key"], value)), 400, "malformed JSON")
    assert stored(redis) == []


def test_body_that_is_not_an_object_is_400(client, redis, site):
    """A JSON array as the body is refused with a 400 naming the body."""
    assert_refused(post_text(client, "/v1/batch", "[1, 2]"), 400, "body", "JSON object")


def test_second_message_without_ids_refuses_the_whole_batch(client, redis, site):
    """A bad second message is named by position, and the good first message is not stored either."""
    bad = {"type": "track", "event": "Product Viewed"}
    response = post_text(client, "/v1/batch", {"writeKey": site["write_key"], "batch": [track(), bad]})
    assert_refused(response, 400, "batch[1].anonymousId", "anonymousId or userId is required")
    assert all(not line.startswith("batch[0]") for line in response.json["details"])
    assert stored(redis) == []


def test_every_error_of_a_batch_is_reported(client, redis, site):
    """Errors in several messages are all listed in details, each with its place."""
    batch = [{"type": "track", "anonymousId": "a"}, track(), {"type": "shout", "anonymousId": "a"}]
    response = post_text(client, "/v1/batch", {"writeKey": site["write_key"], "batch": batch})
    details = response.json["details"]
    assert any(line.startswith("batch[0].event:") for line in details)
    assert any(line.startswith("batch[2].type:") for line in details)
    assert stored(redis) == []


def test_unknown_write_key_is_401(client, redis, site):
    """A write key no site has is refused with 401, and nothing is stored."""
    response = post_text(client, "/v1/batch", {"writeKey": "wk_nobody", "batch": [track()]})
    assert_refused(response, 401, "unknown write key")
    assert stored(redis) == []


def test_missing_write_key_is_401_saying_how_to_send_it(client, redis):
    """No write key at all gets a 401 that explains the two ways to send one."""
    response = post_text(client, "/v1/batch", {"batch": [track()]})
    assert_refused(response, 401, "write key missing", "writeKey")


def test_body_over_500_kb_is_413_json(client, redis, site):
    """A request body over 500 KB is refused with a JSON 413 naming the limit."""
    padding = "x" * (defaults.MAX_BATCH_BYTES + 1)
    response = post_text(client, "/v1/batch", {"writeKey": site["write_key"], "batch": [track()], "pad": padding})
    assert_refused(response, 413, "body", str(defaults.MAX_BATCH_BYTES))
    assert stored(redis) == []


def test_more_than_500_messages_is_400(client, redis, site):
    """A batch of 501 messages is refused with a 400 naming the batch, nothing stored."""
    batch = [track(messageId=f"m-{i}") for i in range(defaults.MAX_BATCH_MESSAGES + 1)]
    response = post_text(client, "/v1/batch", {"writeKey": site["write_key"], "batch": batch})
    assert_refused(response, 400, "batch")
    assert stored(redis) == []


def test_empty_batch_is_400(client, redis, site):
    """A batch with no messages is refused with a 400 naming the batch."""
    assert_refused(post_text(client, "/v1/batch", {"writeKey": site["write_key"], "batch": []}), 400, "batch")


def test_message_over_32_kb_is_400_with_its_size(client, redis, site):
    """A message over 32 KB is refused by position with its size and the limit, nothing stored."""
    big = track(properties={"note": "y" * defaults.MAX_MESSAGE_BYTES})
    response = post_text(client, "/v1/batch", {"writeKey": site["write_key"], "batch": [track(), big]})
    assert_refused(response, 400, "batch[1]", str(defaults.MAX_MESSAGE_BYTES))
    assert stored(redis) == []


def test_track_without_event_is_400(client, redis, site):
    """A track message with no event name is refused, naming the event field."""
    response = post_text(client, "/v1/track", {"writeKey": site["write_key"], "anonymousId": "a"})
    assert_refused(response, 400, "body.event", "needs an event name")
    assert stored(redis) == []


def test_bad_timestamp_is_400_showing_the_expected_form(client, redis, site):
    """A timestamp that is not ISO 8601 is refused with an example of the right form."""
    response = post_text(client, "/v1/batch", {
        "writeKey": site["write_key"], "batch": [track(timestamp="yesterday at noon")],
    })
    assert_refused(response, 400, "batch[0].timestamp", "ISO 8601", "yesterday at noon")
    assert stored(redis) == []


def test_overlong_anonymous_id_is_400(client, redis, site):
    """An anonymousId over the length cap is refused, naming the field."""
    response = post_text(client, "/v1/batch", {
        "writeKey": site["write_key"], "batch": [track(anonymousId="a" * (defaults.MAX_ID + 1))],
    })
    assert_refused(response, 400, "batch[0].anonymousId")
    assert stored(redis) == []


@pytest.mark.parametrize("field, value", [
    ("anonymousId", "anon\x1b[2J"),  # an escape sequence that clears a terminal
    ("userId", "user\n2026-12-03 INFO forged log line"),
    ("messageId", "m\x00-1"),
    ("anonymousId", "anon\x85"),  # a C1 control: a line break to some readers
])
def test_an_id_with_a_control_character_is_400_naming_where(client, redis, site, field, value):
    """A control character in an id is refused, saying which one and where it is; nothing is stored."""
    response = post_text(client, "/v1/batch", {"writeKey": site["write_key"], "batch": [track(), track(**{field: value})]})
    position = next(n for n, c in enumerate(value) if ord(c) < 32 or 127 <= ord(c) < 160) + 1
    assert_refused(response, 400, f"batch[1].{field}", "control characters", f"U+{ord(value[position - 1]):04X}",
                   f"at character {position}")
    assert stored(redis) == []


def test_ids_of_any_printable_text_are_taken(client, redis, site):
    """Emoji, accents, spaces and symbols are not control characters: such ids are stored as sent."""
    message = track(anonymousId="anon 👩‍💻 é", userId="ada@example.com", messageId="m:1/€")
    assert post_text(client, "/v1/batch", {"writeKey": site["write_key"], "batch": [message]}).status_code == 200
    assert [(m["anonymousId"], m["userId"], m["messageId"]) for m in stored(redis)] == [
        ("anon 👩‍💻 é", "ada@example.com", "m:1/€")]


def test_preflight_lets_a_browser_post_json(client, site):
    """An OPTIONS preflight is answered so that a JSON or authorised POST may follow."""
    answer = client.options("/v1/batch", headers={"Origin": "http://shop.test", "Access-Control-Request-Method": "POST"})
    assert answer.status_code == 204
    assert "POST" in answer.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in answer.headers["Access-Control-Allow-Headers"]


def test_a_page_of_another_origin_is_refused_and_told_so(client, redis, site):
    """A write key used on a page of an origin the site did not register: 403, readable by the page
    (so the snippet stops resending), and nothing stored."""
    answer = post_text(client, "/v1/batch", {"writeKey": site["write_key"], "batch": [track()]},
                       headers={"Origin": "http://evil.test"})
    assert_refused(answer, 403, "http://evil.test", "http://shop.test")
    assert answer.headers["Access-Control-Allow-Origin"] == "http://evil.test"
    assert stored(redis) == []


def test_the_sites_own_pages_can_read_every_answer(client, redis, site):
    """Accepted, refused and unknown-key answers all carry CORS for the page's origin."""
    origin = {"Origin": "http://shop.test"}
    ok = post_text(client, "/v1/batch", {"writeKey": site["write_key"], "batch": [track()]}, headers=origin)
    bad = post_text(client, "/v1/batch", {"writeKey": site["write_key"], "batch": [{"type": "x"}]}, headers=origin)
    unknown = post_text(client, "/v1/batch", {"writeKey": "wk_nobody", "batch": [track()]}, headers=origin)
    assert [a.status_code for a in (ok, bad, unknown)] == [200, 400, 401]
    assert all(a.headers["Access-Control-Allow-Origin"] == "http://shop.test" for a in (ok, bad, unknown))
    assert len(stored(redis)) == 1


def test_a_site_without_origins_takes_any_page(client, redis):
    """A site registered with no origins is open to every page, as Segment's write keys are."""
    from tracker import sites

    open_site = sites.create(redis, "Open", [])
    answer = post_text(client, "/v1/batch", {"writeKey": open_site["write_key"], "batch": [track()]},
                       headers={"Origin": "http://anywhere.test"})
    assert answer.status_code == 200 and answer.headers["Access-Control-Allow-Origin"] == "http://anywhere.test"


def test_a_resent_message_id_is_stored_once(client, redis, site):
    """A client that resends a batch (same messageIds) does not store its messages twice."""
    body = {"writeKey": site["write_key"], "batch": [track(messageId="m-1"), track(messageId="m-2")]}
    assert post_text(client, "/v1/batch", body).status_code == 200
    assert post_text(client, "/v1/batch", body).status_code == 200
    assert sorted(m["messageId"] for m in stored(redis)) == ["m-1", "m-2"]


def test_a_message_without_message_id_gets_one(client, redis, site):
    """A message sent without a messageId is stored with one the collector made."""
    message = track()
    message.pop("messageId", None)
    assert post_text(client, "/v1/batch", {"writeKey": site["write_key"], "batch": [message]}).status_code == 200
    assert len(stored(redis)[0]["messageId"]) == 36


def test_clock_skew_is_corrected_from_sent_at(client, redis, site):
    """A browser clock an hour fast: the event time is moved to the server's clock, as Segment does."""
    body = {"writeKey": site["write_key"], "sentAt": "2030-01-01T11:00:10Z",
            "batch": [track(timestamp="2030-01-01T11:00:00Z")]}
    assert post_text(client, "/v1/batch", body).status_code == 200
    message = stored(redis)[0]
    corrected = datetime.fromisoformat(message["timestamp"].replace("Z", "+00:00")).timestamp() * 1000
    assert message["originalTimestamp"] == "2030-01-01T11:00:00Z"
    assert abs(corrected - (message["receivedAt"] - 10_000)) < 2


def test_revoked_write_key_is_401_saying_so(client, redis, site, admin):
    """After DELETE /api/sites/<id>, the site's key is refused with a message that says it was revoked."""
    assert client.delete(f"/api/sites/{site['id']}", headers=admin).status_code == 200
    response = post_text(client, "/v1/batch", {"writeKey": site["write_key"], "batch": [track()]})
    assert_refused(response, 401, "revoked")
    assert stored(redis) == []


def test_gzip_bodies_are_accepted(client, redis, site):
    """Segment and RudderStack libraries may gzip their batches."""
    body = gzip.compress(json.dumps({"writeKey": site["write_key"], "batch": [track()]}).encode())
    response = client.post("/v1/batch", data=body, headers={"Content-Encoding": "gzip"})
    assert response.status_code == 200 and len(stored(redis)) == 1


def test_gzip_bomb_is_413(client, redis, site):
    """A small gzip body that unpacks past the 500 KB limit is refused, and nothing is stored."""
    padding = " " * (defaults.MAX_BATCH_BYTES + 10)
    body = gzip.compress(json.dumps({"writeKey": site["write_key"], "batch": [track()], "pad": padding}).encode())
    response = client.post("/v1/batch", data=body, headers={"Content-Encoding": "gzip"})
    assert_refused(response, 413, "once unpacked")
    assert stored(redis) == []


def test_per_ip_rate_limit_is_429_with_retry_after(app, client, redis, site):
    """Past the per-IP limit, requests are refused with 429 and Retry-After; nothing more is stored."""
    app.config["RATE_LIMIT_IP"] = 3
    answers = [post_text(client, "/v1/batch", {"writeKey": site["write_key"], "batch": [track(messageId=f"m-{i}")]})
               for i in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    assert "ip" in answers[-1].json["error"]
    assert len(stored(redis)) == 3


def test_per_site_rate_limit_counts_messages(app, client, redis, site):
    """The per-site limit counts messages, so one big batch over it is refused whole."""
    app.config["RATE_LIMIT_SITE"] = 10
    small = post_text(client, "/v1/batch", {"writeKey": site["write_key"],
                                            "batch": [track(messageId=f"s-{i}") for i in range(4)]})
    big = post_text(client, "/v1/batch", {"writeKey": site["write_key"],
                                          "batch": [track(messageId=f"b-{i}") for i in range(7)]})
    assert small.status_code == 200 and big.status_code == 429 and "site" in big.json["error"]
    assert len(stored(redis)) == 4


@pytest.mark.parametrize("properties, complaint", [
    ({"note": "x" * (defaults.MAX_STRING + 1)}, f"the limit is {defaults.MAX_STRING}"),
    ({f"k{i}": 1 for i in range(defaults.MAX_KEYS + 1)}, f"the limit is {defaults.MAX_KEYS}"),
    ({"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": 1}}}}}}}}, "nested deeper"),
])
def test_properties_are_bounded_in_length_keys_and_depth(client, redis, site, properties, complaint):
    """Free-form properties are capped too: the error names the field and the limit."""
    response = post_text(client, "/v1/batch", {"writeKey": site["write_key"], "batch": [track(properties=properties)]})
    assert_refused(response, 400, "batch[0].properties", complaint)
    assert stored(redis) == []


def test_a_browser_messages_user_agent_comes_from_its_request(client, redis, site):
    """The snippet saves bytes by not sending the user agent: a browser's request header fills it in,
    and a message that names its own is left as it is."""
    headers = {"Origin": "http://shop.test", "User-Agent": "Mozilla/5.0 (Test)"}
    own = track(messageId="m-2", context={"userAgent": "Own/1.0"})
    post_text(client, "/v1/batch", {"writeKey": site["write_key"], "batch": [track(), own]}, headers=headers)
    agents = sorted(m["context"]["userAgent"] for m in stored(redis))
    assert agents == ["Mozilla/5.0 (Test)", "Own/1.0"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_a_method_other_than_post_is_405_naming_post(client, redis, site, method):
    """The collector's routes take POST (and the browser's OPTIONS): anything else is a JSON 405 saying so."""
    response = client.open("/v1/track", method=method, headers={"Origin": "http://shop.test"})
    assert_refused(response, 405, "POST")
    assert response.headers["Allow"] == "POST, OPTIONS"
    assert response.headers["Access-Control-Allow-Origin"] == "http://shop.test"


def _chunked(live_server: str, body: bytes, chunk: int = 4096) -> tuple[int, dict]:
    """POST /v1/batch over real HTTP with Transfer-Encoding: chunked (no Content-Length), as a streaming
    server library may send it."""
    address = urlsplit(live_server)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    pieces = (body[i:i + chunk] for i in range(0, len(body), chunk))
    connection.request("POST", "/v1/batch", body=pieces, headers={"Content-Type": "application/json"},
                       encode_chunked=True)
    answer = connection.getresponse()
    status, payload = answer.status, json.loads(answer.read())
    connection.close()
    return status, payload


def test_a_chunked_body_is_read_to_its_end(live_server, redis, site):
    """A body sent in chunks, with no Content-Length, is read whole: all 40 messages are stored."""
    batch = [track(messageId=f"m-{i}", properties={"note": "x" * 500}) for i in range(40)]
    status, payload = _chunked(live_server, json.dumps({"writeKey": site["write_key"], "batch": batch}).encode())
    assert (status, payload) == (200, {"success": True})
    assert len(stored(redis)) == 40


def test_a_chunked_body_over_500_kb_is_413(live_server, redis, site):
    """Without a Content-Length to refuse on, the limit holds while the chunks are read."""
    padding = "x" * (defaults.MAX_BATCH_BYTES + 1)
    body = json.dumps({"writeKey": site["write_key"], "batch": [track()], "pad": padding}).encode()
    status, payload = _chunked(live_server, body)
    assert status == 413 and str(defaults.MAX_BATCH_BYTES) in payload["error"]
    assert stored(redis) == []
