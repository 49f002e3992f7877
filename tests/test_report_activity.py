"""The activity figures (reports/activity.py): per rule and channel, what became of the contacts, and the
agents' load by hour of day, from what the real rules and dispatch functions counted as they ran.

The clock of dispatch (tasks._now, agents._now) is set by the test, so that a morning's work, across hour
boundaries, runs in an instant; everything else (Redis, the Lua scripts, the routing) is the real thing.
"""

from datetime import datetime, timezone

import pytest

from dispatch import agents, outcomes, tasks
from reports import activity, hours
from rules import policy
from rules.document import compile_text

NINE = int(datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc).timestamp())  # a Monday, 09:00 UTC
MINUTE, HOUR = 60, 3600
H9 = NINE // HOUR  # the epoch hour of 09:00


class Clock:
    def __init__(self, at: float):
        self.at = at

    def __call__(self) -> float:
        return self.at


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(NINE)
    monkeypatch.setattr(tasks, "_now", clock)
    monkeypatch.setattr(agents, "_now", clock)
    return clock


RULES = compile_text("defaults: {cooldown: 30m, holdout: 0.5}\nrules: []\n")


def shopper(held_out: bool, n: int) -> str:
    """The n-th shopper id that the holdout (half of shoppers) takes, or leaves to be contacted."""
    found = [s for s in (f"shopper-{i}" for i in range(200)) if policy.in_holdout(s, RULES.holdout) == held_out]
    return found[n]


def decide(redis, clock, decision_id: str, rule: str = "stuck-at-payment", channel: str = "chat",
           held_out: bool = False, n: int = 0) -> dict:
    """The rules stage admits a decision now (counting it fired, or held out); answers it as a task's input."""
    anonymous_id = shopper(held_out, n)
    decision = {"id": decision_id, "rule": rule, "channel": channel, "anonymous_id": anonymous_id}
    snap = {"now": int(clock.at * 1000), "anonymous_id": anonymous_id, "session_seconds": 60, "user_id": None,
            "traits": {}}
    assert policy.admit(redis, RULES, decision, snap) == (policy.HOLDOUT if held_out else policy.CONTACT)
    return {**decision, "text": "Payment keeps failing", "evidence": ["step is payment"], "site": None,
            "context": {"cart": {"items": [], "value": 120.0}, "step": "payment", "timeline": []}}


def at(clock, hour: int, minute: int, second: int = 0) -> None:
    clock.at = NINE + (hour - 9) * HOUR + minute * MINUTE + second


def order(order_id: str) -> dict:
    return {"order_id": order_id, "revenue": 120.0, "at": None, "site": None, "user_id": None}


def morning(redis, clock) -> None:
    """Ann on shift 09:30-11:30, Bob from 11:45; tasks offered, claimed, closed, credited and expired."""
    at(clock, 9, 30)
    agents.add(redis, "ann", ["chat"], max_chats=1, status="available")

    at(clock, 10, 10)
    assert tasks.create(redis, decide(redis, clock, "d-1", n=0))[0]["offered_to"] == "ann"
    at(clock, 10, 10, 30)
    tasks.claim(redis, "d-1", "ann")
    at(clock, 10, 20)
    tasks.close(redis, "d-1", "converted", by="ann")
    outcomes.apply_order(redis, "d-1", order("A-1"))  # the agent's conversion, and the order: one conversion

    at(clock, 10, 40)
    assert tasks.create(redis, decide(redis, clock, "d-2", n=1))[0]["offered_to"] == "ann"
    at(clock, 10, 43)  # her two minutes to claim it ran out at 10:42
    assert [t["id"] for t in tasks.route(redis) if t["status"] == tasks.EXPIRED] == ["d-2"]
    assert tasks.route(redis) == []  # a second sweep finds nothing more to expire
    at(clock, 10, 45)
    outcomes.apply_order(redis, "d-2", order("A-2"))  # bought without help: converted, and still one expiry
    at(clock, 10, 50)
    decide(redis, clock, "h-1", held_out=True, n=0)  # would have been contacted: the holdout

    at(clock, 11, 5)
    assert tasks.create(redis, decide(redis, clock, "d-3", n=2))[0]["offered_to"] == "ann"
    at(clock, 11, 6, 30)
    tasks.claim(redis, "d-3", "ann")
    at(clock, 11, 7)
    tasks.close(redis, "d-3", "helped", by="ann")
    at(clock, 11, 12)
    assert tasks.create(redis, decide(redis, clock, "d-4", rule="cart-left", n=3))[0]["offered_to"] == "ann"
    at(clock, 11, 12, 10)
    tasks.claim(redis, "d-4", "ann")
    at(clock, 11, 15)
    tasks.close(redis, "d-4", "declined", by="ann")
    at(clock, 11, 20)
    outcomes.apply_order(redis, "d-3", order("A-3"))  # bought after a chat closed as helped: converted
    outcomes.apply_order(redis, "d-3", order("A-3"))  # the scorer told it twice: still one
    decide(redis, clock, "d-5", rule="exit-intent", channel="email", n=4)  # fired, no agent task

    at(clock, 11, 30)
    agents.set_status(redis, "ann", agents.OFFLINE)
    at(clock, 11, 45)
    agents.add(redis, "bob", ["chat"], status="available")
    at(clock, 12, 15)


def test_the_rules_table_counts_each_step_of_each_task_once(redis, clock):
    """Per rule and channel: fired and held out (rules), then created, offered, claimed, converted (an agent's
    "converted" and an order credited to it count once; an order after an expired offer counts too), expired
    unclaimed, and the mean time to claim."""
    morning(redis, clock)
    rows = activity.section(hours.Reader(redis, H9, H9 + 3), clock.at)["rules"]
    assert rows == [
        {"rule": "cart-left", "channel": "chat", "fired": 1, "held_out": 0, "created": 1, "offered": 1,
         "claimed": 1, "converted": 0, "expired": 0, "redeemed": 0, "claim_seconds_mean": 10.0},
        {"rule": "exit-intent", "channel": "email", "fired": 1, "held_out": 0, "created": 0, "offered": 0,
         "claimed": 0, "converted": 0, "expired": 0, "redeemed": 0, "claim_seconds_mean": None},
        {"rule": "stuck-at-payment", "channel": "chat", "fired": 3, "held_out": 1, "created": 3, "offered": 3,
         "claimed": 2, "converted": 3, "expired": 1, "redeemed": 0, "claim_seconds_mean": 60.0},  # (30 s + 90 s) / 2
    ]


def test_the_load_by_hour_of_day_shows_tasks_and_agents_on_shift(redis, clock):
    """Each hour of day: tasks offered, claimed and expired in it, and the agents on shift on average; one
    agent through the whole of 10:00-11:00 is 1.0, the hour under way counts for the part gone by."""
    morning(redis, clock)
    load = activity.section(hours.Reader(redis, H9, H9 + 3), clock.at)["load"]
    assert [row["hour"] for row in load] == list(range(24))
    shown = {row["hour"]: (row["offered"], row["claimed"], row["expired"], row["agents_on_shift"])
             for row in load}
    assert shown[9] == (0, 0, 0, 0.5)  # Ann from 09:30
    assert shown[10] == (2, 1, 1, 1.0)
    assert shown[11] == (2, 2, 0, 0.75)  # Ann until 11:30, Bob from 11:45
    assert shown[12] == (0, 0, 0, 1.0)  # Bob, still on shift, through the quarter hour gone by
    assert all(shown[hour] == (0, 0, 0, 0.0) for hour in set(range(24)) - {9, 10, 11, 12})


def test_only_the_period_asked_for_counts(redis, clock):
    """A report of 10:00-10:59 alone shows that hour's tasks and shift, nothing of the hours around it."""
    morning(redis, clock)
    figures = activity.section(hours.Reader(redis, H9 + 1, H9 + 1), clock.at)
    stuck = next(row for row in figures["rules"] if row["rule"] == "stuck-at-payment")
    assert (stuck["fired"], stuck["held_out"], stuck["offered"], stuck["claimed"], stuck["expired"],
            stuck["converted"]) == (2, 1, 2, 1, 1, 2)
    assert [row["rule"] for row in figures["rules"]] == ["stuck-at-payment"]
    assert {row["hour"]: row["agents_on_shift"] for row in figures["load"] if row["agents_on_shift"]} == {10: 1.0}


def test_agents_on_shift_is_the_mean_over_the_days_of_the_period(redis, clock):
    """Over two days, one agent on shift 10:00-11:00 on the first only is half an agent at 10, on average."""
    at(clock, 10, 0)
    agents.add(redis, "ann", ["chat"], status="available")
    at(clock, 11, 0)
    agents.set_status(redis, "ann", agents.AWAY)  # away is still on shift
    agents.set_status(redis, "ann", agents.OFFLINE)
    clock.at += 2 * 24 * HOUR
    load = activity.section(hours.Reader(redis, H9 - 9, H9 - 9 + 48 - 1), clock.at)["load"]  # two whole days from 00:00
    assert {row["hour"]: row["agents_on_shift"] for row in load if row["agents_on_shift"]} == {10: 0.5}


def test_a_removed_agent_stops_counting_on_shift(redis, clock):
    """Removing an agent who is on shift ends her stretch: counted up to then, not up to now."""
    at(clock, 9, 0)
    agents.add(redis, "ann", ["chat"], status="available")
    at(clock, 9, 30)
    agents.remove(redis, "ann")
    at(clock, 10, 30)
    load = activity.section(hours.Reader(redis, H9, H9 + 1), clock.at)["load"]
    assert {row["hour"]: row["agents_on_shift"] for row in load if row["agents_on_shift"]} == {9: 0.5}


def test_an_offer_taken_back_and_made_again_is_one_task_offered(redis, clock):
    """Ann steps away with a chat offered to her: it waits again, and is offered to her anew when she is
    back. Staffing sees one task offered, not two."""
    at(clock, 10, 0)
    agents.add(redis, "ann", ["chat"], status="available")
    tasks.create(redis, decide(redis, clock, "d-1"))
    at(clock, 10, 0, 20)
    agents.set_status(redis, "ann", agents.AWAY)
    assert tasks.route(redis)[0]["status"] == tasks.OPEN
    at(clock, 10, 0, 40)
    agents.set_status(redis, "ann", agents.AVAILABLE)
    assert tasks.route(redis)[0]["offered_to"] == "ann"
    figures = activity.section(hours.Reader(redis, H9 + 1, H9 + 1), clock.at)
    assert [(row["created"], row["offered"]) for row in figures["rules"]] == [(1, 1)]
    assert figures["load"][10]["offered"] == 1


def test_signing_in_again_or_changing_skills_keeps_the_stretch_on_shift(redis, clock):
    """Ann, on shift 10:00-11:00, signs in again at 10:30 and gets a new skill at 10:40: still one agent
    through the hour."""
    at(clock, 10, 0)
    agents.add(redis, "ann", ["chat"], status="available")
    at(clock, 10, 30)
    agents.set_status(redis, "ann", agents.AVAILABLE)
    at(clock, 10, 40)
    agents.update(redis, "ann", skills=["chat", "vip"])
    at(clock, 11, 0)
    agents.set_status(redis, "ann", agents.OFFLINE)
    at(clock, 12, 0)
    load = activity.section(hours.Reader(redis, H9, H9 + 2), clock.at)["load"]
    assert {row["hour"]: row["agents_on_shift"] for row in load if row["agents_on_shift"]} == {10: 1.0}
