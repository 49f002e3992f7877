"""The sends themselves, run by the jobs in dispatch/jobs.py: check-and-set first, then the outside call,
then the task records sent or (when no retry is left) failed, with the time."""

import time
import uuid

from dispatch import tasks
from dispatch.channels import coupon, mail, once, post
from dispatch.channels.errors import Permanent, Retryable
from dispatch.channels.settings import Settings

OUTSIDE = ("email", "sms", "webhook")  # channels sent with no agent


def coupon_of(task: dict, settings: Settings) -> str:
    return coupon.code(settings.coupon_prefix, settings.coupon_secret, task["id"])


def text_of(task: dict) -> str:
    """The task's message, with the coupon code where an outreach rule's message names {coupon}."""
    return (task.get("message") or "").replace("{coupon}", task.get("coupon") or "")


def _needs(value, name: str, task: dict):
    if not value:
        raise Permanent(f"{name} is not set: {task['channel']} task {task['id']} cannot be sent")
    return value


def _address(task: dict, field: str) -> str:
    value = (task.get("contact") or {}).get(field)
    if not value:
        raise Permanent(f"task {task['id']}: the shopper has no {field} to send the {task['channel']} to")
    return value


def _webhook_payload(task: dict) -> dict:
    shown = ("id", "channel", "created_at", "anonymous_id", "user_id", "site", "reason", "score", "message", "context")
    return {"type": "handrail.task", "task": {field: task.get(field) for field in shown}}


def sender(task: dict, settings: Settings):
    """The outside call that delivers ``task``, as a function of no argument answering what to record;
    Permanent now when a setting or the shopper's address is missing."""
    channel = task["channel"]
    if channel == "email":
        smtp = _needs(settings.smtp, "HANDRAIL_SMTP_URL", task)
        message = mail.compose(task, settings.smtp_from, coupon_of(task, settings), text_of(task))

        def send():
            mail.send(smtp, message)
            return {"message_id": message["Message-ID"]}

        return send
    if channel == "sms":
        url, to = _needs(settings.sms_url, "HANDRAIL_SMS_URL", task), _address(task, "phone")
        payload = {"task_id": task["id"], "to": to, "text": text_of(task), "site": task.get("site")}
        return lambda: {"answered": post.post(url, settings.secret, payload, task["id"])}
    if channel == "webhook":
        url = _needs(settings.webhook_url, "HANDRAIL_WEBHOOK_URL", task)
        return lambda: {"answered": post.post(url, settings.secret, _webhook_payload(task), task["id"])}
    raise Permanent(f"task {task['id']}: {channel} is not sent by a delivery job")


def _record(redis, task_id: str, **fields) -> dict:
    def change(task):
        task.update(fields)

    return tasks.update(redis, task_id, change)


def deliver(redis, job, task_id: str, settings: Settings) -> str:
    """Send an email, SMS or webhook task once. Raises (for RQ to retry, or to keep as a dead letter) when
    the outside did not take it; a Permanent refusal is not retried."""
    task = tasks.get(redis, task_id)
    return _once(redis, job, task, lambda: sender(task, settings), status=True)


def call_sender(task: dict, settings: Settings):
    """The contact centre's request to place the call of a claimed task: it rings the agent who claimed it,
    then the shopper."""
    payload = {"task_id": task["id"], "to": _address(task, "phone"), "tel": task["contact"].get("tel"),
               "agent": task.get("agent"), "callback": task["channel"] == "callback", "site": task.get("site")}
    return lambda: {"call_status": post.post(settings.telephony_url, settings.secret, payload, task["id"])}


def place_call(redis, job, task_id: str, settings: Settings) -> str:
    """Ask the contact centre to place a claimed call; without HANDRAIL_TELEPHONY_URL, the agent dials the
    task's tel: link herself and there is nothing to send."""
    task = tasks.get(redis, task_id)
    if not settings.telephony_url:
        return "no telephony webhook: the agent dials the tel: link"
    return _once(redis, job, task, lambda: call_sender(task, settings), status=False)


def _once(redis, job, task: dict, prepare, status: bool) -> str:
    """Run the outside call of ``prepare()`` at most once per task (dispatch.channels.once). ``status``: the
    task's status follows the send (sending, sent, failed); else only its fields do (a call's task is claimed)."""
    task_id = task["id"]
    try:
        call = prepare()
    except Permanent as error:
        _failed(redis, job, task_id, error, status)
        raise
    begun = once.begin(redis, task_id, f"{job.id}:{uuid.uuid4().hex[:8]}")
    if begun == once.SENT:
        return f"task {task_id}: already sent"
    try:
        recorded = call()
    except (Permanent, Retryable) as error:
        _failed(redis, job, task_id, error, status)
        raise
    once.done(redis, task_id)
    now = time.time()
    fields = {"status": tasks.SENT, "sent_at": now} if status else {"call_requested_at": now}
    _record(redis, task_id, error=None, **fields, **recorded)
    return f"task {task_id}: sent" + (" (again, after an interrupted attempt)" if begun == once.RESUMED else "")


def _failed(redis, job, task_id: str, error: Exception, status: bool) -> None:
    if isinstance(error, Permanent):
        job.retries_left = 0  # refused: retrying would change nothing, so straight to the dead letters
    fields = {"error": str(error)}
    if not job.retries_left:  # that was the last attempt
        fields |= {"status": tasks.FAILED, "failed_at": time.time()} if status else {"call_failed_at": time.time()}
    _record(redis, task_id, **fields)
