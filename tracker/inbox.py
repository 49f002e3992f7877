"""The visitor inbox: messages for one shopper's open pages (chat invitations), served as SSE.

Dispatch posts into it with ``post``; the snippet listens with EventSource on GET /v1/inbox.
"""

import json
import time

from flask import Blueprint, Response, current_app, request, stream_with_context

from tracker import defaults, keys, sites
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
    last = request.headers.get("Last-Event-ID", "")
    if last and len(last) < 40 and all(c.isdigit() or c == "-" for c in last):
        return last
    return f"{int((time.time() - defaults.INBOX_REPLAY) * 1000)}-0"


@bp.get("/v1/inbox")
def listen():
    anonymous_id = request.args.get("anonymousId", "")
    if not anonymous_id or len(anonymous_id) > defaults.MAX_ID:
        bad_request(400, f"anonymousId: required, at most {defaults.MAX_ID} characters")
    redis = current_app.extensions["redis"]
    if sites.lookup(redis, request.args.get("writeKey", "")) is None:
        bad_request(401, "unknown write key")
    key, start = keys.inbox(anonymous_id), _start_id()

    def events():
        last, until = start, time.monotonic() + defaults.SSE_HOLD
        # An id-only event sets the browser's Last-Event-ID, so a reconnect resumes from here.
        yield f"retry: 2000\nid: {last}\n\n"
        while time.monotonic() < until:
            found = redis.xread({key: last}, count=10, block=defaults.SSE_BLOCK)
            for _, entries in found:
                for entry_id, fields in entries:
                    last = entry_id.decode()
                    yield f"id: {last}\ndata: {fields[b'm'].decode()}\n\n"
            if not found:
                yield ": keep-alive\n\n"

    response = Response(stream_with_context(events()), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    origin = request.headers.get("Origin")
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
    return response
