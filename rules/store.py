"""The rules in force, versioned in Redis; every saved version kept with its author and time."""

import json
import time

from redis.exceptions import WatchError

from rules import keys
from rules.document import RuleSet, compile_text

HISTORY_KEPT = 100  # versions kept


def current(redis) -> tuple[int, str] | None:
    version, text = redis.hmget(keys.CURRENT, "version", "yaml")
    return (int(version), text.decode()) if version else None


def version(redis) -> int:
    """Cheap: what scorers poll to notice a change."""
    value = redis.hget(keys.CURRENT, "version")
    return int(value) if value else 0


def save(redis, text: str, author: str) -> tuple[int, RuleSet]:
    """Compile first (RulesError leaves the rules in force unchanged), then store atomically."""
    ruleset = compile_text(text)
    saved_at = time.time()
    with redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                pipe.watch(keys.CURRENT)
                new_version = int(pipe.hget(keys.CURRENT, "version") or 0) + 1
                pipe.multi()
                record = {"version": new_version, "yaml": text, "author": author, "saved_at": saved_at}
                pipe.hset(keys.CURRENT, mapping=record)
                pipe.lpush(keys.HISTORY, json.dumps(record))
                pipe.ltrim(keys.HISTORY, 0, HISTORY_KEPT - 1)
                pipe.execute()
                return new_version, ruleset
            except WatchError:
                continue
