"""/api/do-not-contact: the list of shoppers never to be contacted, for the shop's own systems."""

from flask import Blueprint, abort, current_app, jsonify, request

from rules import do_not_contact

bp = Blueprint("do_not_contact_api", __name__)

MAX_ENTRIES = 1000  # entries added by one request


def _redis():
    return current_app.extensions["redis"]


@bp.get("/api/do-not-contact")
def listing():
    entries = do_not_contact.listing(_redis())
    return jsonify(entries=entries, count=len(entries))


@bp.post("/api/do-not-contact")
def add():
    """{"entries": ["u-1", "ann@example.com", "+49 170 1234567"]}: all are added, or none."""
    body = request.get_json(silent=True)
    entries = body.get("entries") if isinstance(body, dict) else None
    if not isinstance(entries, list) or not entries:
        abort(400, "body: send {\"entries\": [ids, emails or phone numbers]}")
    if len(entries) > MAX_ENTRIES:
        abort(413, f"entries: at most {MAX_ENTRIES} in one request, got {len(entries)}")
    for index, entry in enumerate(entries):  # every entry is checked before any is added
        try:
            do_not_contact.checked(entry)
        except do_not_contact.EntryError as error:
            abort(422, f"entries[{index}]: {error}")
    added = do_not_contact.add(_redis(), entries)
    return jsonify(added=added, count=len(do_not_contact.listing(_redis()))), 201


@bp.delete("/api/do-not-contact/<path:entry>")
def remove(entry: str):
    try:
        if not do_not_contact.remove(_redis(), entry):
            abort(404, f"{entry!r} is not on the do-not-contact list")
    except do_not_contact.EntryError as error:
        abort(422, str(error))
    return jsonify(removed=do_not_contact.normal(entry))
