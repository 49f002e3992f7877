"""Tasks: what an agent is asked to do for one shopper, with the context popped on their screen."""

import json
import time

from redis.exceptions import WatchError

from dispatch import defaults, keys

OPEN, CLAIMED, CLOSED, EXPIRED = "open", "claimed", "closed", "expired"


class TaskError(ValueError):
    """A transition that the task's state does not allow; the message says why."""


class NoSuchTask(KeyError):
    pass


def _now() -> float:
    return time.time()


def create(redis, decision: dict) -> tuple[dict, bool]:
    """The task for ``decision`` and whether this call created it. The decision id is the task id,
    and SET NX makes a replayed job find the task instead of making a second one."""
    now = _now()
    task = {
        "id": decision["id"],
        "status": OPEN,
        "channel": decision["channel"],
        "created_at": now,
        "expires_at": now + defaults.OFFER_TIMEOUT,
        "anonymous_id": decision["anonymous_id"],
        "user_id": decision.get("user_id"),
        "site": decision.get("site"),
        "reason": {"rule": decision["rule"], "text": decision["text"], "evidence": decision["evidence"]},
        "message": decision.get("message", ""),
        "score": decision.get("score"),
        "context": decision.get("context", {}),
        "invited_at": None,
        "claimed_at": None,
        "closed_at": None,
        "outcome": None,
    }
    if not redis.set(keys.task(task["id"]), json.dumps(task), nx=True, ex=defaults.TASK_TTL):
        return get(redis, task["id"]), False
    pipe = redis.pipeline(transaction=False)
    pipe.zadd(keys.TASKS, {task["id"]: now})
    pipe.zremrangebyrank(keys.TASKS, 0, -defaults.TASKS_KEPT - 1)
    pipe.xadd(keys.FEED, {"id": task["id"]}, maxlen=defaults.FEED_LENGTH, approximate=True)
    pipe.execute()
    return task, True


def _shown(task: dict) -> dict:
    if task["status"] == OPEN and _now() > task["expires_at"]:
        task["status"] = EXPIRED
    return task


def get(redis, task_id: str) -> dict:
    raw = redis.get(keys.task(task_id[:64]))
    if raw is None:
        raise NoSuchTask(task_id)
    return _shown(json.loads(raw))


def listing(redis, limit: int = 100) -> list[dict]:
    ids = redis.zrevrange(keys.TASKS, 0, limit - 1)
    found = redis.mget([keys.task(i.decode()) for i in ids]) if ids else []
    return [_shown(json.loads(raw)) for raw in found if raw]


def update(redis, task_id: str, change) -> dict:
    """Apply ``change(task)`` (which raises TaskError to refuse) with optimistic locking."""
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
                pipe.execute()
                return task
            except WatchError:
                continue


def claim(redis, task_id: str, agent: str) -> dict:
    def change(task):
        if task["status"] != OPEN:
            raise TaskError(f"task {task_id} is {task['status']}, only an open task can be claimed")
        task.update(status=CLAIMED, claimed_at=_now(), agent=agent)

    return update(redis, task_id, change)


def close(redis, task_id: str, outcome: str) -> dict:
    if outcome not in defaults.OUTCOMES:
        raise TaskError(f"outcome must be one of {', '.join(defaults.OUTCOMES)}, got {outcome!r}")

    def change(task):
        if task["status"] != CLAIMED:
            raise TaskError(f"task {task_id} is {task['status']}, only a claimed task can be closed")
        task.update(status=CLOSED, closed_at=_now(), outcome=outcome)

    return update(redis, task_id, change)


def mark_invited(redis, task_id: str) -> dict:
    def change(task):
        task["invited_at"] = _now()

    return update(redis, task_id, change)
