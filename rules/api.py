"""GET and PUT /api/rules: the rules in force as YAML."""

from flask import Blueprint, current_app, g, jsonify, request

from rules import store
from rules.document import RulesError, compile_text

bp = Blueprint("rules_api", __name__)

MAX_DOCUMENT = 256 * 1024  # bytes of YAML


@bp.get("/api/rules")
def show():
    found = store.current(current_app.extensions["redis"])
    if found is None:
        return jsonify(version=0, yaml="", rules=[])
    version, text = found
    try:
        ids = compile_text(text).ids
    except RulesError:
        ids = []
    return jsonify(version=version, yaml=text, rules=ids)


@bp.put("/api/rules")
def replace():
    raw = request.get_data(cache=False)
    if len(raw) > MAX_DOCUMENT:
        return jsonify(error=f"the document is {len(raw)} bytes, the limit is {MAX_DOCUMENT}"), 413
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return jsonify(error="body: the rules document must be UTF-8 text"), 400
    try:
        version, ruleset = store.save(current_app.extensions["redis"], text, g.get("actor", "admin"))
    except RulesError as error:
        return jsonify(error="the rules were not saved; the rules in force are unchanged",
                       errors=error.lines("rules.yaml")), 422
    return jsonify(version=version, rules=ruleset.ids)
