"""/api/agents (dispatch/agents_api.py): add, list, change and remove agents over HTTP."""

from dispatch import agents


def test_add_then_list_and_show(client, admin, redis):
    """POST makes an offline agent (201); GET lists it with its load and shows it alone."""
    answer = client.post("/api/agents", json={"name": "ann", "skills": ["chat", "vip"], "max_chats": 2}, headers=admin)
    assert answer.status_code == 201
    assert answer.json | {"created_at": 0} == {"name": "ann", "skills": ["chat", "vip"], "max_chats": 2,
                                               "status": "offline", "chats": 0, "calls": 0, "sites": [], "created_at": 0}
    listed = client.get("/api/agents", headers=admin).json
    assert [a["name"] for a in listed["agents"]] == ["ann"] and listed["on_shift"] == 0
    assert client.get("/api/agents/ann", headers=admin).json["skills"] == ["chat", "vip"]
    assert client.post("/api/agents", json={"name": "bob", "skills": ["call"]}, headers=admin).json["max_chats"] == 3


def test_a_duplicate_is_409_and_the_first_kept(client, admin):
    """Posting a name twice answers 409 with a message saying how to change the agent instead."""
    client.post("/api/agents", json={"name": "ann", "skills": ["chat"]}, headers=admin)
    answer = client.post("/api/agents", json={"name": "ann", "skills": ["call"]}, headers=admin)
    assert answer.status_code == 409
    assert "agent ann already exists" in answer.json["error"] and "PATCH /api/agents/ann" in answer.json["error"]
    assert client.get("/api/agents/ann", headers=admin).json["skills"] == ["chat"]


def test_bad_fields_are_422_naming_each_field_and_nothing_is_stored(client, admin, redis):
    """Every bad field is named in the answer, and no agent is stored."""
    answer = client.post("/api/agents", json={"name": "ann smith", "skills": ["chat", "live chat"], "max_chats": 0},
                         headers=admin)
    assert answer.status_code == 422
    details = answer.json["details"]
    assert [line.split(":")[0] for line in details] == ["name", "skills[1]", "max_chats"]
    assert "max_chats: must be a whole number from 1 to 10, got 0" in details
    assert redis.keys("*") == []


def test_a_missing_name_or_unknown_field_or_non_object_body(client, admin, redis):
    """A body without a name, with a field agents do not have, or not a JSON object is refused."""
    missing = client.post("/api/agents", json={"skills": ["chat"]}, headers=admin)
    assert missing.status_code == 422 and missing.json["details"][0].startswith("name: must be 1 to 40")
    unknown = client.post("/api/agents", json={"name": "ann", "skills": ["chat"], "colour": "red"}, headers=admin)
    assert unknown.status_code == 422 and unknown.json["details"] == [
        "colour: unknown field: allowed are name, skills, max_chats, status, sites"]
    garbage = client.post("/api/agents", data="ann", headers=admin)
    assert garbage.status_code == 400 and garbage.json["error"].startswith("body: must be a JSON object")
    assert redis.keys("*") == []


def test_patch_status_makes_the_agent_free(client, admin, redis):
    """PATCH status available puts the agent on shift and free for a task of its skills."""
    client.post("/api/agents", json={"name": "ann", "skills": ["chat", "vip"]}, headers=admin)
    assert not agents.free(redis, {"vip"}, "chat")
    answer = client.patch("/api/agents/ann", json={"status": "available"}, headers=admin)
    assert answer.status_code == 200 and answer.json["status"] == "available"
    assert agents.free(redis, {"vip"}, "chat") and agents.on_shift(redis) == 1
    changed = client.patch("/api/agents/ann", json={"skills": ["chat", "fr"], "max_chats": 1}, headers=admin).json
    assert (changed["skills"], changed["max_chats"], changed["status"]) == (["chat", "fr"], 1, "available")


def test_patch_refuses_a_bad_status_and_an_unknown_agent(client, admin):
    """An unknown status is 422 naming it; a name nobody has is 404."""
    client.post("/api/agents", json={"name": "ann", "skills": ["chat"]}, headers=admin)
    bad = client.patch("/api/agents/ann", json={"status": "busy"}, headers=admin)
    assert bad.status_code == 422
    assert bad.json["details"] == ["status: must be one of available, away, offline, got 'busy'"]
    assert client.get("/api/agents/ann", headers=admin).json["status"] == "offline"
    nobody = client.patch("/api/agents/bob", json={"status": "away"}, headers=admin)
    assert nobody.status_code == 404 and nobody.json["error"] == "No such agent: bob"
    empty = client.patch("/api/agents/ann", json={}, headers=admin)
    assert empty.status_code == 422 and "give at least one of skills, max_chats, status" in empty.json["error"]


def test_delete_removes_the_agent(client, admin):
    """DELETE removes the agent from the listing; a second DELETE is 404."""
    client.post("/api/agents", json={"name": "ann", "skills": ["chat"]}, headers=admin)
    assert client.delete("/api/agents/ann", headers=admin).json == {"removed": "ann"}
    assert client.get("/api/agents", headers=admin).json["agents"] == []
    assert client.delete("/api/agents/ann", headers=admin).status_code == 404
    assert client.get("/api/agents/ann", headers=admin).status_code == 404


def test_the_routes_need_the_admin_token(client):
    """Without the token, listing and adding agents are refused."""
    assert client.get("/api/agents").status_code == 401
    assert client.post("/api/agents", json={"name": "ann", "skills": ["chat"]}).status_code == 401
