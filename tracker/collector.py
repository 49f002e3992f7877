"""POST /v1/batch, /v1/track, /v1/page, /v1/identify: the Segment HTTP Tracking API shape."""

import time
import uuid
import zlib
from datetime import datetime, timezone

import orjson
from flask import Blueprint, current_app, request
from marshmallow import ValidationError

from tracker import defaults, errors, sites, stream, visitor_token
from tracker.errors import bad_request
from tracker.fastload import FastLoader
from tracker.schemas import BatchSchema, MessageSchema, flatten, identified

bp = Blueprint("collector", __name__)

_messages = FastLoader(MessageSchema(), whole=[identified])
_batches = FastLoader(BatchSchema())


def _raw_body() -> bytes:
    raw = request.get_data(cache=False)
    if request.headers.get("Content-Encoding", "").lower() != "gzip":
        return raw
    # Segment and RudderStack libraries may gzip; the limit applies to what it unpacks to.
    unpacker = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        body = unpacker.decompress(raw, defaults.MAX_BATCH_BYTES + 1)
    except zlib.error as error:
        bad_request(400, f"body: not valid gzip ({error})")
    if len(body) > defaults.MAX_BATCH_BYTES or unpacker.unconsumed_tail:
        bad_request(413, f"body: larger than the limit of {defaults.MAX_BATCH_BYTES} bytes once unpacked")
    return body


def _body() -> dict:
    # Any content type: sendBeacon and the snippet post text/plain to avoid a CORS preflight.
    try:
        # Strict JSON (RFC 8259): no NaN or Infinity, no lone surrogates, valid UTF-8.
        body = orjson.loads(_raw_body())
    except orjson.JSONDecodeError as error:
        bad_request(400, f"body: malformed JSON ({error})")
    if not isinstance(body, dict):
        bad_request(400, "body: must be a JSON object")
    return body


def _site(body: dict) -> sites.Site:
    auth = request.authorization
    write_key = (auth.username if auth else None) or body.get("writeKey")
    if not isinstance(write_key, str) or not write_key:
        bad_request(401, "write key missing: send it as the HTTP Basic user name or as 'writeKey'")
    site = current_app.extensions["sites"].get(current_app.extensions["redis_collector"], write_key)
    if site is None:
        bad_request(401, "unknown write key")
    if site["revoked"]:
        bad_request(401, "this write key was revoked: ask the site's owner for the new one")
    origin = request.headers.get("Origin")
    if not sites.allows(site, origin):
        # Someone else's page carrying this write key: refused, so it cannot pollute the site's data.
        bad_request(403, f"origin {origin[:100]} may not send with this write key: the site allows "
                         f"{', '.join(site['origins'])}")
    return site


def _iso(ms: float) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ms(iso: str) -> float:
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp() * 1000


def _skew(sent_at: str | None, received_at: int) -> float | None:
    """Segment's correction for a browser whose clock is wrong: how far its clock is from ours,
    measured at the sending. None when the sender gave no sentAt."""
    return received_at - _ms(sent_at) if sent_at else None


def _correct_clock(message: dict, sent_at: str | None, skew: float | None, received_at: int) -> None:
    if sent_at:
        message["sentAt"] = sent_at
    if "timestamp" not in message:
        message["timestamp"] = _iso(received_at)
    elif skew is not None:
        message["originalTimestamp"] = message["timestamp"]
        message["timestamp"] = _iso(_ms(message["timestamp"]) + skew)


def _validate(raw_messages: list, batch: dict, where: str = "batch[{}]") -> tuple[list[dict], list[bytes]]:
    """Every message valid or nothing stored: errors are collected for the whole request. Returns the
    messages and their JSON as stored; the size limit applies to that JSON."""
    received_at = int(time.time() * 1000)
    batch_sent_at = batch.get("sentAt")
    batch_skew = _skew(batch_sent_at, received_at)
    # The snippet leaves the user agent out of its messages: a browser's request header carries it.
    agent = request.headers.get("User-Agent", "")[: defaults.MAX_STRING] if request.headers.get("Origin") else None
    messages, bodies, errors = [], [], []
    for index, raw in enumerate(raw_messages):
        try:
            message = _messages.load(raw)
        except ValidationError as error:
            errors.extend(flatten(error.messages, where.format(index)))
            continue
        if batch.get("context") and "context" not in message:
            message["context"] = batch["context"]
        if agent and "userAgent" not in message.get("context", {}):
            message["context"] = {**message.get("context", {}), "userAgent": agent}
        if "messageId" not in message:
            message["messageId"] = str(uuid.uuid4())
        message["receivedAt"] = received_at
        sent_at = raw.get("sentAt") if isinstance(raw.get("sentAt"), str) else None
        if sent_at:
            try:
                skew = _skew(sent_at, received_at)
            except ValueError:
                errors.append(f"{where.format(index)}.sentAt: must be an ISO 8601 time like 2026-11-23T10:00:00Z")
                continue
        else:
            sent_at, skew = batch_sent_at, batch_skew
        try:
            _correct_clock(message, sent_at, skew, received_at)
        except ValueError:  # a time near year 1 or 9999 moved by a skew of centuries: no date can hold it
            errors.append(f"{where.format(index)}.timestamp: {message['timestamp'][:40]} is out of range once "
                          f"corrected for the sender's clock (sentAt {sent_at[:40]})")
            continue
        body = stream.encode(message)
        size = len(body)
        if size > defaults.MAX_MESSAGE_BYTES:
            errors.append(f"{where.format(index)}: message is {size} bytes, the limit is {defaults.MAX_MESSAGE_BYTES}")
            continue
        messages.append(message)
        bodies.append(body)
    if errors:
        bad_request(400, "; ".join(errors[:20]), errors)
    return messages, bodies


_OK = b'{"success":true}\n'  # the answer to almost every request, made once


def _accept(site: sites.Site, accepted: tuple[list[dict], list[bytes]]):
    app = current_app._get_current_object()  # one proxy lookup, not one per use
    config = app.config
    messages, bodies = accepted
    limits = stream.Limits(ip=config["RATE_LIMIT_IP"], site=config["RATE_LIMIT_SITE"])
    outcome = stream.append(app.extensions["redis_collector"], site["id"], messages, config["STREAM_SHARDS"],
                            limits, request.remote_addr or "-", bodies)
    if outcome.limited:
        answer = errors.response(429, f"too many requests from this {outcome.limited}: "
                                      f"try again in {outcome.retry_after} s")
        answer.headers["Retry-After"] = str(outcome.retry_after)
        return answer
    return app.response_class(_OK, mimetype="application/json")


@bp.after_request
def _allow_origin(response):
    """CORS: a browser may read every answer, so that the snippet drops what will never be accepted
    rather than resend it. Only pages of an origin the site allows are accepted (see _site), and
    an answer carries no data beyond success or what was wrong."""
    origin = request.headers.get("Origin")
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    return response


@bp.post("/v1/batch", provide_automatic_options=False)
def batch():
    body = _body()
    site = _site(body)
    try:
        data = _batches.load(body)
    except ValidationError as error:
        lines = flatten(error.messages)
        bad_request(400, "; ".join(lines), lines)
    accepted = _validate(data["batch"], data)
    answer = _accept(site, accepted)
    # A browser's first page view: the answer carries the visitor's token for the inbox and chat. Not to
    # a sendBeacon (Sec-Fetch-Mode no-cors), whose answer nobody reads: the token would be lost with it.
    readable = request.headers.get("Sec-Fetch-Mode", "cors") == "cors"
    if answer.status_code == 200 and request.headers.get("Origin") and readable:
        token = visitor_token.for_batch(current_app.extensions["redis_collector"], current_app.config["VISITOR_SECRET"],
                                        site["id"], accepted[0])
        if token:
            answer.set_data(orjson.dumps({"success": True, "token": token}))
    return answer


def _single(kind: str):
    body = _body()
    site = _site(body)
    body = {k: v for k, v in body.items() if k != "writeKey"}
    body["type"] = kind  # the path says what the message is
    return _accept(site, _validate([body], {}, where="body"))


@bp.post("/v1/track", provide_automatic_options=False)
def track():
    return _single("track")


@bp.post("/v1/page", provide_automatic_options=False)
def page():
    return _single("page")


@bp.post("/v1/identify", provide_automatic_options=False)
def identify():
    return _single("identify")


@bp.route("/v1/<path:_any>", methods=["OPTIONS"])
def preflight(_any):
    """Browsers ask before a JSON or authorised POST; the POST itself is where origins are checked."""
    response = current_app.response_class(status=204)
    response.headers["Access-Control-Allow-Headers"] = "Content-Type, Authorization, Content-Encoding"
    response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response.headers["Access-Control-Max-Age"] = "86400"
    return response
