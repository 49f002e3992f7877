"""Sites, their write keys and the origins allowed to send from a browser."""

import json
import secrets
import threading
import time
import uuid

from tracker import defaults, keys


class Site(dict):
    """A site as stored: id, name, origins, write_key, revoked."""


def normal_origin(url: str) -> str:
    return url.rstrip("/").lower()


def allows(site: "Site", origin: str | None) -> bool:
    """Whether a request from a page of ``origin`` may use the site's write key: any page when the site
    registered no origins; a request with no Origin is no page's (a server, a library)."""
    return not origin or not site["origins"] or normal_origin(origin) in site["origins"]


def create(redis, name: str, origins: list[str]) -> Site:
    write_key = "wk_" + secrets.token_urlsafe(24)
    site_id = uuid.uuid4().hex[:12]
    origins = [normal_origin(o) for o in origins]
    pipe = redis.pipeline(transaction=True)
    pipe.hset(
        keys.site(write_key),
        mapping={"id": site_id, "name": name, "origins": json.dumps(origins), "created_at": time.time()},
    )
    pipe.hset(keys.SITES, site_id, write_key)
    pipe.execute()
    return Site(id=site_id, name=name, origins=origins, write_key=write_key, revoked=False)


def lookup(redis, write_key: str) -> Site | None:
    """The site of ``write_key``, revoked or not; None for a key no site ever had."""
    if not write_key or len(write_key) > 100:
        return None
    raw = redis.hgetall(keys.site(write_key))
    if not raw:
        return None
    return Site(
        id=raw[b"id"].decode(),
        name=raw[b"name"].decode(),
        origins=json.loads(raw[b"origins"]),
        write_key=write_key,
        revoked=b"revoked_at" in raw,
    )


def listing(redis) -> list[Site]:
    found = [lookup(redis, key.decode()) for key in redis.hvals(keys.SITES)]
    return [site for site in found if site]


def find_by_name(redis, name: str) -> Site | None:
    return next((s for s in listing(redis) if s["name"] == name and not s["revoked"]), None)


def revoke(redis, site_id_or_key: str) -> Site | None:
    """Revoke a site's write key (by site id or write key): its events are refused from then on."""
    write_key = redis.hget(keys.SITES, site_id_or_key)
    write_key = write_key.decode() if write_key else site_id_or_key
    site = lookup(redis, write_key)
    if site is None:
        return None
    redis.hset(keys.site(write_key), "revoked_at", time.time())
    site["revoked"] = True
    return site


class Cache:
    """Each web process keeps sites for SITE_CACHE seconds: one Redis round trip fewer per request.
    A revoked key is refused by every process within that time."""

    def __init__(self, ttl: float = defaults.SITE_CACHE):
        self.ttl = ttl
        self.entries: dict[str, tuple[float, Site | None]] = {}
        self.lock = threading.Lock()

    def get(self, redis, write_key: str) -> Site | None:
        now = time.monotonic()
        entry = self.entries.get(write_key)
        if entry and now - entry[0] < self.ttl:
            return entry[1]
        site = lookup(redis, write_key)
        with self.lock:
            if len(self.entries) > 10_000:  # unknown keys from strangers must not grow it forever
                self.entries.clear()
            self.entries[write_key] = (now, site)
        return site

    def forget(self, write_key: str) -> None:
        self.entries.pop(write_key, None)
