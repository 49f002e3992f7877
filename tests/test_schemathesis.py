"""Requests generated from the collector's published contract (GET /v1/openapi.json, tracker/openapi.py) by
schemathesis, sent in-process to the Flask app (WSGI) on the real embedded Redis, with a real write key so
that they get past authentication into validation: no request makes a 5xx, every refusal is a JSON error
that says what is wrong (tracker/errors.py), and every answer is one the document declares."""

import base64
from collections import Counter

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks

from tracker import stream

# Generated bodies are either valid against the schemas (positive) or break them on purpose (negative).
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
EXAMPLES = 260  # per operation and mode: 4 operations x 2 modes x 260 = 2,080 requests
LEAST = 2000  # requests the run must make in all: fewer means generation shrank without saying so
# schemathesis's own response checks: no 5xx, only documented statuses and content types, bodies that
# match the declared Success and Error schemas.
RESPONSE_CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
                   checks.response_schema_conformance]
OWN, FOREIGN = "http://shop.test", "https://elsewhere.example"  # the `site` fixture registers the first
ORIGINS = (None, OWN, FOREIGN)  # a server or a library sends none; a browser its page's


def _basic(write_key: str) -> str:
    return "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()


def test_generated_requests_never_make_a_server_error_and_every_refusal_is_a_json_error(app, redis, site):
    # 2,080 requests from one address within a minute: the rate limits (tests/test_collector.py covers
    # them) would turn most of them into 429s before validation.
    app.config.update(RATE_LIMIT_IP=0, RATE_LIMIT_SITE=0)
    schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", app)
    auth = _basic(site["write_key"])
    answers = Counter()  # (operation, mode, origin, status) -> requests
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {operation.label for operation in operations} == {
        "POST /v1/batch", "POST /v1/track", "POST /v1/page", "POST /v1/identify"}

    for operation in operations:
        for mode in MODES:
            # Each example is a request to the same app and Redis; deadline: the machine is shared, and
            # speed is measured in bench/, not here. The database would replay old failures across runs.
            @given(case=operation.as_strategy(generation_mode=mode), origin=st.sampled_from(ORIGINS))
            @settings(max_examples=EXAMPLES, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
            def send(case, origin):
                case.headers = {**(case.headers or {}), "Authorization": auth}
                if origin:
                    case.headers["Origin"] = origin
                response = case.call()
                answers[operation.label, mode.name, origin, response.status_code] += 1
                assert response.status_code < 500, response.text[:500]
                if response.status_code >= 400:
                    assert response.headers["content-type"][0].startswith("application/json"), response.text[:200]
                    body = response.json()
                    assert body["success"] is False and isinstance(body["error"], str) and body["error"].strip()
                    assert body["details"] and all(isinstance(line, str) for line in body["details"])
                case.validate_response(response, checks=RESPONSE_CHECKS)

            send()

    def made(label=None, mode=None, origin=(), status=None) -> int:
        return sum(n for (op, m, o, code), n in answers.items()
                   if label in (None, op) and mode in (None, m) and origin in ((), o) and status in (None, code))

    assert made() >= LEAST, answers
    for operation in operations:
        for mode in MODES:
            assert made(operation.label, mode.name) >= EXAMPLES * 0.9, (operation.label, mode.name, answers)
    # The write key was real: nothing was refused for it, so the requests were judged on their content;
    # a foreign page's were refused for its origin, and only theirs...
    assert made(status=401) == 0, answers
    assert made(status=403) == made(origin=FOREIGN, status=403) > 0, answers
    # ...and valid messages were stored, on the stream the scorer reads. (Not from /v1/batch: a generated batch
    # holds some message without anonymousId or userId, which the schema cannot say, or with a timestamp
    # that is no time.)
    for label in ("POST /v1/track", "POST /v1/page", "POST /v1/identify"):
        assert made(label, "POSITIVE", status=200) > 0, answers
    stored = sum(redis.xlen(key) for key in stream.all_keys(app.config["STREAM_SHARDS"]))
    assert stored > 0
