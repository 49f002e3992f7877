"""Customers: who a shopper is beyond one session.

A known customer is a user id of one shop. Their profile keeps what the shop's identify calls said
(name, email, phone, segment, consent), the cart and trouble of their last session, and indexes of their
email and phone in a canonical form (dispatch.contacts), so that a phone system can look them up by the
number that rings. Their orders and tasks are kept beside it; the screen pop of a task and the lookup
both show them, with each past task's chat transcript."""

import json

from dispatch import chat, contacts, defaults, keys, replenishment, suggest, tasks
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
    pipe.hset(keys.customer(site, user_id), mapping={"user_id": user_id, "last_cart": "{}"})  # bought: no open cart
    pipe.expire(keys.customer(site, user_id), defaults.CUSTOMER_TTL)
    pipe.zrem(keys.customer_carts(site), user_id)
    pipe.zadd(keys.customer_ordered(site), {user_id: kept["at"]}, gt=True)
    pipe.execute()
    replenishment.record(redis, site, user_id, order.get("products") or [], kept["at"])


def orders(redis, site: str | None, user_id: str, limit: int = defaults.POP_PAST) -> list[dict]:
    """The customer's latest orders, newest first."""
    return [json.loads(raw) for raw in redis.zrevrange(keys.customer_orders(site, user_id), 0, limit - 1)]


def past_tasks(redis, task: dict, limit: int = defaults.POP_PAST) -> list[dict]:
    """The customer's other tasks, newest first: what came of them and what was said."""
    return tasks_of(redis, task["site"], task["user_id"], limit, skip=task["id"])


def tasks_of(redis, site: str | None, user_id: str, limit: int = defaults.POP_PAST, skip: str | None = None) -> list[dict]:
    """A customer's tasks (but ``skip``), newest first, each with the end of its chat transcript."""
    ids = [raw.decode() for raw in redis.zrevrange(keys.customer_tasks(site, user_id), 0, limit)]
    found = []
    for task_id in ids:
        if task_id == skip:
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


# -- profiles --------------------------------------------------------------------------------------
TRAITS = ("name", "first_name", "segment", "vip", "plan", "consent", "do_not_contact")  # kept as sent (capped)
LOOKUP_KINDS = ("phone", "email", "user_id")


def remember(redis, site: str | None, user_id: str, traits: dict, anonymous_id: str | None, at: float,
             region: str = defaults.PHONE_REGION) -> dict:
    """An identify of a known customer: keep their traits and index their email and phone. A changed email
    or phone no longer finds them by the old one. Answers the fields written."""
    key = keys.customer(site, user_id)
    old_email, old_phone = (raw.decode() if raw else None for raw in redis.hmget(key, "email", "phone"))
    fields = {name: _text(traits[name]) for name in TRAITS if traits.get(name) not in (None, "")}
    email = contacts.email_or_none(traits.get("email"))
    phone = contacts.phone_or_none(traits.get("phone"), region)
    fields.update({name: value for name, value in (("email", email), ("phone", phone)) if value})
    fields.update(user_id=user_id, last_seen=at, **({"last_session": anonymous_id} if anonymous_id else {}))
    pipe = redis.pipeline(transaction=True)
    pipe.hset(key, mapping=fields)
    pipe.hsetnx(key, "first_seen", at)
    pipe.expire(key, defaults.CUSTOMER_TTL)
    for kind, old, new in (("email", old_email, email), ("phone", old_phone, phone)):
        if new and old and old != new:
            pipe.hdel(keys.customer_index(site, kind), old)
        if new:
            pipe.hset(keys.customer_index(site, kind), new, user_id)
    pipe.execute()
    return fields


def left(redis, site: str | None, user_id: str, ended: dict) -> None:
    """A known customer's session ended without an order: keep its cart (their open cart), step and trouble."""
    key = keys.customer(site, user_id)
    pipe = redis.pipeline(transaction=True)
    cart = ended.get("cart") or {}
    pipe.hset(key, mapping={
        "user_id": user_id, "last_ended_at": ended["at"], "last_step": _text(ended.get("step") or ""),
        "last_started_at": ended.get("started_at") or ended["at"], "tz": _text(ended.get("tz") or ""),
        "last_session": _text(ended.get("anonymous_id") or ""), "last_cart": json.dumps(cart),
        "last_trouble": json.dumps((ended.get("trouble") or [])[-defaults.TROUBLE_KEPT:]),
    })
    pipe.hsetnx(key, "first_seen", ended["at"])
    pipe.hsetnx(key, "last_seen", ended["at"])
    pipe.expire(key, defaults.CUSTOMER_TTL)
    if cart.get("items"):  # the outreach finds open carts by when they were left
        pipe.zadd(keys.customer_carts(site), {user_id: ended["at"]})
    else:
        pipe.zrem(keys.customer_carts(site), user_id)
    pipe.execute()


def find(redis, sites, kind: str, value: str, region: str = defaults.PHONE_REGION) -> list[tuple[str, str]]:
    """(site, user id) of the customers of ``sites`` with that phone, email or user id. The value is put in
    canonical form first: contacts.BadContact when it is not a phone number or an email address."""
    if kind == "phone":
        value = contacts.phone(value, region)
    elif kind == "email":
        value = contacts.email(value)
    sites = list(sites)
    pipe = redis.pipeline(transaction=False)
    for site in sites:
        if kind == "user_id":
            pipe.exists(keys.customer(site, value), keys.customer_orders(site, value))
        else:
            pipe.hget(keys.customer_index(site, kind), value)
    found = []
    for site, answer in zip(sites, pipe.execute()):
        if kind == "user_id" and answer:
            found.append((site, value))
        elif kind != "user_id" and answer:
            found.append((site, answer.decode()))
    return found


def profile(redis, site: str | None, user_id: str, live: dict | None = None) -> dict:
    """What an agent sees when a known customer calls: who they are, their orders and tasks, the open cart
    (their live session's, else the one their last session left), that session's trouble, and an offer."""
    raw = {name.decode(): value.decode() for name, value in redis.hgetall(keys.customer(site, user_id)).items()}
    traits = {name: raw[name] for name in (*TRAITS, "email", "phone") if name in raw}
    past_orders = orders(redis, site, user_id)
    if live:
        cart, step, trouble = live.get("cart") or {}, live.get("step"), live.get("trouble") or []
    else:
        cart = json.loads(raw.get("last_cart") or "{}")
        step, trouble = raw.get("last_step") or None, json.loads(raw.get("last_trouble") or "[]")
    found = {
        "site": site, "user_id": user_id, "traits": traits,
        "segments": sorted(segments({"traits": traits, "user_id": user_id, "returning": True})),
        "first_seen": _float(raw.get("first_seen")), "last_seen": _float(raw.get("last_seen")),
        "live": bool(live), "open_cart": cart if (cart or {}).get("items") else None, "step": step,
        "trouble": trouble, "orders": past_orders, "past_tasks": tasks_of(redis, site, user_id),
    }
    found["suggested_offer"] = suggest.offer(found)
    return found


def snapshot(redis, site: str | None, user_id: str, now_ms: int) -> dict:
    """The customer as the outreach rules see them (rules.customer_conditions): traits, the open cart and
    when it was left, their orders, the reorders due; shaped like a session's snapshot where the two meet,
    so that the contact policies (rules.policy) treat both alike."""
    raw = {name.decode(): value.decode() for name, value in redis.hgetall(keys.customer(site, user_id)).items()}
    cart = json.loads(raw.get("last_cart") or "{}")
    pipe = redis.pipeline(transaction=False)
    pipe.zcard(keys.customer_orders(site, user_id))
    pipe.zscore(keys.customer_ordered(site), user_id)
    pipe.zscore(keys.customer_carts(site), user_id)
    count, last_order, cart_left = pipe.execute()
    traits = {name: raw[name] for name in (*TRAITS, "email", "phone") if name in raw}
    return {
        "now": now_ms, "site": site, "user_id": user_id, "anonymous_id": raw.get("last_session") or user_id,
        "traits": traits, "tz": raw.get("tz") or None, "returning": True, "score": None,
        "cart_value": float(cart.get("value") or 0), "cart_items": int(cart.get("count") or 0), "cart": cart,
        "cart_left_at": int(cart_left * 1000) if cart_left and cart.get("items") else None,
        "cart_session_started_at": _float(raw.get("last_started_at")),
        "orders": count, "last_order_at": int(last_order * 1000) if last_order else None,
        "due": replenishment.due(redis, site, user_id), "session_seconds": 0,
    }


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) and len(value) <= 80 else str(value)[:80]


def _float(raw: str | None) -> float | None:
    return float(raw) if raw else None
