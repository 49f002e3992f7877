"""Contact policies: the cooldown between contacts of one shopper, and the holdout group."""

import hashlib

from rules import keys
from rules.document import RuleSet

CONTACT = "contact"
HOLDOUT = "holdout"
COOLDOWN = "cooldown"


def in_holdout(anonymous_id: str, share: float) -> bool:
    """Deterministic by a hash of the shopper's id, so a shopper stays in or out of the control group."""
    bucket = int.from_bytes(hashlib.sha256(anonymous_id.encode()).digest()[:4], "big") % 10_000
    return bucket < share * 10_000


def admit(redis, ruleset: RuleSet, decision: dict) -> str:
    """CONTACT, HOLDOUT or COOLDOWN. The shopper's contact slot is taken with SET NX, so two scorers
    (or one replaying a batch) never both contact; the same decision id is admitted again."""
    anonymous_id = decision["anonymous_id"]
    held = in_holdout(anonymous_id, ruleset.holdout)
    value = f"{HOLDOUT if held else CONTACT}:{decision['id']}"
    key = keys.contact(anonymous_id)
    if redis.set(key, value, nx=True, px=max(1, int(ruleset.cooldown * 1000))):
        if held:
            redis.hincrby(keys.HELD_OUT, decision["rule"], 1)
        return HOLDOUT if held else CONTACT
    if (redis.get(key) or b"").decode() == value:
        return HOLDOUT if held else CONTACT
    return COOLDOWN
