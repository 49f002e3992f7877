"""The online model: P(the session ends without a purchase), learned one snapshot at a time.

Scaled session features into a logistic regression. Until it has learned from MIN_LEARNED
examples it gives no score at all, rather than a 0.5 an agent might believe.
"""

import math

from river import compose, linear_model, optim, preprocessing

MIN_LEARNED = 30  # examples learned before a score is shown
STEPS = ("browse", "cart", "checkout", "shipping", "payment")
DEVICES = ("mobile", "tablet", "desktop")
DAYPARTS = ((0, 6, "night"), (6, 12, "morning"), (12, 18, "afternoon"), (18, 24, "evening"))
_SIGNALS = {
    "payment_failed": "Payment Failed", "form_errors": "Form Error", "rage_clicks": "Rage Click",
    "dead_clicks": "Dead Click", "js_errors": "JS Error", "exit_intents": "Exit Intent",
    "back_and_forth": "Back And Forth", "coupon_denied": "Coupon Denied",
}


def _log(value: float) -> float:
    return math.log1p(max(0.0, value))


def features(snap: dict) -> dict:
    signals, counts, kinds = snap["signals"], snap.get("counts", {}), snap.get("kinds", {})
    fields = snap.get("fields", {})
    x = {
        "log_cart_value": _log(snap["cart_value"]),
        "cart_items": min(snap["cart_items"], 20),
        "log_step_seconds": _log(snap["step_seconds"]),
        "log_session_seconds": _log(snap["session_seconds"]),
        "log_quiet_seconds": _log(snap.get("quiet_seconds", 0.0)),
        "log_idle_seconds": _log(snap.get("idle_seconds", 0.0)),
        # Struggling and then stopping, on this step: what tells a stuck shopper from one who just leaves.
        "log_still_seconds": _log(snap.get("still_seconds", 0.0)),
        "step_friction": min(snap.get("step_friction", 0), 10),
        "still_after_friction": _log(snap.get("still_seconds", 0.0)) * min(snap.get("step_friction", 0), 10),
        "log_events": _log(snap["events"]),
        "log_pages": _log(counts.get("pages", 0)),
        "log_products": _log(counts.get("products", 0)),
        "adds": min(counts.get("adds", 0), 20),
        "removes": min(counts.get("removes", 0), 20),
        "fields_with_errors": len(fields),
        "most_errors_on_a_field": min(max(fields.values(), default=0), 10),
        "returning": 1.0 if snap.get("returning") else 0.0,
        # The Online Shoppers dataset's features, live (scorer.pages).
        "bounce_rate": snap.get("bounce_rate", 0.0),
        "exit_rate": snap.get("exit_rate", 0.0),
        "log_page_value": _log(snap.get("page_value", 0.0)),
    }
    for name, event in _SIGNALS.items():
        x[name] = min(signals.get(event, 0), 10)
    for kind in ("admin", "info", "product"):
        seen = kinds.get(kind, {"pages": 0, "seconds": 0.0})
        x[f"log_{kind}_pages"] = _log(seen["pages"])
        x[f"log_{kind}_seconds"] = _log(seen["seconds"])
    step = snap["step"] or "browse"  # the landing page, before any product
    for name in STEPS:
        x[f"step_{name}"] = 1.0 if step == name else 0.0
    x["idle_in_checkout"] = x["log_idle_seconds"] if step in ("checkout", "shipping", "payment") else 0.0
    for device in DEVICES:
        x[f"device_{device}"] = 1.0 if snap.get("device") == device else 0.0
    hour = snap.get("local_hour")
    for low, high, name in DAYPARTS:
        x[f"local_{name}"] = 1.0 if hour is not None and low <= hour < high else 0.0
    return x


# The order of a stored feature vector (scorer.learning keeps vectors, not dicts, to stay small).
NAMES = tuple(features({"signals": {}, "cart_value": 0, "cart_items": 0, "step_seconds": 0, "session_seconds": 0,
                        "events": 0, "step": None}))


def vector(x: dict) -> list[float]:
    return [round(x[name], 4) for name in NAMES]


def from_vector(values: list[float]) -> dict:
    return dict(zip(NAMES, values))


def clip(x: dict) -> dict:
    """Scaled values held to +-5: a feature first seen after thousands of zeros (the first evening
    of a shop) would otherwise be scaled to hundreds and swamp the model."""
    return {name: max(-5.0, min(5.0, value)) for name, value in x.items()}


class AbandonModel:
    def __init__(self):
        self.pipeline = (preprocessing.StandardScaler() | compose.FuncTransformer(clip)
                         | linear_model.LogisticRegression(optimizer=optim.SGD(0.01)))
        self.learned = 0

    def score(self, snap: dict) -> float | None:
        return self.score_features(features(snap))

    def score_features(self, x: dict) -> float | None:
        """The probability as shown and stored: 4 decimals."""
        p = self.probability(x)
        return None if p is None else round(p, 4)

    def probability(self, x: dict) -> float | None:
        """Unrounded, for ranking: near 1, rounding would tie sessions the model tells apart."""
        if self.learned < MIN_LEARNED:
            return None
        return self.pipeline.predict_proba_one(x).get(True, 0.5)

    def learn(self, snap: dict, abandoned: bool) -> None:
        self.learn_features(features(snap), abandoned)

    def learn_features(self, x: dict, abandoned: bool) -> None:
        self.pipeline.learn_one(x, abandoned)
        self.learned += 1
