"""The rules in force, versioned in Redis; every saved version kept with its author and time.

History is append-only: a rollback saves an old version's YAML again as a new version.
"""

import json
import time

from redis.exceptions import WatchError

from rules import keys
from rules.document import RuleSet, RulesError, compile_text

HISTORY_KEPT = 100  # versions kept; older ones are dropped from the history


class NoSuchVersion(LookupError):
    """A version that was never saved, or is older than the history keeps."""


def current(redis) -> tuple[int, str] | None:
    version, text = redis.hmget(keys.CURRENT, "version", "yaml")
    return (int(version), text.decode()) if version else None


def version(redis) -> int:
    """Cheap: what scorers poll to notice a change."""
    value = redis.hget(keys.CURRENT, "version")
    return int(value) if value else 0


def rule_ids(text: str) -> list[str]:
    """The rule ids of a stored document; none if it no longer compiles (the language may have moved on)."""
    try:
        return compile_text(text).ids
    except RulesError:
        return []


def save(redis, text: str, author: str, rollback_of: int | None = None) -> tuple[int, RuleSet]:
    """Compile first (RulesError leaves the rules in force unchanged), then store atomically."""
    ruleset = compile_text(text)
    saved_at = time.time()
    with redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                pipe.watch(keys.CURRENT)
                new_version = int(pipe.hget(keys.CURRENT, "version") or 0) + 1
                pipe.multi()
                in_force = {"version": new_version, "yaml": text, "author": author, "saved_at": saved_at}
                record = dict(in_force, rules=ruleset.ids, rollback_of=rollback_of)
                pipe.hset(keys.CURRENT, mapping=in_force)
                pipe.lpush(keys.HISTORY, json.dumps(record))
                pipe.ltrim(keys.HISTORY, 0, HISTORY_KEPT - 1)
                pipe.execute()
                return new_version, ruleset
            except WatchError:
                continue


def history(redis, limit: int) -> list[dict]:
    """The newest ``limit`` versions, newest first, without their YAML."""
    records = [_record(raw) for raw in redis.lrange(keys.HISTORY, 0, limit - 1)]
    for record in records:
        del record["yaml"]
    return records


def get(redis, number: int) -> dict:
    """One kept version with its YAML, or NoSuchVersion saying what is kept."""
    newest = version(redis)
    # Each save pushes exactly one record, so version v sits at index newest - v; check, then search.
    if 0 < number <= newest:
        raw = redis.lindex(keys.HISTORY, newest - number)
        if raw is not None and json.loads(raw)["version"] == number:
            return _record(raw)
        for raw in redis.lrange(keys.HISTORY, 0, -1):
            if json.loads(raw)["version"] == number:
                return _record(raw)
    oldest = redis.lindex(keys.HISTORY, -1)
    kept = f"versions {json.loads(oldest)['version']} to {newest} are kept" if oldest else "no version is saved yet"
    raise NoSuchVersion(f"no rules version {number}: {kept} (the last {HISTORY_KEPT})")


def rollback(redis, number: int, author: str) -> tuple[int, RuleSet]:
    """Put version ``number``'s YAML in force again, as a new version noting what it rolls back to."""
    return save(redis, get(redis, number)["yaml"], author, rollback_of=number)


def _record(raw: bytes) -> dict:
    record = json.loads(raw)
    if "rules" not in record:  # saved before the ids were kept with each version
        record["rules"] = rule_ids(record["yaml"])
    record.setdefault("rollback_of", None)
    return record
