"""Redis keys the rules stage owns."""

CURRENT = "hr:rules"  # hash: version, yaml, author, saved_at: the rules in force
HISTORY = "hr:rules:history"  # list of JSON {version, yaml, author, saved_at}, newest first
CONTACT = "hr:contact:{{{anonymous_id}}}"  # the decision id that last contacted (or held out) a shopper
HELD_OUT = "hr:rules:held-out"  # hash: rule id -> times it would have fired for a holdout shopper


def contact(anonymous_id: str) -> str:
    return CONTACT.format(anonymous_id=anonymous_id)
