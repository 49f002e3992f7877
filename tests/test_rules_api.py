"""GET and PUT /api/rules (rules/api.py): the rules in force, replaced only by a valid document."""

from pathlib import Path

SHIPPED = (Path(__file__).resolve().parent.parent / "rules.yaml").read_text(encoding="utf-8")

ONE_RULE = "rules:\n  - id: big-cart\n    when: {cart_value: {over: 500}}\n    action: {channel: chat}\n"


def put(client, headers, text: str):
    return client.put("/api/rules", data=text.encode(), content_type="application/yaml", headers=headers)


def test_no_rules_yet(client, admin):
    """Before any rules are saved, GET shows version 0 and no rules."""
    assert client.get("/api/rules", headers=admin).json == {"version": 0, "yaml": "", "rules": []}


def test_valid_put_returns_rule_ids_and_bumps_the_version(client, admin):
    """A valid document is saved: the answer lists its rule ids, and each save is a new version."""
    first = put(client, admin, SHIPPED)
    assert first.status_code == 200
    assert first.json == {"version": 1, "rules": ["stuck-at-payment", "big-cart-payment-trouble", "long-on-payment",
                                                  "shipping-form-trouble", "gone-quiet-with-a-cart"]}
    second = put(client, admin, ONE_RULE)
    assert second.json == {"version": 2, "rules": ["big-cart"]}


def test_get_shows_the_document_in_force(client, admin):
    """GET returns the saved YAML text as written, its version and its rule ids."""
    put(client, admin, ONE_RULE)
    assert client.get("/api/rules", headers=admin).json == {"version": 1, "yaml": ONE_RULE, "rules": ["big-cart"]}


def test_invalid_put_is_422_with_lines_and_changes_nothing(client, admin):
    """An invalid document is refused with rules.yaml:LINE errors, and the rules in force stay as they were."""
    put(client, admin, ONE_RULE)
    bad = "rules:\n  - id: a\n    when:\n      count: {event: X, within: 5 minutes}\n    action: {channel: pigeon}\n"
    response = put(client, admin, bad)
    assert response.status_code == 422
    assert "unchanged" in response.json["error"]
    within, channel = response.json["errors"]
    assert within == "rules.yaml:4: 'within' must be a duration like 5m, got '5 minutes'"
    assert channel.startswith("rules.yaml:5: 'channel' must be one of chat, ") and channel.endswith("got 'pigeon'")
    assert client.get("/api/rules", headers=admin).json == {"version": 1, "yaml": ONE_RULE, "rules": ["big-cart"]}


def test_yaml_syntax_error_is_422(client, admin):
    """A document that is not YAML is refused with its line, like any other error."""
    response = put(client, admin, "rules: [\n")
    assert response.status_code == 422
    assert response.json["errors"][0].startswith("rules.yaml:2: not valid YAML")


def test_body_that_is_not_utf8_is_400(client, admin):
    """Bytes that are not UTF-8 are refused with a 400 saying so."""
    response = client.put("/api/rules", data=b"rules: [\xff]\n", headers=admin)
    assert response.status_code == 400 and "UTF-8" in response.json["error"]


def test_without_token_is_401_and_nothing_changes(client, admin):
    """Reading or replacing the rules without the admin token is 401, and a refused PUT saves nothing."""
    assert client.get("/api/rules").status_code == 401
    assert put(client, {}, ONE_RULE).status_code == 401
    assert client.get("/api/rules", headers=admin).json["version"] == 0


def test_a_document_over_256_kb_is_413_and_changes_nothing(client, admin):
    """The size limit of a rules document: refused with the sizes, the rules in force unchanged."""
    put(client, admin, ONE_RULE)
    response = put(client, admin, ONE_RULE + "# " + "x" * 256 * 1024)
    assert response.status_code == 413
    assert response.json["error"] == f"the document is {len(ONE_RULE) + 2 + 256 * 1024} bytes, the limit is 262144"
    assert client.get("/api/rules", headers=admin).json["version"] == 1
