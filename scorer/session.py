"""One shopper's live session, as plain JSON-able data updated by one event at a time.

Only what an agent, a rule or the model needs is kept, every string a browser sent is capped, and
`dump` holds the stored JSON to MAX_STATE_BYTES. Nothing a shopper typed into a form is here: the
snippet never sends it, and properties are kept by name only. Times inside the lists are tenths of
a second since the session began, to keep them short.
"""

import hashlib
import re
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from scorer import defaults, funnel, pages

FRICTION = (
    "Payment Failed", "Form Error", "Rage Click", "Dead Click", "JS Error", "Exit Intent", "Idle",
    "Coupon Denied", "Back And Forth",
)
STRUGGLE = ("Payment Failed", "Form Error", "Rage Click", "Dead Click", "JS Error", "Coupon Denied")
STEP_EVENTS = {"Cart Viewed": "cart", "Checkout Started": "checkout", "Order Completed": "complete"}
CONSENT_CHANNELS = ("call", "email", "sms")  # the channels that reach a shopper who is not on the page
QUIET = ("Heartbeat",)  # liveness only: neither in the timeline nor counted
NOT_ACTING = ("Heartbeat", "Idle", "Exit Intent")  # signs of a shopper not doing anything
_MOBILE = re.compile(r"Mobi|Android|iPhone|iPod|Windows Phone", re.I)
_TABLET = re.compile(r"iPad|Tablet", re.I)


def new(session_key: str, site: str, now: int, visits: int = 1) -> dict:
    return {
        "session": session_key,
        "anonymous_id": None,
        "user_id": None,
        "site": site,
        "started_at": now,
        "last_seen": now,
        "step": None,
        "step_at": now,
        "acted_at": now,  # the shopper's last action: any event but Heartbeat, Idle, Exit Intent
        "cart": {"items": [], "value": 0.0, "count": 0},
        "events": 0,
        "signals": {},  # friction event -> times
        "fields": {},  # form field -> errors on it
        "n": {},  # pages, products (viewed), adds, removes, idle (s)
        "kinds": {kind: [0, 0] for kind in pages.KINDS},  # page kind -> [pages, ms spent on them]
        "page": None,  # [page id, kind, ms it was entered]
        "path": None,  # the path of the page being read, cut to MAX_PATH
        "pages": [],  # distinct page ids in order of first view (the first is the entry page)
        "device": None,
        "tz": None,
        "visits": visits,  # sessions of this visitor the scorer has seen, this one included
        "recent": [],  # [event, tenths of a second since start], for windowed counts
        "timeline": [],  # [tenths since start, what, detail]
        "traits": {},
        "score": None,
        "outcome": None,  # None while live, then "purchase", "abandoned" (ended with a cart) or "left"
        "contact": None,  # None, or the policy's verdict when a rule fired: "contact" or "holdout"
        "decision": None,  # id of the decision that contacted the session (its task's id): the outcome goes to it
        "rule": None,  # the first rule that fired on the session (contacted or held out), cut to RULE_ID: the uplift report
        "closed": False,  # its end was handled: outcome settled, page statistics counted
        "quiet_until": 0,  # ms before which the contact policy would refuse a decision anyway
        "last_id": "0-0",
        "seen": [],  # short hashes of the last message ids applied
        "reached": [],  # steps entered, in order (scorer.funnel)
        "marks": [],  # [page, kind, detail] of its first distinct friction signals (scorer.funnel)
    }


def renew(old: dict, now: int) -> dict:
    """The next session of the same visitor, after the last one ended."""
    state = new(old["session"], old["site"], now, visits=old.get("visits", 1) + 1)
    for name in ("anonymous_id", "user_id", "traits", "device", "tz", "last_id", "seen"):
        state[name] = old[name]
    return state


def ended(state: dict, now: int) -> bool:
    return state["closed"] or now - state["last_seen"] >= defaults.SESSION_TIMEOUT


def text(value, limit: int = defaults.MAX_TEXT) -> str:
    return str(value)[:limit] if value is not None else ""


def number(value, default: float = 0.0) -> float:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return default
    return result if result == result and abs(result) < 1e12 else default  # drop NaN and absurd values


def _tenths(state: dict, now: int) -> int:
    return max(0, (now - state["started_at"]) // 100)


def _count(state: dict, name: str, amount: float = 1) -> None:
    state["n"][name] = state["n"].get(name, 0) + amount


def apply(state: dict, message: dict, now: int) -> None:
    """Apply one validated message, received at ``now`` (ms)."""
    state["events"] += 1
    state["last_seen"] = now
    if message.get("event") not in NOT_ACTING:
        state["acted_at"] = now
    state["anonymous_id"] = state["anonymous_id"] or message.get("anonymousId")
    if message.get("userId"):
        state["user_id"] = text(message["userId"], 100)
    context = message.get("context") if isinstance(message.get("context"), dict) else {}
    _context(state, context)
    kind = message["type"]
    props = message.get("properties") if isinstance(message.get("properties"), dict) else {}
    if kind == "identify":
        # Segment sends traits at the top of the message, RudderStack under context.traits.
        traits = message.get("traits") or context.get("traits")
        _traits(state, traits if isinstance(traits, dict) else {})
        _timeline(state, now, "Identified", "")
    elif kind == "page":
        page = context.get("page") if isinstance(context.get("page"), dict) else {}
        path = text(page.get("path") or props.get("path") or "/", pages.MAX_PATH)
        _page(state, path, pages.kind(path, message.get("category") or props.get("category")), now)
        _timeline(state, now, "Page", text(page.get("title") or message.get("name") or path, 60))
    else:
        _track(state, text(message["event"], 40), props, now)


def _context(state: dict, context: dict) -> None:
    if state["device"] is None and isinstance(context.get("userAgent"), str):
        agent = context["userAgent"]
        state["device"] = "tablet" if _TABLET.search(agent) else "mobile" if _MOBILE.search(agent) else "desktop"
    if state["tz"] is None and isinstance(context.get("timezone"), str):
        state["tz"] = text(context["timezone"], 40)


def _page(state: dict, path: str, kind: str, now: int) -> None:
    _leave_page(state, now)
    page = pages.page_id(path)
    state["page"] = [page, kind, now]
    state["path"] = path[:defaults.MAX_PATH]
    state["kinds"][kind][0] += 1
    _count(state, "pages")
    if page not in state["pages"] and len(state["pages"]) < defaults.MAX_PAGES:
        state["pages"].append(page)


def _leave_page(state: dict, now: int) -> None:
    if state["page"]:
        _, kind, entered = state["page"]
        state["kinds"][kind][1] += max(0, now - entered)


def _track(state: dict, event: str, props: dict, now: int) -> None:
    if event in QUIET:
        return
    keep(state["recent"], [event, _tenths(state, now)], defaults.RECENT_LENGTH)
    if event in FRICTION:
        state["signals"][event] = state["signals"].get(event, 0) + 1
    if event == "Form Error":
        field = text(props.get("field") or "?", 24)
        if field in state["fields"] or len(state["fields"]) < defaults.MAX_FIELDS:
            state["fields"][field] = state["fields"].get(field, 0) + 1
    elif event == "Idle":
        _count(state, "idle", min(max(number(props.get("seconds"), 30), 0), 3600))
    elif event == "Product Viewed":
        _count(state, "products")
    if event == "Checkout Step Viewed":
        _step(state, text(props.get("step_name") or f"step {text(props.get('step'), 10)}", 40), now)
    elif event in STEP_EVENTS:
        _step(state, STEP_EVENTS[event], now)
    elif event == "Product Viewed" and state["step"] in (None, "browse"):
        _step(state, "browse", now)
    if event == "Product Added":
        _count(state, "adds")
        _add(state["cart"], props)
    elif event == "Product Removed":
        _count(state, "removes")
        _remove(state["cart"], props)
    elif event in ("Cart Viewed", "Checkout Started") and isinstance(props.get("products"), list):
        state["cart"]["items"] = []
        for product in props["products"][: defaults.MAX_CART_ITEMS]:
            if isinstance(product, dict):
                _add(state["cart"], product)
    if event == "Order Completed":
        state["outcome"] = "purchase"
    funnel.mark(state, event, props)
    _timeline(state, now, event, _detail(event, props))


def _step(state: dict, step: str, now: int) -> None:
    if step != state["step"]:
        state["step"], state["step_at"] = step, now
        funnel.reach(state, step)


def _product_id(props: dict) -> str:
    return text(props.get("product_id") or props.get("sku") or props.get("name") or "?", 24)


def _add(cart: dict, props: dict) -> None:
    pid = _product_id(props)
    quantity = min(max(1, int(number(props.get("quantity"), 1))), 999)
    for item in cart["items"]:
        if item["id"] == pid:
            item["quantity"] += quantity
            break
    else:
        if len(cart["items"]) >= defaults.MAX_CART_ITEMS:
            return
        cart["items"].append({
            "id": pid,
            "name": text(props.get("name") or pid, 40),
            "price": max(0.0, number(props.get("price"))),
            "quantity": quantity,
        })
    _total(cart)


def _remove(cart: dict, props: dict) -> None:
    pid = _product_id(props)
    cart["items"] = [item for item in cart["items"] if item["id"] != pid]
    _total(cart)


def _total(cart: dict) -> None:
    cart["value"] = round(sum(item["price"] * item["quantity"] for item in cart["items"]), 2)
    cart["count"] = sum(item["quantity"] for item in cart["items"])


def _traits(state: dict, traits: dict) -> None:
    # Only a few named traits are kept, capped; the rest of what a browser sends is not stored.
    for name in ("name", "first_name", "email", "phone", "segment", "vip", "plan", "do_not_contact"):
        if name in traits and isinstance(traits[name], (str, int, float, bool)):
            state["traits"][name] = traits[name] if isinstance(traits[name], bool) else text(traits[name], 80)
    if "consent" in traits:
        state["traits"]["consent"] = consent(traits["consent"])


def consent(value) -> str:
    """The channels a shopper agreed to be contacted on, as "call,email,sms" (a subset). Shops send
    it as a mapping ({email: true}), a list, a comma-separated text, or true for all of them."""
    if value is True:
        agreed = CONSENT_CHANNELS
    elif isinstance(value, dict):
        agreed = [name for name, yes in value.items() if yes is True or str(yes).lower() in ("true", "yes", "1")]
    elif isinstance(value, list):
        agreed = [str(name) for name in value[:10]]
    elif isinstance(value, str):
        agreed = value[:80].split(",")
    else:
        agreed = []
    return ",".join(name for name in CONSENT_CHANNELS if name in {str(a).strip().lower() for a in agreed})


def _detail(event: str, props: dict) -> str:
    if event == "Payment Failed":
        return text(props.get("reason"), 60)
    if event == "Form Error":
        return text(f"{text(props.get('field'), 30)}: {text(props.get('message'), 60)}", 60)
    if event in ("Product Added", "Product Removed", "Product Viewed"):
        return text(props.get("name") or props.get("sku"), 60)
    if event == "Checkout Step Viewed":
        return text(props.get("step_name") or props.get("step"), 40)
    if event in ("Order Completed", "Checkout Started", "Cart Viewed"):
        value = props.get("total") or props.get("revenue") or props.get("value")
        return f"{number(value):.2f}" if value is not None else ""
    return ""


def _timeline(state: dict, now: int, what: str, detail: str) -> None:
    keep(state["timeline"], [_tenths(state, now), what, detail], defaults.TIMELINE_LENGTH)


def remember(state: dict, message_id: str | None) -> bool:
    """False when ``message_id`` was applied already: the collector's client resent it."""
    if not message_id:
        return True
    short = hashlib.blake2b(message_id.encode(), digest_size=6).hexdigest()
    if short in state["seen"]:
        return False
    keep(state["seen"], short, defaults.SEEN_LENGTH)
    return True


def keep(entries: list, entry, length: int) -> None:
    """Append ``entry`` to one of the state's lists, in place, keeping the latest ``length``."""
    entries.append(entry)
    del entries[:-length]


@lru_cache(maxsize=512)
def _zone(name: str | None):
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


QUARTER_MS = 900_000


@lru_cache(maxsize=4096)
def _hour(name: str, quarter: int) -> int | None:
    zone = _zone(name)
    return datetime.fromtimestamp(quarter * QUARTER_MS / 1000, zone).hour if zone else None


def local_hour(state: dict, now: int) -> int | None:
    # A zone's offset from UTC is a whole number of quarter hours and changes at the start of one (tzdata, since
    # 1979): the hour is the same through a quarter hour of UTC, worked out once (it is read for most events).
    return _hour(state["tz"], now // QUARTER_MS) if state["tz"] else None


def snapshot(state: dict, now: int) -> dict:
    """What rules see (rules.conditions, rules.policy, rules.decision): plain data, times relative to ``now``.
    The model reads the state itself (scorer.model.values)."""
    started = state["started_at"]
    return {
        "step": state["step"],
        "step_seconds": (now - state["step_at"]) / 1000,
        "session_seconds": (now - started) / 1000,
        "cart_value": state["cart"]["value"],
        "cart_items": state["cart"]["count"],
        "signals": dict(state["signals"]),
        "fields": dict(state["fields"]),
        "device": state["device"],
        "returning": returning(state),
        "still_seconds": (now - state.get("acted_at", state["last_seen"])) / 1000,
        "anonymous_id": state["anonymous_id"] or state["session"],
        "user_id": state["user_id"],
        "site": state["site"],
        "path": state.get("path"),
        "tz": state["tz"],
        "recent": [[event, started + tenths * 100] for event, tenths in state["recent"]],
        "score": state["score"],
        "traits": dict(state["traits"]),
        "now": now,
    }


def returning(state: dict) -> bool:
    """A visitor seen before, or a signed-in one."""
    return state["visits"] > 1 or bool(state["user_id"])


def timeline(state: dict) -> list[dict]:
    return [{"at": state["started_at"] + tenths * 100, "what": what, "detail": detail}
            for tenths, what, detail in state["timeline"]]


def dump(state: dict) -> bytes:
    """The state as stored: JSON of at most MAX_STATE_BYTES, unless the texts never cut pass it alone (see
    below). A session that would pass it (only one full of maximal strings does) loses, in this order, the
    oldest timeline and recent entries, the length of cart item names and traits, then the rest of those
    lists and the oldest message ids,
    at last the funnel's friction marks and steps (scorer.funnel).
    What is trimmed does not depend on the scorer's bookkeeping (room is kept for it), so that a
    recording replayed without a contact, a cooldown or stream ids rebuilds the same session."""
    raw = orjson.dumps(state)
    budget = defaults.MAX_STATE_BYTES - BOOKKEEPING_ROOM
    while len(raw) > budget:  # the cheap test first
        over = len(raw) - _bookkeeping_bytes(state) - budget
        if over <= 0:
            break
        if not _trim(state, over):
            # Only texts that are never cut are left: the ids the session is found and reached by, cart item
            # ids, form field names, the time zone. Hostile ones (200 characters of emoji or of control
            # characters, which JSON spells in 4 or 6 bytes) can pass the budget: stored anyway, not crashing
            # the scorer on every read of the same entry.
            break
        raw = orjson.dumps(state)
    return raw


BOOKKEEPING = ("contact", "channel", "decision", "quiet_until", "last_id", "rule")  # the scorer's, not the shopper's
BOOKKEEPING_ROOM = 126  # bytes their values take in the JSON at most: "holdout" (9), "callback" (10), a
# 24-character decision id (26), a time in ms (13), a stream entry id of up to 40 characters (42) and a rule
# id of up to RULE_ID (26). A session at every cap (tests/test_session.py) leaves no more room than this.
RULE_ID = 24  # characters of a rule id kept (ids may have 64): the uplift report shows longer ones cut


def _bookkeeping_bytes(state: dict) -> int:
    # Their JSON, exactly: what the rest of the state may take then does not depend on their values. Dumped as
    # one list (most states near the budget come here on every save): less its brackets and commas.
    present = [state[name] for name in BOOKKEEPING if name in state]
    return len(orjson.dumps(present)) - len(present) - 1 if present else 0


def _trim(state: dict, over: int) -> bool:
    """Drop or cut the next thing in the order dump gives, ``over`` bytes of it where it can tell; False when
    nothing is left to trim."""
    items = state["cart"]["items"]
    if len(state["timeline"]) > 4:
        _drop_oldest(state["timeline"], 4, over)
    elif len(state["recent"]) > 8:
        _drop_oldest(state["recent"], 8, over)
    elif any(len(item["name"]) > 12 for item in items) or any(len(str(v)) > 24 for v in state["traits"].values()):
        for item in items:
            item["name"] = item["name"][:12]
        state["traits"] = {k: v if isinstance(v, bool) else str(v)[:24] for k, v in state["traits"].items()}
    elif state["timeline"] or state["recent"]:
        state["timeline"], state["recent"] = state["timeline"][1:], state["recent"][1:]
    elif len(state["seen"]) > 8:
        del state["seen"][0]
    elif state.get("path") and len(state["path"]) > 24:
        state["path"] = state["path"][:24]
    elif any(item["name"] for item in items) or state["traits"]:
        for item in items:
            item["name"] = ""
        state["traits"] = {}
    elif not funnel.trim(state):  # the funnel's marks and steps shortened, then dropped
        return False
    return True


def _drop_oldest(entries: list, keep: int, over: int) -> None:
    """Drop the oldest entries, keeping ``keep``, until ``over`` bytes of JSON are gone: what dropping
    one at a time and dumping the state again after each would leave, with one dump in all (in a run of
    `python -m bench.scorer --shoppers 2000` a trimmed dump trimmed 4.2 times on average, now 1.3)."""
    dropped = gone = 0
    while gone < over and len(entries) - dropped > keep:
        gone += len(orjson.dumps(entries[dropped])) + 1  # and its comma: one remains after it
        dropped += 1
    del entries[:dropped]


def public(state: dict) -> dict:
    """The session as GET /api/sessions shows it."""
    return {
        "anonymous_id": state["anonymous_id"] or state["session"],
        "user_id": state["user_id"],
        "step": state["step"],
        "cart": state["cart"],
        "events": state["events"],
        "signals": state["signals"],
        "score": state["score"],
        "timeline": timeline(state),
        "started_at": state["started_at"],
        "last_seen": state["last_seen"],
        "outcome": state["outcome"],
        "visits": state["visits"],
        "device": state["device"],
    }


def trouble(state: dict, kept: int = 5) -> list[dict]:
    """The session's latest struggle (the timeline's STRUGGLE entries), oldest first: what a customer
    lookup shows of a known customer's last session."""
    return [entry for entry in timeline(state) if entry["what"] in STRUGGLE][-kept:]
