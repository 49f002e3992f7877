"""/api/rules: the rules in force as YAML, checking a draft, the history of versions and rollback."""

from flask import Blueprint, current_app, g, jsonify, request

from rules import store
from rules.document import RulesError, compile_text

bp = Blueprint("rules_api", __name__)

MAX_DOCUMENT = 256 * 1024  # bytes of YAML
HISTORY_SHOWN = 20  # versions GET /api/rules/history lists without ?limit


class BadDocument(ValueError):
    """A body that cannot be a rules document at all; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@bp.errorhandler(BadDocument)
def _bad_document(error: BadDocument):
    return jsonify(error=str(error)), error.status


def _redis():
    return current_app.extensions["redis"]


def _document() -> str:
    """The request body as YAML text, within the size limit."""
    raw = request.get_data(cache=False)
    if len(raw) > MAX_DOCUMENT:
        raise BadDocument(413, f"the document is {len(raw)} bytes, the limit is {MAX_DOCUMENT}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadDocument(400, "body: the rules document must be UTF-8 text") from None


def _not_saved(error: RulesError):
    return jsonify(error="the rules were not saved; the rules in force are unchanged",
                   errors=error.lines("rules.yaml")), 422


@bp.get("/api/rules")
def show():
    found = store.current(_redis())
    if found is None:
        return jsonify(version=0, yaml="", rules=[])
    version, text = found
    return jsonify(version=version, yaml=text, rules=store.rule_ids(text))


@bp.put("/api/rules")
def replace():
    try:
        version, ruleset = store.save(_redis(), _document(), g.get("actor", "admin"))
    except RulesError as error:
        return _not_saved(error)
    return jsonify(version=version, rules=ruleset.ids)


@bp.post("/api/rules/check")
def check():
    """Validate a draft without saving it: what the editor calls as the owner types."""
    try:
        ruleset = compile_text(_document())
    except RulesError as error:
        return jsonify(ok=False, errors=[{"line": line, "message": message} for line, message in error.problems])
    return jsonify(ok=True, rules=ruleset.ids)


@bp.get("/api/rules/history")
def history():
    raw = request.args.get("limit", str(HISTORY_SHOWN))
    if not raw.isdigit() or not 1 <= int(raw) <= store.HISTORY_KEPT:
        return jsonify(error=f"limit: must be a whole number from 1 to {store.HISTORY_KEPT}, got {raw!r}"), 400
    redis = _redis()
    return jsonify(current=store.version(redis), kept=store.HISTORY_KEPT, versions=store.history(redis, int(raw)))


@bp.get("/api/rules/history/<int:number>")
def one_version(number: int):
    try:
        return jsonify(store.get(_redis(), number))
    except store.NoSuchVersion as error:
        return jsonify(error=str(error)), 404


@bp.post("/api/rules/rollback")
def rollback():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify(error='body: must be a JSON object naming the version, like {"version": 3}'), 400
    number = body.get("version")
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        return jsonify(error=f"version: must be a whole number from 1, got {number!r}"), 400
    try:
        version, ruleset = store.rollback(_redis(), number, g.get("actor", "admin"))
    except store.NoSuchVersion as error:
        return jsonify(error=str(error)), 404
    except RulesError as error:  # an old version the rule language no longer accepts
        return _not_saved(error)
    return jsonify(version=version, rules=ruleset.ids, rollback_of=number)
