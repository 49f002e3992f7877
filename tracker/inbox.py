"""The visitor inbox: messages for one shopper's open pages (chat invitations), served as SSE.

Dispatch posts into it with ``post``; the snippet listens with EventSource on GET /v1/inbox, with the
visitor token the collector gave it (tracker/visitor_token.py).
"""

import json
import time

from flask import Blueprint, current_app, request

from tracker import defaults, keys, sites, sse, visitor_token
from tracker.errors import bad_request

bp = Blueprint("inbox", __name__)


def post(redis, anonymous_id: str, message: dict, site: str | None = None) -> str:
    """Post ``message`` to the pages of ``anonymous_id`` on ``site`` (its id): the visitors of other sites who use
    the same id do not get it."""
    key = keys.inbox(anonymous_id)
    fields = {"m": json.dumps(message), **({"s": site} if site else {})}
    pipe = redis.pipeline(transaction=True)
    pipe.xadd(key, fields, maxlen=defaults.INBOX_LENGTH, approximate=False)
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
    site, anonymous_id = visitor_token.visitor(redis, current_app.config["VISITOR_SECRET"], request.args)
    origin = request.headers.get("Origin")
    if not sites.allows(site, origin):
        # A page elsewhere holding a visitor's token (leaked, copied) reads nothing, as it could send nothing.
        bad_request(403, f"origin {origin[:100]} may not listen with this write key")
    mine = site["id"].encode()

    def render(fields):
        # The id is the browser's choice: anybody may take it up first on another site, and get that site's token.
        # Another site's messages for it are not theirs (a message posted without a site goes to every one).
        return fields[b"m"].decode() if fields.get(b"s", mine) == mine else None

    response = sse.follow(redis, keys.inbox(anonymous_id), _start_id(), render, 2000)
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
    return response
