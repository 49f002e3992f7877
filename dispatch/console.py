"""The agent console at /console: tasks appear live, each with the shopper's context popped."""

import hmac
import json
import time

from flask import (
    Blueprint, Response, current_app, redirect, render_template, request, session, stream_with_context,
    url_for,
)

from dispatch import keys, tasks

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates", static_folder="static")

FEED_HOLD = 25  # seconds one live-feed connection is held before the browser reconnects
FEED_BLOCK = 5000  # milliseconds one blocking read of the feed waits


@bp.before_request
def _signed_in():
    if request.endpoint in ("console.login", "console.static") or session.get("agent"):
        return None
    if request.endpoint == "console.feed":
        return Response("sign in first", status=401)
    return redirect(url_for("console.login"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        token = request.form.get("token", "")
        expected = current_app.config["ADMIN_TOKEN"]
        if expected and hmac.compare_digest(token.encode(), expected.encode()):
            session.clear()
            session["agent"] = "admin"
            return redirect(url_for("console.index"))
        error = "That token is not right."
    return render_template("console/login.html", error=error), 401 if error else 200


@bp.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("console.login"))


@bp.get("/")
def index():
    return render_template("console/index.html")


@bp.get("/feed")
def feed():
    """Server-sent events: each changed task, in full, as it changes."""
    redis = current_app.extensions["redis"]
    last = request.headers.get("Last-Event-ID", "")
    if not last or len(last) > 40 or not all(c.isdigit() or c == "-" for c in last):
        newest = redis.xrevrange(keys.FEED, count=1)
        last = newest[0][0].decode() if newest else "0-0"

    def events():
        cursor, until = last, time.monotonic() + FEED_HOLD
        # An id-only event sets the browser's Last-Event-ID, so a reconnect misses nothing.
        yield f"retry: 1000\nid: {cursor}\n\n"
        while time.monotonic() < until:
            found = redis.xread({keys.FEED: cursor}, count=50, block=FEED_BLOCK)
            for _, entries in found:
                for entry_id, fields in entries:
                    cursor = entry_id.decode()
                    try:
                        task = tasks.get(redis, fields[b"id"].decode())
                    except tasks.NoSuchTask:
                        continue
                    yield f"id: {cursor}\ndata: {json.dumps(task)}\n\n"
            if not found:
                yield ": keep-alive\n\n"

    response = Response(stream_with_context(events()), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    return response
