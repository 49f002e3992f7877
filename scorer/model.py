"""The online model: P(the session ends without a purchase), learned one snapshot at a time.

Scaled session features into a logistic regression. Until it has learned from MIN_LEARNED
examples it gives no score at all, rather than a 0.5 an agent might believe.
"""

import math
from math import log1p

from river import compose, linear_model, optim, preprocessing

from scorer import pages, session

MIN_LEARNED = 30  # examples learned before a score is shown
STEPS = ("browse", "cart", "checkout", "shipping", "payment")
DEVICES = ("mobile", "tablet", "desktop")
DAYPARTS = ((0, 6, "night"), (6, 12, "morning"), (12, 18, "afternoon"), (18, 24, "evening"))
_SIGNALS = {
    "payment_failed": "Payment Failed", "form_errors": "Form Error", "rage_clicks": "Rage Click",
    "dead_clicks": "Dead Click", "js_errors": "JS Error", "exit_intents": "Exit Intent",
    "back_and_forth": "Back And Forth", "coupon_denied": "Coupon Denied",
}


_CHECKOUT = ("checkout", "shipping", "payment")
_STRUGGLE = frozenset(session.STRUGGLE)


def values(state: dict, now: int, stats=None) -> list[float]:
    """The features of a live session (scorer.session) at ``now`` (ms), in NAMES order: what the model scores and
    a held snapshot keeps. Read from the state in one pass, into a list: they are worked out at most events'
    decision points and at every evaluation (bench/scorer.py). ``stats``: a scorer.pages.Stats for the bounce,
    exit and page-value features (0 without). The logs are log1p of a positive value, else 0, written out
    where they are taken: a call for each cost a third of the function's time."""
    started, step_at, last_seen, page = state["started_at"], state["step_at"], state["last_seen"], state["page"]
    counts, signals, fields, cart = state["n"], state["signals"], state["fields"], state["cart"]
    still = (now - state.get("acted_at", last_seen)) / 1000
    still = log1p(still) if still > 0 else 0.0
    # The struggle on this step: recent entries are (event, tenths of a second since the start).
    since, friction = step_at - started, 0
    for event, tenths in state["recent"]:
        if event in _STRUGGLE and tenths * 100 >= since:
            friction += 1
    friction = min(friction, 10)
    idle = counts.get("idle", 0)
    idle = log1p(idle) if idle > 0 else 0.0
    bounce, exit_, page_value = stats.rates(state["site"], state["pages"]) if stats else (0.0, 0.0, 0.0)
    value, step_seconds = cart["value"], (now - step_at) / 1000
    session_seconds, quiet_seconds = (now - started) / 1000, (now - last_seen) / 1000
    events, seen_pages, products = state["events"], counts.get("pages", 0), counts.get("products", 0)
    x = [
        log1p(value) if value > 0 else 0.0,  # log_cart_value
        min(cart["count"], 20),
        log1p(step_seconds) if step_seconds > 0 else 0.0,  # log_step_seconds
        log1p(session_seconds) if session_seconds > 0 else 0.0,  # log_session_seconds
        log1p(quiet_seconds) if quiet_seconds > 0 else 0.0,  # log_quiet_seconds
        idle,  # log_idle_seconds
        # Struggling and then stopping, on this step: what tells a stuck shopper from one who just leaves.
        still,  # log_still_seconds
        friction,  # step_friction
        still * friction,  # still_after_friction
        log1p(events) if events > 0 else 0.0,
        log1p(seen_pages) if seen_pages > 0 else 0.0,
        log1p(products) if products > 0 else 0.0,
        min(counts.get("adds", 0), 20),
        min(counts.get("removes", 0), 20),
        len(fields),  # fields_with_errors
        min(max(fields.values(), default=0), 10),  # most_errors_on_a_field
        1.0 if session.returning(state) else 0.0,
        # The Online Shoppers dataset's features, live (scorer.pages).
        bounce,
        exit_,
        log1p(page_value) if page_value > 0 else 0.0,  # log_page_value
    ]
    x += [min(signals.get(event, 0), 10) for event in _SIGNALS.values()] if signals else _NO_SIGNALS
    kinds, reading = state["kinds"], page[1] if page else None
    for kind in pages.KINDS:  # admin, info, product
        seen, ms = kinds.get(kind, (0, 0))
        if kind == reading:  # the page being read counts for its kind until the next one
            ms += max(0, now - page[2])
        x += (log1p(seen) if seen > 0 else 0.0, log1p(ms / 1000) if ms > 0 else 0.0)
    step = state["step"] or "browse"  # the landing page, before any product
    x += _ONE_STEP.get(step, _NO_STEP)
    x.append(idle if step in _CHECKOUT else 0.0)  # idle_in_checkout
    x += _ONE_DEVICE.get(state["device"], _NO_DEVICE)
    x += _ONE_HOUR.get(session.local_hour(state, now), _NO_HOUR)
    return x


def _one_hot(names) -> dict:
    return {name: tuple(1.0 if other == name else 0.0 for other in names) for name in names}


# The one-hot parts of values() and the signals of a session without any, made once.
_ONE_STEP, _NO_STEP = _one_hot(STEPS), (0.0,) * len(STEPS)
_ONE_DEVICE, _NO_DEVICE = _one_hot(DEVICES), (0.0,) * len(DEVICES)
_ONE_HOUR = {hour: tuple(1.0 if low <= hour < high else 0.0 for low, high, _ in DAYPARTS) for hour in range(24)}
_NO_HOUR = (0.0,) * len(DAYPARTS)
_NO_SIGNALS = (0,) * len(_SIGNALS)


# The order of values(): the names of the features the model learns.
NAMES = (
    "log_cart_value", "cart_items", "log_step_seconds", "log_session_seconds", "log_quiet_seconds",
    "log_idle_seconds", "log_still_seconds", "step_friction", "still_after_friction", "log_events", "log_pages",
    "log_products", "adds", "removes", "fields_with_errors", "most_errors_on_a_field", "returning", "bounce_rate",
    "exit_rate", "log_page_value", *_SIGNALS,
    *(f"log_{kind}_{what}" for kind in pages.KINDS for what in ("pages", "seconds")),
    *(f"step_{name}" for name in STEPS), "idle_in_checkout", *(f"device_{name}" for name in DEVICES),
    *(f"local_{name}" for _, _, name in DAYPARTS),
)


def features(state: dict, now: int, stats=None) -> dict:
    """values() by name."""
    return dict(zip(NAMES, values(state, now, stats)))


LIMIT = 5.0  # scaled values are held to +-LIMIT (clip)


def clip(x: dict) -> dict:
    """Scaled values held to +-LIMIT: a feature first seen after thousands of zeros (the first evening
    of a shop) would otherwise be scaled to hundreds and swamp the model."""
    return {name: max(-LIMIT, min(LIMIT, value)) for name, value in x.items()}


class AbandonModel:
    """River's pipeline learns (StandardScaler | clip | LogisticRegression, one example at a time); a
    score reads the same parameters as plain lists in NAMES order, rebuilt after each learning, which
    gives River's probability at a tenth of the cost of predict_proba_one on a dict (bench/scorer.py)."""

    def __init__(self):
        self.pipeline = (preprocessing.StandardScaler() | compose.FuncTransformer(clip)
                         | linear_model.LogisticRegression(optimizer=optim.SGD(0.01)))
        self.learned = 0
        self._compiled = None

    def __getstate__(self) -> dict:
        return dict(self.__dict__, _compiled=None)  # a checkpoint keeps River's state, not a copy of it

    def score_values(self, x: list[float]) -> float | None:
        """The probability as shown and stored: 4 decimals."""
        p = self.probability(x)
        return None if p is None else round(p, 4)

    def probability(self, x: list[float]) -> float | None:
        """Unrounded, for ranking: near 1, rounding would tie sessions the model tells apart."""
        if self.learned < MIN_LEARNED:
            return None
        compiled = self.__dict__.get("_compiled") or self._compile()
        at_zero, parts, sigmoid = compiled
        # Most features of a session are 0 (the one-hots, the signals it has not had): their terms are in at_zero.
        z = at_zero
        for value, (low, high, mean, scale, weight, zero_term) in zip(x, parts):
            if value:
                z += weight * ((high if value > high else low if value < low else value) - mean) * scale - zero_term
        return sigmoid(z)

    def _compile(self) -> tuple:
        """Per feature: the values between which its scaled value is not clipped, its mean, scale and weight, and
        its term at 0; and the sum of the intercept and of every feature's term at 0."""
        scaler, _, regression = self.pipeline.steps.values()
        learned, parts, at_zero = regression.weights, [], regression.intercept
        for name in NAMES:
            mean, variance, weight = scaler.means.get(name, 0.0), scaler.vars.get(name, 0.0), learned.get(name, 0.0)
            scale = 1 / variance ** 0.5 if variance else 0.0
            low, high = (mean - LIMIT / scale, mean + LIMIT / scale) if scale else (-math.inf, math.inf)
            zero_term = weight * ((high if 0 > high else low if 0 < low else 0.0) - mean) * scale
            parts.append((low, high, mean, scale, weight, zero_term))
            at_zero += zero_term
        self._compiled = (at_zero, parts, regression.loss.mean_func)
        return self._compiled

    def learn_values(self, x: list[float], abandoned: bool) -> None:
        self.pipeline.learn_one(dict(zip(NAMES, x)), abandoned)
        self.learned += 1
        self._compiled = None
