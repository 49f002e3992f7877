"""The collector with Redis unreachable: a 503 with a JSON error and Retry-After that a browser may
read, never a hang, nothing half-stored, and back to 200 by itself once Redis returns. Each test has
a real embedded Redis of its own, so that stopping it leaves the other tests' server alone."""

import json
import os
import signal
import socket

import pytest
import redis as redis_lib

from handrail.app import create_app
from handrail.embedded_redis import EmbeddedRedis
from tracker import sites, stream

SHARDS = 4  # the app's STREAM_SHARDS
ORIGIN = "http://shop.test"
ROUTES = ["/v1/batch", "/v1/track", "/v1/page", "/v1/identify"]


@pytest.fixture
def own_redis(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def collector(own_redis):
    app = create_app({"REDIS_URL": own_redis.url, "ADMIN_TOKEN": "t", "TESTING": True})
    yield app.test_client()
    app.extensions["redis"].close()
    app.extensions["redis_streaming"].close()


@pytest.fixture
def write_key(own_redis):
    connection = redis_lib.Redis.from_url(own_redis.url)
    yield sites.create(connection, "Shop", [ORIGIN])["write_key"]
    connection.close()


def body(route: str, write_key: str, message_id: str = "m-1") -> str:
    message = {"type": "track", "event": "Product Viewed", "anonymousId": "anon-1", "messageId": message_id}
    if route == "/v1/batch":
        return json.dumps({"writeKey": write_key, "batch": [message]})
    return json.dumps({"writeKey": write_key, **message})


def post(client, route: str, write_key: str, message_id: str = "m-1"):
    """As the snippet posts: text/plain, from a page of the shop's origin."""
    return client.post(route, data=body(route, write_key, message_id), content_type="text/plain",
                       headers={"Origin": ORIGIN})


def assert_unavailable(answer) -> None:
    """The 503 the snippet retries on: JSON that says so, a Retry-After, readable by the shop's page."""
    assert answer.status_code == 503
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json["success"] is False and answer.json["code"] == "unavailable"
    assert "unavailable" in answer.json["error"]
    assert int(answer.headers["Retry-After"]) >= 1
    assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN


def stored(redis_url: str) -> list[str]:
    connection = redis_lib.Redis.from_url(redis_url)
    try:
        return [json.loads(fields[b"m"])["messageId"]
                for key in stream.all_keys(SHARDS) for _, fields in connection.xrange(key)]
    finally:
        connection.close()


def free_port() -> int:
    """A loopback port nothing listens on (bound, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("route", ROUTES)
def test_redis_stopped_under_a_running_collector_is_a_503(collector, own_redis, write_key, route):
    """The collector was serving (its connections open, the site in its cache) when Redis stopped:
    every route answers 503 with a JSON error."""
    assert post(collector, route, write_key, "before").status_code == 200
    own_redis.stop()
    assert_unavailable(post(collector, route, write_key, "during"))


def test_nothing_listening_on_the_redis_port_is_a_503(write_key):
    """A REDIS_URL whose port has nothing behind it: the collector answers 503 to every route, and
    /healthz says why."""
    app = create_app({"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0", "ADMIN_TOKEN": "t", "TESTING": True})
    client = app.test_client()
    for route in ROUTES:
        assert_unavailable(post(client, route, write_key))
    health = client.get("/healthz")
    assert health.status_code == 503 and "redis" in health.json["error"]


def test_the_collector_recovers_by_itself_once_redis_is_back(collector, own_redis, write_key):
    """Redis stops and starts again (same data): the same collector, not restarted, takes events
    again; what it refused meanwhile was not stored, what it accepted before was kept."""
    assert post(collector, "/v1/batch", write_key, "before").status_code == 200
    own_redis.stop()
    assert_unavailable(post(collector, "/v1/batch", write_key, "during"))
    own_redis.start()
    assert post(collector, "/v1/batch", write_key, "after").status_code == 200
    assert sorted(stored(own_redis.url)) == ["after", "before"]


def test_a_redis_that_hangs_is_a_503_not_a_hung_request(collector, own_redis, write_key):
    """A Redis that takes connections but never answers (its process stopped): the collector gives
    up after its socket timeout and answers 503 rather than hold the request; once Redis runs again,
    the next request is accepted."""
    assert post(collector, "/v1/batch", write_key, "before").status_code == 200
    os.kill(own_redis.process.pid, signal.SIGSTOP)
    try:
        assert_unavailable(post(collector, "/v1/batch", write_key, "during"))
    finally:
        os.kill(own_redis.process.pid, signal.SIGCONT)
    assert post(collector, "/v1/batch", write_key, "after").status_code == 200
    assert "after" in stored(own_redis.url)
