"""Writing accepted messages to the event stream shards: rate limits, messageId dedup and XADD in
one Lua script, so a request is one round trip and all of it is stored or none of it.

On a Redis Cluster the keys of one call would have to share a slot; today the script runs on one
server, and the per-shard stream keys already carry their hash tags.
"""

import weakref
import zlib
from dataclasses import dataclass

import orjson

from tracker import defaults, keys, wire

# KEYS: ip counter, site counter, then per message its dedup key and its stream key.
# ARGV: ip limit, site limit (0 = none), window (s), dedup ttl (s), maxlen, site id, then messages.
# Returns {stored, limited (0, 1 = ip, 2 = site), retry after (s)}.
_SCRIPT = """
local window = tonumber(ARGV[3])
local function over(key, amount, limit)
  if limit == 0 then return false end
  local used = redis.call('INCRBY', key, amount)
  if used == amount then redis.call('EXPIRE', key, window) end
  return used > limit
end
local n = #ARGV - 6
if over(KEYS[1], 1, tonumber(ARGV[1])) then return {0, 1, redis.call('TTL', KEYS[1])} end
if over(KEYS[2], n, tonumber(ARGV[2])) then return {0, 2, redis.call('TTL', KEYS[2])} end
local stored = 0
for i = 1, n do
  if redis.call('SET', KEYS[1 + 2 * i], 1, 'NX', 'EX', ARGV[4]) then
    redis.call('XADD', KEYS[2 + 2 * i], 'MAXLEN', '~', ARGV[5], '*', 'site', ARGV[6], 'm', ARGV[6 + i])
    stored = stored + 1
  end
end
return {stored, 0, 0}
"""


@dataclass(frozen=True)
class Limits:
    ip: int = 0  # requests per window from one IP address; 0: no limit
    site: int = 0  # messages per window for one site; 0: no limit
    window: int = defaults.RATE_WINDOW  # seconds


@dataclass(frozen=True)
class Outcome:
    stored: int
    limited: str | None  # None, "ip" or "site"
    retry_after: int  # seconds


def shard_of(session_key: str, shards: int) -> int:
    return zlib.crc32(session_key.encode()) % shards


def session_key(message: dict) -> str:
    """Sessions are keyed by anonymousId; a server-side message with only a userId keys by that."""
    return message.get("anonymousId") or "u:" + message["userId"]


def encode(message: dict) -> bytes:
    """A message as stored in a stream entry: compact UTF-8 JSON."""
    return orjson.dumps(message)


def append(redis, site_id: str, messages: list[dict], shards: int, limits: Limits = Limits(),
           ip: str = "-", bodies: list[bytes] | None = None) -> Outcome:
    """Store the messages not seen before (by messageId, for DEDUP_TTL), unless a limit is hit.
    ``bodies``: the messages already encoded, when the caller has them."""
    script = _script(redis)
    bodies = bodies if bodies is not None else [encode(message) for message in messages]
    message_keys = []
    for message in messages:
        message_keys.append(keys.seen(site_id, message["messageId"]))
        message_keys.append(keys.events(shard_of(session_key(message), shards)))
    stored, limited, retry_after = script(
        keys=[keys.rate_ip(ip), keys.rate_site(site_id), *message_keys],
        args=[limits.ip, limits.site, limits.window, defaults.DEDUP_TTL, defaults.MAX_STREAM_LENGTH, site_id,
              *bodies],
    )
    return Outcome(stored, {0: None, 1: "ip", 2: "site"}[limited], max(1, retry_after))


_scripts: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # client -> its wire.Script


def _script(redis):
    """The Lua script bound to this client, made once per client (EVALSHA, loaded once per server)."""
    script = _scripts.get(redis)
    if script is None:
        script = _scripts[redis] = wire.Script(redis, _SCRIPT)
    return script


def all_keys(shards: int) -> list[str]:
    return [keys.events(shard) for shard in range(shards)]
