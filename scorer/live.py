"""A known customer's live session, for dispatch's customer lookup (given to it by the app factory:
dispatch does not import the scorer)."""

import orjson

from scorer import keys, session


def of_user(redis, site: str | None, user_id: str) -> dict | None:
    """The cart, step and trouble of the user's session of that site while it lasts, else None."""
    found = redis.get(keys.alias(user_id[:200]))
    raw = redis.get(keys.session(found.decode())) if found else None
    if raw is None:
        return None
    state = orjson.loads(raw)
    if state["site"] != site or state["closed"]:
        return None
    return {"anonymous_id": state["anonymous_id"] or state["session"], "cart": state["cart"], "step": state["step"],
            "trouble": session.trouble(state)}
