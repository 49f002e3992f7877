"""The learner: the one process that trains the model, from the examples the scorers hand it.

Scorers never train (DESIGN.md, growing past one machine). A batch that settles a session's outcome
adds the session's label and held snapshots to the examples stream (keys.EXAMPLES) in the batch's own
write (scorer.writer); the learner reads them, learns each snapshot, one example at a time, and
publishes signed, versioned checkpoints (scorer.checkpoint), which every scorer takes within
MODEL_POLL seconds. So learning costs the scorers nothing, and two scorers never train two models that
overwrite each other's checkpoints.

One learner trains at a time: it holds a lease (keys.LEASE), renewed at each step and checked again
before each checkpoint; another learner waits until the lease is free, then restores the newest
checkpoint and takes up what the one before it read and did not publish (whoever holds the lease reads
as the one consumer keys.LEARNERS). An example is acknowledged, and deleted, only once a checkpoint
that learned it is saved: a learner killed before that leaves it pending, and the next learns it again
on the last checkpoint, so none is lost. One killed between the save and the acknowledgement has that
step's examples learned twice (a window of one round trip).
"""

import logging
import os
import socket
import time

import redis as redis_lib

from scorer import checkpoint, keys, learning
from scorer.model import AbandonModel

log = logging.getLogger("handrail.learner")

LEASE_MS = 10_000  # a lease not renewed for this long passes to another learner
READ_COUNT = 500  # examples a read takes
READ_BLOCK = 1000  # ms a read waits for examples
PUBLISH_AFTER = 1.0  # seconds a learned example waits for a checkpoint at most (checkpoint.EVERY sooner)
WAIT = 1.0  # seconds between two tries of a learner waiting for the lease

# Take the lease, or renew it when it is ours: 1, else 0. KEYS: the lease. ARGV: our name, ms.
_HOLD = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
return 0
"""
# Give the lease up when it is ours. KEYS: the lease. ARGV: our name.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def ensure_group(redis) -> None:
    try:
        redis.xgroup_create(keys.EXAMPLES, keys.LEARNERS, id="0", mkstream=True)
    except redis_lib.ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise


def parse(fields: dict) -> tuple[bool, list[list[float]]]:
    """(abandoned, the snapshots' feature values) of an examples stream entry (scorer.writer writes it)."""
    names = sorted((name for name in fields if name[:1] == b"x"), key=lambda name: int(name[1:]))
    return fields[b"a"] == b"1", learning.examples([fields[name] for name in names])


class Learner:
    def __init__(self, redis, checkpointer: checkpoint.Checkpointer, name: str | None = None):
        self.redis = redis
        self.checkpointer = checkpointer
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.model = None  # None while this learner does not hold the lease
        self.unpublished: list[bytes] = []  # ids of the examples learned since the last checkpoint
        self.since = 0.0  # time.monotonic() of the first of them
        self.hold = redis.register_script(_HOLD)
        self.release = redis.register_script(_RELEASE)

    def run(self, stop) -> None:
        ensure_group(self.redis)
        waiting = False
        try:
            while not stop.is_set():
                learned = self.step()
                if learned is None:
                    if not waiting:
                        log.info("learner %s waits: another learner holds the lease", self.name)
                    waiting = True
                    stop.wait(WAIT)
                else:
                    waiting = False
        finally:
            if self.model is not None:
                self.publish()
            self.release(keys=[keys.LEASE], args=[self.name])

    def holding(self) -> bool:
        return bool(self.hold(keys=[keys.LEASE], args=[self.name, LEASE_MS]))

    def step(self, block: int = READ_BLOCK) -> int | None:
        """One read of examples, learned, and a checkpoint when one is due; how many snapshots were learned, or
        None when another learner holds the lease."""
        if not self.holding():
            self.model = None  # the lease passed on: whoever has it now starts from the last checkpoint
            self.unpublished.clear()
            return None
        learned = 0
        if self.model is None:
            self.model = self.checkpointer.restore(AbandonModel)
            log.info("learner %s holds the lease; the model has learned %d examples", self.name, self.model.learned)
            after = b"0"
            while found := self._read(after):  # what the learner before read and did not publish
                learned += self._learn(found)
                after = found[-1][0]
        learned += self._learn(self._read(b">", block))
        if self.unpublished and (self.checkpointer.due(self.model) or time.monotonic() - self.since >= PUBLISH_AFTER):
            self.publish()
        return learned

    def _read(self, since: bytes, block: int | None = None) -> list:
        found = self.redis.xreadgroup(keys.LEARNERS, keys.LEARNERS, {keys.EXAMPLES: since}, count=READ_COUNT,
                                      block=block)
        return found[0][1] if found else []

    def _learn(self, entries: list) -> int:
        learned = 0
        for entry_id, fields in entries:
            if not self.unpublished:
                self.since = time.monotonic()
            self.unpublished.append(entry_id)
            if not fields:  # trimmed away while pending
                continue
            abandoned, snapshots = parse(fields)
            for x in snapshots:
                self.model.learn_values(x, abandoned)
            learned += len(snapshots)
        return learned

    def publish(self) -> int | None:
        """Save a checkpoint of what was learned, then acknowledge and delete its examples; the version saved.
        Nothing is saved when the lease passed on meanwhile (the next learner learns them again)."""
        if not self.unpublished or not self.holding():
            return None
        version = self.checkpointer.save(self.model)
        pipe = self.redis.pipeline(transaction=False)
        pipe.xack(keys.EXAMPLES, keys.LEARNERS, *self.unpublished)
        pipe.xdel(keys.EXAMPLES, *self.unpublished)
        pipe.execute()
        self.unpublished.clear()
        return version
