"""GET /api/dead-letters and POST /api/dead-letters/<id>/retry: the admin's view of failed sends."""

from flask import Blueprint, abort, current_app, g, jsonify

from dispatch import agents, dead_letters

bp = Blueprint("dead_letters_api", __name__)


def _admin_only() -> None:
    # Dead letters name tasks of every site: not for an agent limited to hers.
    if g.get("actor") != agents.ADMIN:
        abort(403, f"only the admin may see or retry dead letters; you are signed in as {g.get('actor')}")


@bp.get("/api/dead-letters")
def listing():
    _admin_only()
    return jsonify(dead_letters=dead_letters.listing(current_app.extensions["redis"]))


@bp.post("/api/dead-letters/<job_id>/retry")
def retry(job_id: str):
    _admin_only()
    try:
        return jsonify(dead_letters.retry(current_app.extensions["redis"], job_id))
    except dead_letters.NoSuchDeadLetter:
        abort(404, f"No such dead letter: {job_id}")
