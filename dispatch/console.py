"""The agent console at /console: tasks appear live, each with the shopper's context popped."""

import hmac
import json

from flask import Blueprint, Response, current_app, redirect, render_template, request, session, url_for

from dispatch import keys, tasks
from tracker import sse

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates", static_folder="static")


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
    redis = current_app.extensions["redis_streaming"]
    start = sse.last_event_id()
    if start is None:
        newest = redis.xrevrange(keys.FEED, count=1)
        start = newest[0][0].decode() if newest else "0-0"

    def render(fields):
        try:
            return json.dumps(tasks.get(redis, fields[b"id"].decode()))
        except tasks.NoSuchTask:
            return None

    return sse.follow(redis, keys.FEED, start, render, 1000)
