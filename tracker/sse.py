"""Server-sent events that follow a Redis stream: the visitor inbox and the console's feed."""

import re
import time

from flask import Response, request, stream_with_context

HOLD = 25  # seconds one connection is held open before the browser reconnects
BLOCK = 5000  # milliseconds one blocking read waits before a keep-alive comment
ENTRY_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


def last_event_id() -> str | None:
    """The browser's Last-Event-ID header when it is a stream entry id, else None."""
    last = request.headers.get("Last-Event-ID", "")
    return last if ENTRY_ID.match(last) else None


def follow(redis, key: str, start: str, render, retry_ms: int) -> Response:
    """Stream the entries of ``key`` after ``start``; ``render(fields)`` gives the data line, or None
    to skip the entry."""

    def events():
        cursor, until = start, time.monotonic() + HOLD
        # An id-only event sets the browser's Last-Event-ID, so a reconnect resumes from here.
        yield f"retry: {retry_ms}\nid: {cursor}\n\n"
        while time.monotonic() < until:
            found = redis.xread({key: cursor}, count=50, block=BLOCK)
            for _, entries in found:
                for entry_id, fields in entries:
                    cursor = entry_id.decode()
                    data = render(fields)
                    if data is not None:
                        yield f"id: {cursor}\ndata: {data}\n\n"
            if not found:
                yield ": keep-alive\n\n"

    response = Response(stream_with_context(events()), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # proxies must not buffer the stream
    return response
