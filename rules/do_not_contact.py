"""The do-not-contact list: shoppers (by anonymous id, user id, email or phone) never to be contacted."""

from rules import keys

MAX_ENTRY = 200  # characters of one entry


class EntryError(ValueError):
    """An entry that cannot be on the list; the message says why."""


def normal(identity) -> str:
    """How an id, email or phone is kept and looked up: trimmed, lower-case; a phone number written
    with + keeps only its digits, so "+49 (170) 123-4567" and "+491701234567" are one entry."""
    text = str(identity).strip().lower()
    digits = "".join(c for c in text if c.isdigit())
    return ("+" + digits) if text.startswith("+") and len(digits) >= 6 else text


def checked(identity) -> str:
    """The entry as kept, or EntryError saying what is wrong with it."""
    if not isinstance(identity, str) or not identity.strip():
        raise EntryError(f"an entry is an id, email or phone number as text, got {identity!r}")
    if len(identity) > MAX_ENTRY:
        raise EntryError(f"an entry is at most {MAX_ENTRY} characters, got {len(identity)}")
    return normal(identity)


def add(redis, identities: list) -> int:
    """Add every entry or none (a bad one raises EntryError first); how many were new."""
    entries = [checked(identity) for identity in identities]
    return redis.sadd(keys.DO_NOT_CONTACT, *entries) if entries else 0


def remove(redis, identity: str) -> bool:
    return bool(redis.srem(keys.DO_NOT_CONTACT, checked(identity)))


def listing(redis) -> list[str]:
    return sorted(entry.decode() for entry in redis.smembers(keys.DO_NOT_CONTACT))

