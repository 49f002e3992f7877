"""GET /api/tasks, POST /api/tasks/<id>/claim and /close (dispatch/api.py)."""

import json
import time

from dispatch import keys, tasks
from tests.conftest import ADMIN_TOKEN
from tests.test_agent_login import sign_in
from tests.test_tasks import decision


def test_listing_is_newest_first_with_the_documented_fields(client, admin, redis):
    """GET /api/tasks shows the newest task first, each with reason and context for the agent."""
    for i in range(3):
        tasks.create(redis, decision(f"d-{i}", f"anon-{i}"))
        time.sleep(0.002)  # distinct creation times
    response = client.get("/api/tasks", headers=admin)
    assert response.status_code == 200
    listed = response.json["tasks"]
    assert [t["id"] for t in listed] == ["d-2", "d-1", "d-0"]
    fields = {"id", "status", "channel", "created_at", "expires_at", "anonymous_id", "user_id", "reason",
              "score", "context"}
    assert fields <= set(listed[0])
    assert listed[0]["reason"]["rule"] == "stuck-at-payment" and listed[0]["context"]["cart"]["value"] == 120.0


def test_limit_must_be_a_number(client, admin):
    """A limit that is not a number is a 400 JSON error saying what is allowed."""
    response = client.get("/api/tasks?limit=lots", headers=admin)
    assert response.status_code == 400
    assert response.json["error"] == "limit: must be a whole number from 1 to 500"


def test_claim_then_close_with_an_outcome(client, admin, redis):
    """Claiming an open task and closing it with an outcome answers the task as it now is."""
    tasks.create(redis, decision())
    claimed = client.post("/api/tasks/d-1/claim", headers=admin)
    assert claimed.status_code == 200 and claimed.json["status"] == "claimed" and claimed.json["agent"] == "admin"
    closed = client.post("/api/tasks/d-1/close", json={"outcome": "helped"}, headers=admin)
    assert closed.status_code == 200
    assert (closed.json["status"], closed.json["outcome"]) == ("closed", "helped")
    assert client.get("/api/tasks", headers=admin).json["tasks"][0]["status"] == "closed"


def test_claiming_twice_is_409_with_a_clear_message(client, admin, redis):
    """A second claim of the same task is a 409 saying the task is already claimed."""
    tasks.create(redis, decision())
    client.post("/api/tasks/d-1/claim", headers=admin)
    response = client.post("/api/tasks/d-1/claim", headers=admin)
    assert response.status_code == 409
    assert response.json["error"] == "task d-1 is claimed, only an open or offered task can be claimed"


def test_closing_with_a_bad_outcome_names_the_allowed_outcomes(client, admin, redis):
    """An unknown or missing outcome is refused, naming the outcomes allowed, and the task stays claimed."""
    tasks.create(redis, decision())
    client.post("/api/tasks/d-1/claim", headers=admin)
    for body in ({"outcome": "sold"}, None):
        response = client.post("/api/tasks/d-1/close", json=body, headers=admin)
        assert response.status_code in (400, 409)
        assert "converted, helped, no_answer, declined" in response.json["error"]
    assert tasks.get(redis, "d-1")["status"] == "claimed"


def test_unknown_task_is_404_json(client, admin):
    """Claiming or closing a task that does not exist is a JSON 404 naming it."""
    for path, body in (("/api/tasks/nope/claim", None), ("/api/tasks/nope/close", {"outcome": "helped"})):
        response = client.post(path, json=body, headers=admin)
        assert response.status_code == 404
        assert response.json["success"] is False and response.json["error"] == "No such task: nope"


def test_expired_task_lists_as_expired_and_cannot_be_claimed(client, admin, redis):
    """An open task past expires_at shows as expired, and claiming it is a 409."""
    tasks.create(redis, decision())
    stored = json.loads(redis.get(keys.task("d-1")))
    stored["expires_at"] = time.time() - 1  # the offer ran out a second ago
    redis.set(keys.task("d-1"), json.dumps(stored))
    assert client.get("/api/tasks", headers=admin).json["tasks"][0]["status"] == "expired"
    response = client.post("/api/tasks/d-1/claim", headers=admin)
    assert response.status_code == 409 and "expired" in response.json["error"]


def test_without_token_is_401(client, redis):
    """Listing, claiming and closing without the admin token are all 401, and nothing changes."""
    tasks.create(redis, decision())
    assert client.get("/api/tasks").status_code == 401
    assert client.post("/api/tasks/d-1/claim").status_code == 401
    assert client.post("/api/tasks/d-1/close", json={"outcome": "helped"}).status_code == 401
    assert tasks.get(redis, "d-1")["status"] == "open"


def test_console_session_needs_its_header_to_change_a_task(client, redis):
    """Signed in to the console, GET works, but a POST without X-Handrail-Console is 403 (a forged form)."""
    tasks.create(redis, decision())
    login = sign_in(client, token=ADMIN_TOKEN)
    assert login.status_code == 302
    assert client.get("/api/tasks").status_code == 200
    forged = client.post("/api/tasks/d-1/claim")
    assert forged.status_code == 403 and "X-Handrail-Console" in forged.json["error"]
    assert tasks.get(redis, "d-1")["status"] == "open"
    claimed = client.post("/api/tasks/d-1/claim", headers={"X-Handrail-Console": "1"})
    assert claimed.status_code == 200 and claimed.json["status"] == "claimed"


def test_console_login_with_a_wrong_token_gives_no_access(client, redis):
    """A wrong token at the console login is refused and the API stays closed."""
    assert sign_in(client, token="guess").status_code == 401
    assert client.get("/api/tasks").status_code == 401
