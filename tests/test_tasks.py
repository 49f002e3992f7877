"""Tasks (dispatch/tasks.py): one per decision, claimed by an agent, closed with an outcome."""

import json
import time

import pytest

from dispatch import defaults, keys, tasks


def decision(decision_id: str = "d-1", anonymous_id: str = "anon-1") -> dict:
    return {
        "id": decision_id, "rule": "stuck-at-payment", "text": "Payment keeps failing",
        "evidence": ["step is payment", "Payment Failed 2 times in 5m"], "channel": "chat",
        "message": "Trouble paying?", "anonymous_id": anonymous_id, "user_id": None, "site": "site-1",
        "score": 0.7, "context": {"cart": {"items": [], "value": 120.0}, "step": "payment", "timeline": []},
        "priority": "high", "skill": "vip",
        "why": "chat: vip, cart 120.00 EUR, P(abandon) 0.70, chat saves 10 % of such carts",
    }


def test_create_makes_an_open_task_with_reason_and_context(redis):
    """A decision becomes an open task carrying why the shopper was picked and what they were doing."""
    task, created = tasks.create(redis, decision())
    assert created is True and task["status"] == tasks.OPEN
    assert task["reason"] == {"rule": "stuck-at-payment", "text": "Payment keeps failing",
                              "evidence": ["step is payment", "Payment Failed 2 times in 5m"],
                              "why": "chat: vip, cart 120.00 EUR, P(abandon) 0.70, chat saves 10 % of such carts"}
    assert (task["priority"], task["skill"]) == ("high", "vip")
    assert task["context"]["step"] == "payment" and task["score"] == 0.7
    assert task["expires_at"] - task["created_at"] == defaults.OFFER_TIMEOUT


def test_create_is_idempotent_per_decision_id(redis):
    """Creating the task of one decision twice finds the first task and lists it once."""
    first, _ = tasks.create(redis, decision())
    again, created = tasks.create(redis, decision())
    assert created is False and again == first
    assert [t["id"] for t in tasks.listing(redis)] == ["d-1"]


def test_claim_then_close_with_an_outcome(redis):
    """An agent claims an open task and closes it with an outcome, both recorded."""
    tasks.create(redis, decision())
    claimed = tasks.claim(redis, "d-1", "agent-ann")
    assert claimed["status"] == tasks.CLAIMED and claimed["agent"] == "agent-ann" and claimed["claimed_at"]
    closed = tasks.close(redis, "d-1", "converted")
    assert closed["status"] == tasks.CLOSED and closed["outcome"] == "converted"
    assert tasks.get(redis, "d-1")["status"] == tasks.CLOSED


def test_claiming_twice_is_refused_with_the_reason(redis):
    """A claimed task cannot be claimed by a second agent."""
    tasks.create(redis, decision())
    tasks.claim(redis, "d-1", "agent-ann")
    with pytest.raises(tasks.TaskError, match="task d-1 is claimed, only an open or offered task can be claimed"):
        tasks.claim(redis, "d-1", "agent-bob")
    assert tasks.get(redis, "d-1")["agent"] == "agent-ann"


def test_closing_with_a_bad_outcome_names_the_allowed_ones(redis):
    """An outcome not in the list is refused, naming every allowed outcome."""
    tasks.create(redis, decision())
    tasks.claim(redis, "d-1", "agent-ann")
    with pytest.raises(tasks.TaskError, match="outcome must be one of converted, helped, no_answer, declined"):
        tasks.close(redis, "d-1", "great")


def test_closing_an_unclaimed_task_is_refused(redis):
    """Only a claimed task can be closed."""
    tasks.create(redis, decision())
    with pytest.raises(tasks.TaskError, match="only a claimed task can be closed"):
        tasks.close(redis, "d-1", "helped")


def test_unknown_task_is_no_such_task(redis):
    """Reading or claiming a task that does not exist raises NoSuchTask."""
    with pytest.raises(tasks.NoSuchTask):
        tasks.get(redis, "nope")
    with pytest.raises(tasks.NoSuchTask):
        tasks.claim(redis, "nope", "agent-ann")


def expire(redis, task_id: str) -> None:
    """Make the stored task's offer run out a second ago (rather than wait two minutes)."""
    task = json.loads(redis.get(keys.task(task_id)))
    task["expires_at"] = time.time() - 1
    redis.set(keys.task(task_id), json.dumps(task))


def test_open_task_past_its_expiry_shows_as_expired(redis):
    """An open task nobody claimed in time lists as expired and can no longer be claimed."""
    tasks.create(redis, decision())
    expire(redis, "d-1")
    assert [t["status"] for t in tasks.listing(redis)] == [tasks.EXPIRED]
    with pytest.raises(tasks.TaskError, match="is expired"):
        tasks.claim(redis, "d-1", "agent-ann")


def test_claimed_task_does_not_expire(redis):
    """A task claimed in time stays claimed after its offer time is over."""
    tasks.create(redis, decision())
    tasks.claim(redis, "d-1", "agent-ann")
    expire(redis, "d-1")
    assert tasks.get(redis, "d-1")["status"] == tasks.CLAIMED


def test_listing_is_newest_first_and_limited(redis):
    """The listing shows the newest task first, and at most the number asked for."""
    for i in range(3):
        tasks.create(redis, decision(f"d-{i}"))
        time.sleep(0.002)  # distinct creation times
    assert [t["id"] for t in tasks.listing(redis)] == ["d-2", "d-1", "d-0"]
    assert [t["id"] for t in tasks.listing(redis, limit=1)] == ["d-2"]


def test_every_change_is_on_the_console_feed(redis):
    """Creating, claiming and closing a task each put it on the console's live feed."""
    tasks.create(redis, decision())
    tasks.claim(redis, "d-1", "agent-ann")
    tasks.close(redis, "d-1", "helped")
    assert [fields[b"id"] for _, fields in redis.xrange(keys.FEED)] == [b"d-1"] * 3


def test_a_registered_agent_holds_the_chat_it_claims_until_it_closes_it(redis):
    """Claiming takes a chat of the agent's capacity (no longer free at max 1); closing gives it back."""
    from dispatch import agents

    agents.add(redis, "ann", ["chat"], max_chats=1, status="available")
    tasks.create(redis, decision())
    tasks.claim(redis, "d-1", "ann")
    assert agents.get(redis, "ann")["chats"] == 1 and not agents.free(redis, set(), "chat")
    tasks.close(redis, "d-1", "helped")
    assert agents.get(redis, "ann")["chats"] == 0 and agents.free(redis, set(), "chat")


def test_a_claim_beyond_the_agents_capacity_is_refused_and_the_task_stays_open(redis):
    """An agent holding max chats cannot claim one more: a TaskError saying so, the task still open."""
    from dispatch import agents

    agents.add(redis, "ann", ["chat"], max_chats=1, status="available")
    tasks.create(redis, decision("d-1"))
    tasks.create(redis, decision("d-2"))
    tasks.claim(redis, "d-1", "ann")
    with pytest.raises(tasks.TaskError, match="task d-2 cannot be claimed: agent ann holds 1 of 1 chats"):
        tasks.claim(redis, "d-2", "ann")
    assert tasks.get(redis, "d-2")["status"] == tasks.OPEN and agents.get(redis, "ann")["chats"] == 1


def test_a_refused_claim_holds_nothing(redis):
    """A registered agent's claim of an expired or already claimed task leaves its load unchanged."""
    from dispatch import agents

    agents.add(redis, "ann", ["chat"], status="available")
    tasks.create(redis, decision("d-1"))
    tasks.create(redis, decision("d-2"))
    tasks.claim(redis, "d-1", "admin")
    expire(redis, "d-2")
    for task_id in ("d-1", "d-2"):
        with pytest.raises(tasks.TaskError):
            tasks.claim(redis, task_id, "ann")
    with pytest.raises(tasks.TaskError, match="is claimed"):
        tasks.claim(redis, "d-1", "admin")  # the admin (no registered agent) is refused as before
    assert agents.get(redis, "ann")["chats"] == 0


def test_a_claim_that_loses_a_race_gives_its_hold_back(redis, monkeypatch):
    """When another agent claims the task between the hold and the claim, the loser's chat is given back."""
    from dispatch import agents

    agents.add(redis, "ann", ["chat"], status="available")
    tasks.create(redis, decision())
    take = agents.take

    def take_then_lose(connection, name, channel, task_id):
        taken = take(connection, name, channel, task_id)
        tasks.update(connection, task_id, lambda task: task.update(status=tasks.CLAIMED, agent="bob"))
        return taken

    monkeypatch.setattr(agents, "take", take_then_lose)
    with pytest.raises(tasks.TaskError, match="is claimed"):
        tasks.claim(redis, "d-1", "ann")
    assert agents.get(redis, "ann")["chats"] == 0
