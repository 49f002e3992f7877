"""GET /api/sessions/<anonymous_id> (scorer/api.py): the live session, to those who may see its shop."""

from scorer import keys, session
from tests.test_agent_login import PASSWORD, agent, sign_in
from tracker import sites


def live_session(redis, anonymous_id: str, site_id: str) -> None:
    state = session.new(anonymous_id, site_id, 1_800_000_000_000)
    state["anonymous_id"] = anonymous_id
    redis.set(keys.session(anonymous_id), session.dump(state))


def test_the_admin_sees_any_session_and_an_unknown_one_is_404(client, admin, redis):
    live_session(redis, "anon-1", "site-a")
    assert client.get("/api/sessions/anon-1", headers=admin).json["anonymous_id"] == "anon-1"
    assert client.get("/api/sessions/nobody", headers=admin).status_code == 404


def test_an_id_with_a_slash_is_found_as_the_console_asks_for_it(client, admin, redis):
    """Segment's libraries let a shop pick any anonymousId: the console asks with encodeURIComponent."""
    live_session(redis, "shop/42", "site-a")
    assert client.get("/api/sessions/shop%2F42", headers=admin).json["anonymous_id"] == "shop/42"


def test_an_agent_of_one_shop_cannot_read_another_shops_shopper(client, redis):
    """Ann serves Boots only: a Hats shopper's session is as unknown to her as a made-up id."""
    boots, hats = sites.create(redis, "Boots", []), sites.create(redis, "Hats", [])
    live_session(redis, "anon-boots", boots["id"])
    live_session(redis, "anon-hats", hats["id"])
    agent(redis, sites=[boots["id"]])
    sign_in(client, name="ann", password=PASSWORD)
    assert client.get("/api/sessions/anon-boots").status_code == 200
    hidden = client.get("/api/sessions/anon-hats")
    assert hidden.status_code == 404 and "No live session" in hidden.json["error"]
