"""/api/agents: the agents, their skills, sites, status and load.

Only the admin adds, changes and removes agents; a signed-in agent may read them and set her own status.
"""

from flask import Blueprint, abort, current_app, g, jsonify, request

from dispatch import agents, tasks
from tracker.errors import bad_request

bp = Blueprint("agents_api", __name__)

CREATE_FIELDS = ("name", "skills", "max_chats", "status", "sites")
CHANGE_FIELDS = ("skills", "max_chats", "status", "sites")


def _redis():
    return current_app.extensions["redis"]


@bp.before_request
def _admin_changes():
    actor = g.get("actor", agents.ADMIN)
    if request.method in ("GET", "HEAD") or actor == agents.ADMIN:
        return None
    own = request.view_args or {}
    body = request.get_json(silent=True)
    if request.method == "PATCH" and own.get("name") == actor and isinstance(body, dict) and set(body) == {"status"}:
        return None
    abort(403, f"only the admin changes agents; {actor} may only set her own status "
               f'(PATCH /api/agents/{actor} with {{"status": "away"}})')


def _body(allowed: tuple, example: str) -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        bad_request(400, f"body: must be a JSON object like {example}")
    unknown = {key: f"unknown field: allowed are {', '.join(allowed)}" for key in body if key not in allowed}
    if unknown:
        _invalid(agents.InvalidAgent(unknown))
    return body


def _invalid(error: agents.InvalidAgent):
    lines = [f"{where}: {what}" for where, what in error.errors.items()]
    bad_request(422, "; ".join(lines), lines)


@bp.get("/api/agents")
def listing():
    return jsonify(agents=agents.listing(_redis()), on_shift=agents.on_shift(_redis()))


@bp.get("/api/agents/<name>")
def show(name: str):
    try:
        return jsonify(agents.get(_redis(), name))
    except agents.NoSuchAgent:
        abort(404, f"No such agent: {name[:agents.MAX_NAME]}")


@bp.post("/api/agents")
def create():
    body = _body(CREATE_FIELDS, '{"name": "ann", "skills": ["chat", "vip"], "max_chats": 3}')
    try:
        given = {key: body[key] for key in ("max_chats", "status", "sites") if key in body}
        agent = agents.add(_redis(), body.get("name"), body.get("skills"), **given)
    except agents.InvalidAgent as error:
        _invalid(error)
    except agents.DuplicateAgent as error:
        abort(409, str(error))
    tasks.route(_redis())  # an agent added available may take a waiting task at once
    return jsonify(agents.get(_redis(), agent["name"])), 201


@bp.patch("/api/agents/<name>")
def change(name: str):
    body = _body(CHANGE_FIELDS, '{"status": "available"}')
    try:
        agents.update(_redis(), name, skills=body.get("skills"), max_chats=body.get("max_chats"),
                      status=body.get("status"), sites=body.get("sites"))
    except agents.InvalidAgent as error:
        _invalid(error)
    except agents.NoSuchAgent:
        abort(404, f"No such agent: {name[:agents.MAX_NAME]}")
    tasks.route(_redis())  # available: a waiting task may go to her; away: her offers go to somebody else
    return jsonify(agents.get(_redis(), name))


@bp.delete("/api/agents/<name>")
def remove(name: str):
    try:
        agents.remove(_redis(), name)
    except agents.NoSuchAgent:
        abort(404, f"No such agent: {name[:agents.MAX_NAME]}")
    tasks.route(_redis())  # the tasks offered to her go to somebody else
    return jsonify(removed=name)
