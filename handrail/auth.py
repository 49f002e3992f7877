"""Who may use /api/: the admin bearer token, or an agent signed in to the console."""

import hmac

from flask import g, jsonify, request, session

from dispatch import agents, login


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


def console_actor(redis) -> str | None:
    """Who is signed in to the console on this request, else None (a removed agent is signed out)."""
    agent = session.get("agent")
    return agent if agent and login.still_signed_in(redis, agent) else None


# Changes that only the admin (the product owner's token) may make; agents may read, and may
# check and replay a draft of the rules, but not put one in force.
ADMIN_WRITES = ("/api/rules", "/api/sites", "/api/do-not-contact")
OPEN_TO_AGENTS = ("/api/rules/check", "/api/rules/replay")


def _admin_only(actor: str):
    if actor == "admin" or request.method in ("GET", "HEAD") or request.path.startswith(OPEN_TO_AGENTS):
        return None
    if request.path.startswith(ADMIN_WRITES):
        return _refuse(403, f"only the admin may change {request.path}; you are signed in as {actor}")
    return None


def init_app(app) -> None:
    # Pages outside dispatch/ that share the console's sign-in (the rules editor) ask through this.
    app.extensions["console_actor"] = console_actor

    @app.before_request
    def _guard():
        if not request.path.startswith("/api/"):
            return None
        if bearer_ok(app.config["ADMIN_TOKEN"]):
            g.actor = "admin"
            return None
        # A removed agent's session is signed out (dispatch/login.py).
        if session.get("agent") and login.still_signed_in(app.extensions["redis"], session["agent"]):
            # The console's own requests carry this header; a forged cross-site form cannot.
            if request.method not in ("GET", "HEAD") and request.headers.get("X-Handrail-Console") != "1":
                return _refuse(403, "console requests must carry the X-Handrail-Console header")
            g.actor = session["agent"]
            # Which shops' shoppers this agent may see: read by stages that cannot ask dispatch.
            g.sites = agents.sites_of(app.extensions["redis"], g.actor)
            return _admin_only(g.actor)
        return _refuse(401, "this route needs 'Authorization: Bearer <HANDRAIL_ADMIN_TOKEN>'")
