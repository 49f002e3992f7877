"""GET /api/sessions/<anonymous_id>: the live session as the scorer keeps it."""

import json

from flask import Blueprint, abort, current_app, jsonify

from scorer import keys, session

bp = Blueprint("sessions_api", __name__)


@bp.get("/api/sessions/<anonymous_id>")
def show(anonymous_id: str):
    raw = current_app.extensions["redis"].get(keys.session(anonymous_id[:200]))
    if raw is None:
        abort(404, f"No live session for anonymous id {anonymous_id[:200]!r}.")
    return jsonify(session.public(json.loads(raw)))
