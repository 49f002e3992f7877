"""At most one contact per task, even when a worker dies in the middle of a send.

Before the outside call, the task's contact key is set to "sending <attempt> <at>" with SET NX; after
the outside took it, to "sent <at>". A run that finds "sent" does nothing. One that finds "sending"
left by an earlier run knows that run is over: a delivery job has one id per task, and RQ runs a job
again only once its last run failed or its worker died. Whether that run reached the outside is
unknown, so it sends again under the same identity, which the receiver uses to drop a repeat: the
Idempotency-Key of a signed request, the Message-ID of an email (a server that never answered 250
did not take the first; one that did and lost us before we wrote "sent" leaves a duplicate with the
same Message-ID, which mail clients show once).
"""

import time

from dispatch import defaults, keys

NEW, RESUMED, SENT = "new", "resumed", "sent"


def begin(redis, task_id: str, attempt: str) -> str:
    """Record that ``attempt`` is about to contact the shopper of the task: NEW, RESUMED (an earlier run
    began and never finished) or SENT (nothing to do)."""
    key = keys.contact(task_id)
    value = f"sending {attempt} {time.time():.3f}"
    if redis.set(key, value, nx=True, ex=defaults.TASK_TTL):
        return NEW
    held = redis.get(key) or b""
    if held.startswith(b"sent"):
        return SENT
    redis.set(key, value, keepttl=True)
    return RESUMED


def done(redis, task_id: str) -> None:
    redis.set(keys.contact(task_id), f"sent {time.time():.3f}", ex=defaults.TASK_TTL)


def state(redis, task_id: str) -> str | None:
    """The recorded state, for the task's readers: None, "sending ..." or "sent ..."."""
    held = redis.get(keys.contact(task_id))
    return held.decode() if held else None
