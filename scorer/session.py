"""One shopper's live session, as plain JSON-able data updated by one event at a time.

Only what an agent or a rule needs is kept, and every string a browser sent is capped. Nothing a
shopper typed into a form is here: the snippet never sends it, and properties are kept by name only.
"""

from scorer import defaults

FRICTION = (
    "Payment Failed", "Form Error", "Rage Click", "Dead Click", "JS Error", "Exit Intent", "Idle",
    "Coupon Denied",
)
STEP_EVENTS = {"Cart Viewed": "cart", "Checkout Started": "checkout", "Order Completed": "complete"}


def new(session_key: str, site: str, now: int) -> dict:
    return {
        "session": session_key,
        "anonymous_id": None,
        "user_id": None,
        "site": site,
        "started_at": now,
        "last_seen": now,
        "step": None,
        "step_at": now,
        "cart": {"items": [], "value": 0.0},
        "events": 0,
        "signals": {},
        "recent": [],
        "timeline": [],
        "traits": {},
        "score": None,
        "outcome": None,
        "last_id": "0-0",
        "seen": [],
    }


def text(value, limit: int = defaults.MAX_TEXT) -> str:
    return str(value)[:limit] if value is not None else ""


def number(value, default: float = 0.0) -> float:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return default
    return result if result == result and abs(result) < 1e12 else default  # drop NaN and absurd values


def apply(state: dict, message: dict, now: int) -> None:
    """Apply one validated message, received at ``now`` (ms)."""
    state["events"] += 1
    state["last_seen"] = now
    state["anonymous_id"] = state["anonymous_id"] or message.get("anonymousId")
    if message.get("userId"):
        state["user_id"] = text(message["userId"], 200)
    kind = message["type"]
    props = message.get("properties") or {}
    if kind == "identify":
        # Segment sends traits at the top of the message, RudderStack under context.traits.
        traits = message.get("traits") or (message.get("context") or {}).get("traits")
        _traits(state, traits if isinstance(traits, dict) else {})
        _timeline(state, now, "Identified", "")
    elif kind == "page":
        page = (message.get("context") or {}).get("page")
        page = page if isinstance(page, dict) else {}  # any JSON passes the collector's context
        _timeline(state, now, "Page", text(page.get("title") or page.get("path") or message.get("name")))
    else:
        _track(state, text(message["event"], 100), props, now)


def _track(state: dict, event: str, props: dict, now: int) -> None:
    state["recent"] = (state["recent"] + [[event, now]])[-defaults.RECENT_LENGTH:]
    if event in FRICTION:
        state["signals"][event] = state["signals"].get(event, 0) + 1
    if event == "Checkout Step Viewed":
        _step(state, text(props.get("step_name") or f"step {text(props.get('step'), 10)}", 40), now)
    elif event in STEP_EVENTS:
        _step(state, STEP_EVENTS[event], now)
    elif event == "Product Viewed" and state["step"] in (None, "browse"):
        _step(state, "browse", now)
    if event == "Product Added":
        _add(state["cart"], props)
    elif event == "Product Removed":
        _remove(state["cart"], props)
    elif event in ("Cart Viewed", "Checkout Started") and isinstance(props.get("products"), list):
        state["cart"]["items"] = []
        for product in props["products"][: defaults.MAX_CART_ITEMS]:
            if isinstance(product, dict):
                _add(state["cart"], product)
    if event == "Order Completed":
        state["outcome"] = "purchase"
    _timeline(state, now, event, _detail(event, props))


def _step(state: dict, step: str, now: int) -> None:
    if step != state["step"]:
        state["step"], state["step_at"] = step, now


def _product_id(props: dict) -> str:
    return text(props.get("product_id") or props.get("sku") or props.get("name") or "?", 64)


def _add(cart: dict, props: dict) -> None:
    pid = _product_id(props)
    quantity = max(1, int(number(props.get("quantity"), 1)))
    for item in cart["items"]:
        if item["id"] == pid:
            item["quantity"] += quantity
            break
    else:
        if len(cart["items"]) >= defaults.MAX_CART_ITEMS:
            return
        cart["items"].append({
            "id": pid,
            "name": text(props.get("name") or pid, 80),
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


def _traits(state: dict, traits: dict) -> None:
    # Only a few named traits are kept, capped; the rest of what a browser sends is not stored.
    for name in ("name", "email", "phone", "segment", "vip", "plan"):
        if name in traits and isinstance(traits[name], (str, int, float, bool)):
            state["traits"][name] = traits[name] if isinstance(traits[name], bool) else text(traits[name], 80)


def _detail(event: str, props: dict) -> str:
    if event == "Payment Failed":
        return text(props.get("reason"), 60)
    if event == "Form Error":
        return text(f"{text(props.get('field'), 40)}: {text(props.get('message'), 60)}")
    if event in ("Product Added", "Product Removed", "Product Viewed"):
        return text(props.get("name") or props.get("sku"), 80)
    if event == "Checkout Step Viewed":
        return text(props.get("step_name") or props.get("step"), 40)
    if event in ("Order Completed", "Checkout Started", "Cart Viewed"):
        value = props.get("total") or props.get("revenue") or props.get("value")
        return f"{number(value):.2f}" if value is not None else ""
    return ""


def _timeline(state: dict, now: int, what: str, detail: str) -> None:
    state["timeline"] = (state["timeline"] + [{"at": now, "what": what, "detail": detail}])[
        -defaults.TIMELINE_LENGTH:
    ]


def remember(state: dict, message_id: str | None) -> bool:
    """False when ``message_id`` was applied already: the collector's client resent it."""
    if not message_id:
        return True
    if message_id in state["seen"]:
        return False
    state["seen"] = (state["seen"] + [message_id])[-defaults.SEEN_LENGTH:]
    return True


def snapshot(state: dict, now: int) -> dict:
    """What rules and the model see: plain data, times relative to ``now``."""
    return {
        "anonymous_id": state["anonymous_id"] or state["session"],
        "user_id": state["user_id"],
        "site": state["site"],
        "step": state["step"],
        "step_seconds": (now - state["step_at"]) / 1000,
        "session_seconds": (now - state["started_at"]) / 1000,
        "cart_value": state["cart"]["value"],
        "cart_items": sum(item["quantity"] for item in state["cart"]["items"]),
        "signals": dict(state["signals"]),
        "recent": state["recent"],
        "events": state["events"],
        "score": state["score"],
        "now": now,
    }


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
        "timeline": state["timeline"],
        "started_at": state["started_at"],
        "last_seen": state["last_seen"],
        "outcome": state["outcome"],
    }
