"""GET /api/tasks, GET /api/tasks/<id> (with its screen pop), POST /api/tasks/<id>/claim and /close."""

from flask import Blueprint, abort, current_app, g, jsonify, request

from dispatch import agents, customers, tasks

bp = Blueprint("tasks_api", __name__)


def _redis():
    return current_app.extensions["redis"]


@bp.get("/api/tasks")
def listing():
    try:
        limit = min(max(int(request.args.get("limit", 100)), 1), 500)
    except ValueError:
        abort(400, "limit: must be a whole number from 1 to 500")
    # A signed-in agent sees only the tasks of her sites.
    return jsonify(tasks=tasks.listing(_redis(), limit, agents.sites_of(_redis(), g.get("actor", agents.ADMIN))))


def _transition(change):
    try:
        return jsonify(change())
    except tasks.NoSuchTask as error:
        abort(404, f"No such task: {error.args[0]}")
    except tasks.TaskError as error:
        abort(409, str(error))


@bp.get("/api/tasks/<task_id>")
def show(task_id: str):
    """The task with its screen pop (dispatch.customers.pop): the customer, past orders and tasks, a first line."""
    def found():
        task = tasks.get(_redis(), task_id)
        if not tasks.visible(task, agents.sites_of(_redis(), g.get("actor", agents.ADMIN))):
            raise tasks.NoSuchTask(task_id[:64])  # another site's task: as if it did not exist
        return dict(task, pop=customers.pop(_redis(), task))

    return _transition(found)


@bp.post("/api/tasks/<task_id>/claim")
def claim(task_id: str):
    return _transition(lambda: tasks.claim(_redis(), task_id, g.get("actor", "admin")))


@bp.post("/api/tasks/<task_id>/close")
def close(task_id: str):
    body = request.get_json(silent=True) or {}
    outcome = body.get("outcome") if isinstance(body, dict) else None
    return _transition(lambda: tasks.close(_redis(), task_id, outcome, g.get("actor", agents.ADMIN)))
