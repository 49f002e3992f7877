"""POST /api/rules/replay and GET /api/rules/replay/<id> (scorer/replay_api.py): a draft checked at once,
then replayed in the background by a real RQ worker of the replay queue, never the dispatch worker's."""

import json
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest
from rq import Queue
from rq.serializers import JSONSerializer

from dispatch import keys as dispatch_keys
from scorer import keys, replay_api
from tests.service import ROOT, Service
from scorer.consumer import now_ms
from tests.test_replay import HOUR, STUCK, recorder, stuck


@pytest.fixture
def record(redis):
    return recorder(redis)


def post(client, headers, body):
    return client.post("/api/rules/replay", data=json.dumps(body), content_type="application/json", headers=headers)


def work(redis_url: str, queue: str) -> None:
    """A real RQ worker on ``queue`` that does what is queued there, then exits."""
    subprocess.run([sys.executable, "-m", "rq.cli", "worker", "--burst", "--url", redis_url, "--serializer", "json",
                    queue], cwd=ROOT, check=True, timeout=60, capture_output=True)


def test_an_invalid_draft_is_422_with_its_lines_and_nothing_is_queued(client, admin, redis):
    """Errors as PUT /api/rules gives them (rules.yaml:LINE: ...), and no replay starts."""
    bad = "rules:\n  - id: a\n    when:\n      count: {event: X, within: 5 minutes}\n    action: {channel: pigeon}\n"
    response = post(client, admin, {"yaml": bad, "since": "24h"})
    assert response.status_code == 422 and "nothing was replayed" in response.json["error"]
    assert response.json["errors"] and all(line.startswith("rules.yaml:") for line in response.json["errors"])
    assert any("'within' must be a duration" in line for line in response.json["errors"])
    assert replay_api.queue(redis).count == 0


@pytest.mark.parametrize("body, where", [
    ("not json", "body:"), ({"since": "24h"}, "yaml:"), ({"yaml": STUCK, "since": "yesterday"}, "since:"),
    ({"yaml": STUCK, "since": 24}, "since:"), ({"yaml": STUCK, "agents": -1}, "agents:"),
])
def test_a_bad_request_is_400_saying_what_is_wrong(client, admin, redis, body, where):
    """Each mistake is named by the field it is in; nothing is queued."""
    data = body if isinstance(body, str) else json.dumps(body)
    response = client.post("/api/rules/replay", data=data, content_type="application/json", headers=admin)
    assert response.status_code == 400 and response.json["error"].startswith(where)
    assert replay_api.queue(redis).count == 0


def test_without_the_token_is_401(client, redis):
    assert post(client, {}, {"yaml": STUCK}).status_code == 401
    assert client.get(f"/api/rules/replay/{uuid.uuid4().hex}").status_code == 401


def test_a_replay_runs_on_the_replay_worker_and_reports_progress_and_its_result(client, admin, redis, redis_server,
                                                                                 record):
    """202 with the replay's id and where to follow it; queued (with how many sessions it will
    replay) until the replay worker takes it, which the dispatch worker never does; then finished
    with the result."""
    at = now_ms() - 2 * HOUR
    record(stuck("anon-stuck", at) + stuck("anon-once", at, failures=1))
    started = post(client, admin, {"yaml": STUCK, "since": "3h"})
    assert started.status_code == 202
    replay_id = started.json["id"]
    assert started.json == {"id": replay_id, "status": "queued", "url": f"/api/rules/replay/{replay_id}"}
    assert started.headers["Location"] == started.json["url"]
    queued = client.get(started.json["url"], headers=admin).json
    assert queued == {"id": replay_id, "status": "queued", "progress": {"done": 0, "total": 2}, "result": None,
                      "error": None}
    work(redis_server.url, dispatch_keys.QUEUE)
    assert client.get(started.json["url"], headers=admin).json["status"] == "queued"
    work(redis_server.url, keys.REPLAY_QUEUE)
    finished = client.get(started.json["url"], headers=admin).json
    assert (finished["status"], finished["progress"], finished["error"]) == ("finished", {"done": 2, "total": 2}, None)
    result = finished["result"]
    assert result["sessions"] == 2 and result["agents_on_shift"] == 0
    assert result["rules"][0]["fired"] == 1 and result["rules"][0]["moments"][0]["session"] == "anon-stuck"


def test_a_replay_that_fails_says_why(client, admin, redis, redis_server, record):
    """A replay that breaks in the worker is failed, with the error's last line."""
    at = now_ms() - 2 * HOUR
    record(stuck("anon-stuck", at))
    started = post(client, admin, {"yaml": STUCK, "since": "3h"})
    for shard in range(4):  # an index that is no longer a sorted set: every read of it fails
        redis.delete(keys.recorded(shard))
        redis.set(keys.recorded(shard), "broken")
    work(redis_server.url, keys.REPLAY_QUEUE)
    failed = client.get(started.json["url"], headers=admin).json
    assert failed["status"] == "failed" and failed["result"] is None and "WRONGTYPE" in failed["error"]


def test_an_unknown_replay_or_a_job_of_another_queue_is_404(client, admin, redis):
    assert client.get(f"/api/rules/replay/{uuid.uuid4().hex}", headers=admin).status_code == 404
    other = Queue(dispatch_keys.QUEUE, connection=redis, serializer=JSONSerializer).enqueue("os.getpid")
    response = client.get(f"/api/rules/replay/{other.id}", headers=admin)
    assert response.status_code == 404 and "No replay" in response.json["error"]
    assert client.get("/api/rules/replay/" + "x" * 500, headers=admin).status_code == 404


def test_handrail_run_serves_replays_with_its_own_worker(tmp_path):
    """Under `handrail run`: a stuck shopper's events go through the collector and the scorer, which
    records them, and a replay asked for over the API finishes with that shopper found."""
    service = Service(tmp_path / "var").start()

    def send(path: str, body: dict, content_type: str = "application/json") -> dict:
        request = urllib.request.Request(service.url + path, data=json.dumps(body).encode(), headers={
            "Authorization": f"Bearer {service.token}", "Content-Type": content_type})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.load(answer)

    try:
        assert keys.REPLAY_QUEUE in " ".join(" ".join(p.cmdline()) for p in service.descendants())
        site = send("/api/sites", {"name": "Shop"})
        batch = [{name: value for name, value in message.items() if name != "receivedAt"}
                 for message in stuck("anon-e2e", now_ms() - 5 * 60_000)]
        send("/v1/batch", {"writeKey": site["write_key"], "batch": batch}, "text/plain")
        deadline, answer = time.monotonic() + 30, None
        while time.monotonic() < deadline and not (answer and answer["status"] == "finished"
                                                   and answer["result"]["sessions"]):
            if answer is None or answer["status"] == "finished":  # none yet, or before the scorer recorded it
                started = send("/api/rules/replay", {"yaml": STUCK, "since": "1h"})
            time.sleep(0.3)
            answer = service.api(started["url"])
        assert answer["status"] == "finished", answer
        assert answer["result"]["rules"][0]["moments"][0]["session"] == "anon-e2e"
    finally:
        service.stop()



def test_the_outreach_rules_of_a_draft_are_replayed_on_the_customers_too(client, admin, redis, redis_server, site):
    """The rules page's replay also tells how many customers each outreach rule would have reached: the cart
    left two days ago, not the one left a month ago."""
    from tests.test_outreach import RULES as WITH_OUTREACH, cart_left_days_ago

    for user, days in (("u-1", 2), ("u-2", 30)):
        cart_left_days_ago(redis, site["id"], user, days)
    started = post(client, admin, {"yaml": WITH_OUTREACH, "since": "7d"})
    work(redis_server.url, keys.REPLAY_QUEUE)
    result = client.get(started.json["url"], headers=admin).json["result"]
    assert result["outreach"]["cart-left-yesterday"] == {"customers": 1, "by_channel": {"email": 1}}
    assert result["rules"][0]["id"] == "stuck-at-payment"
