"""RQ jobs. Each decision is one job whose id is the decision id: the idempotency key."""

from rq import get_current_job

from dispatch import tasks
from tracker import inbox


def handle_decision(decision: dict) -> str:
    """Make the task (offered to an agent at once when one can take it), then deliver the contact. Safe to
    run twice for one decision: the task is created once, and the invitation is posted only while the
    task does not record it."""
    redis = get_current_job().connection
    task, _ = tasks.create(redis, decision)
    if task["channel"] == "chat" and task["invited_at"] is None:
        inbox.post(redis, task["anonymous_id"], {"type": "invite", "text": task["message"], "task_id": task["id"]})
        tasks.mark_invited(redis, task["id"])
    return task["id"]


def expire_due() -> list[str]:
    """Scheduled at each task's deadline (tasks.EXPIRE_JOB): store the expiries that are due, and offer the
    room they held to the tasks still waiting. Answers the ids of the tasks that changed."""
    return [task["id"] for task in tasks.route(get_current_job().connection)]
