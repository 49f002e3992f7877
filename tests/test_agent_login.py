"""Signing in to the console (dispatch/login.py, dispatch/console.py): as an agent with a password or a
personal token, or as the admin; status on sign-in and out; lockout; forms refused without their token."""

import re
import time

import pytest

from dispatch import agents, defaults, keys, login, tasks
from tests.conftest import ADMIN_TOKEN
from tests.test_tasks import decision

PASSWORD = "correct horse battery"
CONSOLE = {"X-Handrail-Console": "1"}


def csrf_in(html: str) -> str:
    """The anti-forgery token of a page's forms, read from its hidden field as a browser would."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no form token on the page"
    return found.group(1)


def form_token(client, path: str = "/console/login") -> str:
    return csrf_in(client.get(path).get_data(as_text=True))


def sign_in(client, **form):
    """Post the console's sign-in form (name and password, or token) as a browser does: with its token."""
    return client.post("/console/login", data={"csrf": form_token(client), **form})


def sign_in_request(request, url: str, **form):
    """The same through Playwright's APIRequestContext (page.request), which shares the page's cookies."""
    token = csrf_in(request.get(url + "/console/login").text())
    return request.post(url + "/console/login", form={"csrf": token, **form})


def agent(redis, name: str = "ann", skills=("chat",), password: str | None = PASSWORD, **given) -> dict:
    hashed = login.hash_password(password) if password else None
    return agents.add(redis, name, list(skills), password_hash=hashed, **given)


def test_an_agent_signs_in_with_her_password_and_becomes_available(client, redis):
    """Name and password sign ann in: the console greets her as available and /api/ calls are hers."""
    agent(redis)
    answer = sign_in(client, name="ann", password=PASSWORD)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/console/")
    page = client.get("/console/").get_data(as_text=True)
    assert '<span id="agent-name">ann</span>' in page
    assert '<option value="available" selected>' in page
    assert agents.get(redis, "ann")["status"] == "available" and agents.on_shift(redis) == 1
    tasks.create(redis, decision())
    claimed = client.post("/api/tasks/d-1/claim", headers=CONSOLE)
    assert claimed.status_code == 200 and claimed.json["agent"] == "ann"  # her identity, not the admin's
    assert agents.get(redis, "ann")["chats"] == 1


def test_the_password_is_stored_only_as_an_argon2_hash(redis):
    """What Redis keeps is an argon2id hash, not the password; it never shows in the agent's record."""
    shown = agent(redis)
    stored = redis.hget(keys.agent("ann"), "password").decode()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert "password" not in shown and stored not in str(shown)


def test_a_personal_token_signs_in_and_a_new_one_revokes_it(client, redis):
    """A token signs its agent in (only its hash is kept); issuing a new one makes the old one fail."""
    agent(redis, password=None)
    first = login.new_token(redis, "ann")
    assert first.startswith(login.TOKEN_PREFIX) and first.encode() not in b"".join(
        redis.hgetall(keys.agent("ann")).values())
    assert sign_in(client, token=first).status_code == 302
    assert client.get("/api/agents/ann").json["status"] == "available"
    second = login.new_token(redis, "ann")
    other = client.application.test_client()
    assert sign_in(other, token=first).status_code == 401
    assert sign_in(other, token=second).status_code == 302


def test_the_admin_token_still_signs_in_as_admin(client, redis):
    """The admin token signs in as "admin", who is no agent and has no status to show."""
    assert sign_in(client, token=ADMIN_TOKEN).status_code == 302
    page = client.get("/console/").get_data(as_text=True)
    assert '<span id="agent-name">admin</span>' in page and 'id="status"' not in page
    assert client.get("/api/tasks").status_code == 200


@pytest.mark.parametrize("form", [
    {"name": "ann", "password": "wrong password"},
    {"name": "nobody", "password": PASSWORD},
    {"name": "admin", "password": ADMIN_TOKEN},
    {"token": "hrt_guessed"},
])
def test_a_failed_sign_in_says_only_that_it_failed(client, redis, form):
    """A wrong password, an unknown name or a wrong token: 401, the same words, no access, ann still offline."""
    agent(redis)
    answer = sign_in(client, **form)
    assert answer.status_code == 401
    assert re.search(r'id="login-error"[^>]*>Sign-in failed.</p>', answer.get_data(as_text=True))
    assert client.get("/console/").status_code == 302 and client.get("/api/tasks").status_code == 401
    assert agents.get(redis, "ann")["status"] == "offline"


def test_repeated_failures_lock_the_agent_out_for_a_while(client, redis, monkeypatch):
    """After 5 wrong passwords even the right one is refused, saying to wait; bob is not locked;
    once the lockout has run out ann signs in."""
    monkeypatch.setattr(defaults, "LOCKOUT", 1)  # seconds, rather than five minutes
    agent(redis)
    agent(redis, "bob")
    for _ in range(defaults.SIGN_IN_FAILURES):
        assert sign_in(client, name="ann", password="not it at all").status_code == 401
    locked = sign_in(client, name="ann", password=PASSWORD)
    assert locked.status_code == 401 and "Too many failed sign-ins" in locked.get_data(as_text=True)
    assert agents.get(redis, "ann")["status"] == "offline"
    assert sign_in(client.application.test_client(), name="bob", password=PASSWORD).status_code == 302
    time.sleep(1.1)
    assert sign_in(client, name="ann", password=PASSWORD).status_code == 302


def test_signing_out_sets_offline_and_the_header_switches_status(client, redis):
    """The header's status form sets away, then available; signing out sets offline and closes the API."""
    agent(redis)
    sign_in(client, name="ann", password=PASSWORD)
    token = form_token(client, "/console/")
    assert client.post("/console/status", data={"csrf": token, "status": "away"}).status_code == 302
    assert agents.get(redis, "ann")["status"] == "away"
    assert '<option value="away" selected>' in client.get("/console/").get_data(as_text=True)
    client.post("/console/status", data={"csrf": token, "status": "available"})
    assert agents.get(redis, "ann")["status"] == "available"
    assert client.post("/console/logout", data={"csrf": token}).status_code == 302
    assert agents.get(redis, "ann")["status"] == "offline" and agents.on_shift(redis) == 0
    assert client.get("/api/tasks").status_code == 401


def test_forms_without_their_token_are_refused(client, redis):
    """Sign-in, status and sign-out posted without the form's token (as another site's page would) are
    403 and change nothing; a token of another session does not do either."""
    agent(redis)
    forged = client.post("/console/login", data={"name": "ann", "password": PASSWORD})
    assert forged.status_code == 403 and "form had expired" in forged.get_data(as_text=True)
    stranger = client.application.test_client()
    theirs = client.post("/console/login", data={"csrf": form_token(stranger), "name": "ann", "password": PASSWORD})
    assert theirs.status_code == 403 and agents.get(redis, "ann")["status"] == "offline"
    sign_in(client, name="ann", password=PASSWORD)
    assert client.post("/console/status", data={"status": "away"}).status_code == 403
    assert client.post("/console/logout").status_code == 403
    assert agents.get(redis, "ann")["status"] == "available" and client.get("/api/tasks").status_code == 200


def test_a_removed_agent_is_signed_out(client, redis):
    """Removing ann ends her signed-in session: the API and the console refuse her."""
    agent(redis)
    sign_in(client, name="ann", password=PASSWORD)
    agents.remove(redis, "ann")
    assert client.get("/api/tasks").status_code == 401
    assert client.get("/console/").status_code == 302


def test_an_agent_sets_her_own_status_but_changes_no_other_agent(client, redis):
    """Signed in, ann may PATCH her own status; adding, changing or removing anybody else is 403."""
    agent(redis)
    agent(redis, "bob")
    sign_in(client, name="ann", password=PASSWORD)
    own = client.patch("/api/agents/ann", json={"status": "away"}, headers=CONSOLE)
    assert own.status_code == 200 and own.json["status"] == "away"
    for method, path, body in (("patch", "/api/agents/bob", {"status": "away"}),
                               ("patch", "/api/agents/ann", {"max_chats": 10}),
                               ("post", "/api/agents", {"name": "eve", "skills": ["chat"]}),
                               ("delete", "/api/agents/bob", None)):
        refused = getattr(client, method)(path, json=body, headers=CONSOLE)
        assert refused.status_code == 403 and "only the admin changes agents" in refused.json["error"]
    assert agents.get(redis, "bob")["status"] == "offline" and agents.get(redis, "ann")["max_chats"] == 3
    assert [a["name"] for a in agents.listing(redis)] == ["ann", "bob"]


def test_no_agent_may_be_named_admin(redis):
    """'admin' is who the admin token signs in as, so no agent may take the name."""
    with pytest.raises(agents.InvalidAgent, match="name: admin is who signs in with the admin token"):
        agents.add(redis, "admin", ["chat"])
