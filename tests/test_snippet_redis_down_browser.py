"""The snippet in real Chromium while the collector's Redis is down: the collector answers 503, the
snippet keeps its messages (in memory, or in sessionStorage for the next page) and retries with
backoff, and once Redis is back every message arrives exactly once.

This module has an embedded Redis of its own (it overrides redis_server, which the shared harness of
tests/test_snippet_pages.py builds on), so that stopping it leaves the other tests' server alone."""

import time
from collections import Counter

import pytest

from handrail.embedded_redis import EmbeddedRedis
from tests.test_snippet_delivery import numbers, track_many
from tests.test_snippet_pages import WAIT, collector, pages, shopper  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    """This module's own Redis, which the tests stop and start again."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis-down")).start()
    yield server
    server.stop()


def batches(shopper, status: int) -> list[dict]:
    """The batches the page posted that the collector answered with `status`."""
    found = []
    for request in shopper.requests:
        response = request.url.endswith("/v1/batch") and request.response()
        if response and response.status == status:
            found.append(request.post_data_json)
    return found


def refused(shopper, count: int) -> None:
    """Run the page's clock a second at a time until the collector has answered `count` of its
    batches 503 (Shopper.wait reads Redis, which is down)."""
    deadline = time.monotonic() + WAIT
    while len(batches(shopper, 503)) < count:
        assert time.monotonic() < deadline, f"waited {WAIT} s for {count} batches answered 503"
        shopper.run(1000)
        time.sleep(0.05)


def refused_while_down(shopper, redis_server, count: int) -> None:
    redis_server.stop()
    refused(shopper, count)


def assert_each_arrived_once(shopper, event: str, count: int) -> None:
    """Messages 1..count of `event` are in the streams once each, and no message went in two
    accepted batches: the snippet resent nothing the collector had taken."""
    shopper.wait_for(event, count)
    found = shopper.settle()
    assert numbers(shopper, event) == list(range(1, count + 1))
    assert [n for n in Counter(m["messageId"] for m in found).values() if n > 1] == []
    accepted = Counter(m["messageId"] for body in batches(shopper, 200) for m in body["batch"])
    assert [n for n in accepted.values() if n > 1] == []
    assert not shopper.errors


def test_what_is_sent_while_redis_is_down_arrives_once_when_it_is_back(shopper, redis_server):
    """Thirty events while Redis is down: the collector refuses them with 503, the page keeps them
    and retries; after Redis starts again each arrives once."""
    shopper.open("basic.html")
    shopper.settle()
    try:
        track_many(shopper, "Offline", 30)  # a full batch goes at once, the rest on the clock
        refused_while_down(shopper, redis_server, 3)
        assert any(m.get("event") == "Offline" for body in batches(shopper, 503) for m in body["batch"])
    finally:
        redis_server.start()
    assert_each_arrived_once(shopper, "Offline", 30)


def test_what_one_page_could_not_send_the_next_page_delivers_once(shopper, redis_server):
    """Redis is down while the shopper moves on to another page: what the first page could not
    deliver goes with them (sessionStorage) and arrives once, with the second page's view, when
    Redis is back."""
    shopper.open("basic.html")
    shopper.settle()
    try:
        track_many(shopper, "Offline", 5)
        refused_while_down(shopper, redis_server, 1)
        shopper.follow("#to-form", "form.html")
        refused(shopper, len(batches(shopper, 503)) + 1)
    finally:
        redis_server.start()
    assert_each_arrived_once(shopper, "Offline", 5)
    views = [m["properties"]["path"] for m in shopper.messages() if m["type"] == "page"]
    assert views == ["/basic.html", "/form.html"]
