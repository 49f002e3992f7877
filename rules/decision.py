"""The decision: which action to take for a snapshot, as plain data that dispatch can act on.

Every rule whose conditions hold offers its channel and its fallback. Each offer that the channel
policies allow (rules.policy.blocked) is valued at P(abandon) x cart value x P(saved | channel)
minus the channel's cost, and the best one is taken; on a tie, the rule written first wins.
"""

import hashlib

from rules.actions import fill
from rules.conditions import segments
from rules.document import RuleSet
from rules.settings import CALLBACK

UNKNOWN_ABANDON = 0.5  # P(abandon) assumed while the model has not learned enough to say


def decide(ruleset: RuleSet, snapshot: dict, trigger: str, allow=None, rates: dict | None = None) -> dict | None:
    """The best allowed action, or None. ``trigger`` names what caused the evaluation (a stream
    entry id or a deadline), so a replayed evaluation yields the same id. ``allow(channel, skill)``
    returns (the channel to use or None, why not): rules.policy.blocked bound to the live state;
    without it every channel is allowed. ``rates``: learned save rates (rules.outcomes.rates)."""
    best = None
    for rule in ruleset.rules:
        held, evidence = rule.when.evaluate(snapshot)
        if not held:
            continue
        for offered in rule.action.channels():
            channel, _ = allow(offered, rule.action.skill) if allow else (offered, "")
            if channel is None:
                continue
            value = expected_value(ruleset, snapshot, channel, rates)
            if best is None or value > best[0]:
                best = (value, rule, channel, evidence)
    if best is None:
        return None
    value, rule, channel, evidence = best
    digest = hashlib.sha256(f"{rule.id}|{snapshot['anonymous_id']}|{trigger}".encode()).hexdigest()
    return {
        "id": digest[:24],
        "rule": rule.id,
        "text": rule.description,
        "evidence": evidence,
        "channel": channel,
        "priority": rule.action.priority,
        "skill": rule.action.skill,
        "message": fill(rule.action.message, snapshot, ruleset.settings.currency),
        "why": why(ruleset, snapshot, channel, rates),
        "value": round(value, 2),
        "cart_value": snapshot.get("cart_value", 0),
        "anonymous_id": snapshot["anonymous_id"],
        "user_id": snapshot.get("user_id"),
        "site": snapshot.get("site"),
        "score": snapshot.get("score"),
        "decided_at": snapshot["now"],
    }


def _save_rate(ruleset: RuleSet, channel: str, rates: dict | None) -> float:
    return rates[channel] if rates and channel in rates else ruleset.channel(channel).save_rate


def expected_value(ruleset: RuleSet, snapshot: dict, channel: str, rates: dict | None = None) -> float:
    """P(abandon) x cart value x P(saved | channel) - the channel's cost, in the shop's currency."""
    score = snapshot.get("score")
    p = UNKNOWN_ABANDON if score is None else score
    cart = snapshot.get("cart_value") or 0
    return p * cart * _save_rate(ruleset, channel, rates) - ruleset.channel(channel).cost


def why(ruleset: RuleSet, snapshot: dict, channel: str, rates: dict | None = None) -> str:
    """In plain words: "call: vip, cart 420.00 EUR, P(abandon) 0.81, call saves 34 % of such carts"."""
    parts = [f"{channel}:"]
    found = segments(snapshot) & {"vip", "member", "new"}
    if found:
        parts.append(sorted(found)[-1] + ",")  # vip over member or new
    parts.append(f"cart {snapshot.get('cart_value') or 0:.2f} {ruleset.settings.currency},")
    score = snapshot.get("score")
    parts.append(f"P(abandon) {score:.2f}," if score is not None
                 else f"P(abandon) not learned yet ({UNKNOWN_ABANDON:g} assumed),")
    rate = _save_rate(ruleset, channel, rates)
    name = "a callback" if channel == CALLBACK else channel
    parts.append(f"{name} saves {rate * 100:.0f} % of such carts")
    return " ".join(parts)
