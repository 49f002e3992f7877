"""The model, checkpointed to Redis by the learner (scorer.learner): saved every so often and on shutdown,
loaded on start, and taken by every scorer when a newer one is saved.

Each checkpoint gets a new version number (INCR of a counter) and is kept with its metadata: the
version, when it was saved (ms), how many examples the model had learned, the format number and
an HMAC-SHA256 signature. Only the last KEEP versions stay; older ones are deleted in the same Lua
script that writes the new one, so a reader never sees a half-written or half-deleted checkpoint.

Why sign: a checkpoint is a pickle, and loading a pickle runs whatever code it names. Without a
signature, whoever can write to Redis could run code in the scorer. So a checkpoint is unpickled
only after its signature, made with a key derived from Handrail's secret, has been checked. One
that does not verify (tampered bytes, another key) or has an unknown format is never unpickled:
it is skipped with an error in the log naming its version, and the next older one is tried. With
none left, the scorer starts from a fresh model.
"""

import hashlib
import hmac
import json
import logging
import pickle
import time

from scorer import keys

log = logging.getLogger("handrail.scorer")

FORMAT = 1  # how a checkpoint is laid out and signed; bump when that changes
KEEP = 5  # versions kept
EVERY = 500  # examples learned between two checkpoints, by default
FIELDS = ("format", "version", "saved_at", "learned")  # metadata stored beside the pickle, signed with it

# A Lua script rather than MULTI/EXEC: which old versions to delete is only known inside Redis.
# KEYS: kept, meta, pickle. ARGV: version, metadata JSON, pickle, versions to keep.
_STORE = """
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[1])
local last_old = -tonumber(ARGV[4]) - 1
for _, old in ipairs(redis.call('ZRANGE', KEYS[1], 0, last_old)) do
    redis.call('HDEL', KEYS[2], old)
    redis.call('HDEL', KEYS[3], old)
end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, last_old)
"""


def signing_key(secret: str) -> bytes:
    """The checkpoints' HMAC key: derived with its own label, so no other use of the secret shares it."""
    if not secret:
        raise ValueError("no secret to derive the model checkpoint signing key from")
    return hashlib.sha256(b"handrail-model-checkpoint:" + secret.encode()).digest()


def _signature(key: bytes, meta: dict, blob: bytes) -> bytes:
    # The metadata is signed too: a checkpoint's bytes cannot be passed off under another version or format.
    header = " ".join(str(meta[name]) for name in FIELDS).encode() + b"\n"
    return hmac.new(key, header + blob, hashlib.sha256).hexdigest().encode()


def save(redis, model, key: bytes) -> int:
    """Store ``model`` as a new checkpoint; returns its version."""
    blob = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    # The version is taken first so it can be signed; a save that then fails only leaves a gap.
    version = redis.incr(keys.MODEL_VERSION)
    meta = {"format": FORMAT, "version": version, "saved_at": int(time.time() * 1000), "learned": model.learned}
    meta["signature"] = _signature(key, meta, blob).decode()
    redis.eval(_STORE, 3, keys.MODEL_KEPT, keys.MODEL_META, keys.MODEL_PICKLE, version, json.dumps(meta), blob, KEEP)
    return version


def _metadata(raw: bytes, version: int) -> dict | None:
    """The stored metadata of ``version``, or None when it is not what save() writes."""
    try:
        stored = json.loads(raw)
        meta = {name: int(stored[name]) for name in FIELDS}
        meta["signature"] = str(stored["signature"])
    except (ValueError, KeyError, TypeError):  # not JSON, a field missing, not a number
        return None
    return meta if meta["version"] == version else None


def load(redis, key: bytes) -> tuple[object, dict] | None:
    """The newest checkpoint whose signature verifies, as (model, metadata); None when there is none."""
    for member in redis.zrevrange(keys.MODEL_KEPT, 0, -1):
        version = int(member)
        with redis.pipeline(transaction=True) as pipe:  # both halves of one checkpoint, as of one moment
            raw, blob = pipe.hget(keys.MODEL_META, member).hget(keys.MODEL_PICKLE, member).execute()
        if raw is None or blob is None:
            continue  # deleted since the versions were listed: a newer one was saved
        meta = _metadata(raw, version)
        if meta is None:
            log.error("model checkpoint v%d: unreadable metadata; skipped", version)
            continue
        if meta["format"] != FORMAT:
            log.error("model checkpoint v%d: unknown format %d; skipped", version, meta["format"])
            continue
        if not hmac.compare_digest(_signature(key, meta, blob), meta["signature"].encode()):
            log.error("model checkpoint v%d: signature does not verify (tampered, or another key); skipped", version)
            continue
        # Verified, so Handrail wrote these bytes. They may still name code that has since changed.
        try:
            model = pickle.loads(blob)
        except (pickle.UnpicklingError, AttributeError, ImportError) as error:
            log.error("model checkpoint v%d: does not load with this code (%s); skipped", version, error)
            continue
        del meta["signature"]
        return model, meta
    return None


def history(redis) -> list[dict]:
    """The kept checkpoints' metadata, newest first. Not verified: for showing, not for trusting."""
    members = redis.zrevrange(keys.MODEL_KEPT, 0, -1)
    found = zip(members, redis.hmget(keys.MODEL_META, members)) if members else []
    metas = [_metadata(raw, int(member)) for member, raw in found if raw is not None]
    return [{name: meta[name] for name in FIELDS} for meta in metas if meta is not None]


def latest(redis) -> int:
    """The newest kept checkpoint's version; 0 for none."""
    found = redis.zrevrange(keys.MODEL_KEPT, 0, 0)
    return int(found[0]) if found else 0


class Checkpointer:
    """What the learner uses (restore on start, save when due after learning and on shutdown) and the scorers
    (newer: the learner's latest model)."""

    def __init__(self, redis, key: bytes, every: int = EVERY):
        self.redis = redis
        self.key = key
        self.every = every
        self.saved_learned = 0  # the model's `learned` when last saved or restored
        self.looked_at = 0  # the newest version `newer` has loaded

    def restore(self, default_factory):
        """The newest good checkpoint's model, or a fresh one from ``default_factory()``."""
        found = load(self.redis, self.key)
        if found is None:
            model = default_factory()
        else:
            model, meta = found
            log.info("model checkpoint v%d restored (%d examples learned)", meta["version"], meta["learned"])
        self.saved_learned = model.learned
        return model

    def newer(self, than: int) -> tuple[object, dict] | None:
        """The newest good checkpoint as (model, metadata) when one newer than version ``than`` was saved;
        else None (one round trip)."""
        newest = latest(self.redis)
        if newest <= max(than, self.looked_at):
            return None
        self.looked_at = newest  # one that does not verify is logged once, not at every look
        found = load(self.redis, self.key)
        return found if found is not None and found[1]["version"] > than else None

    def due(self, model) -> bool:
        """``every`` examples or more were learned since the last save."""
        return model.learned - self.saved_learned >= self.every

    def save(self, model) -> int | None:
        """Save now, unless nothing was learned since the last save (so restarts do not push out history)."""
        if model.learned == self.saved_learned:
            return None
        version = save(self.redis, model, self.key)
        self.saved_learned = model.learned
        return version
