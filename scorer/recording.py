"""What the live scorer keeps of each session, so that a draft of the rules can be replayed over it.

A session instance (its session key and `started_at`: a visitor's next session reuses the key) is
one Redis list: a header (what the session carried over from the visitor's last one), then
``[at, score, message]`` for each message applied, in order, at most REPLAY_MAX_MESSAGES. ``message``
is slim but goes through `session.apply` unchanged: only the fields apply reads, of each event
only the properties apply reads of it (so a Form Error's typed value, should a shop send one, is
never kept), every string cut to at least apply's own cut, and what apply would ignore at that
point (the user agent once the device is known, say) left out. ``score`` is the score the
rules saw then. The name, email and phone traits are kept as stars: replay needs to know that a
shopper can be reached, never how, and the recording outlives the session by days.
An index per stream shard (keys.RECORDED), scored by the last recorded time, finds the sessions
active since a moment without SCAN. Written in the batch's own Lua script (scorer.writer).
"""

import orjson

from scorer import defaults, keys, pages, session
from tracker import stream

FORMAT = 1  # of a header
CARRIED = ("anonymous_id", "user_id", "traits", "device", "tz")  # what session.renew carries over
PRODUCT = ("product_id", "sku", "name", "price", "quantity")  # read from a product, or from each of a cart's
ORDER = ("total", "revenue", "value")
PROPERTIES = {  # event -> the properties session.apply and learning.revenue read of it; others: none
    "Form Error": ("field", "message"), "Idle": ("seconds",), "Checkout Step Viewed": ("step", "step_name"),
    "Product Viewed": PRODUCT, "Product Added": PRODUCT, "Product Removed": PRODUCT, "Payment Failed": ("reason",),
    "Cart Viewed": ORDER, "Checkout Started": ORDER, "Order Completed": ORDER,
    "Rage Click": ("selector",), "Dead Click": ("selector",),  # scorer.funnel's friction marks
}
PAGE = ("path", "category")  # a page message's properties read
CART_EVENTS = ("Cart Viewed", "Checkout Started")  # their products replace the cart
TRAITS = ("name", "first_name", "email", "phone", "segment", "vip", "plan", "do_not_contact")  # as session keeps
PERSONAL = ("name", "first_name", "email", "phone")  # recorded as stars (see mask)
# Stand-ins for the scorer's own fields of a stored state, which a replay has no use for but which
# take room in it: a state held to MAX_STATE_BYTES loses its oldest entries when the live one did.
HASH = "0" * 12  # a message id as session.remember keeps it
ENTRY_ID = "0" * 13 + "-0"  # a stream entry id


def _cap(value, limit: int = defaults.MAX_TEXT):
    """A value as session.text or session.number will read it, cut to ``limit`` characters."""
    if type(value) is str:  # most are: a message is recorded for every event
        return value[:limit]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)[:limit]


_LIMITS = {"path": pages.MAX_PATH}  # characters a property keeps, if not defaults.MAX_TEXT


def _pick(source: dict, names: tuple) -> dict:
    kept = {}
    for name in names:  # a loop, not a comprehension (a call on Python 3.11): slim 2.2 against 2.5 us a message
        if name in source:
            kept[name] = _cap(source[name], _LIMITS.get(name, defaults.MAX_TEXT))
    return kept


def mask(traits: dict) -> dict:
    """Kept traits as recorded: of the personal ones, only that they were given and their length (a
    replayed state must take the room the live one took: see HASH)."""
    return {name: "*" * len(value) if name in PERSONAL and isinstance(value, str) else value
            for name, value in traits.items()}


def _traits(traits: dict) -> dict:
    kept = {name: traits[name] for name in TRAITS if isinstance(traits.get(name), (str, int, float, bool))}
    if "consent" in traits:
        kept["consent"] = session.consent(traits["consent"])
    return mask(kept)


def slim(state: dict, message: dict) -> dict:
    """``message`` as recorded, taken before it is applied to ``state``."""
    out = {"type": message["type"]}
    for name in ("event", "name", "category"):
        if message.get(name) is not None:
            out[name] = _cap(message[name])
    if state["anonymous_id"] is None and message.get("anonymousId"):
        out["anonymousId"] = message["anonymousId"]
    if message.get("userId") and session.text(message["userId"], 100) != state["user_id"]:
        out["userId"] = _cap(message["userId"])
    context = message.get("context") if isinstance(message.get("context"), dict) else {}
    kept = {}
    if state["device"] is None and isinstance(context.get("userAgent"), str):
        kept["userAgent"] = context["userAgent"]
    if state["tz"] is None and isinstance(context.get("timezone"), str):
        kept["timezone"] = context["timezone"][:40]
    if message["type"] == "page" and isinstance(context.get("page"), dict):
        kept["page"] = _pick(context["page"], ("path", "title"))
    if kept:
        out["context"] = kept
    if message["type"] == "identify":
        traits = message.get("traits") or context.get("traits")
        if isinstance(traits, dict):
            out["traits"] = _traits(traits)
    props = message.get("properties") if isinstance(message.get("properties"), dict) else {}
    kept = _pick(props, PAGE if message["type"] == "page" else PROPERTIES.get(out.get("event"), ()))
    if message.get("event") in CART_EVENTS and isinstance(props.get("products"), list):
        kept["products"] = [_pick(product, PRODUCT) if isinstance(product, dict) else None
                            for product in props["products"][:defaults.MAX_CART_ITEMS]]
    if kept:
        out["properties"] = kept
    return out


def header(state: dict, seen: int) -> dict:
    """What a session starts from: its site, visit number, what the visitor's last one carried over,
    and how many message ids it held (``seen``)."""
    carried = {name: state[name] for name in CARRIED}
    carried["traits"] = mask(carried["traits"])
    return dict(carried, v=FORMAT, site=state["site"], visits=state["visits"], seen=seen)


def start(session_key: str, started_at: int, head: dict) -> dict:
    """The state a recorded session began with, before its first message."""
    state = session.new(session_key, head["site"], started_at, head["visits"])
    for name in CARRIED:
        state[name] = head[name]
    state["seen"] = [HASH] * head.get("seen", 0)
    return state


def remember(state: dict) -> None:
    """As the scorer does before applying a message: its id kept (a stand-in of the same size)."""
    session.keep(state["seen"], HASH, defaults.SEEN_LENGTH)
    state["last_id"] = ENTRY_ID


def add(records: list, state: dict, message: dict, at: int) -> None:
    """Record ``message`` (received at ``at``) before it is applied to ``state`` (and after the scorer
    remembered its id). ``records`` gathers a batch's records of one session: [started_at, [items]]
    per session instance, as renewals split them."""
    if not records or records[-1][0] != state["started_at"]:
        seen = len(state["seen"]) - bool(message.get("messageId"))  # as it was before this message
        records.append([state["started_at"], [header(state, seen)] if state["events"] == 0 else []])
    records[-1][1].append([at, state["score"], slim(state, message)])


def scored(records: list, score: float | None) -> None:
    """The batch's last message takes the score the rules saw after it."""
    records[-1][1][-1][1] = None if score is None else round(score, 4)


def member(session_key: str, started_at: int) -> str:
    return f"{started_at}:{session_key}"


def parse(found: bytes | str) -> tuple[str, int]:
    """(session key, started_at) of an index member."""
    text = found.decode() if isinstance(found, bytes) else found
    started, _, session_key = text.partition(":")
    return session_key, int(started)


def stage(out, session_key: str, records: list, shards: int, days: float) -> None:
    """Hand a batch's records of one session to the batch's write (a scorer.writer.Batch)."""
    index = keys.recorded(stream.shard_of(session_key, shards))
    for started, items in records:
        out.record(keys.recording(session_key, started), index, member(session_key, started), items[-1][0],
                   [orjson.dumps(item) for item in items], int(days * 86400))
