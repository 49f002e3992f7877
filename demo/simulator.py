"""Simulated shoppers: they drive the real collector over HTTP (the demo, `handrail simulate`), and
`handrail model evaluate --simulated` replays them offline through the scorer.

A persona is a function rng -> Script: the steps of one visit, each (t seconds from its start, kind,
path, event, properties), and its truth: whether the shopper is in trouble and needs help, where they
head without help (a purchase or leaving) and when they would leave. `message()` turns a step into the
Segment message the snippet would send; the HTTP simulator and the offline replay both use it.

The steps are what the demo shop and hr.js send: page views, the e-commerce events, Form Error,
Payment Failed, and the snippet's own clock: a Heartbeat every 15 s a page is open, Idle after 30 s
without input, Exit Intent when a desktop mouse heads for the tab bar to close it.
"""

import heapq
import itertools
import json
import logging
import random
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial

from demo.shop import BY_SKU, PRODUCTS
from rules.policy import in_holdout

log = logging.getLogger("handrail.simulator")

SHOP = "Crema & Co."
TITLES = {"/shop/": "Espresso gear", "/shop/cart": "Your cart", "/shop/checkout/shipping": "Shipping",
          "/shop/checkout/payment": "Payment"}
HEARTBEAT = 15  # s of an open page between Heartbeats, as hr.js
IDLE = 30  # s without input before an Idle, as hr.js
DESKTOP = 0.55  # share of shoppers on a computer: only a mouse shows an Exit Intent
DISTRACTED = 0.04  # chance, at each pause between actions, that a shopper is away for a while and comes back
AGENTS = {  # by whether on a computer
    True: ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0.0.0 Safari/537.36",
           "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
           "Version/18.1 Safari/605.1.15"],
    False: ["Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/18.1 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Mobile Safari/537.36"],
}
BATCH = 100  # messages per request at most, well inside the collector's limits
SIGNED_IN = 0.15  # share of the shoppers of any persona who are known customers and signed in
SHIPPING_ERRORS = [("email", "Please include an '@' in the email address."),
                   ("address", "Please fill out this field."),
                   ("name", "Please fill out this field.")]
PAYMENT_ERRORS = [("card-number", "Enter the 16-digit card number."),
                  ("card-expiry", "Your card's expiry date is in the past."),
                  ("card-cvc", "Your card's security code is incomplete.")]
DECLINES = ["card_declined", "card_declined", "3ds_failed", "insufficient_funds", "expired_card"]


@dataclass
class Script:
    """One visit and its truth."""
    persona: str
    stuck: bool  # a shopper in trouble who needs help
    outcome: str  # where the visit heads without help: "purchase" or "leave"
    leave_after: float  # seconds from the start at which the shopper goes
    steps: list  # (t seconds, kind, path, event, properties), in order
    user_agent: str
    user_id: str | None = None


@dataclass
class Shopper:
    """A script placed in time: it starts at ``start`` (epoch ms), each scripted second lasting ``scale``."""
    anonymous_id: str
    start: int
    script: Script
    scale: float = 1.0

    def at(self, t: float) -> int:
        return self.start + round(t * self.scale * 1000)

    def messages(self) -> list[tuple[int, dict]]:
        """(epoch ms, message) of every step, in order."""
        return [(self.at(step[0]), message(self.anonymous_id, self.script, step, self.at(step[0])))
                for step in self.script.steps]

    def truth(self) -> dict:
        return {"anonymousId": self.anonymous_id, "persona": self.script.persona, "stuck": self.script.stuck,
                "outcome": self.script.outcome, "start": self.start, "leave_at": self.at(self.script.leave_after)}


def _title(path: str) -> str:
    if path.startswith("/shop/product/"):
        name = BY_SKU[path.rsplit("/", 1)[1]]["name"]
    elif path.startswith("/shop/order/"):
        name = "Order confirmed"
    else:
        name = TITLES[path]
    return f"{name} · {SHOP}"


def message(anonymous_id: str, script: Script, step: tuple, at_ms: int) -> dict:
    """The Segment message the snippet sends for one step of the script (the collector adds
    receivedAt)."""
    _, kind, path, event, props = step
    page = {"path": path, "title": _title(path), "url": "http://demo" + path}
    built = {
        "type": kind,
        "anonymousId": anonymous_id,
        "messageId": str(uuid.uuid4()),
        "timestamp": datetime.fromtimestamp(at_ms / 1000, timezone.utc).isoformat(timespec="milliseconds"),
        "context": {"page": page, "userAgent": script.user_agent, "timezone": "Europe/Amsterdam"},
    }
    if script.user_id:
        built["userId"] = script.user_id
    if kind == "track":
        built.update(event=event, properties=props)
    elif kind == "page":
        built["properties"] = page
    else:
        built["traits"] = props
    return built


def _product(product: dict) -> dict:
    return {key: product[key] for key in ("product_id", "sku", "name", "price")}


class Visit:
    """Writes a script: a clock that moves by human pauses, scaled by how quick this shopper is."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.pace = rng.lognormvariate(0, 0.35)  # some shoppers are quick and some slow, in everything
        self.t, self.path, self.steps, self.cart = 0.0, "/shop/", [], []
        self.computer = rng.random() < DESKTOP
        self.agent = rng.choice(AGENTS[self.computer])
        self.user_id = None
        if rng.random() < SIGNED_IN:
            self.sign_in()

    @classmethod
    def resumed(cls, rng: random.Random, script: Script, t: float) -> "Visit":
        """The visit of ``script`` as it stood ``t`` s after its start (its steps until then, the page it is
        on, its cart), for the rest to be written anew. Its pace is 1: a helped shopper is guided along."""
        visit = cls.__new__(cls)
        visit.rng, visit.pace, visit.t = rng, 1.0, t
        visit.steps = [step for step in script.steps if step[0] <= t and step[3] not in CLOCK]
        visit.path = next((step[2] for step in reversed(visit.steps) if step[1] == "page"), "/shop/")
        listed = next((step[4]["products"] for step in reversed(visit.steps)
                       if step[3] in ("Cart Viewed", "Checkout Started")), None)
        visit.cart = [dict(item) for item in listed] if listed is not None else [
            dict(step[4]) for step in visit.steps if step[3] == "Product Added"]
        visit.agent, visit.user_id = script.user_agent, script.user_id
        visit.computer = not any(mark in script.user_agent for mark in ("Mobile", "Android"))
        return visit

    def sign_in(self) -> None:
        """A known customer: the shop identifies them as the visit starts; hr.js then sends their
        userId with every message."""
        self.user_id = "cust-%06d" % self.rng.randrange(10**6)
        self.steps.append((0.0, "identify", "/shop/", None,
                           {"name": "Sim Customer", "email": f"{self.user_id}@example.com", "segment": "returning"}))

    def wait(self, low: float, high: float) -> None:
        self.t += self.rng.uniform(low, high) * self.pace
        if self.rng.random() < DISTRACTED:  # a phone call, another tab: idle, and then on again
            self.t += self.rng.uniform(IDLE + 10, 150)

    def page(self, path: str) -> None:
        self.path = path
        self.steps.append((self.t, "page", path, None, {}))
        self.t += self.rng.uniform(0.1, 0.6)  # the page's own events follow its load

    def track(self, event: str, **props) -> None:
        self.steps.append((self.t, "track", self.path, event, props))

    def value(self) -> float:
        return round(sum(item["price"] * item["quantity"] for item in self.cart), 2)

    def contents(self) -> dict:
        return {"products": list(self.cart), "value": self.value()}

    # -- parts of a visit ---------------------------------------------------------------------
    def browse(self, viewed: int, added: int) -> None:
        """Look at ``viewed`` products from the shop's front page, adding the first ``added``."""
        self.page("/shop/")
        for n, product in enumerate(self.rng.sample(PRODUCTS, viewed)):
            self.wait(3, 12)
            self.page(f"/shop/product/{product['sku']}")
            self.track("Product Viewed", **_product(product))
            self.wait(5, 40)
            if n < added:
                item = dict(_product(product), quantity=1)
                self.cart.append(item)
                self.track("Product Added", **item)
                self.wait(1, 4)
            if n < viewed - 1:
                self.page("/shop/")

    def to_shipping(self) -> None:
        self.wait(2, 6)
        self.page("/shop/cart")
        self.track("Cart Viewed", **self.contents())
        self.wait(3, 15)
        self.track("Checkout Started", **self.contents(), currency="EUR")
        self.wait(0.5, 1.5)
        self.page("/shop/checkout/shipping")
        self.track("Checkout Step Viewed", step=1, step_name="shipping")

    def form_error(self, field: str, text: str) -> None:
        self.track("Form Error", field=field, message=text)

    def fill_shipping(self, low: float = 20, high: float = 60, errors: int = 0) -> None:
        """Fill the delivery form in low-high s, with ``errors`` slips that are then put right."""
        self.wait(low, high)
        for field, text in self.rng.sample(SHIPPING_ERRORS, errors):
            self.form_error(field, text)
            self.wait(5, 20)
        self.track("Checkout Step Completed", step=1, step_name="shipping")
        self.wait(0.5, 1.5)
        self.page("/shop/checkout/payment")
        self.track("Checkout Step Viewed", step=2, step_name="payment")

    def try_card(self, low: float, high: float, declined: bool) -> None:
        self.wait(low, high)
        self.track("Payment Info Entered", payment_method="card")
        self.wait(1, 4)  # the bank's answer
        if declined:
            self.track("Payment Failed", reason=self.rng.choice(DECLINES))

    def pay(self, low: float, high: float, declined_first: bool) -> None:
        """Pay and buy; after a declined card, with another one."""
        self.try_card(low, high, declined=declined_first)
        if declined_first:
            self.try_card(15, 40, declined=False)
        self.buy()

    def buy(self) -> None:
        order_id = "CC-%010X" % self.rng.getrandbits(40)
        self.track("Checkout Step Completed", step=2, step_name="payment")
        self.track("Order Completed", order_id=order_id, total=self.value(), revenue=self.value(),
                   currency="EUR", products=list(self.cart))
        self.wait(0.5, 1.5)
        self.page(f"/shop/order/{order_id}")

    def leave(self, persona: str, stuck: bool, outcome: str, stay: tuple[float, float]) -> Script:
        """The shopper stays ``stay`` s (not scaled by pace) after their last action, then goes."""
        last = self.steps[-1][0]
        leave_after = last + self.rng.uniform(*stay)
        clock = []
        pages = [step for step in self.steps if step[1] == "page"]
        for page, following in zip(pages, pages[1:] + [None]):
            until = following[0] if following else leave_after
            clock += [(page[0] + seconds, "track", page[2], "Heartbeat", {"seconds": seconds})
                      for seconds in range(HEARTBEAT, int(until - page[0]) + 1, HEARTBEAT)
                      if page[0] + seconds < until]
        # Between actions the shopper reads, scrolls or types; a stretch without input longer than
        # IDLE (one away for a while, or the last one before leaving) shows as an Idle.
        moments = [(step[0], step[2]) for step in self.steps] + [(leave_after, self.path)]
        for (at, path), (following, _) in zip(moments, moments[1:]):
            if following - at > IDLE:
                clock.append((at + IDLE, "track", path, "Idle", {"seconds": IDLE}))
        if self.computer and self.rng.random() < 0.7:  # not every mouse leaves by the tab bar
            clock.append((leave_after - self.rng.uniform(0.3, 3), "track", self.path, "Exit Intent", {}))
        steps = sorted(self.steps + clock, key=lambda step: step[0])
        return Script(persona, stuck, outcome, leave_after, steps, self.agent, self.user_id)


# -- personas ----------------------------------------------------------------------------------
def smooth_buyer(rng: random.Random) -> Script:
    """Browses, buys; one in five mistypes a field once, one in ten has a card declined and uses another."""
    visit = _to_payment(rng)
    visit.pay(15, 45, declined_first=rng.random() < 0.1)
    return visit.leave("smooth_buyer", False, "purchase", (5, 30))


def browser(rng: random.Random) -> Script:
    """Looks at a few products; one in five puts one in the cart anyway. Leaves."""
    visit = Visit(rng)
    visit.browse(rng.randint(1, 4), int(rng.random() < 0.2))
    return visit.leave("browser", False, "leave", (5, 60))


def price_checker(rng: random.Random) -> Script:
    """Fills a cart to see the total: leaves at the cart, after seeing the delivery cost, or even
    after filling the delivery form to see the final price on the payment page. No friction."""
    visit = Visit(rng)
    added = rng.randint(1, 2)
    visit.browse(rng.randint(added, 3), added)
    reached = rng.choices(["cart", "shipping", "payment"], [0.4, 0.45, 0.15])[0]
    if reached == "cart":
        visit.wait(2, 6)
        visit.page("/shop/cart")
        visit.track("Cart Viewed", **visit.contents())
    else:
        visit.to_shipping()
    if reached == "payment":
        visit.fill_shipping()
    return visit.leave("price_checker", False, "leave", (5, 40))


def returning_customer(rng: random.Random) -> Script:
    """Signed in (identify), knows what they want: saved address and card make checkout quick."""
    visit = Visit(rng)
    if not visit.user_id:
        visit.sign_in()
    added = rng.randint(1, 2)
    visit.browse(added, added)
    visit.to_shipping()
    visit.fill_shipping(4, 12)
    visit.pay(5, 15, declined_first=rng.random() < 0.05)
    return visit.leave("returning_customer", False, "purchase", (5, 30))


def _to_payment(rng: random.Random) -> Visit:
    visit = Visit(rng)
    added = rng.randint(1, 3)
    visit.browse(rng.randint(added, 4), added)
    visit.to_shipping()
    visit.fill_shipping(errors=int(rng.random() < 0.2))
    return visit


def stuck_at_payment(rng: random.Random, declines: int | None = None) -> Script:
    """The card is declined once or several times; they give up."""
    visit = _to_payment(rng)
    declines = declines or rng.choices([1, 2, 3, 4], [0.25, 0.35, 0.25, 0.15])[0]
    visit.try_card(15, 45, declined=True)
    for _ in range(declines - 1):
        visit.try_card(8, 30, declined=True)
    return visit.leave("stuck_at_payment", True, "leave", (20, 90))


def lingers_on_payment(rng: random.Random) -> Script:
    """Reaches payment and sits there, in doubt: nothing but time tells."""
    return _to_payment(rng).leave("lingers_on_payment", True, "leave", (30, 180))


def form_trouble(rng: random.Random) -> Script:
    """A field the shopper cannot get past (on delivery or on the card form): the same error again and
    again, now and then another one, then they give up."""
    visit = Visit(rng)
    added = rng.randint(1, 3)
    visit.browse(rng.randint(added, 4), added)
    visit.to_shipping()
    errors = SHIPPING_ERRORS
    if rng.random() < 0.3:
        visit.fill_shipping()
        errors = PAYMENT_ERRORS
    field, text = rng.choice(errors)
    visit.wait(15, 45)
    for n in range(rng.randint(2, 5)):
        if n:
            visit.wait(5, 25)
        visit.form_error(*(rng.choice(errors) if rng.random() < 0.2 else (field, text)))
    return visit.leave("form_trouble", True, "leave", (20, 90))


PERSONAS = [(smooth_buyer, 0.25), (browser, 0.30), (price_checker, 0.15), (returning_customer, 0.10),
            (stuck_at_payment, 0.08), (form_trouble, 0.07), (lingers_on_payment, 0.05)]


CLOCK = ("Heartbeat", "Idle", "Exit Intent")  # what hr.js sends by itself, as time passes (Visit.leave)
CHAT = (30, 120)  # s an accepted chat takes before the shopper, helped, pays


def respond(shopper: Shopper, at_ms: int, rng: random.Random, acceptance: float, effect: float) -> bool:
    """A shopper invited to chat at ``at_ms``: she accepts with probability ``acceptance``, and accepting
    adds ``effect`` to her probability of buying (0 for one heading away, 1 for one who buys anyway). One
    who now buys chats a while, pays with a card that works and sends Order Completed instead of leaving:
    her script and truth are rewritten from that moment. True when they were. Both chances are drawn
    whatever they are, so that runs with another effect see the same shoppers accept."""
    accepts, persuaded = rng.random() < acceptance, rng.random() < effect
    script = shopper.script
    if script.outcome == "purchase" or not (accepts and persuaded):
        return False
    t = (at_ms - shopper.start) / 1000 / shopper.scale
    visit = Visit.resumed(rng, script, t)
    visit.wait(*CHAT)
    visit.pay(10, 30, declined_first=False)
    helped = visit.leave(script.persona, script.stuck, "purchase", (5, 30))
    steps = [step for step in script.steps if step[0] <= t] + [step for step in helped.steps if step[0] > t]
    shopper.script = Script(script.persona, script.stuck, "purchase", helped.leave_after, steps, script.user_agent,
                            script.user_id)
    return True


def pick(rng: random.Random):
    return rng.choices([persona for persona, _ in PERSONAS], [weight for _, weight in PERSONAS])[0]


def shopper(rng: random.Random, start_ms: int, persona=None, scale: float = 1.0) -> Shopper:
    script = (persona or pick(rng))(rng)
    return Shopper(f"sim-{script.persona}-{rng.getrandbits(40):010x}", start_ms, script, scale)


def population(count: int, seed: int, rate: float = 0.4, start_ms: int = 1_772_445_600_000) -> list[Shopper]:
    """``count`` shoppers arriving ``rate`` a second on average (a Poisson process) from start_ms
    (by default a Monday, 11:00 in Amsterdam)."""
    rng, at, shoppers = random.Random(seed), float(start_ms), []
    for _ in range(count):
        shoppers.append(shopper(rng, round(at)))
        at += rng.expovariate(rate) * 1000
    return shoppers


class Simulator:
    """Shoppers arriving ``rate`` a second, their messages posted to the collector when due.
    ``speed``: how many times faster than life they shop; ``truth``: a file to append each shopper's
    truth to, one JSON line each."""

    def __init__(self, url: str, write_key: str, rate: float = 0.4, seed: int | None = None,
                 speed: float = 1.0, truth=None):
        self.url = url.rstrip("/") + "/v1/batch"
        self.write_key = write_key
        self.rate = rate
        self.speed = speed
        self.truth = truth
        self.rng = random.Random(seed)
        self.queue: list = []
        self.order = itertools.count()  # keeps a shopper's steps of one moment in their order

    def start_shopper(self, persona=None, pace: float = 1.0, contactable: bool = False) -> Shopper:
        """``contactable``: a shopper outside any holdout group of up to half the shoppers."""
        started = shopper(self.rng, int(time.time() * 1000), persona, pace / self.speed)
        while contactable and in_holdout(started.anonymous_id, 0.5):
            started = shopper(self.rng, int(time.time() * 1000), persona, pace / self.speed)
        for at, built in started.messages():
            heapq.heappush(self.queue, (at, next(self.order), built))
        if self.truth:
            self.truth.write(json.dumps(started.truth()) + "\n")
            self.truth.flush()
        return started

    def post(self, messages: list[dict]) -> None:
        body = json.dumps({"writeKey": self.write_key, "batch": messages}).encode()
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "text/plain"})
        try:
            with urllib.request.urlopen(request, timeout=5):
                pass
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            log.warning("collector refused or unreachable: %s", error)

    def run(self, sessions: int | None = None) -> None:
        # The first shopper is a quick one stuck at payment, and not in the control group: the demo
        # shows a task within seconds.
        self.start_shopper(partial(stuck_at_payment, declines=3), pace=0.1, contactable=True)
        started, next_shopper = 1, time.time()
        while True:
            now = time.time()
            if (sessions is None or started < sessions) and now >= next_shopper:
                self.start_shopper()
                started += 1
                next_shopper = now + self.rng.expovariate(self.rate) / self.speed
            due = []
            while self.queue and self.queue[0][0] <= now * 1000:
                due.append(heapq.heappop(self.queue)[2])
            for first in range(0, len(due), BATCH):
                self.post(due[first:first + BATCH])
            if sessions is not None and started >= sessions and not self.queue:
                return
            time.sleep(0.1)
