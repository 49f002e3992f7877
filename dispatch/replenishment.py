"""When a customer will need a product again: from their own reorders of it, or, with one order only,
from how often every customer of the shop reorders it.

Each order of a known customer updates, per product, when they last bought it and the gaps between their
orders of it; the shop keeps the sum and count of every customer's gaps per product. The reorder falls due
at the last purchase plus the customer's mean gap (or the shop's, lacking their own), and is indexed by
that time, so the outreach reads the customers due without scanning all of them. A due time is set when an
order comes; a shop-wide interval learned later moves it at the customer's next order, not before.
"""

import json

from dispatch import defaults, keys

SAME_ORDER = 86_400  # s: a second order of a product within a day is a top-up, not a reorder
SEP = "\x1f"  # between user id and product id in the due index


def record(redis, site: str | None, user_id: str, products: list[dict], at: float) -> None:
    """An order of these products at ``at`` (s). Safe to run twice for one order: a purchase at or before
    the last one known changes nothing."""
    if not products:
        return
    key = keys.customer_products(site, user_id)
    known = dict(zip([p["id"] for p in products], redis.hmget(key, [p["id"] for p in products])))
    gaps = keys.product_gaps(site)
    typical = _typical(redis, site, [p["id"] for p in products])
    pipe = redis.pipeline(transaction=True)
    for product in products:
        raw = known[product["id"]]
        mine = json.loads(raw) if raw else {"last": None, "sum": 0.0, "n": 0}
        if mine["last"] is not None and at <= mine["last"]:
            continue  # this order, or an older one, again
        if mine["last"] is not None and at - mine["last"] >= SAME_ORDER:
            gap = at - mine["last"]
            mine["sum"], mine["n"] = mine["sum"] + gap, mine["n"] + 1
            pipe.hincrbyfloat(gaps, f"{product['id']}:sum", gap)
            pipe.hincrby(gaps, f"{product['id']}:n", 1)
        mine.update(last=at, name=product.get("name") or product["id"])
        pipe.hset(key, product["id"], json.dumps(mine))
        every = mine["sum"] / mine["n"] if mine["n"] else typical.get(product["id"])
        member = f"{user_id}{SEP}{product['id']}"
        if every:
            pipe.zadd(keys.replenish_due(site), {member: at + every})
        else:
            pipe.zrem(keys.replenish_due(site), member)
    pipe.expire(key, defaults.CUSTOMER_TTL)
    pipe.expire(gaps, defaults.CUSTOMER_TTL)
    pipe.execute()


def _typical(redis, site: str | None, products: list[str]) -> dict[str, float]:
    """product -> the mean gap between reorders over every customer of the shop, where there is one."""
    fields = [f"{p}:{part}" for p in products for part in ("sum", "n")]
    values = redis.hmget(keys.product_gaps(site), fields)
    found = {}
    for index, product in enumerate(products):
        total, count = values[2 * index], values[2 * index + 1]
        if count and int(count) > 0:
            found[product] = float(total) / int(count)
    return found


def due(redis, site: str | None, user_id: str) -> list[dict]:
    """The customer's reorders with a due time: {product, name, due_at (ms), every (s)}."""
    mine = {field.decode(): json.loads(raw) for field, raw in redis.hgetall(keys.customer_products(site, user_id)).items()}
    if not mine:
        return []
    members = [f"{user_id}{SEP}{product}" for product in mine]
    scores = redis.zmscore(keys.replenish_due(site), members)
    found = []
    for (product, kept), score in zip(mine.items(), scores):
        if score is not None:
            found.append({"product": product, "name": kept.get("name") or product, "due_at": int(score * 1000),
                          "every": score - kept["last"]})
    return found


def customers_due(redis, site: str | None, since: float, until: float) -> set[str]:
    """The user ids with a reorder falling due between ``since`` and ``until`` (s)."""
    return {member.decode().split(SEP, 1)[0] for member in redis.zrangebyscore(keys.replenish_due(site), since, until)}
