"""GET /v1/openapi.json (tracker/openapi.py): the collector's contract, from the wire schemas."""

import json

from tracker import collector


def test_every_collector_route_is_documented(app, client):
    """Each POST route of the collector, and no other, appears in the document with its request body and
    error answers."""
    spec = client.get("/v1/openapi.json").json
    posts = {rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/v1/") and "POST" in rule.methods}
    routes = set(collector.ROUTES) | posts
    assert routes == set(spec["paths"])
    for path in routes:
        operation = spec["paths"][path]["post"]
        assert "text/plain" in operation["requestBody"]["content"]
        assert {"200", "400", "401", "413", "429", "503"} <= set(operation["responses"])


def test_every_string_of_a_message_has_a_length_cap(client):
    """The published schema caps every string field, as the collector does."""
    message = client.get("/v1/openapi.json").json["components"]["schemas"]["Message"]["properties"]
    strings = {name: field for name, field in message.items() if field.get("type") == "string"}
    assert set(strings) >= {"anonymousId", "userId", "messageId", "event", "timestamp"}
    assert all("maxLength" in field or "enum" in field for field in strings.values())


def test_the_document_is_open(client):
    """No credentials are needed to read the contract."""
    assert client.get("/v1/openapi.json").status_code == 200


def test_a_browsers_first_batch_answers_as_documented(client, site):
    """A page's first batch gets the visitor's token with its success: the document declares it (schemathesis
    found the answer outside the published schema)."""
    success = client.get("/v1/openapi.json").json["components"]["schemas"]["Success"]
    answer = client.post("/v1/batch", data=json.dumps({"writeKey": site["write_key"], "batch": [
        {"type": "page", "anonymousId": "anon-new", "name": "Home"}]}), content_type="text/plain",
        headers={"Origin": "http://shop.test"})
    assert answer.status_code == 200 and "token" in answer.json
    assert set(answer.json) <= set(success["properties"])
