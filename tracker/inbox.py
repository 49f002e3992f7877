"""The visitor inbox: messages for one shopper's open pages (chat invitations), served as SSE.

Dispatch posts into it with ``post``; the snippet listens with EventSource on GET /v1/inbox, with the
visitor token the collector gave it (tracker/visitor_token.py).
"""

import json
import time

from flask import Blueprint, current_app, request

from tracker import defaults, keys, sse, visitor_token

bp = Blueprint("inbox", __name__)


def post(redis, anonymous_id: str, message: dict) -> str:
    key = keys.inbox(anonymous_id)
    pipe = redis.pipeline(transaction=True)
    pipe.xadd(key, {"m": json.dumps(message)}, maxlen=defaults.INBOX_LENGTH, approximate=False)
    pipe.expire(key, defaults.INBOX_TTL)
    entry_id, _ = pipe.execute()
    return entry_id.decode()


def _start_id() -> str:
    # A page that reconnects resumes after the last message it saw; a new page gets recent ones,
    # so an invitation posted while the shopper was moving between pages is not lost.
    return sse.last_event_id() or f"{int((time.time() - defaults.INBOX_REPLAY) * 1000)}-0"


@bp.get("/v1/inbox")
def listen():
    redis = current_app.extensions["redis_streaming"]
    # Only the browser that holds this visitor's token reads the inbox: a guessed id reads nothing.
    _, anonymous_id = visitor_token.visitor(redis, current_app.config["VISITOR_SECRET"], request.args)
    response = sse.follow(redis, keys.inbox(anonymous_id), _start_id(), lambda fields: fields[b"m"].decode(), 2000)
    origin = request.headers.get("Origin")
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
    return response
