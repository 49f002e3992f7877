"""POST /v1/batch, /v1/track, /v1/page, /v1/identify: the Segment HTTP Tracking API shape.

Nearly every request the web side serves is one of these, so `Collector` answers them as a plain WSGI
app in front of Flask: Flask's machinery per request (contexts, routing, hooks, signals, request and
response objects, proxies) cost more CPU than the collector's own work, and left it at 0.64 times a bare
Flask endpoint's rate (bench/README.md). Everything else goes on to Flask, the CORS preflight included.
"""

import time
import uuid
import zlib
from datetime import datetime, timezone
from functools import cache
from http import HTTPStatus

import orjson
import redis
from flask import Blueprint, Flask, current_app, request
from marshmallow import ValidationError
from werkzeug.datastructures import Authorization

from tracker import defaults, errors, sites, stream, visitor_token
from tracker.fastload import FastLoader
from tracker.schemas import BatchSchema, MessageSchema, flatten, identified

bp = Blueprint("collector", __name__)

# Path -> the type of message it takes (None: a batch of any type).
ROUTES = {"/v1/batch": None, "/v1/track": "track", "/v1/page": "page", "/v1/identify": "identify"}

_messages = FastLoader(MessageSchema(), whole=[identified])
_batches = FastLoader(BatchSchema())
_OK = b'{"success":true}\n'  # the answer to almost every request, made once


class Refused(Exception):
    """An answer other than success: what is wrong and where, as tracker.errors shapes it."""

    def __init__(self, status: int, error: str, details: list[str] | None = None, headers: tuple = ()):
        super().__init__(error)
        self.status, self.error, self.details, self.headers = status, error, details, list(headers)


class Collector:
    """WSGI: the collector's routes answered here; any other request goes on to ``flask_app``."""

    def __init__(self, app: Flask, flask_app):
        self.app, self.flask_app = app, flask_app

    def __call__(self, environ, start_response):
        path, method = environ.get("PATH_INFO", ""), environ["REQUEST_METHOD"]
        if path not in ROUTES or method == "OPTIONS":
            return self.flask_app(environ, start_response)
        headers = [("Content-Type", "application/json")]
        try:
            if method != "POST":
                raise Refused(405, f"{path} takes POST, not {method[:10]}", headers=[("Allow", "POST, OPTIONS")])
            status, body = self._post(environ, ROUTES[path])
        except Refused as refusal:
            status, body = refusal.status, orjson.dumps(errors.payload(refusal.status, refusal.error, refusal.details))
            headers += refusal.headers
        except (redis.ConnectionError, redis.TimeoutError):
            status, body = 503, orjson.dumps(errors.payload(503, errors.UNAVAILABLE))
            headers.append(("Retry-After", "5"))
        headers += cors_headers(environ.get("HTTP_ORIGIN"))
        headers.append(("Content-Length", str(len(body))))
        start_response(_status_line(status), headers)
        return [body]

    def _post(self, environ, kind: str | None) -> tuple[int, bytes]:
        app = self.app
        config, connection = app.config, app.extensions["redis_collector"]
        body = _body(environ, config["MAX_CONTENT_LENGTH"])
        site = _site(environ, body, app.extensions["sites"].get, connection)
        if kind is not None:
            body.pop("writeKey", None)
            body["type"] = kind  # the path says what the message is
            messages = _validate(environ, [body], {}, where="body")
        else:
            try:
                data = _batches.load(body)
            except ValidationError as error:
                lines = flatten(error.messages)
                raise Refused(400, "; ".join(lines), lines) from None
            messages = _validate(environ, data["batch"], data)
        limits = stream.Limits(ip=config["RATE_LIMIT_IP"], site=config["RATE_LIMIT_SITE"])
        outcome = stream.append(connection, site["id"], messages[0], config["STREAM_SHARDS"], limits,
                                environ.get("REMOTE_ADDR") or "-", messages[1])
        if outcome.limited:
            raise Refused(429, f"too many requests from this {outcome.limited}: try again in {outcome.retry_after} s",
                          headers=[("Retry-After", str(outcome.retry_after))])
        # A browser's first page view: the answer carries the visitor's token for the inbox and chat. Not to
        # a sendBeacon (Sec-Fetch-Mode no-cors), whose answer nobody reads: the token would be lost with it.
        if kind is None and environ.get("HTTP_ORIGIN") and environ.get("HTTP_SEC_FETCH_MODE", "cors") == "cors":
            token = visitor_token.for_batch(connection, config["VISITOR_SECRET"], site["id"], messages[0])
            if token:
                return 200, orjson.dumps({"success": True, "token": token})
        return 200, _OK


@cache
def _status_line(status: int) -> str:
    return f"{status} {HTTPStatus(status).phrase}"


def cors_headers(origin: str | None) -> list[tuple[str, str]]:
    """CORS: a browser may read every answer, so that the snippet drops what will never be accepted
    rather than resend it. Only pages of an origin the site allows are accepted (see _site), and
    an answer carries no data beyond success or what was wrong."""
    return [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")] if origin else []


def _raw_body(environ, limit: int) -> bytes:
    stream_in, length = environ["wsgi.input"], environ.get("CONTENT_LENGTH")
    if length:
        if not length.isdigit():
            raise Refused(400, f"Content-Length: not a number of bytes ({length[:20]!r})")
        raw = stream_in.read(int(length)) if int(length) <= limit else None
    elif environ.get("wsgi.input_terminated"):  # chunked: the server says where the body ends
        raw = stream_in.read(limit + 1)
    else:
        raw = b""
    if raw is None or len(raw) > limit:
        raise Refused(413, f"body: larger than the limit of {limit} bytes")
    if environ.get("HTTP_CONTENT_ENCODING", "").lower() != "gzip":
        return raw
    # Segment and RudderStack libraries may gzip; the limit applies to what it unpacks to.
    unpacker = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        body = unpacker.decompress(raw, defaults.MAX_BATCH_BYTES + 1)
    except zlib.error as error:
        raise Refused(400, f"body: not valid gzip ({error})") from None
    if len(body) > defaults.MAX_BATCH_BYTES or unpacker.unconsumed_tail:
        raise Refused(413, f"body: larger than the limit of {defaults.MAX_BATCH_BYTES} bytes once unpacked")
    return body


def _body(environ, limit: int) -> dict:
    # Any content type: sendBeacon and the snippet post text/plain to avoid a CORS preflight.
    try:
        # Strict JSON (RFC 8259): no NaN or Infinity, no lone surrogates, valid UTF-8.
        body = orjson.loads(_raw_body(environ, limit))
    except orjson.JSONDecodeError as error:
        raise Refused(400, f"body: malformed JSON ({error})") from None
    if not isinstance(body, dict):
        raise Refused(400, "body: must be a JSON object")
    return body


def _site(environ, body: dict, cached, connection) -> sites.Site:
    auth = Authorization.from_header(environ.get("HTTP_AUTHORIZATION"))
    write_key = (auth.username if auth and auth.type == "basic" else None) or body.get("writeKey")
    if not isinstance(write_key, str) or not write_key:
        raise Refused(401, "write key missing: send it as the HTTP Basic user name or as 'writeKey'")
    site = cached(connection, write_key)
    if site is None:
        raise Refused(401, "unknown write key")
    if site["revoked"]:
        raise Refused(401, "this write key was revoked: ask the site's owner for the new one")
    origin = environ.get("HTTP_ORIGIN")
    if not sites.allows(site, origin):
        # Someone else's page carrying this write key: refused, so it cannot pollute the site's data.
        raise Refused(403, f"origin {origin[:100]} may not send with this write key: the site allows "
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


def _validate(environ, raw_messages: list, batch: dict, where: str = "batch[{}]") -> tuple[list[dict], list[bytes]]:
    """Every message valid or nothing stored: errors are collected for the whole request. Returns the
    messages and their JSON as stored; the size limit applies to that JSON."""
    received_at = int(time.time() * 1000)
    batch_sent_at = batch.get("sentAt")
    batch_skew = _skew(batch_sent_at, received_at)
    # The snippet leaves the user agent out of its messages: a browser's request header carries it.
    agent = environ.get("HTTP_USER_AGENT", "")[: defaults.MAX_STRING] if environ.get("HTTP_ORIGIN") else None
    messages, bodies, problems = [], [], []
    for index, raw in enumerate(raw_messages):
        try:
            message = _messages.load(raw)
        except ValidationError as error:
            problems.extend(flatten(error.messages, where.format(index)))
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
                problems.append(f"{where.format(index)}.sentAt: must be an ISO 8601 time like 2026-11-23T10:00:00Z")
                continue
        else:
            sent_at, skew = batch_sent_at, batch_skew
        try:
            _correct_clock(message, sent_at, skew, received_at)
        except ValueError:  # a time near year 1 or 9999 moved by a skew of centuries: no date can hold it
            problems.append(f"{where.format(index)}.timestamp: {message['timestamp'][:40]} is out of range once "
                          f"corrected for the sender's clock (sentAt {sent_at[:40]})")
            continue
        body = stream.encode(message)
        size = len(body)
        if size > defaults.MAX_MESSAGE_BYTES:
            problems.append(f"{where.format(index)}: message is {size} bytes, the limit is {defaults.MAX_MESSAGE_BYTES}")
            continue
        messages.append(message)
        bodies.append(body)
    if problems:
        raise Refused(400, "; ".join(problems[:20]), problems)
    return messages, bodies


@bp.after_request
def _allow_origin(response):
    response.headers.extend(cors_headers(request.headers.get("Origin")))
    return response


@bp.route("/v1/<path:_any>", methods=["OPTIONS"])
def preflight(_any):
    """Browsers ask before a JSON or authorised POST; the POST itself is where origins are checked."""
    response = current_app.response_class(status=204)
    response.headers["Access-Control-Allow-Headers"] = "Content-Type, Authorization, Content-Encoding"
    response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response.headers["Access-Control-Max-Age"] = "86400"
    return response
