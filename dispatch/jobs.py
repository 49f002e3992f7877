"""RQ jobs. Each decision is one job whose id is the decision id: the idempotency key."""

import os
import time

from rq import get_current_job

from dispatch import coupons, customers, defaults, outcomes, tasks
from dispatch.channels import delivery, queueing, settings
from tracker import inbox


def handle_decision(decision: dict) -> str:
    """Make the task (offered to an agent at once when one can take it), then deliver the contact. Safe to
    run twice for one decision: the task is created once, the invitation is posted by the one run that
    records it, and an email, text or webhook is queued once (its own job, retried on its own)."""
    redis = get_current_job().connection
    task, _ = tasks.create(redis, decision)
    if task["channel"] == "chat" and task["invited_at"] is None:
        # Recorded before it is posted, as the other channels check and set before they send: a run killed
        # between the two leaves the shopper uninvited, never invited twice.
        if tasks.mark_invited(redis, task["id"]):
            inbox.post(redis, task["anonymous_id"], {"type": "invite", "text": task["message"],
                                                     "task_id": task["id"]}, site=task.get("site"))
    # Failed too: a run that stopped at a bad setting queued no send (a queued one is not queued twice).
    elif task["channel"] in delivery.OUTSIDE and task["status"] in (tasks.OPEN, tasks.SENDING, tasks.FAILED):
        try:
            config = settings.load(os.environ)
        except settings.ChannelConfigError as error:
            message = str(error)
            tasks.update(redis, task["id"], lambda task: task.update(status=tasks.FAILED, failed_at=time.time(),
                                                                      error=message))
            get_current_job().retries_left = 0  # a setting to fix first: kept as a dead letter to retry then
            raise
        coupon = delivery.coupon_of(task, config) if task["channel"] == "email" or task.get("coupon_offer") else None
        issued = None
        if coupon and task.get("coupon_offer"):  # an outreach's: single use, with an expiry (dispatch.coupons)
            issued = coupons.issue(redis, coupon, task, task["coupon_offer"]["percent"], task["coupon_offer"]["valid"])

        def sending(task):
            task.update(status=tasks.SENDING, coupon=coupon, coupon_expires_at=issued and issued["expires_at"],
                        error=None, failed_at=None)

        task = tasks.update(redis, task["id"], sending)
        queueing.enqueue(redis, queueing.DELIVER_JOB, task, config.retry_intervals)
    return task["id"]


def deliver(task_id: str) -> str:
    """Send an email, SMS or webhook task (dispatch.channels.delivery), with the worker's settings."""
    job = get_current_job()
    return delivery.deliver(job.connection, job, task_id, settings.load(os.environ))


def place_call(task_id: str) -> str:
    """Queued when an agent claims a call or callback: ask the contact centre to place it."""
    job = get_current_job()
    return delivery.place_call(job.connection, job, task_id, settings.load(os.environ))


def expire_due() -> list[str]:
    """Scheduled at each task's deadline (tasks.EXPIRE_JOB): store the expiries that are due, and offer the
    room they held to the tasks still waiting. Answers the ids of the tasks that changed."""
    return [task["id"] for task in tasks.route(get_current_job().connection)]


def credit_order(decision_id: str | None, order: dict) -> str | None:
    """The scorer saw an Order Completed (handrail.scorer_process.outcome_enqueuer): kept with a known
    customer, credited to the task of the decision that contacted the session (dispatch.outcomes)."""
    task = outcomes.apply_order(get_current_job().connection, decision_id, order)
    return task and task["id"]


def session_ended(decision_id: str) -> str:
    """A contacted session ended without an order: its task is withdrawn if nobody claimed it."""
    return outcomes.withdraw(get_current_job().connection, decision_id, outcomes.SESSION_ENDED)["status"]


def customer_identified(site: str | None, user_id: str, traits: dict, anonymous_id: str, at: float) -> str:
    """A known customer signed in (an identify): their profile keeps the traits, found by email and phone."""
    customers.remember(get_current_job().connection, site, user_id, traits, anonymous_id, at,
                       os.environ.get("HANDRAIL_PHONE_REGION") or defaults.PHONE_REGION)
    return user_id


def customer_left(site: str | None, user_id: str, visit: dict) -> str:
    """A known customer's session ended: their profile keeps its cart (open unless bought), step and trouble."""
    customers.left(get_current_job().connection, site, user_id, visit)
    return user_id


def coupon_entered(code: str, anonymous_id: str, at: float) -> str:
    """A Coupon Entered event carried a code: a coupon Handrail issued is redeemed by that shopper."""
    return coupons.redeem(get_current_job().connection, code, anonymous_id, now=at)
