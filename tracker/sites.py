"""Sites and their write keys."""

import json
import secrets
import time
import uuid

from tracker import keys


class Site(dict):
    """A site as stored: id, name, origins, write_key."""


def create(redis, name: str, origins: list[str]) -> Site:
    write_key = "wk_" + secrets.token_urlsafe(24)
    site_id = uuid.uuid4().hex[:12]
    pipe = redis.pipeline(transaction=True)
    pipe.hset(
        keys.site(write_key),
        mapping={"id": site_id, "name": name, "origins": json.dumps(origins), "created_at": time.time()},
    )
    pipe.hset(keys.SITES, site_id, write_key)
    pipe.execute()
    return Site(id=site_id, name=name, origins=origins, write_key=write_key)


def lookup(redis, write_key: str) -> Site | None:
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
    )


def find_by_name(redis, name: str) -> Site | None:
    for write_key in redis.hvals(keys.SITES):
        site = lookup(redis, write_key.decode())
        if site and site["name"] == name:
            return site
    return None
