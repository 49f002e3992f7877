"""GET /api/sessions/<anonymous_id>: the live session as the scorer keeps it."""

import json

from flask import Blueprint, abort, current_app, g, jsonify

from scorer import keys, session

bp = Blueprint("sessions_api", __name__)


@bp.get("/api/sessions/<path:anonymous_id>")  # path: a library's anonymousId may hold a "/"
def show(anonymous_id: str):
    raw = current_app.extensions["redis"].get(keys.session(anonymous_id[:200]))
    state = json.loads(raw) if raw is not None else None
    allowed = g.get("sites")  # an agent limited to some shops (set by the sign-in); None: every shop
    if state is None or (allowed is not None and state["site"] not in allowed):
        abort(404, f"No live session for anonymous id {anonymous_id[:200]!r}.")
    return jsonify(session.public(state))
