"""Who may use /api/: the admin bearer token, or an agent signed in to the console."""

import hmac

from flask import g, jsonify, request, session


def _refuse(status: int, error: str):
    response = jsonify(success=False, error=error)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="handrail"'
    return response


def bearer_ok(expected: str | None) -> bool:
    header = request.headers.get("Authorization", "")
    if not expected or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[7:].encode(), expected.encode())


def init_app(app) -> None:
    @app.before_request
    def _guard():
        if not request.path.startswith("/api/"):
            return None
        if bearer_ok(app.config["ADMIN_TOKEN"]):
            g.actor = "admin"
            return None
        if session.get("agent"):
            # The console's own requests carry this header; a forged cross-site form cannot.
            if request.method not in ("GET", "HEAD") and request.headers.get("X-Handrail-Console") != "1":
                return _refuse(403, "console requests must carry the X-Handrail-Console header")
            g.actor = session["agent"]
            return None
        return _refuse(401, "this route needs 'Authorization: Bearer <HANDRAIL_ADMIN_TOKEN>'")
