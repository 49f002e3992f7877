"""POST /v1/batch, /v1/track, /v1/page, /v1/identify: the Segment HTTP Tracking API shape."""

import json
import time

from flask import Blueprint, current_app, jsonify, request
from marshmallow import ValidationError

from tracker import defaults, sites, stream
from tracker.errors import bad_request
from tracker.schemas import BatchSchema, MessageSchema, flatten

bp = Blueprint("collector", __name__)

_message_schema = MessageSchema()
_batch_schema = BatchSchema()


def _body() -> dict:
    # Any content type: sendBeacon and the snippet post text/plain to avoid a CORS preflight.
    raw = request.get_data(cache=False)
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        bad_request(400, f"body: malformed JSON ({error})")
    if not isinstance(body, dict):
        bad_request(400, "body: must be a JSON object")
    return body


def _site(body: dict) -> sites.Site:
    auth = request.authorization
    write_key = (auth.username if auth else None) or body.get("writeKey")
    if not isinstance(write_key, str) or not write_key:
        bad_request(401, "write key missing: send it as the HTTP Basic user name or as 'writeKey'")
    site = sites.lookup(current_app.extensions["redis"], write_key)
    if site is None:
        bad_request(401, "unknown write key")
    return site


def _validate(raw_messages: list, batch_context: dict | None, where: str = "batch[{}]") -> list[dict]:
    """Every message valid or nothing stored: errors are collected for the whole request."""
    received_at = int(time.time() * 1000)
    messages, errors = [], []
    for index, raw in enumerate(raw_messages):
        size = len(json.dumps(raw, separators=(",", ":")).encode())
        if size > defaults.MAX_MESSAGE_BYTES:
            errors.append(f"{where.format(index)}: message is {size} bytes, the limit is {defaults.MAX_MESSAGE_BYTES}")
            continue
        try:
            message = _message_schema.load(raw)
        except ValidationError as error:
            errors.extend(flatten(error.messages, where.format(index)))
            continue
        if batch_context and "context" not in message:
            message["context"] = batch_context
        message["receivedAt"] = received_at
        messages.append(message)
    if errors:
        bad_request(400, "; ".join(errors[:20]), errors)
    return messages


def _accept(site: sites.Site, messages: list[dict]):
    redis = current_app.extensions["redis"]
    stream.append(redis, site["id"], messages, current_app.config["STREAM_SHARDS"])
    return jsonify(success=True)


@bp.post("/v1/batch")
def batch():
    body = _body()
    site = _site(body)
    try:
        data = _batch_schema.load(body)
    except ValidationError as error:
        lines = flatten(error.messages)
        bad_request(400, "; ".join(lines), lines)
    messages = _validate(data["batch"], data.get("context"))
    for message in messages:
        if "sentAt" in data:
            message["sentAt"] = data["sentAt"]
    return _accept(site, messages)


def _single(kind: str):
    body = _body()
    site = _site(body)
    body = {k: v for k, v in body.items() if k != "writeKey"}
    body["type"] = kind  # the path says what the message is
    return _accept(site, _validate([body], None, where="body"))


@bp.post("/v1/track")
def track():
    return _single("track")


@bp.post("/v1/page")
def page():
    return _single("page")


@bp.post("/v1/identify")
def identify():
    return _single("identify")


@bp.after_request
def _cors(response):
    # Browsers post text/plain from the shop's origin; the allowlist per site comes with site origins.
    origin = request.headers.get("Origin")
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Headers"] = "Content-Type, Authorization"
        response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response.headers["Vary"] = "Origin"
    return response


@bp.route("/v1/<path:_any>", methods=["OPTIONS"])
def preflight(_any):
    return "", 204


