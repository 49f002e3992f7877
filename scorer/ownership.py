"""Which stream shards a scorer reads: each shard has one owner at a time, by a lease in Redis.

A shard's entries go to one scorer only, so two scorers never apply one session's events at once (each
reads the state, applies its entries and writes it back: one would lose the other's). A scorer renews
its leases at most every RENEW_EVERY seconds and takes free shards up to its share, ceil(shards / scorers
alive): each says it is alive in a sorted set when it renews, and one not heard of for LEASE_MS is not
counted. A scorer holding more than its share (another one started) gives the rest back between two
batches, and the other takes them at its next renewal.

A shard taken (at start, or from a scorer that died or gave it back) is drained first (Scorer._own): the
entries its previous owner read and never acknowledged, of a batch it never wrote, are claimed and applied
before anything newer of that shard; were a session's later event applied first, the per-session stream id
check would skip the earlier one as applied before. And the batch's write refuses to store anything of a
shard the scorer no longer owns (scorer.writer), so a scorer that stalled past its lease cannot overwrite
what the shard's new owner stored.
"""

import time

from scorer import keys

LEASE_MS = 5_000  # a shard whose owner has not renewed for this long passes to another scorer
RENEW_EVERY = 1.0  # seconds between two renewals

# Renew what is ours within our share, give back the rest, take free shards up to the share.
# KEYS: the scorers' sorted set, then each shard's owner key, in shard order. ARGV: name, lease (ms).
# Returns the shard numbers owned. The time is Redis's: scorers on machines whose clocks differ agree on it.
_REFRESH = """
local name, lease = ARGV[1], tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZADD', KEYS[1], now, name)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - lease)
local share = math.ceil((#KEYS - 1) / redis.call('ZCARD', KEYS[1]))
local owned = {}
for i = 2, #KEYS do
  if redis.call('GET', KEYS[i]) == name then
    if #owned < share then
      redis.call('PEXPIRE', KEYS[i], lease)
      owned[#owned + 1] = i - 2
    else
      redis.call('DEL', KEYS[i])
    end
  end
end
for i = 2, #KEYS do
  if #owned >= share then
    break
  end
  if redis.call('SET', KEYS[i], name, 'NX', 'PX', lease) then
    owned[#owned + 1] = i - 2
  end
end
return owned
"""
# Give back every shard that is ours. KEYS: the scorers' sorted set, then the shards' owner keys. ARGV: name.
_RELEASE = """
redis.call('ZREM', KEYS[1], ARGV[1])
for i = 2, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('DEL', KEYS[i])
  end
end
"""


class Ownership:
    def __init__(self, redis, name: str, shards: int):
        self.name = name
        self.keys = [keys.SCORERS] + [keys.owner(shard) for shard in range(shards)]
        self.refresh_script = redis.register_script(_REFRESH)
        self.release_script = redis.register_script(_RELEASE)
        self.owned: list[int] = []
        self.renewed = float("-inf")

    def refresh(self, force: bool = False) -> list[int]:
        """Renew (at most every RENEW_EVERY unless ``force``); the shards this object did not own before, to be
        drained first: at its first renewal every shard it gets, held under its name before a restart or not."""
        if not force and time.monotonic() - self.renewed < RENEW_EVERY:
            return []
        self.renewed = time.monotonic()
        owned = self.refresh_script(keys=self.keys, args=[self.name, LEASE_MS])
        before, self.owned = set(self.owned), sorted(int(shard) for shard in owned)
        return [shard for shard in self.owned if shard not in before]

    def expire(self) -> None:
        """Renew at the next refresh, whenever the last was (a write found a shard no longer ours)."""
        self.renewed = float("-inf")

    def release(self) -> None:
        """Give every shard back at once (a scorer stopping): the next scorer need not wait for the leases."""
        self.release_script(keys=self.keys, args=[self.name])
        self.owned = []
