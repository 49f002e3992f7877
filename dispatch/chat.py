"""Chat between a shopper and the agent of a task. Every message is kept twice: in the task's chat (its
transcript, which the console follows live) and in the customer's transcript (their user id when known,
else the anonymous id), so nothing is lost when an agent leaves or the shopper comes back later.
An agent's message also goes into the shopper's inbox, which their open pages follow.
"""

import time

from dispatch import defaults, keys, tasks
from tracker import inbox

SHOPPER, AGENT = "shopper", "agent"
OPEN_TO_CHAT = (tasks.OPEN, tasks.OFFERED, tasks.CLAIMED)


class ChatError(ValueError):
    """A message that cannot be taken; the text says why."""


class TooFast(ChatError):
    pass


def customer(task: dict) -> str:
    return task.get("user_id") or task["anonymous_id"]


def _transcript(task: dict) -> str:
    """The key of the customer's transcript: one shop's user "42" is not another shop's."""
    return keys.transcript(f"{task.get('site') or ''}:{customer(task)}")


def clean(text) -> str:
    """The message's text, stripped; ChatError when it is not a non-empty string within the cap."""
    if not isinstance(text, str) or not text.strip():
        raise ChatError("text: required, a non-empty string")
    text = text.strip()
    if len(text) > defaults.CHAT_MAX_TEXT:
        raise ChatError(f"text: at most {defaults.CHAT_MAX_TEXT} characters, got {len(text)}")
    return text


def entry(entry_id: bytes, fields: dict) -> dict:
    """A stored message as JSON-ready data; its id is the stream entry's."""
    message = {k.decode(): v.decode() for k, v in fields.items()}
    message["at"] = float(message["at"])
    message["id"] = entry_id.decode()
    return message


def add(redis, task: dict, who: str, text: str, name: str = "") -> dict:
    """Keep a message in the task's chat and the customer's transcript; an agent's goes to the shopper too."""
    if task["status"] not in OPEN_TO_CHAT:
        raise ChatError(f"task {task['id']} is {task['status']}: its chat is over")
    fields = {"who": who, "name": name, "text": clean(text), "at": repr(time.time()), "task": task["id"]}
    chat_key, transcript_key = keys.chat(task["id"]), _transcript(task)
    pipe = redis.pipeline(transaction=False)
    pipe.xadd(chat_key, fields, maxlen=defaults.CHAT_KEPT, approximate=False)
    pipe.expire(chat_key, defaults.TASK_TTL)
    pipe.xadd(transcript_key, fields, maxlen=defaults.TRANSCRIPT_KEPT, approximate=False)
    pipe.expire(transcript_key, defaults.TASK_TTL)
    entry_id = pipe.execute()[0]
    message = entry(entry_id, {k.encode(): v.encode() for k, v in fields.items()})
    if who == AGENT:
        inbox.post(redis, task["anonymous_id"], {"type": "chat", **message}, site=task.get("site"))
    return message


def limit(redis, who: str) -> None:
    """TooFast when ``who`` sent CHAT_RATE messages this minute already."""
    key = keys.chat_rate(who)
    pipe = redis.pipeline(transaction=True)
    pipe.set(key, 0, ex=60, nx=True)  # the minute starts with the first message (no EXPIRE NX before Redis 7)
    pipe.incr(key)
    _, count = pipe.execute()
    if count > defaults.CHAT_RATE:
        raise TooFast(f"at most {defaults.CHAT_RATE} messages a minute: wait a moment")


def transcript(redis, task_id: str) -> list[dict]:
    """The task's chat, oldest first."""
    return [entry(i, f) for i, f in redis.xrange(keys.chat(task_id))]


def of_customer(redis, task: dict) -> list[dict]:
    """Everything the task's customer said and was told, over all their tasks, oldest first."""
    return [entry(i, f) for i, f in redis.xrange(_transcript(task))]
