"""One round trip that stores what a batch did: every session's state, its next deadline, the
snapshots it took, the examples of the sessions it settled (handed to the learner), the messages
recorded for replay, and the acknowledgement of the stream entries applied.

A Lua script, so that the batch is stored whole or not at all (a scorer killed in the middle
leaves its entries pending, and their sessions as they were), and so that the scorer pays for
one command, not about six per session: packing, sending and parsing those commands took about a
third of the scorer's time in a profile of bench/scorer.py.
On a Redis Cluster the keys of one call would have to share a slot; today the script runs on one
server, and every key already carries its session's or shard's hash tag.
"""

import time
from dataclasses import dataclass, field

import redis

from scorer import defaults, keys, learning
from tracker import wire

# KEYS: the examples stream; per settled session its snapshots key; per session its state, deadlines and
# snapshots keys; per recording its list and index (scorer.recording); the stream keys acknowledged; last, the
# owner keys of the shards the batch touches (scorer.ownership).
# ARGV: sessions, ttl (s), snapshots kept, group, recordings, messages recorded per session at most, settled
# sessions, examples kept, the scorer's name, how many owner keys; per settled session: label ('1' abandoned,
# '0' purchased, '' nothing to learn), snapshot count, snapshots not yet held...; per session: member, state
# JSON, due ms ('' for none), snapshot count, snapshots...; per recording: index member, last ms, ttl (s),
# index cutoff ms, item count, items...; per stream: id count, ids...
# A settled session's held snapshots are popped before any session is written: a session renewed in the same
# batch holds its new snapshots under the same key.
_SCRIPT = """
local n, ttl, cap, group = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), ARGV[4]
local r, most, l, kept = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8]
local f = tonumber(ARGV[10])
for k = #KEYS - f + 1, #KEYS do
  if redis.call('GET', KEYS[k]) ~= ARGV[9] then
    return redis.error_reply('NOTOWNER ' .. KEYS[k] .. ' is not ' .. ARGV[9] .. "'s")
  end
end
local a = 11
for j = 1, l do
  local held = redis.call('LPOP', KEYS[1 + j], cap) or {}
  local label, count = ARGV[a], tonumber(ARGV[a + 1])
  for i = a + 2, a + 1 + count do
    held[#held + 1] = ARGV[i]
  end
  a = a + 2 + count
  if label ~= '' and #held > 0 then
    local fields = {'a', label}
    for i = math.max(1, #held - cap + 1), #held do
      fields[#fields + 1] = 'x' .. i
      fields[#fields + 1] = held[i]
    end
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', kept, '*', unpack(fields))
  end
end
local o = 1 + l
for i = 0, n - 1 do
  local member, state, due, count = ARGV[a], ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
  a = a + 4
  redis.call('SET', KEYS[o + 3 * i + 1], state, 'EX', ttl)
  if due == '' then
    redis.call('ZREM', KEYS[o + 3 * i + 2], member)
  else
    redis.call('ZADD', KEYS[o + 3 * i + 2], due, member)
  end
  if count > 0 then
    redis.call('RPUSH', KEYS[o + 3 * i + 3], unpack(ARGV, a, a + count - 1))
    redis.call('LTRIM', KEYS[o + 3 * i + 3], -cap, -1)
    redis.call('EXPIRE', KEYS[o + 3 * i + 3], ttl)
    a = a + count
  end
end
local trimmed = {}
for j = 0, r - 1 do
  local list, index = KEYS[o + 3 * n + 2 * j + 1], KEYS[o + 3 * n + 2 * j + 2]
  local member, last, keep, cutoff, count = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], tonumber(ARGV[a + 4])
  a = a + 5
  local room = math.min(count, most - redis.call('LLEN', list))
  if room > 0 then
    redis.call('RPUSH', list, unpack(ARGV, a, a + room - 1))
  end
  a = a + count
  redis.call('EXPIRE', list, keep)
  redis.call('ZADD', index, last, member)
  if not trimmed[index] then
    redis.call('ZREMRANGEBYSCORE', index, '-inf', '(' .. cutoff)
    trimmed[index] = true
  end
end
for k = o + 3 * n + 2 * r + 1, #KEYS - f do
  local count = tonumber(ARGV[a])
  for i = a + 1, a + count, 1000 do  -- unpack takes a few thousand values at most
    redis.call('XACK', KEYS[k], group, unpack(ARGV, i, math.min(i + 999, a + count)))
  end
  a = a + count + 1
end
return n
"""


@dataclass
class Batch:
    """What one batch will store, gathered as it is applied."""

    keys: list = field(default_factory=list)
    args: list = field(default_factory=list)
    sessions: int = 0
    acks: dict = field(default_factory=dict)  # stream key -> entry ids
    recorded_keys: list = field(default_factory=list)  # per recording its list and index (scorer.recording)
    recorded_args: list = field(default_factory=list)
    recordings: int = 0
    shards: set = field(default_factory=set)  # the stream shards of its sessions and acknowledgements
    settled_keys: list = field(default_factory=list)  # per settled session its snapshots key
    settled_args: list = field(default_factory=list)

    def settled(self, name: str, abandoned: bool | None, snapshots: list[bytes]) -> None:
        """The session's outcome is known: its held snapshots and ``snapshots`` (taken in this batch) go to
        the learner as examples labelled ``abandoned`` (None: nothing to learn, they are dropped)."""
        self.settled_keys.append(keys.snapshots(name))
        label = "" if abandoned is None else int(abandoned)
        self.settled_args += [label, len(snapshots), *snapshots]

    def session(self, name: str, state_json: bytes, deadlines_key: str, due: int | None, snapshots: list[bytes]) -> None:
        self.keys += [keys.session(name), deadlines_key, keys.snapshots(name)]
        self.args += [name, state_json, "" if due is None else due, len(snapshots), *snapshots]
        self.sessions += 1

    def record(self, list_key: str, index_key: str, member: str, last: int, items: list[bytes], keep: int) -> None:
        """Append ``items`` to a session's recording (up to REPLAY_MAX_MESSAGES), kept ``keep`` seconds
        after its last message, as is its index entry."""
        self.recorded_keys += [list_key, index_key]
        self.recorded_args += [member, last, keep, int(time.time() * 1000) - keep * 1000, len(items), *items]
        self.recordings += 1

    def ack(self, stream_key: str, entry_id: str) -> None:
        self.acks.setdefault(stream_key, []).append(entry_id)


class NotOwner(Exception):
    """The batch touches a shard its scorer no longer owns: nothing of it was stored."""


class Writer:
    def __init__(self, redis, owner: str | None = None):
        self.script = wire.Script(redis, _SCRIPT)
        self.owner = owner  # the scorer whose batches these are; None: not checked (a tool's own writes)

    def write(self, batch: Batch) -> None:
        if not batch.sessions and not batch.acks and not batch.settled_keys:
            return
        owners = [keys.owner(shard) for shard in sorted(batch.shards)] if self.owner else []
        args = [batch.sessions, defaults.SESSION_TTL, learning.MAX_SNAPSHOTS, keys.GROUP, batch.recordings,
                defaults.REPLAY_MAX_MESSAGES, len(batch.settled_keys), defaults.EXAMPLES_KEPT, self.owner or "",
                len(owners), *batch.settled_args, *batch.args, *batch.recorded_args]
        for ids in batch.acks.values():
            args += [len(ids), *ids]
        try:
            self.script(keys=[keys.EXAMPLES, *batch.settled_keys, *batch.keys, *batch.recorded_keys, *batch.acks,
                              *owners], args=args)
        except redis.ResponseError as error:
            if str(error).startswith("NOTOWNER"):
                raise NotOwner(str(error)[len("NOTOWNER "):]) from error
            raise
