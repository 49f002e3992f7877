"""GET /v1/openapi.json: the collector's contract, generated from the marshmallow wire schemas."""

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, current_app, jsonify
from marshmallow import Schema, fields

from tracker.schemas import BatchSchema, MessageSchema

bp = Blueprint("openapi", __name__)

VERSION = "1.0.0"


class SingleMessageSchema(MessageSchema):
    """One message posted to /v1/track, /v1/page or /v1/identify; the path gives its type."""

    type = fields.String(metadata={"description": "ignored: the path says what the message is"})
    writeKey = fields.String(metadata={"description": "the site's write key, when not sent as HTTP Basic user"})


class SuccessSchema(Schema):
    success = fields.Boolean(required=True)
    token = fields.String(metadata={"description": "to a batch posted by a page of the site (not a sendBeacon) "
                                                   "with one visitor's page view, the first time: that visitor's "
                                                   "token for the inbox and the chat (GET /v1/inbox)"})


class ErrorSchema(Schema):
    success = fields.Boolean(required=True)
    error = fields.String(required=True, metadata={"description": "what is wrong, and where"})
    details = fields.List(fields.String(), metadata={"description": "one line per problem, e.g. batch[2].event: ..."})
    code = fields.String(metadata={"description": "Segment-style error code"})
    message = fields.String()


ERRORS = {
    "400": "malformed JSON or an invalid message: nothing of the request was stored",
    "401": "missing, unknown or revoked write key",
    "403": "a page of an origin the site did not register (Origin header) may not send with its write key",
    "413": "body over 500 KB (after gzip is unpacked)",
    "429": "rate limit of the IP address or the site: see Retry-After",
    "503": "storage unavailable: retry later",
}

ENDPOINTS = {
    "/v1/batch": ("Batch", "Messages of any type in one request (at most 500, 500 KB).", BatchSchema),
    "/v1/track": ("Track", "One track message: an event with properties.", SingleMessageSchema),
    "/v1/page": ("Page", "One page view.", SingleMessageSchema),
    "/v1/identify": ("Identify", "One identify message: who the visitor is, with traits.", SingleMessageSchema),
}


def build() -> dict:
    spec = APISpec(
        title="Handrail collector", version=VERSION, openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
        info={"description": "The Segment HTTP Tracking API shape. Auth: HTTP Basic with the write key as user "
                             "name, or a writeKey field in the body (sendBeacon cannot set headers)."},
    )
    spec.components.security_scheme("writeKey", {"type": "http", "scheme": "basic"})
    spec.components.schema("Message", schema=MessageSchema)
    spec.components.schema("Success", schema=SuccessSchema)
    spec.components.schema("Error", schema=ErrorSchema)
    for path, (name, summary, schema) in ENDPOINTS.items():
        responses = {"200": {"description": "stored (a repeated messageId is dropped, still 200)",
                             "content": {"application/json": {"schema": "Success"}}}}
        for status, why in ERRORS.items():
            responses[status] = {"description": why, "content": {"application/json": {"schema": "Error"}}}
        body = {"schema": schema}
        spec.path(path=path, operations={"post": {
            "operationId": name.lower(), "summary": summary, "security": [{"writeKey": []}, {}],
            "requestBody": {"required": True, "content": {"application/json": body, "text/plain": body}},
            "responses": responses,
        }})
    document = spec.to_dict()
    # Each message of a batch is validated as a Message (one by one, for errors that say which): say so,
    # rather than the plain objects the wire schema's List(Dict) reads as.
    batch = document["components"]["schemas"]["Batch"]["properties"]["batch"]
    batch["items"] = {"$ref": "#/components/schemas/Message"}
    return document


@bp.get("/v1/openapi.json")
def document():
    cached = current_app.extensions.get("openapi")
    if cached is None:
        cached = current_app.extensions["openapi"] = build()
    return jsonify(cached)
