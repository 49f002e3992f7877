"""The agent console at /console: sign in, set your status, and see tasks appear live, each with the
shopper's context popped and who it is offered to.

Every form here carries a per-session token in a hidden field that a POST must send back (a page on
another site cannot read it), so no other site can sign somebody in, out, or change their status; the
console's own fetch calls to /api/ carry the X-Handrail-Console header instead (handrail/auth.py).
"""

import hmac
import json
import secrets

from flask import Blueprint, Response, current_app, redirect, render_template, request, session, url_for

from dispatch import agents, keys, login, tasks
from tracker import sse

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates", static_folder="static")

CSRF_FIELD = "csrf"
OPEN_ENDPOINTS = ("console.login", "console.static")


def _redis():
    return current_app.extensions["redis"]


def _csrf() -> str:
    """This session's form token, made on first use."""
    if CSRF_FIELD not in session:
        session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return session[CSRF_FIELD]


def _forged() -> bool:
    sent, expected = request.form.get(CSRF_FIELD, ""), session.get(CSRF_FIELD, "")
    return not expected or not hmac.compare_digest(sent.encode(), expected.encode())


def _login_page(error: str | None, status: int):
    return render_template("console/login.html", error=error, csrf=_csrf()), status


@bp.before_request
def _guard():
    if request.method == "POST" and _forged():
        if request.endpoint == "console.login":
            return _login_page("The sign-in form had expired: please sign in again.", 403)
        return Response("This form did not come from this console session: reload the page and try again.",
                        status=403, mimetype="text/plain")
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if session.get("agent") and login.still_signed_in(_redis(), session["agent"]):
        return None
    session.pop("agent", None)
    if request.endpoint == "console.feed":
        return Response("sign in first", status=401)
    return redirect(url_for("console.login"))


def _set_status(name: str, status: str) -> None:
    """The agent's status, then a routing pass: available, she may be offered a waiting task at once; away or
    offline, the tasks offered to her go to somebody else."""
    if name == agents.ADMIN:
        return
    try:
        agents.set_status(_redis(), name, status)
    except agents.NoSuchAgent:
        return  # removed meanwhile: nothing to change
    tasks.route(_redis())


@bp.route("/login", methods=["GET", "POST"], endpoint="login")
def login_page():
    if request.method == "GET":
        return _login_page(None, 200)
    form = request.form
    name, password, token = form.get("name", "").strip(), form.get("password", ""), form.get("token", "").strip()
    if not token and not (name and password):
        return _login_page("Give your name and password, or a token.", 400)
    try:
        actor = login.sign_in(_redis(), current_app.config["ADMIN_TOKEN"], request.remote_addr or "",
                              name=name, password=password, token=token)
    except login.SignInFailed as failed:
        return _login_page(str(failed), 401)
    session.clear()  # a new session (and form token) for whoever signed in: none carried over from before
    session["agent"] = actor
    _csrf()
    _set_status(actor, agents.AVAILABLE)
    return redirect(url_for("console.index"))


@bp.post("/logout")
def logout():
    _set_status(session.get("agent", ""), agents.OFFLINE)
    session.clear()
    return redirect(url_for("console.login"))


@bp.post("/status")
def status():
    wanted = request.form.get("status", "")
    if wanted not in agents.STATUSES:
        return Response(f"status: must be one of {', '.join(agents.STATUSES)}", status=400, mimetype="text/plain")
    _set_status(session["agent"], wanted)
    return redirect(url_for("console.index"))


@bp.get("/")
def index():
    actor = session["agent"]
    agent = None if actor == agents.ADMIN else agents.get(_redis(), actor)
    return render_template("console/index.html", actor=actor, agent=agent, statuses=agents.STATUSES, csrf=_csrf())


@bp.get("/feed")
def feed():
    """Server-sent events: each changed task the signed-in agent may see, in full, as it changes."""
    redis = current_app.extensions["redis_streaming"]
    sites = agents.sites_of(redis, session["agent"])
    start = sse.last_event_id()
    if start is None:
        newest = redis.xrevrange(keys.FEED, count=1)
        start = newest[0][0].decode() if newest else "0-0"

    def render(fields):
        try:
            task = tasks.get(redis, fields[b"id"].decode())
        except tasks.NoSuchTask:
            return None
        return json.dumps(task) if tasks.visible(task, sites) else None

    return sse.follow(redis, keys.FEED, start, render, 1000)
