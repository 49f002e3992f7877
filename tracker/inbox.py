"""The visitor inbox: messages for one shopper's open pages (chat invitations), served as SSE.

Dispatch posts into it with ``post``; the snippet listens with EventSource on GET /v1/inbox.
"""

import json
import time

from flask import Blueprint, current_app, request

from tracker import defaults, keys, sites, sse
from tracker.errors import bad_request

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
    anonymous_id = request.args.get("anonymousId", "")
    if not anonymous_id or len(anonymous_id) > defaults.MAX_ID:
        bad_request(400, f"anonymousId: required, at most {defaults.MAX_ID} characters")
    redis = current_app.extensions["redis_streaming"]
    if sites.lookup(redis, request.args.get("writeKey", "")) is None:
        bad_request(401, "unknown write key")
    response = sse.follow(redis, keys.inbox(anonymous_id), _start_id(), lambda fields: fields[b"m"].decode(), 2000)
    origin = request.headers.get("Origin")
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
    return response
