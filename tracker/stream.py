"""Writing accepted messages to the event stream shards, all of a request or none of it."""

import json
import zlib

from tracker import defaults, keys


def shard_of(session_key: str, shards: int) -> int:
    return zlib.crc32(session_key.encode()) % shards


def session_key(message: dict) -> str:
    """Sessions are keyed by anonymousId; a server-side message with only a userId keys by that."""
    return message.get("anonymousId") or "u:" + message["userId"]


def append(redis, site_id: str, messages: list[dict], shards: int) -> list[str]:
    """XADD every message in one MULTI/EXEC, so a failure stores nothing of the request."""
    pipe = redis.pipeline(transaction=True)
    for message in messages:
        key = keys.events(shard_of(session_key(message), shards))
        body = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
        pipe.xadd(key, {"site": site_id, "m": body}, maxlen=defaults.MAX_STREAM_LENGTH, approximate=True)
    return [entry_id.decode() for entry_id in pipe.execute()]


def all_keys(shards: int) -> list[str]:
    return [keys.events(shard) for shard in range(shards)]
