"""JSON errors that say what is wrong and where, in a shape Segment's libraries also understand."""

from flask import abort, jsonify

# Segment's error body has a code and a message; its libraries log both.
CODES = {400: "invalid_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
         413: "payload_too_large", 429: "rate_limited", 503: "unavailable"}
UNAVAILABLE = "storage unavailable, try again shortly"  # Redis unreachable: a 503 with Retry-After


def payload(status: int, error: str, details: list[str] | None = None) -> dict:
    """``{"success": false, "error": ..., "details": [...], "code": ..., "message": ...}``."""
    return {"success": False, "error": error, "details": details or [error], "code": CODES.get(status, "error"),
            "message": error}


def response(status: int, error: str, details: list[str] | None = None):
    answer = jsonify(payload(status, error, details))
    answer.status_code = status
    return answer


def bad_request(status: int, error: str, details: list[str] | None = None):
    abort(response(status, error, details))
