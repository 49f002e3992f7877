"""The conditions of an outreach rule that look at a customer rather than a live session.

They are evaluated by the scheduled outreach (dispatch.outreach) on a customer snapshot: ``now`` (ms),
``site``, ``user_id``, ``traits``, the open cart (``cart_value``, ``cart_items``, ``cart_left_at`` in ms:
when the session that left it ended), ``orders`` (how many are kept), ``last_order_at`` (ms), and ``due``:
the replenishments the customer's orders point to, each {product, name, due_at (ms), every (s)}.

Each fires for a while and then stops (``within``): a cart left a month ago is not chased, and a
replenishment missed by weeks is a lapsed customer's business, not a reminder's.
"""

from dataclasses import dataclass
from fnmatch import fnmatchcase

from rules import durations
from rules.conditions import _duration, _settings, _show
from rules.yamlnodes import Mapping

CART_LEFT_WITHIN = 7 * 86400  # s after a cart was left that it is still worth a word
DUE_WITHIN = 7 * 86400  # s after a replenishment fell due that a reminder still makes sense


@dataclass(frozen=True)
class CartLeft:
    over: float  # s since the cart was left
    within: float

    def evaluate(self, snap):
        left = snap.get("cart_left_at")
        if not left or not snap.get("cart_items"):
            return False, []
        seconds = (snap["now"] - left) / 1000
        if self.over < seconds <= self.within:
            return True, [f"cart of {snap.get('cart_value') or 0:.2f} left {_ago(seconds)} ago"]
        return False, []


@dataclass(frozen=True)
class NoOrderFor:
    over: float  # s since the last order

    def evaluate(self, snap):
        last = snap.get("last_order_at")
        if not last:
            return False, []
        seconds = (snap["now"] - last) / 1000
        return (True, [f"no order for {_ago(seconds)}"]) if seconds > self.over else (False, [])


@dataclass(frozen=True)
class Orders:
    at_least: int

    def evaluate(self, snap):
        n = snap.get("orders") or 0
        return (True, [f"{n} orders"]) if n >= self.at_least else (False, [])


@dataclass(frozen=True)
class ReplenishmentDue:
    product: str | None  # a glob of the product's id or name; None: any
    within: float

    def evaluate(self, snap):
        now = snap["now"]
        for item in snap.get("due") or ():
            late = (now - item["due_at"]) / 1000
            if not 0 <= late < self.within:
                continue
            if self.product and not any(fnmatchcase(str(item.get(name) or "").lower(), self.product.lower())
                                        for name in ("product", "name")):
                continue
            every = durations.describe(round(item["every"] / 86400) * 86400) if item["every"] >= 86400 else "?"
            return True, [f"{item.get('name') or item['product']} due (bought every {every})"]
        return False, []


def _ago(seconds: float) -> str:
    return f"{seconds / 86400:.0f} days" if seconds >= 2 * 86400 else f"{seconds / 3600:.0f} h"


def _cart_left(value, line, problems):
    if not _settings("cart_left", value, line, ("over", "within"), problems):
        return None
    over = _duration(value, "over", line, problems)
    within = _duration(value, "within", line, problems) if "within" in value else CART_LEFT_WITHIN
    if over is None or within is None:
        return None
    if within <= over:
        problems.add(line, f"'cart_left' needs 'within' longer than 'over', got over {durations.describe(over)} "
                           f"and within {durations.describe(within)}")
        return None
    return CartLeft(over, within)


def _no_order_for(value, line, problems):
    over = durations.parse(value) if not isinstance(value, Mapping) else None
    if not over:
        problems.add(line, f"'no_order_for' must be a duration like 90d, got {_show(value)}")
        return None
    return NoOrderFor(over)


def _orders(value, line, problems):
    if not _settings("orders", value, line, ("at_least",), problems):
        return None
    at_least = value.get("at_least")
    if not isinstance(at_least, int) or isinstance(at_least, bool) or at_least < 1:
        problems.add(line, f"'at_least' must be a whole number of 1 or more, got {_show(at_least)}")
        return None
    return Orders(at_least)


def _replenishment_due(value, line, problems):
    if value is True:
        return ReplenishmentDue(None, DUE_WITHIN)
    if not _settings("replenishment_due", value, line, ("product", "within"), problems):
        return None
    product = value.get("product")
    if product is not None and (not isinstance(product, str) or not product.strip()):
        problems.add(line, f"'product' must be a product's id or name, or a pattern like *beans*, got {_show(product)}")
        return None
    within = _duration(value, "within", line, problems) if "within" in value else DUE_WITHIN
    return ReplenishmentDue(product, within) if within else None


COMPILERS = {"cart_left": _cart_left, "no_order_for": _no_order_for, "orders": _orders,
             "replenishment_due": _replenishment_due}


ANCHORS = {CartLeft: "cart", NoOrderFor: "order", ReplenishmentDue: "due"}


def anchors(condition) -> set[str]:
    """What a condition is about (cart, order, due): the occasion an outreach fires once for."""
    if type(condition) in ANCHORS:
        return {ANCHORS[type(condition)]}
    return set().union(*(anchors(part) for part in getattr(condition, "parts", ())))
