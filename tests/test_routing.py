"""Routing (dispatch/routing.py, through dispatch/tasks.py): who a task is offered to, the queue of tasks
waiting for an agent, and the expiry of offers nobody claimed."""

import json
import threading
import time

import pytest
import rq
from rq.serializers import JSONSerializer

from dispatch import agents, defaults, keys, routing, tasks
from tests.conftest import ADMIN_TOKEN
from tests.test_agent_login import CONSOLE, PASSWORD, agent, form_token, sign_in
from tests.test_tasks import decision


def available(redis, name: str, skills=("chat",), **given) -> dict:
    agents.add(redis, name, list(skills), status="available", **given)
    tasks.route(redis)
    return agents.get(redis, name)


def task(redis, task_id: str, channel: str = "chat", skill: str | None = None, priority: str = "normal",
         vip: bool = False, site: str = "site-1") -> dict:
    """A task as the dispatch job makes it, routed at once."""
    made = decision(task_id, f"anon-{task_id}")
    made.update(channel=channel, skill=skill, priority=priority, site=site)
    made["context"]["customer"] = {"vip": True} if vip else {}
    created, _ = tasks.create(redis, made)
    return created


def stored(redis, task_id: str) -> dict:
    """The task as Redis keeps it, not as a reader computes it."""
    return json.loads(redis.get(keys.task(task_id)))


def test_a_task_goes_to_the_least_loaded_agent_then_to_who_waited_longest(redis):
    """ann holds a chat, bob none: bob gets the first task; then both hold one and ann, whose last offer is
    older (never), gets the next. Each offer is timestamped and reserves the agent's room."""
    available(redis, "ann")
    available(redis, "bob")
    agents.take(redis, "ann", "chat", "earlier-chat")
    first = task(redis, "t1")
    assert (first["status"], first["offered_to"]) == ("offered", "bob")
    assert first["created_at"] <= first["offered_at"] <= time.time()
    assert task(redis, "t2")["offered_to"] == "ann"
    assert (agents.get(redis, "ann")["chats"], agents.get(redis, "bob")["chats"]) == (2, 1)


def test_only_an_available_agent_with_every_skill_is_offered_it(redis):
    """A vip chat skips the chat-only agent, a call skips the agent without the call skill, and an away agent
    with the skill gets the task as soon as she is available again."""
    available(redis, "ann", ["chat"])
    agents.add(redis, "vic", ["chat", "vip"], status="away")
    assert task(redis, "t1", skill="vip")["status"] == "open"
    assert task(redis, "t2", channel="call")["status"] == "open"
    available(redis, "cal", ["call"])
    assert tasks.get(redis, "t2")["offered_to"] == "cal"
    agents.set_status(redis, "vic", "available")
    tasks.route(redis)
    assert tasks.get(redis, "t1")["offered_to"] == "vic"
    assert agents.get(redis, "ann")["chats"] == 0


def test_an_offer_never_goes_past_the_agents_capacity(redis):
    """With room for one chat, ann is offered one task; the second waits, open, until her chat is closed."""
    available(redis, "ann", max_chats=1)
    assert task(redis, "t1")["offered_to"] == "ann"
    assert task(redis, "t2")["status"] == "open"
    tasks.claim(redis, "t1", "ann")
    assert tasks.get(redis, "t2")["status"] == "open"
    tasks.close(redis, "t1", "helped")
    assert tasks.get(redis, "t2")["offered_to"] == "ann"


def test_vip_and_urgent_tasks_are_offered_first(redis):
    """Four tasks wait while nobody is free: as ann frees up she is offered the urgent one, then the VIP
    shopper's and the high-priority one (in the order they came), then the normal one."""
    agents.add(redis, "ann", ["chat"], max_chats=1)
    task(redis, "normal")
    task(redis, "vip", vip=True)
    task(redis, "high", priority="high")
    task(redis, "urgent", priority="urgent")
    agents.set_status(redis, "ann", "available")
    order = []
    for _ in range(4):
        tasks.route(redis)
        (offered,) = [t for t in tasks.listing(redis) if t["status"] == "offered"]
        order.append(offered["id"])
        tasks.claim(redis, offered["id"], "ann")
        tasks.close(redis, offered["id"], "helped")
    assert order == ["urgent", "vip", "high", "normal"]


def test_an_offer_nobody_claims_expires_by_the_workers_scheduler(redis, monkeypatch):
    """ann does not claim in the offer time: the job the worker's scheduler runs stores the task as
    expired, timestamped, gives ann her room back, and a claim is refused."""
    monkeypatch.setattr(defaults, "OFFER_TIMEOUT", 0.5)  # seconds, rather than two minutes
    available(redis, "ann", max_chats=1)
    offered = task(redis, "t1")
    assert offered["offered_to"] == "ann" and agents.get(redis, "ann")["chats"] == 1
    time.sleep(0.7)
    assert stored(redis, "t1")["status"] == "offered"  # nothing has run yet
    queue = rq.Queue(keys.QUEUE, connection=redis, serializer=JSONSerializer)
    rq.SimpleWorker([queue], connection=redis, serializer=JSONSerializer).work(burst=True, with_scheduler=True)
    expired = stored(redis, "t1")
    assert expired["status"] == "expired" and expired["expired_at"] == pytest.approx(offered["expires_at"])
    assert agents.get(redis, "ann")["chats"] == 0
    with pytest.raises(tasks.TaskError, match="is expired"):
        tasks.claim(redis, "t1", "ann")


def test_a_callback_waits_for_the_next_agent_whose_call_ends(redis):
    """No agent is free for a call: the callback waits (30 minutes, not 2), and is offered to the agent
    with the call skill as soon as she closes her call, with 2 minutes to claim it."""
    available(redis, "cal", ["call"])
    task(redis, "call-1", channel="call")
    tasks.claim(redis, "call-1", "cal")
    waiting = task(redis, "cb-1", channel="callback")
    assert waiting["status"] == "open"
    assert waiting["expires_at"] - waiting["created_at"] == defaults.CALLBACK_TIMEOUT
    tasks.close(redis, "call-1", "converted")
    offered = tasks.get(redis, "cb-1")
    assert (offered["status"], offered["offered_to"]) == ("offered", "cal")
    assert offered["expires_at"] == pytest.approx(offered["offered_at"] + defaults.OFFER_TIMEOUT)
    assert agents.get(redis, "cal")["calls"] == 1 and agents.get(redis, "cal")["chats"] == 0


def test_a_callback_goes_to_an_agent_who_becomes_available(client, admin, redis):
    """The callback waits while the only call agent is away; setting her available (PATCH) offers it to her."""
    agents.add(redis, "cal", ["call"], status="away")
    task(redis, "cb-1", channel="callback")
    assert tasks.get(redis, "cb-1")["status"] == "open"
    client.patch("/api/agents/cal", json={"status": "available"}, headers=admin)
    assert tasks.get(redis, "cb-1")["offered_to"] == "cal"


@pytest.mark.parametrize("channel", ["email", "sms", "webhook"])
def test_tasks_that_need_no_agent_are_not_offered(redis, channel):
    """An email, text or webhook task stays open, offered to nobody, and takes no agent's room."""
    available(redis, "ann", ["chat", "call"])
    made = task(redis, "t1", channel=channel)
    assert (made["status"], made["offered_to"]) == ("open", None)
    assert agents.get(redis, "ann")["chats"] == 0 and redis.zcard(keys.WAITING) == 0


def test_a_task_offered_to_ann_is_hers_to_claim(redis):
    """bob cannot claim ann's offer; the admin can take it over, which gives ann her room back."""
    available(redis, "ann")
    available(redis, "bob")
    agents.take(redis, "bob", "chat", "earlier-chat")
    task(redis, "t1")
    with pytest.raises(tasks.TaskError, match="task t1 is offered to ann: only they"):
        tasks.claim(redis, "t1", "bob")
    claimed = tasks.claim(redis, "t1", agents.ADMIN)
    assert claimed["agent"] == "admin" and agents.get(redis, "ann")["chats"] == 0


def test_an_agent_who_signs_out_passes_her_offers_on(client, redis):
    """ann signs out with a task offered to her: it is offered to bob, who had more load."""
    agent(redis)
    sign_in(client, name="ann", password=PASSWORD)
    available(redis, "bob")
    agents.take(redis, "bob", "chat", "earlier-chat")
    assert task(redis, "t1")["offered_to"] == "ann"
    client.post("/console/logout", data={"csrf": form_token(client, "/console/")})
    assert tasks.get(redis, "t1")["offered_to"] == "bob" and agents.get(redis, "ann")["chats"] == 0


def test_concurrent_routing_never_offers_one_agent_past_capacity(redis_server, redis):
    """Ten tasks made at once by ten workers: ann (room for 3) is offered exactly 3, each once."""
    import redis as redis_lib

    available(redis, "ann", max_chats=3)
    start = threading.Barrier(10)

    def worker(i):
        connection = redis_lib.Redis.from_url(redis_server.url)
        start.wait()
        task(connection, f"t{i}")
        connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    offered = [t for t in tasks.listing(redis) if t["status"] == "offered"]
    assert len(offered) == 3 and {t["offered_to"] for t in offered} == {"ann"}
    assert agents.get(redis, "ann")["chats"] == 3


def test_an_agent_sees_and_is_offered_only_the_tasks_of_her_sites(client, redis, site):
    """ann sees only her site: a task of another site goes to bob though ann is less loaded; ann's task
    list leaves it out and claiming it is 404; the admin sees both."""
    other = site["id"][::-1]  # a site id that is not ann's
    agent(redis, sites=[site["id"]])
    sign_in(client, name="ann", password=PASSWORD)
    available(redis, "bob")
    agents.take(redis, "bob", "chat", "earlier-chat")
    assert task(redis, "theirs", site=other)["offered_to"] == "bob"
    assert task(redis, "ours", site=site["id"])["offered_to"] == "ann"
    assert [t["id"] for t in client.get("/api/tasks").json["tasks"]] == ["ours"]
    assert client.post("/api/tasks/theirs/claim", headers=CONSOLE).status_code == 404
    admin = client.application.test_client()
    sign_in(admin, token=ADMIN_TOKEN)
    assert {t["id"] for t in admin.get("/api/tasks").json["tasks"]} == {"ours", "theirs"}


def test_an_agents_sites_must_exist(redis, site):
    """A site id nobody registered is refused, naming where, and no agent is stored."""
    with pytest.raises(agents.InvalidAgent) as raised:
        agents.add(redis, "ann", ["chat"], sites=[site["id"], "nope"])
    assert raised.value.errors == {"sites[1]": "no site has the id 'nope': see `handrail sites list` or GET /api/sites"}
    assert not agents.exists(redis, "ann")


def test_the_console_feed_leaves_out_other_sites_tasks(client, redis, site):
    """ann's live feed carries the tasks of her site and not those of another."""
    agent(redis, sites=[site["id"]])
    task(redis, "theirs", site=site["id"][::-1])
    task(redis, "ours", site=site["id"])
    sign_in(client, name="ann", password=PASSWORD)
    response = client.get("/console/feed", headers={"Last-Event-ID": "0-0"}, buffered=False)
    seen = []
    for chunk in response.response:
        for line in chunk.decode().splitlines():
            if line.startswith("data: "):
                seen.append(json.loads(line[6:])["id"])
        if "ours" in seen:
            break
    response.close()
    assert "ours" in seen and "theirs" not in seen


def test_rank_puts_urgent_then_vip_or_high_then_normal_then_low(redis):
    """The queue's order: priority band first, a VIP shopper at least high, then age."""
    made = {"created_at": 100.0, "context": {}}
    ranks = [routing.rank(dict(made, priority="urgent")),
             routing.rank(dict(made, context={"customer": {"vip": "yes"}})),
             routing.rank(dict(made, priority="high", created_at=101.0)),
             routing.rank(dict(made, priority="normal")),
             routing.rank(dict(made, priority="low"))]
    assert ranks == sorted(ranks)
