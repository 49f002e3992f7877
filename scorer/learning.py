"""Learning from how sessions end: snapshots at decision points, held until the outcome is known.

A snapshot (the model's feature vector) is taken at each decision point of a session: when it
enters a step, at a friction event, and every EVERY_EVENTS events. Snapshots wait in Redis (stored
with the session's state by scorer.writer), the latest MAX_SNAPSHOTS per session, until the session
ends: Order Completed makes every one of them an example of a purchase, and a session that ends
(SESSION_TIMEOUT without events) with a cart makes them examples of an abandonment. Then the batch's
write hands them to the learner (scorer.learner), which learns them. A session that ends with an
empty cart teaches nothing: it was never at risk of abandoning one.

Contacted sessions are not learned from. A shopper an agent helped may buy *because* of the help;
learning "two payment failures, then a purchase" from them would teach the model that friction is
harmless, and it would stop flagging the very shoppers the contacts save. Only sessions whose
outcome is their own are learned: those no rule fired for, those a rule fired for but the contact
policy held back (the holdout group, a cooldown). Whether a rule fires depends on what the session
looks like, and the holdout on a hash of the shopper's id, never on the outcome; so leaving the
contacted sessions out thins the examples where rules fire (the holdout keeps that region
observed) without biasing P(abandon | features) there.
"""

import struct

import orjson

from rules import policy
from scorer import model, session

MAX_SNAPSHOTS = 8  # per session, the latest kept
EVERY_EVENTS = 10  # a snapshot every this many events, besides step entries and friction
# A stored snapshot: a byte FORMAT, then the feature values in model.NAMES order as little-endian 32-bit floats
# (under 1 us a snapshot, against about 14 us for JSON with values rounded to 4 decimals).
FORMAT = 2
_VALUES = struct.Struct(f"<{len(model.NAMES)}f")
JSON_FORMAT = 1  # before: the JSON list [1, *values rounded to 4 decimals], still read


def decision_point(state: dict, message: dict, step_before: str | None) -> bool:
    if state["outcome"] is not None or state["contact"] == policy.CONTACT:
        return False  # a contacted session is never learned from (see label): its snapshots would be dropped
    return (state["step"] != step_before or message.get("event") in session.FRICTION
            or state["events"] % EVERY_EVENTS == 0 or state["events"] == 1)  # 1: the landing page


def encode(x: list[float]) -> bytes:
    """A snapshot's model.values() as held."""
    return bytes((FORMAT,)) + _VALUES.pack(*x)


def label(state: dict) -> bool | None:
    """True: abandoned; False: purchased; None: nothing to learn from this session."""
    if state["contact"] == policy.CONTACT:
        return None
    if state["outcome"] == "purchase":
        return False
    if state["outcome"] == "abandoned":
        return True
    return None


def teach(learner, state: dict, held: list[bytes]) -> int:
    """Learn the session's held snapshots (the latest MAX_SNAPSHOTS) with its label; how many."""
    abandoned = label(state)
    if abandoned is None:
        return 0
    found = examples(held[-MAX_SNAPSHOTS:])
    for x in found:
        learner.learn_values(x, abandoned)
    return len(found)


def examples(encoded: list[bytes]) -> list[list[float]]:
    """The model.values() of stored snapshots; one of another format or length (written before an
    upgrade) is skipped."""
    out = []
    for raw in encoded:
        raw = raw.encode() if isinstance(raw, str) else raw
        if raw[:1] == bytes((FORMAT,)) and len(raw) == 1 + _VALUES.size:
            out.append(list(_VALUES.unpack_from(raw, 1)))
        elif raw[:1] == b"[":
            values = orjson.loads(raw)
            if values[0] == JSON_FORMAT and len(values) == len(model.NAMES) + 1:
                out.append(values[1:])
    return out


def observe(state: dict, message: dict, at: int, stats) -> tuple[bool, bytes | None]:
    """Apply one message to a live session, as the scorer does: (whether it was the purchase, the
    snapshot it made a decision point for, if any). A purchase adds to the page values of ``stats``."""
    buying = state["outcome"] is None and message.get("event") == "Order Completed"
    step_before = state["step"]
    session.apply(state, message, at)
    if buying:
        stats.purchased(state["site"], state["pages"], revenue(message, state))
        return True, None
    if decision_point(state, message, step_before):
        return False, encode(model.values(state, at, stats))
    return False, None


def end(state: dict, stats) -> bool:
    """The session ended (no event for SESSION_TIMEOUT): its outcome if it had none, and its pages'
    bounce and exit counts. True when the outcome was settled just now (its snapshots are due)."""
    settled = state["outcome"] is None
    if settled:
        state["outcome"] = "abandoned" if state["cart"]["items"] else "left"
    seen = state["pages"]
    stats.session_ended(state["site"], seen, entry=seen[0] if seen else None,
                        last=state["page"][0] if state["page"] else None, views=state["n"].get("pages", 0))
    return settled


def revenue(message: dict, state: dict) -> float:
    props = message.get("properties") or {}
    for name in ("revenue", "total", "value"):
        if name in props:
            return session.number(props[name])
    return state["cart"]["value"]
