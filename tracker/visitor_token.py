"""A visitor's token: proof that a browser is the one that made its anonymousId.

The token is an HMAC of the site and the anonymousId under the server's secret. It is handed out once
per visitor, in the answer to the first batch with a page view (trust on first use: the browser that
made a random id sends it before anybody else can know it), and the snippet keeps it beside the id.
The inbox and the chat want it, so that guessing or seeing someone's anonymousId reads nothing.
"""

import hashlib
import hmac

from tracker import defaults, keys, sites
from tracker.errors import bad_request


def sign(secret: str, site_id: str, anonymous_id: str) -> str:
    message = f"{site_id}\n{anonymous_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[: defaults.VISITOR_TOKEN_CHARS]


def valid(secret: str, site_id: str, anonymous_id: str, token: str) -> bool:
    return hmac.compare_digest(token.encode(), sign(secret, site_id, anonymous_id).encode())


def issue(redis, secret: str, site_id: str, anonymous_id: str) -> str | None:
    """The visitor's token the first time it is asked for, else None: it was handed out already."""
    if not redis.set(keys.visitor(site_id, anonymous_id), 1, nx=True, ex=defaults.VISITOR_TTL):
        return None
    return sign(secret, site_id, anonymous_id)


def renew(redis, site_id: str, anonymous_id: str) -> None:
    """A visitor who keeps coming back keeps the mark, so that the id is never handed out anew."""
    redis.expire(keys.visitor(site_id, anonymous_id), defaults.VISITOR_TTL)


def for_batch(redis, secret: str, site_id: str, messages: list[dict]) -> str | None:
    """The token to hand out with a browser's batch: only for a batch of one visitor with a page view
    (a page's first batch), and only the first time."""
    ids = {m.get("anonymousId") for m in messages}
    if len(ids) != 1 or None in ids or not any(m["type"] == "page" for m in messages):
        return None
    return issue(redis, secret, site_id, ids.pop())


def visitor(redis, secret: str, fields) -> tuple[dict, str]:
    """The site and anonymousId of a visitor's request whose ``fields`` (query or body) carry writeKey,
    anonymousId and token; a clear 4xx when one is missing or wrong, before anything is read."""
    anonymous_id, token = fields.get("anonymousId"), fields.get("token")
    if not isinstance(anonymous_id, str) or not anonymous_id or len(anonymous_id) > defaults.MAX_ID:
        bad_request(400, f"anonymousId: required, at most {defaults.MAX_ID} characters")
    write_key = fields.get("writeKey")
    site = sites.lookup(redis, write_key) if isinstance(write_key, str) and write_key else None
    if site is None or site["revoked"]:
        bad_request(401, "unknown write key")
    if not isinstance(token, str) or not token:
        bad_request(401, "token: required, the visitor token the collector gave this browser")
    if not valid(secret, site["id"], anonymous_id, token):
        bad_request(403, "token: not this visitor's token")
    renew(redis, site["id"], anonymous_id)
    return site, anonymous_id
