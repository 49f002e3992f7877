"""POST /api/sites: a site and its write key."""

from flask import Blueprint, abort, current_app, jsonify, request
from marshmallow import Schema, ValidationError, fields, validate

from tracker import sites
from tracker.errors import bad_request
from tracker.schemas import flatten

bp = Blueprint("sites_api", __name__)


class SiteSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    origins = fields.List(
        fields.Url(schemes={"http", "https"}, require_tld=False, validate=validate.Length(max=200)),
        load_default=list,
        validate=validate.Length(max=50),
    )


_schema = SiteSchema()


@bp.post("/api/sites")
def create():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        bad_request(400, 'body: must be a JSON object like {"name": "My shop", "origins": ["https://shop.example"]}')
    try:
        data = _schema.load(body)
    except ValidationError as error:
        lines = flatten(error.messages)
        bad_request(400, "; ".join(lines), lines)
    site = sites.create(current_app.extensions["redis"], data["name"], data["origins"])
    return jsonify(site), 201


@bp.get("/api/sites")
def listing():
    return jsonify(sites=sites.listing(current_app.extensions["redis"]))


@bp.delete("/api/sites/<site_id>")
def revoke(site_id: str):
    """Revoke the site's write key: every web process refuses it within SITE_CACHE seconds."""
    site = sites.revoke(current_app.extensions["redis"], site_id[:100])
    if site is None:
        abort(404, f"No such site: {site_id[:100]}")
    current_app.extensions["sites"].forget(site["write_key"])
    return jsonify(site)
