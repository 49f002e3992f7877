"""RQ jobs. Each decision is one job whose id is the decision id: the idempotency key."""

from rq import get_current_job

from dispatch import tasks
from tracker import inbox


def handle_decision(decision: dict) -> str:
    """Make the task, then deliver the contact. Safe to run twice for one decision: the task is
    created once, and the invitation is posted only while the task does not record it."""
    redis = get_current_job().connection
    task, _ = tasks.create(redis, decision)
    if task["channel"] == "chat" and task["invited_at"] is None:
        inbox.post(redis, task["anonymous_id"], {"type": "invite", "text": task["message"], "task_id": task["id"]})
        tasks.mark_invited(redis, task["id"])
    return task["id"]
