"""Tasks: what an agent is asked to do for one shopper, with the context popped on their screen.

A task's life, each step timestamped in it: created (open), offered to one agent (dispatch.routing
picks her), claimed, closed with an outcome; or expired, when nobody claimed it in time (2 minutes for
a chat or a call, counted from its creation or its offer; 30 for a callback), or withdrawn unclaimed (expired
with an ``expired_reason``) when the shopper buys or their session ends (dispatch.outcomes, which also credits
an order to the task). An expiry is stored by a sweep of the deadlines that the worker's scheduler runs at
each deadline (an RQ job scheduled when the deadline is set) and that every routing pass runs first, so a
stale offer never holds an agent's room.
A reader sees a task past its deadline as expired even before the sweep has stored it.
"""

import json
import time
from datetime import datetime, timezone

from redis.exceptions import WatchError
from rq import Queue
from rq.serializers import JSONSerializer

from dispatch import agents, defaults, keys, routing
from dispatch.channels import contact, queueing
from reports import hours

OPEN, OFFERED, CLAIMED, CLOSED, EXPIRED = "open", "offered", "claimed", "closed", "expired"
SENDING, SENT, FAILED = "sending", "sent", "failed"  # an email, sms or webhook task (dispatch.channels.delivery)
UNCLAIMED = (OPEN, OFFERED)
REPORT_FIELD_CAP = 80  # characters of a rule id or channel in a report field (rule ids are at most 64)
EXPIRE_JOB = "dispatch.jobs.expire_due"


class TaskError(ValueError):
    """A transition that the task's state does not allow; the message says why."""


class NoSuchTask(KeyError):
    pass


def _now() -> float:
    return time.time()


def _remind(redis, task: dict) -> None:
    """Have the worker's scheduler (`rq worker --with-scheduler`) run the expiry sweep at the task's deadline."""
    at = datetime.fromtimestamp(task["expires_at"], timezone.utc)
    queue = Queue(keys.QUEUE, connection=redis, serializer=JSONSerializer)
    queue.enqueue_at(at, EXPIRE_JOB, job_id=f"expire-{task['id']}-{int(task['expires_at'] * 1000)}")


def create(redis, decision: dict) -> tuple[dict, bool]:
    """The task for ``decision`` and whether this call created it, offered to an agent at once when one can
    take it. The decision id is the task id, and SET NX makes a replayed job find the task instead of
    making a second one."""
    now = _now()
    timeout = defaults.CALLBACK_TIMEOUT if decision["channel"] == "callback" else defaults.OFFER_TIMEOUT
    task = {
        "id": decision["id"],
        "status": OPEN,
        "channel": decision["channel"],
        "created_at": now,
        "expires_at": now + timeout,
        "anonymous_id": decision["anonymous_id"],
        "user_id": decision.get("user_id"),
        "site": decision.get("site"),
        "reason": {"rule": decision["rule"], "text": decision["text"], "evidence": decision["evidence"],
                   "why": decision.get("why", "")},  # why this channel: the expected value, in words
        "priority": decision.get("priority", "normal"),
        "skill": decision.get("skill"),
        "message": decision.get("message", ""),
        "coupon_offer": decision.get("coupon"),  # an outreach rule's {percent, valid}: a coupon issued with it
        "score": decision.get("score"),
        "context": decision.get("context", {}),
        "invited_at": None,
        "offered_to": None,
        "offered_at": None,
        "first_offered_at": None,  # an offer taken back and made again is still one task offered
        "claimed_at": None,
        "closed_at": None,
        "expired_at": None,
        "outcome": None,
        "contact": contact.address(decision),  # the phone and tel: link, or the email, of the channel
    }
    created = bool(redis.set(keys.task(task["id"]), json.dumps(task), nx=True, ex=defaults.TASK_TTL))
    if created:
        pipe = redis.pipeline(transaction=False)
        pipe.zadd(keys.TASKS, {task["id"]: now})
        pipe.zremrangebyrank(keys.TASKS, 0, -defaults.TASKS_KEPT - 1)
        pipe.zadd(keys.TASK_DEADLINES, {task["id"]: task["expires_at"]})
        if task["user_id"]:  # a known customer's past tasks, for the screen pop (dispatch.customers)
            customer_tasks = keys.customer_tasks(task["site"], task["user_id"])
            pipe.zadd(customer_tasks, {task["id"]: now})
            pipe.zremrangebyrank(customer_tasks, 0, -defaults.CUSTOMER_TASKS_KEPT - 1)
            pipe.expire(customer_tasks, defaults.TASK_TTL)
        pipe.xadd(keys.FEED, {"id": task["id"]}, maxlen=defaults.FEED_LENGTH, approximate=True)
        hours.add(pipe, keys.REPORT, now, {report_field("created", task): 1})
        pipe.execute()
        _remind(redis, task)
    else:
        task = get(redis, task["id"])
    # Queued again by a replayed job, in case its first run stopped before this (a no-op otherwise).
    if task["status"] == OPEN and routing.agent_channel(task):
        routing.wait(redis, task)
        route(redis)
        task = get(redis, task["id"])
    return task, created


def _shown(task: dict) -> dict:
    if task["status"] in UNCLAIMED and _now() > task["expires_at"]:
        task.update(status=EXPIRED, expired_at=task["expires_at"])
    return task


def get(redis, task_id: str) -> dict:
    raw = redis.get(keys.task(task_id[:64]))
    if raw is None:
        raise NoSuchTask(task_id)
    return _shown(json.loads(raw))


def visible(task: dict, sites: frozenset[str] | None) -> bool:
    """Does someone who sees ``sites`` (None: every site; see agents.sites_of) see the task?"""
    return sites is None or task.get("site") in sites


def listing(redis, limit: int = 100, sites: frozenset[str] | None = None) -> list[dict]:
    """The newest tasks first, of ``sites`` only when given."""
    found: list[dict] = []
    page, start = (limit if sites is None else max(limit, 500)), 0
    while len(found) < limit and start < defaults.TASKS_KEPT:
        ids = redis.zrevrange(keys.TASKS, start, start + page - 1)
        if not ids:
            break
        start += len(ids)
        stored = redis.mget([keys.task(i.decode()) for i in ids])
        found += [task for task in (_shown(json.loads(raw)) for raw in stored if raw) if visible(task, sites)]
    return found[:limit]


def report_field(what: str, task: dict) -> str:
    """The field of dispatch.keys.REPORT counting ``what`` for the task's rule and channel."""
    rule, channel = (str(part).replace("|", "")[:REPORT_FIELD_CAP] for part in (task["reason"]["rule"],
                                                                                 task["channel"]))
    return f"{what}|{rule}|{channel}"


def _converted(task: dict) -> bool:
    return task.get("credited") is not None or (task["status"] == CLOSED and task.get("outcome") == "converted")


def _report(pipe, before: dict, after: dict) -> None:
    """Count, by the hour each happened, the steps a change takes (dispatch.keys.REPORT). ``before`` is the task
    as stored, not as shown: storing an expiry that readers already saw counts it, storing it again does not."""
    if before.get("first_offered_at") is None and after.get("first_offered_at") is not None:
        hours.add(pipe, keys.REPORT, after["first_offered_at"], {report_field("offered", after): 1, "offered": 1})
    if before["status"] in UNCLAIMED and after["status"] == CLAIMED:
        claimed_at = after.get("claimed_at") or _now()
        hours.add(pipe, keys.REPORT, claimed_at, {
            report_field("claimed", after): 1, "claimed": 1,
            report_field("claim_seconds", after): float(claimed_at - after["created_at"])})
    if before["status"] in UNCLAIMED and after["status"] == EXPIRED:
        hours.add(pipe, keys.REPORT, after.get("expired_at") or _now(), {report_field("expired", after): 1,
                                                                         "expired": 1})
    if not _converted(before) and _converted(after):  # closed "converted", or an order credited: once per task
        hours.add(pipe, keys.REPORT, _now(), {report_field("converted", after): 1})


def update(redis, task_id: str, change) -> dict:
    """Apply ``change(task)`` (which raises TaskError to refuse) with optimistic locking; the report counters
    of the steps it takes are added in the same transaction."""
    key = keys.task(task_id[:64])
    with redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                pipe.watch(key)
                raw = pipe.get(key)
                if raw is None:
                    raise NoSuchTask(task_id)
                task = _shown(json.loads(raw))
                change(task)
                pipe.multi()
                pipe.set(key, json.dumps(task), keepttl=True)
                pipe.xadd(keys.FEED, {"id": task["id"]}, maxlen=defaults.FEED_LENGTH, approximate=True)
                _report(pipe, json.loads(raw), task)
                pipe.execute()
                return task
            except WatchError:
                continue


def _expire_due(redis, now: float) -> list[dict]:
    """Store the expiry of every unclaimed task past its deadline and release the room its offer reserved."""
    expired = []
    for raw_id in redis.zrangebyscore(keys.TASK_DEADLINES, "-inf", now):
        task_id = raw_id.decode()

        def store(task):
            if task["status"] != EXPIRED:
                raise TaskError(f"task {task_id} is {task['status']}")  # claimed since: nothing to expire

        try:
            expired.append(update(redis, task_id, store))
            routing.settle(redis, task_id)
        except (TaskError, NoSuchTask):
            pass
        redis.zrem(keys.TASK_DEADLINES, task_id)
    return expired


def route(redis) -> list[dict]:
    """Expire what is due, then offer the waiting tasks to agents (dispatch.routing). Answers the tasks
    that changed: expired, offered, or back to open because their agent is no longer available."""
    now = _now()
    changed = {task["id"]: task for task in _expire_due(redis, now)}
    returned, offered = routing.offer(redis, defaults.ROUTE_BATCH)

    def reopen(task):
        if task["status"] != OFFERED:
            raise TaskError(f"task {task['id']} is {task['status']}")
        task.update(status=OPEN, offered_to=None, offered_at=None)

    for task_id in set(returned) - {task_id for task_id, _ in offered}:
        try:
            changed[task_id] = update(redis, task_id, reopen)
        except (TaskError, NoSuchTask):
            pass
    for task_id, agent in offered:
        try:
            changed[task_id] = _offered(redis, task_id, agent, now)
        except (TaskError, NoSuchTask):
            # Claimed (or expired) between the offer and now: the claimant keeps its hold, the offer's goes.
            routing.settle(redis, task_id, keep=_claimant(redis, task_id), also=agent)
    return list(changed.values())


def _offered(redis, task_id: str, agent: str, at: float) -> dict:
    before = {}

    def change(task):
        if task["status"] not in UNCLAIMED:
            raise TaskError(f"task {task_id} is {task['status']}, it cannot be offered")
        before["expires_at"] = task["expires_at"]
        # Whoever it is offered to has OFFER_TIMEOUT to claim it, and never more than the task has left.
        task.update(status=OFFERED, offered_to=agent, offered_at=at,
                    first_offered_at=task.get("first_offered_at") or at,
                    expires_at=min(task["expires_at"], at + defaults.OFFER_TIMEOUT))

    task = update(redis, task_id, change)
    if task["expires_at"] < before["expires_at"]:
        redis.zadd(keys.TASK_DEADLINES, {task_id: task["expires_at"]})
        _remind(redis, task)
    return task


def _hold(redis, task: dict, agent: str) -> bool:
    """Take a registered agent's capacity for the task's channel: True when this call took it."""
    channel = routing.agent_channel(task)
    if task["status"] not in UNCLAIMED or channel is None:
        return False  # the claim refuses it, or the channel needs no agent capacity
    if task["status"] == OFFERED and task["offered_to"] != agent:
        return False  # refused below, unless the admin takes it over, holding nothing
    try:
        return agents.take(redis, agent, channel, task["id"])  # False when the offer reserved it already
    except agents.NoSuchAgent:
        return False  # not a registered agent (the console's admin): nothing to hold
    except agents.AgentFull as error:
        raise TaskError(f"task {task['id']} cannot be claimed: {error}") from error


def _claimant(redis, task_id: str) -> str | None:
    try:
        task = get(redis, task_id)
    except NoSuchTask:
        return None
    return task.get("agent") if task["status"] == CLAIMED else None


def claim(redis, task_id: str, agent: str) -> dict:
    """``agent`` claims an open task, or one offered to her; the admin may take over any unclaimed task.
    An agent limited to some sites gets NoSuchTask for the tasks of the others."""
    def change(task):
        offered_to = task.get("offered_to")
        if task["status"] == OFFERED and agent not in (offered_to, agents.ADMIN):
            raise TaskError(f"task {task_id} is offered to {offered_to}: only they (or the admin) can claim it")
        if task["status"] not in UNCLAIMED:
            raise TaskError(f"task {task_id} is {task['status']}, only an open or offered task can be claimed")
        task.update(status=CLAIMED, claimed_at=_now(), agent=agent)

    task = get(redis, task_id)
    if not visible(task, agents.sites_of(redis, agent)):
        raise NoSuchTask(task_id)
    held = _hold(redis, task, agent)
    try:
        claimed = update(redis, task_id, change)
    except (TaskError, NoSuchTask):
        # Give back what this call took, unless the same agent's concurrent claim won with that hold.
        if held and _claimant(redis, task_id) != agent:
            agents.release(redis, agent, routing.agent_channel(task), task["id"])
        raise
    redis.zrem(keys.TASK_DEADLINES, task_id)
    if routing.agent_channel(claimed) and routing.settle(redis, task_id, keep=agent):
        route(redis)  # taken over from the agent it was offered to: her room goes to the next task
    if claimed["channel"] in ("call", "callback"):  # the contact centre places it now that an agent is there
        queueing.enqueue(redis, queueing.CALL_JOB, claimed, defaults.DELIVERY_RETRY_INTERVALS)
    return claimed


def close(redis, task_id: str, outcome: str, by: str | None = None) -> dict:
    """Close a claimed task with an outcome. ``by``: who asks; only the claimant or the admin may (None:
    not checked)."""
    if outcome not in defaults.OUTCOMES:
        raise TaskError(f"outcome must be one of {', '.join(defaults.OUTCOMES)}, got {outcome!r}")

    def change(task):
        if task["status"] != CLAIMED:
            raise TaskError(f"task {task_id} is {task['status']}, only a claimed task can be closed")
        if by not in (None, agents.ADMIN, task["agent"]):
            raise TaskError(f"task {task_id} is claimed by {task['agent']}: only they (or the admin) can close it")
        task.update(status=CLOSED, closed_at=_now(), outcome=outcome)

    if by is not None and not visible(get(redis, task_id), agents.sites_of(redis, by)):
        raise NoSuchTask(task_id)
    task = update(redis, task_id, change)
    channel = routing.agent_channel(task)
    # Nothing to give back for the console's admin, who holds nothing.
    if channel and agents.release(redis, task["agent"], channel, task["id"]):
        route(redis)  # she has room again: a waiting task (a callback) may go to her
    return task


def mark_invited(redis, task_id: str) -> bool:
    """Record that the shopper is being invited: True for the one call that records it, False after."""
    def change(task):
        if task.get("invited_at") is not None:
            raise TaskError(f"task {task_id} was invited already")
        task["invited_at"] = _now()

    try:
        update(redis, task_id, change)
    except TaskError:
        return False
    return True
