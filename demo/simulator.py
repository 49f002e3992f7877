"""Simulated shoppers that drive the real collector over HTTP, for the demo.

Each persona is a script of events with human-ish pauses. Stuck shoppers come often enough that an
agent watching the console sees tasks within a minute of `handrail run --demo`.
"""

import heapq
import json
import logging
import random
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone

log = logging.getLogger("handrail.simulator")

PRODUCTS = [
    {"product_id": "1001", "sku": "espresso-machine", "name": "Espresso machine", "price": 349.00},
    {"product_id": "1002", "sku": "grinder", "name": "Burr grinder", "price": 189.00},
    {"product_id": "1003", "sku": "beans-1kg", "name": "House beans, 1 kg", "price": 24.50},
    {"product_id": "1004", "sku": "milk-jug", "name": "Milk jug, 350 ml", "price": 19.90},
]
PAGES = {"/shop/": "Shop", "/shop/cart": "Cart", "/shop/checkout/shipping": "Delivery", "/shop/checkout/payment": "Payment"}


def _shopping(rng, steps: list, t: float) -> tuple[float, list]:
    """Browse and fill a cart; returns the time reached and the cart."""
    steps.append((t, "page", "/shop/", None, {}))
    cart = []
    for product in rng.sample(PRODUCTS, rng.randint(1, 3)):
        t += rng.uniform(2, 6)
        steps.append((t, "track", "/shop/", "Product Viewed", dict(product)))
        t += rng.uniform(1, 4)
        item = dict(product, quantity=1)
        cart.append(item)
        steps.append((t, "track", "/shop/", "Product Added", item))
    value = round(sum(i["price"] for i in cart), 2)
    t += rng.uniform(2, 5)
    steps.append((t, "page", "/shop/cart", None, {}))
    steps.append((t, "track", "/shop/cart", "Cart Viewed", {"products": cart, "value": value}))
    t += rng.uniform(2, 6)
    steps.append((t, "track", "/shop/cart", "Checkout Started", {"products": cart, "value": value, "currency": "EUR"}))
    steps.append((t, "page", "/shop/checkout/shipping", None, {}))
    steps.append((t, "track", "/shop/checkout/shipping", "Checkout Step Viewed", {"step": 1, "step_name": "shipping"}))
    return t, cart


def _to_payment(rng, steps, t):
    t += rng.uniform(8, 20)
    steps.append((t, "track", "/shop/checkout/shipping", "Checkout Step Completed", {"step": 1, "step_name": "shipping"}))
    steps.append((t, "page", "/shop/checkout/payment", None, {}))
    steps.append((t, "track", "/shop/checkout/payment", "Checkout Step Viewed", {"step": 2, "step_name": "payment"}))
    return t


def smooth_buyer(rng):
    steps = []
    t, cart = _shopping(rng, steps, 0.0)
    t = _to_payment(rng, steps, t)
    t += rng.uniform(8, 20)
    steps.append((t, "track", "/shop/checkout/payment", "Payment Info Entered", {"payment_method": "card"}))
    total = round(sum(i["price"] for i in cart), 2)
    steps.append((t + 1, "track", "/shop/checkout/payment", "Order Completed",
                  {"order_id": "SIM-" + uuid.uuid4().hex[:8], "total": total, "revenue": total, "currency": "EUR", "products": cart}))
    return steps


def browser(rng):
    steps, t = [(0.0, "page", "/shop/", None, {})], 0.0
    for product in rng.sample(PRODUCTS, rng.randint(1, 4)):
        t += rng.uniform(3, 10)
        steps.append((t, "track", "/shop/", "Product Viewed", dict(product)))
    return steps


def stuck_at_payment(rng):
    steps = []
    t, _ = _shopping(rng, steps, 0.0)
    t = _to_payment(rng, steps, t)
    for _ in range(rng.randint(2, 3)):
        t += rng.uniform(5, 12)
        steps.append((t, "track", "/shop/checkout/payment", "Payment Info Entered", {"payment_method": "card"}))
        steps.append((t + 1, "track", "/shop/checkout/payment", "Payment Failed", {"reason": rng.choice(["card_declined", "3ds_failed", "insufficient_funds"])}))
    return steps


def lingers_on_payment(rng):
    """Reaches payment and then sits there: only a deadline can notice."""
    steps = []
    t, _ = _shopping(rng, steps, 0.0)
    _to_payment(rng, steps, t)
    return steps


def form_trouble(rng):
    steps = []
    t, _ = _shopping(rng, steps, 0.0)
    for field, message in [("postcode", "Enter a valid postcode"), ("postcode", "Enter a valid postcode"),
                           ("phone", "Enter a phone number"), ("postcode", "Enter a valid postcode")]:
        t += rng.uniform(3, 8)
        steps.append((t, "track", "/shop/checkout/shipping", "Form Error", {"field": field, "message": message}))
    return steps


PERSONAS = [(smooth_buyer, 0.35), (browser, 0.30), (stuck_at_payment, 0.15), (lingers_on_payment, 0.10), (form_trouble, 0.10)]


class Simulator:
    def __init__(self, url: str, write_key: str, rate: float = 0.4, seed: int | None = None):
        self.url = url.rstrip("/") + "/v1/batch"
        self.write_key = write_key
        self.rate = rate
        self.rng = random.Random(seed)
        self.queue: list = []

    def _message(self, anonymous_id: str, kind: str, path: str, event: str | None, props: dict) -> dict:
        message = {
            "type": kind,
            "anonymousId": anonymous_id,
            "messageId": str(uuid.uuid4()),
            "timestamp": datetime.now(timezone.utc).isoformat(),
            "context": {"page": {"path": path, "title": PAGES.get(path, "Shop"), "url": "http://demo" + path},
                        "userAgent": "handrail-simulator"},
        }
        if kind == "track":
            message.update(event=event, properties=props)
        return message

    def start_shopper(self, now: float, persona=None, pace: float = 1.0) -> None:
        persona = persona or self.rng.choices([p for p, _ in PERSONAS], [w for _, w in PERSONAS])[0]
        anonymous_id = f"sim-{persona.__name__}-{uuid.uuid4().hex[:10]}"
        for offset, kind, path, event, props in persona(self.rng):
            heapq.heappush(self.queue, (now + offset * pace, self.rng.random(), anonymous_id, kind, path, event, props))

    def post(self, messages: list[dict]) -> None:
        body = json.dumps({"writeKey": self.write_key, "batch": messages}).encode()
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "text/plain"})
        try:
            with urllib.request.urlopen(request, timeout=5):
                pass
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            log.warning("collector refused or unreachable: %s", error)

    def run(self, sessions: int | None = None) -> None:
        started, next_shopper = 0, time.monotonic()
        # The first shopper is a quick one stuck at payment: the demo shows a task within seconds.
        self.start_shopper(next_shopper, stuck_at_payment, pace=0.3)
        started += 1
        while True:
            now = time.monotonic()
            if (sessions is None or started < sessions) and now >= next_shopper:
                self.start_shopper(now)
                started += 1
                next_shopper = now + self.rng.expovariate(self.rate)
            due = []
            while self.queue and self.queue[0][0] <= now:
                _, _, anonymous_id, kind, path, event, props = heapq.heappop(self.queue)
                due.append(self._message(anonymous_id, kind, path, event, props))
            if due:
                self.post(due)
            if sessions is not None and started >= sessions and not self.queue:
                return
            time.sleep(0.1)
