"""Chat routes. The shopper's side, POST /visitor/chat, is the visitor's: it wants the visitor token that the
inbox wants (tracker/visitor_token.py). The agent's side is under /api/: the task's transcript with the
customer's, a message to the shopper, and the task's chat live (SSE) for the console's card.
"""

import json

from flask import Blueprint, abort, current_app, g, jsonify, request

from dispatch import agents, chat, keys, tasks
from tracker import sites, sse, visitor_token
from tracker.errors import bad_request

bp = Blueprint("chat_api", __name__)


def _redis():
    return current_app.extensions["redis"]


@bp.post("/visitor/chat", provide_automatic_options=False)
def shopper_says():
    # Any content type: the widget posts text/plain, a simple request with no CORS preflight.
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        bad_request(400, "body: must be a JSON object")
    redis = _redis()
    site, anonymous_id = visitor_token.visitor(redis, current_app.config["VISITOR_SECRET"], body)
    origin = request.headers.get("Origin")
    if not sites.allows(site, origin):
        bad_request(403, f"origin {origin[:100]} may not chat with this write key")
    task_id = body.get("task_id")
    try:
        task = tasks.get(redis, task_id if isinstance(task_id, str) else "")
    except tasks.NoSuchTask:
        task = None
    # Another visitor's task answers as if it did not exist: nothing about it is told.
    if task is None or task["anonymous_id"] != anonymous_id or task.get("site") not in (None, site["id"]):
        bad_request(404, f"task_id: no chat {str(task_id)[:64]!r} for this visitor")
    try:
        chat.limit(redis, f"{site['id']}:{anonymous_id}")
        message = chat.add(redis, task, chat.SHOPPER, body.get("text"))
    except chat.TooFast as error:
        bad_request(429, str(error))
    except chat.ChatError as error:
        bad_request(400 if str(error).startswith("text:") else 409, str(error))
    return jsonify(success=True, message=message)


@bp.after_request
def _allow_origin(response):
    """The shop's page reads every answer of /visitor/chat, refusals too, to show the shopper what was wrong;
    only an origin the site allows is accepted (above)."""
    origin = request.headers.get("Origin")
    if origin and request.path == "/visitor/chat":
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    return response


def _task(task_id: str) -> dict:
    """The task if the caller may see it (an agent sees her sites' tasks only), else 404."""
    try:
        task = tasks.get(_redis(), task_id)
    except tasks.NoSuchTask:
        task = None
    if task is None or not tasks.visible(task, agents.sites_of(_redis(), g.get("actor", agents.ADMIN))):
        abort(404, f"No such task: {task_id[:64]}")
    return task


@bp.get("/api/tasks/<task_id>/chat")
def transcript(task_id: str):
    task = _task(task_id)
    return jsonify(task_id=task["id"], transcript=chat.transcript(_redis(), task["id"]),
                   customer={"id": chat.customer(task), "transcript": chat.of_customer(_redis(), task)})


@bp.post("/api/tasks/<task_id>/chat")
def agent_says(task_id: str):
    task, actor = _task(task_id), g.get("actor", agents.ADMIN)
    if task["status"] != tasks.CLAIMED or actor not in (agents.ADMIN, task.get("agent")):
        abort(409, f"task {task['id']} is {task['status']}: only the agent who claimed it can chat")
    body = request.get_json(silent=True)
    try:
        message = chat.add(_redis(), task, chat.AGENT, (body or {}).get("text") if isinstance(body, dict) else None,
                           name=actor)
    except chat.ChatError as error:
        abort(400, str(error))
    return jsonify(message)


@bp.get("/api/tasks/<task_id>/chat/live")
def live(task_id: str):
    """Server-sent events: the task's chat from its first message, then each new one as it comes."""
    task = _task(task_id)
    redis = current_app.extensions["redis_streaming"]
    return sse.follow(redis, keys.chat(task["id"]), sse.last_event_id() or "0-0",
                      lambda fields: json.dumps(chat.entry(b"", fields)), 1000)
