"""The customer of a task, as the screen pop shows them: who they are (traits, segments), and for a known
customer (a user id of the task's site) their past orders and past tasks, each with its chat transcript."""

import json

from dispatch import chat, defaults, keys, suggest, tasks
from rules.conditions import segments

OWN = ("user_id", "returning", "segments")  # what the scorer adds to the traits in a task's context.customer


def record_order(redis, site: str | None, user_id: str, order: dict) -> None:
    """Keep an order of a known customer, the latest CUSTOMER_ORDERS_KEPT. Recording one twice keeps it once:
    the same order is the same member of the sorted set."""
    kept = {"order_id": order.get("order_id") or "", "revenue": order.get("revenue") or 0.0, "at": order["at"]}
    key = keys.customer_orders(site, user_id)
    pipe = redis.pipeline(transaction=True)
    pipe.zadd(key, {json.dumps(kept, sort_keys=True): kept["at"]})
    pipe.zremrangebyrank(key, 0, -defaults.CUSTOMER_ORDERS_KEPT - 1)
    pipe.expire(key, defaults.TASK_TTL)
    pipe.execute()


def orders(redis, site: str | None, user_id: str, limit: int = defaults.POP_PAST) -> list[dict]:
    """The customer's latest orders, newest first."""
    return [json.loads(raw) for raw in redis.zrevrange(keys.customer_orders(site, user_id), 0, limit - 1)]


def past_tasks(redis, task: dict, limit: int = defaults.POP_PAST) -> list[dict]:
    """The customer's other tasks, newest first: what came of them and what was said."""
    ids = [raw.decode() for raw in redis.zrevrange(keys.customer_tasks(task["site"], task["user_id"]), 0, limit)]
    found = []
    for task_id in ids:
        if task_id == task["id"]:
            continue
        try:
            past = tasks.get(redis, task_id)
        except tasks.NoSuchTask:  # its record outlived by the index
            continue
        found.append({"id": past["id"], "status": past["status"], "outcome": past["outcome"],
                      "rule": past["reason"]["rule"], "channel": past["channel"], "created_at": past["created_at"],
                      "credited": past.get("credited"),
                      "transcript": chat.transcript(redis, past["id"])[-defaults.POP_TRANSCRIPT:]})
    return found[:limit]


def customer(task: dict) -> dict:
    """Who the shopper is: the traits their shop's page sent, and their segments (rules.conditions)."""
    known = dict((task.get("context") or {}).get("customer") or {})
    traits = {name: value for name, value in known.items() if name not in OWN}
    user_id = task.get("user_id") or known.get("user_id")
    returning = bool(known.get("returning") or user_id)
    found = known.get("segments")
    if not isinstance(found, list):  # a task made before the scorer sent them
        found = sorted(segments({"traits": traits, "user_id": user_id, "returning": returning}))
    return {"anonymous_id": task["anonymous_id"], "user_id": user_id, "returning": returning,
            "segments": found, "traits": traits}


def pop(redis, task: dict) -> dict:
    """What the console shows beside the task's own reason and context when an agent claims it."""
    who = customer(task)
    known = who["user_id"] is not None
    return {"customer": who,
            "orders": orders(redis, task.get("site"), who["user_id"]) if known else [],
            "past_tasks": past_tasks(redis, dict(task, user_id=who["user_id"])) if known else [],
            "suggested_line": suggest.first_line(task)}
