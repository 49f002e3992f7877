"""How a contacted shopper's session turned out, applied to the task of the decision that contacted them.

An Order Completed in that session credits the task (`credited`: order id, revenue, when), whatever its
status: a claimed or closed task is the conversion the agent worked for, an unclaimed one the invitation's
own. A task nobody claimed yet is withdrawn then (expired, reason "bought": the shopper needs no help), and
also when the session ends without an order (reason "session ended"), giving back the room its offer
reserved. Each is idempotent: the scorer may tell the same outcome twice after a crash.
"""

import time

from dispatch import coupons, customers, keys, routing, tasks

BOUGHT = "bought"
SESSION_ENDED = "session ended"


def credit(redis, task_id: str, order: dict) -> dict:
    """Credit the order to the task (the first order only) and withdraw it if still unclaimed."""
    def change(task):
        if task.get("credited") is None:
            task["credited"] = {"order_id": order.get("order_id") or "", "revenue": order.get("revenue") or 0.0,
                                "at": order.get("at") or time.time()}
        _expire(task, BOUGHT)

    task = tasks.update(redis, task_id, change)
    _settle(redis, task)
    return task


def withdraw(redis, task_id: str, reason: str) -> dict:
    """The session ended: expire the task with ``reason`` if nobody claimed it; anything else is left as is."""
    def change(task):
        if not _expire(task, reason):
            raise tasks.TaskError(f"task {task_id} is {task['status']}: nothing to withdraw")

    try:
        task = tasks.update(redis, task_id, change)
    except tasks.TaskError:
        return tasks.get(redis, task_id)
    _settle(redis, task)
    return task


def _expire(task: dict, reason: str) -> bool:
    """Expire an unclaimed task (one whose deadline passed already keeps its time); True when it changed."""
    if task["status"] in tasks.UNCLAIMED:
        task.update(status=tasks.EXPIRED, expired_at=time.time(), expired_reason=reason)
        return True
    return False


def _settle(redis, task: dict) -> None:
    if task["status"] == tasks.EXPIRED and task.get("expired_reason"):
        redis.zrem(keys.TASK_DEADLINES, task["id"])
        routing.settle(redis, task["id"])  # the offer's reservation goes back to the agent


def apply_order(redis, decision_id: str | None, order: dict) -> dict | None:
    """An Order Completed: kept with the known customer, credited to the contacting decision's task, and to
    the outreach task whose coupon it redeems."""
    if order.get("user_id"):
        customers.record_order(redis, order["site"], order["user_id"], order)
    if order.get("coupon"):
        by = order.get("anonymous_id") or order.get("user_id") or ""
        if coupons.redeem(redis, order["coupon"], by, order.get("order_id"), order.get("at")) == coupons.OK:
            credit(redis, coupons.show(redis, order["coupon"])["task"], order)
    return credit(redis, decision_id, order) if decision_id else None
