"""JSON errors that say what is wrong and where."""

from flask import abort, jsonify


def bad_request(status: int, error: str, details: list[str] | None = None):
    """Abort with ``{"success": false, "error": ..., "details": [...]}``."""
    response = jsonify(success=False, error=error, details=details or [error])
    response.status_code = status
    abort(response)
