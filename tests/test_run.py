"""`handrail run`: every process started, stopped together, and data kept across restarts."""

import json
import signal
import time
import urllib.error
import urllib.request
import uuid

import psutil
import pytest

from handrail.embedded_redis import EmbeddedRedis
from rules.policy import in_holdout
from tests.service import Service

PROCESSES = ("redis-server", "gunicorn", "handrail scorer", "handrail learner", "rq.cli worker")


def _names(processes) -> str:
    return " ".join(" ".join(p.cmdline()) for p in processes)


def _shopper_not_held_out() -> str:
    while True:
        anonymous_id = "e2e-" + uuid.uuid4().hex[:12]
        if not in_holdout(anonymous_id, 0.1):
            return anonymous_id


def _post(service: Service, write_key: str, messages: list[dict]) -> None:
    body = json.dumps({"writeKey": write_key, "batch": messages}).encode()
    request = urllib.request.Request(service.url + "/v1/batch", data=body, headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert json.load(answer) == {"success": True}


def _wait_for(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"not true within {timeout} s: {check.__doc__}")


def _stuck(anonymous_id: str) -> list[dict]:
    def track(event, **props):
        return {"type": "track", "anonymousId": anonymous_id, "event": event, "properties": props,
                "messageId": uuid.uuid4().hex}

    return [
        track("Product Added", product_id="1001", name="Espresso machine", price=349.0, quantity=1),
        track("Checkout Step Viewed", step=2, step_name="payment"),
        track("Payment Failed", reason="card_declined"),
        track("Payment Failed", reason="card_declined"),
    ]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_run_starts_every_process_and_a_signal_stops_them_all(tmp_path, sig):
    """Web, scorer, learner, workers and the embedded Redis run; SIGTERM or Ctrl-C leaves no process behind."""
    service = Service(tmp_path / "var").start()
    started = service.descendants()
    try:
        for name in PROCESSES:
            assert name in _names(started), f"{name} was not started"
        with urllib.request.urlopen(service.url + "/healthz", timeout=5) as answer:
            assert answer.status == 200
    finally:
        code = service.stop(sig)
    assert code == 0
    gone, alive = psutil.wait_procs(started, timeout=10)
    assert not alive, f"left running: {_names(alive)}"


def _admin(service, method: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        service.url + path, data=json.dumps(body).encode(), method=method,
        headers={"Authorization": f"Bearer {service.token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def test_restart_keeps_sessions_and_tasks(tmp_path):
    """Sessions and tasks written before a stop are there after a restart on the same data dir."""
    data_dir = tmp_path / "var"
    service = Service(data_dir).start()
    anonymous_id = _shopper_not_held_out()
    try:
        site = _admin(service, "POST", "/api/sites", {"name": "Shop"})
        # A chat is offered only while an agent with the chat skill is free.
        _admin(service, "POST", "/api/agents", {"name": "ann", "skills": ["chat"]})
        _admin(service, "PATCH", "/api/agents/ann", {"status": "available"})
        _post(service, site["write_key"], _stuck(anonymous_id))

        def task_listed():
            """the stuck shopper's task is listed"""
            return [t for t in service.api("/api/tasks")["tasks"] if t["anonymous_id"] == anonymous_id]

        before = _wait_for(task_listed)
    finally:
        service.stop()
    again = Service(data_dir).start()
    try:
        session = again.api(f"/api/sessions/{anonymous_id}")
        assert session["cart"]["value"] == 349.0 and session["step"] == "payment"
        after = [t for t in again.api("/api/tasks")["tasks"] if t["anonymous_id"] == anonymous_id]
        assert [t["id"] for t in after] == [t["id"] for t in before]
    finally:
        again.stop()


def test_with_a_redis_url_no_server_is_started(tmp_path):
    """Given --redis-url, handrail run uses that server and starts no redis-server of its own."""
    with EmbeddedRedis(tmp_path / "external") as external:
        service = Service(tmp_path / "var", "--redis-url", external.url).start()
        try:
            names = _names(service.descendants())
            assert "redis-server" not in names and "handrail scorer" in names
        finally:
            service.stop()


def _one(service: Service, name: str) -> psutil.Process:
    def named(process) -> bool:
        try:
            return name in " ".join(process.cmdline())
        except psutil.NoSuchProcess:  # gone, or a zombie (rq's scheduler child when Redis went away)
            return False

    (found,) = [p for p in service.descendants() if named(p)]
    return found


def test_a_process_killed_is_started_again_and_nothing_is_lost(tmp_path):
    """kill -9 of the scorer and of the embedded Redis: both come back by themselves (Redis on its AOF), the
    session written before is there, and a shopper stuck afterwards still gets a task."""
    service = Service(tmp_path / "var").start()
    try:
        site = _admin(service, "POST", "/api/sites", {"name": "Shop"})
        _admin(service, "POST", "/api/agents", {"name": "ann", "skills": ["chat"]})
        _admin(service, "PATCH", "/api/agents/ann", {"status": "available"})
        before = _shopper_not_held_out()
        _post(service, site["write_key"], _stuck(before)[:2])

        def applied():
            """the first shopper's session is kept"""
            try:
                return service.api(f"/api/sessions/{before}")["step"] == "payment"
            except urllib.error.HTTPError:
                return False

        _wait_for(applied)
        scorer, redis_server = _one(service, "handrail scorer"), _one(service, "redis-server")
        scorer.kill()
        redis_server.kill()

        def back():
            """a new scorer and a new redis-server run"""
            try:
                return (_one(service, "handrail scorer").pid != scorer.pid
                        and _one(service, "redis-server").pid != redis_server.pid)
            except ValueError:  # not started again yet
                return False

        _wait_for(back, timeout=30)
        assert service.process.poll() is None  # handrail run itself carried on
        after = _shopper_not_held_out()

        def posted():
            """the collector takes events again"""
            try:
                _post(service, site["write_key"], _stuck(after))
                return True
            except urllib.error.HTTPError:  # 503 while Redis loads its AOF
                return False

        _wait_for(posted, timeout=30)
        _wait_for(lambda: [t for t in service.api("/api/tasks")["tasks"] if t["anonymous_id"] == after], timeout=30)
        assert service.api(f"/api/sessions/{before}")["cart"]["value"] == 349.0
    finally:
        assert service.stop() == 0
