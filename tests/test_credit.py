"""How a contacted session turns out, on its task (dispatch/outcomes.py): a real scorer hands the outcome to
the RQ queue as `handrail scorer` does, and a real RQ worker applies it to the task."""

import pytest

from dispatch import agents, customers, tasks
from handrail.scorer_process import callbacks, make_queue
from rules import store
from scorer.consumer import Scorer, now_ms
from tests.channel_jobs import work
from tests.test_agent_login import agent
from tests.test_consumer import CALL_OR_CHAT, SHARDS, SITE, STUCK_AT_PAYMENT, drain, event, failing, identify
from tracker import stream

HALF_HOUR_AGO = 31 * 60 * 1000  # ms: a session whose last event is this old has ended


@pytest.fixture
def scorer(redis):
    return scorer_with(redis, STUCK_AT_PAYMENT)


def scorer_with(redis, rules: str) -> Scorer:
    """A scorer with these rules in force, wired to the dispatch queue as handrail/scorer_process.py does."""
    store.save(redis, rules, "test")
    made = Scorer(redis, SHARDS, name="test-scorer", **callbacks(redis))
    made.ensure_groups()
    return made


def order(order_id: str = "A-1", revenue: float = 120.0, shopper: str = "anon-1") -> dict:
    return event("Order Completed", {"order_id": order_id, "revenue": revenue}, shopper=shopper)


def stuck(redis, scorer, shopper: str = "anon-1", at: int | None = None) -> dict:
    """The shopper fails to pay twice; the scorer decides, the worker makes the task: answers it."""
    stream.append(redis, SITE, failing(shopper, at), SHARDS)
    drain(scorer)
    work(redis)
    (task,) = [t for t in tasks.listing(redis) if t["anonymous_id"] == shopper]
    return task


def test_an_order_after_the_agent_closed_the_task_is_credited_to_it_once(redis, scorer):
    """Closed as converted, then the shopper orders: the task shows the order; a second order does not
    replace it, and the job run again changes nothing."""
    task = stuck(redis, scorer)
    tasks.claim(redis, task["id"], agents.ADMIN)
    tasks.close(redis, task["id"], "converted")
    stream.append(redis, SITE, [order("A-1", 120.0)], SHARDS)
    drain(scorer)
    work(redis)
    credited = tasks.get(redis, task["id"])
    assert (credited["status"], credited["outcome"]) == ("closed", "converted")
    assert credited["credited"]["order_id"] == "A-1" and credited["credited"]["revenue"] == 120.0
    assert abs(credited["credited"]["at"] - now_ms() / 1000) < 60

    stream.append(redis, SITE, [order("A-2", 5.0)], SHARDS)
    drain(scorer)
    make_queue(redis).enqueue("dispatch.jobs.credit_order", task["id"], {"order_id": "A-3", "revenue": 1.0,
                                                                         "at": 1.0, "site": SITE})
    work(redis)
    assert tasks.get(redis, task["id"])["credited"] == credited["credited"]


def test_an_order_while_the_task_is_claimed_is_credited_and_the_task_stays_with_its_agent(redis, scorer):
    """The agent is still chatting when the order comes: credited, still claimed, she closes it after."""
    task = stuck(redis, scorer)
    tasks.claim(redis, task["id"], agents.ADMIN)
    stream.append(redis, SITE, [order("B-7", 80.5)], SHARDS)
    drain(scorer)
    work(redis)
    found = tasks.get(redis, task["id"])
    assert found["status"] == "claimed" and found["credited"]["order_id"] == "B-7"
    assert tasks.close(redis, task["id"], "converted")["credited"]["revenue"] == 80.5


def test_an_order_before_anyone_claimed_withdraws_the_offer_as_bought(redis, scorer):
    """Offered to ann, then the shopper buys alone: the task is expired as bought (credited all the same)
    and ann's chat room is given back."""
    agent(redis, status="available")
    task = stuck(redis, scorer)
    assert (task["status"], task["offered_to"]) == ("offered", "ann") and agents.get(redis, "ann")["chats"] == 1
    stream.append(redis, SITE, [order("C-1", 120.0)], SHARDS)
    drain(scorer)
    work(redis)
    found = tasks.get(redis, task["id"])
    assert (found["status"], found["expired_reason"]) == ("expired", "bought")
    assert found["credited"]["order_id"] == "C-1"
    assert agents.get(redis, "ann")["chats"] == 0
    with pytest.raises(tasks.TaskError, match="only an open or offered task can be claimed"):
        tasks.claim(redis, task["id"], "ann")


def test_a_contacted_session_that_ends_expires_its_unclaimed_task(redis):
    """Offered to ann, and the shopper's session ends (30 minutes without events): the task is expired with
    the reason, ann's room is given back, and nothing is credited."""
    agent(redis, status="available")
    # Failures with no time window (the events are half an hour old); the scorer's deadline ends the session.
    task = stuck(redis, scorer_with(redis, CALL_OR_CHAT), at=now_ms() - HALF_HOUR_AGO)
    work(redis)
    found = tasks.get(redis, task["id"])
    assert (found["status"], found["expired_reason"]) == ("expired", "session ended")
    assert found.get("credited") is None and agents.get(redis, "ann")["chats"] == 0


def test_a_claimed_task_outlives_the_session(redis, scorer):
    """The agent who claimed the task keeps it when the session ends: she closes it herself."""
    stream.append(redis, SITE, failing("anon-1"), SHARDS)
    drain(scorer)
    work(redis)
    (task,) = tasks.listing(redis)
    tasks.claim(redis, task["id"], agents.ADMIN)
    make_queue(redis).enqueue("dispatch.jobs.session_ended", task["id"])
    work(redis)
    assert tasks.get(redis, task["id"])["status"] == "claimed"


def test_a_known_customers_orders_are_kept_without_any_contact(redis, scorer):
    """A signed-in shopper nobody contacted orders: the order is kept with them, once, even when the job
    runs twice, and another shop's customer of the same user id sees none of it."""
    stream.append(redis, SITE, [identify({"first_name": "Ann"}), order("D-1", 42.0)], SHARDS)
    drain(scorer)
    assert tasks.listing(redis) == []
    (job,) = [job for job in make_queue(redis).jobs if job.func_name == "dispatch.jobs.credit_order"]
    work(redis)
    make_queue(redis).enqueue_job(job)
    work(redis)
    (kept,) = customers.orders(redis, SITE, "u-anon-1")
    assert (kept["order_id"], kept["revenue"]) == ("D-1", 42.0)
    assert customers.orders(redis, "another-site", "u-anon-1") == []
