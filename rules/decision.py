"""The decision: which rule fires for a snapshot, as plain data that dispatch can act on."""

import hashlib

from rules.document import RuleSet


def decide(ruleset: RuleSet, snapshot: dict, trigger: str) -> dict | None:
    """The first rule, in file order, whose conditions hold; ``trigger`` names what caused the
    evaluation (a stream entry id or a deadline), so a replayed evaluation yields the same id."""
    for rule in ruleset.rules:
        held, evidence = rule.when.evaluate(snapshot)
        if not held:
            continue
        digest = hashlib.sha256(f"{rule.id}|{snapshot['anonymous_id']}|{trigger}".encode()).hexdigest()
        return {
            "id": digest[:24],
            "rule": rule.id,
            "text": rule.description,
            "evidence": evidence,
            "channel": rule.channel,
            "message": rule.message,
            "anonymous_id": snapshot["anonymous_id"],
            "user_id": snapshot.get("user_id"),
            "site": snapshot.get("site"),
            "score": snapshot.get("score"),
            "decided_at": snapshot["now"],
        }
    return None
