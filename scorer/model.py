"""The online model: P(the session ends without a purchase), learned one finished session at a time.

Simple on purpose for now: scaled session features into a logistic regression. Until it has learned
from MIN_LEARNED finished sessions it gives no score at all, rather than a 0.5 an agent might believe.
"""

import math

from river import linear_model, optim, preprocessing

MIN_LEARNED = 30  # finished sessions learned before a score is shown
STEPS = ("browse", "cart", "checkout", "shipping", "payment")


def features(snap: dict) -> dict:
    signals = snap["signals"]
    x = {
        "log_cart_value": math.log1p(snap["cart_value"]),
        "cart_items": min(snap["cart_items"], 20),
        "log_step_seconds": math.log1p(max(0.0, snap["step_seconds"])),
        "log_session_seconds": math.log1p(max(0.0, snap["session_seconds"])),
        "log_events": math.log1p(snap["events"]),
        "payment_failed": min(signals.get("Payment Failed", 0), 10),
        "form_errors": min(signals.get("Form Error", 0), 10),
        "rage_clicks": min(signals.get("Rage Click", 0), 10),
        "exit_intents": min(signals.get("Exit Intent", 0), 10),
    }
    for step in STEPS:
        x[f"step_{step}"] = 1.0 if snap["step"] == step else 0.0
    return x


class AbandonModel:
    def __init__(self):
        self.pipeline = preprocessing.StandardScaler() | linear_model.LogisticRegression(
            optimizer=optim.SGD(0.05)
        )
        self.learned = 0

    def score(self, snap: dict) -> float | None:
        if self.learned < MIN_LEARNED:
            return None
        return round(self.pipeline.predict_proba_one(features(snap)).get(True, 0.5), 4)

    def learn(self, snap: dict, abandoned: bool) -> None:
        self.pipeline.learn_one(features(snap), abandoned)
        self.learned += 1
