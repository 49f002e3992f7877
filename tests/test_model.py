"""The online model (scorer/model.py): its features, and that it learns to tell sessions apart."""

import random
from math import log1p

from scorer import model, pages, session

T0 = 1_800_000_000_000


def track(state, event: str, at: int, **properties) -> None:
    session.apply(state, {"type": "track", "event": event, "properties": properties}, at)


def stuck(at: int = T0) -> tuple[dict, int]:
    """A session stuck at payment, and a moment to read it at."""
    state = session.new("s", "site", at)
    track(state, "Product Added", at, product_id="p", price=90)
    track(state, "Checkout Step Viewed", at + 1000, step_name="payment")
    track(state, "Payment Failed", at + 5000)
    track(state, "Payment Failed", at + 9000)
    return state, at + 40_000


def smooth(at: int = T0) -> tuple[dict, int]:
    state = session.new("b", "site", at)
    track(state, "Product Added", at, product_id="p", price=90)
    track(state, "Checkout Step Viewed", at + 1000, step_name="payment")
    return state, at + 6000


def test_struggling_then_stopping_on_the_step_is_a_feature():
    x = model.features(*stuck())
    assert x["step_friction"] == 2 and x["step_payment"] == 1.0
    assert x["still_after_friction"] > 0 and model.features(*smooth())["still_after_friction"] == 0


def test_the_landing_page_counts_as_browsing():
    assert model.features(session.new("a", "site", T0), T0)["step_browse"] == 1.0


def test_scaled_values_are_clipped():
    assert model.clip({"a": 300.0, "b": -9.0, "c": 0.5}) == {"a": 5.0, "b": -5.0, "c": 0.5}


def test_no_score_before_30_examples_then_it_tells_stuck_from_smooth():
    learner, rng = model.AbandonModel(), random.Random(0)
    assert learner.score_values(model.values(*stuck())) is None
    for _ in range(200):
        abandoned = rng.random() < 0.5
        learner.learn_values(model.values(*(stuck() if abandoned else smooth())), abandoned)
    assert learner.score_values(model.values(*stuck())) > 0.8 > 0.2 > learner.score_values(model.values(*smooth()))


def test_a_score_is_the_probability_of_rivers_own_pipeline():
    """The score reads the pipeline's parameters as lists (AbandonModel._compile): the same number as
    predict_proba_one, after every example learned."""
    learner, rng = model.AbandonModel(), random.Random(1)
    for n in range(120):
        x = model.values(*(stuck(T0 + n * 1000) if rng.random() < 0.5 else smooth(T0 + n * 1000)))
        if learner.learned >= model.MIN_LEARNED:
            river = learner.pipeline.predict_proba_one(dict(zip(model.NAMES, x)))[True]
            assert abs(learner.probability(x) - river) < 1e-12
        learner.learn_values(x, rng.random() < 0.5)
    # Zeros, values far past the clip on either side, and in between: as River has them.
    for _ in range(200):
        x = [rng.choice((0.0, 0.0, rng.uniform(-1, 1) * 10 ** rng.randint(0, 4))) for _ in model.NAMES]
        river = learner.pipeline.predict_proba_one(dict(zip(model.NAMES, x)))[True]
        assert abs(learner.probability(x) - river) < 1e-12


def test_every_name_is_the_value_at_its_place():
    """NAMES is written out beside values(): a session with a different number in every feature shows each
    name reading its own."""
    events = list(model._SIGNALS.values())
    now = T0 + 12 * 3_600_000  # 20:00 UTC
    state = session.new("s", "site", now - 4000)  # 4 s ago
    stats = pages.Stats(None)
    stats.known["site"] = {"p1": [100, 100, 15, 16, 1700]}  # views, entries, bounces, exits, revenue
    state.update({
        "cart": {"items": [], "value": 1.0, "count": 2}, "step_at": now - 3000, "last_seen": now - 5000,
        "acted_at": now - 7000, "events": 9, "visits": 2, "step": "shipping", "device": "tablet", "tz": "UTC",
        "n": {"pages": 10, "products": 11, "adds": 12, "removes": 13, "idle": 6},
        "fields": {"a": 1, "b": 2, "c": 14}, "pages": ["p1"],
        "signals": {event: n + 1 for n, event in enumerate(events)},
        # 8 struggles on this step (entered 1 s after the start: 10 tenths), 1 before it
        "recent": [["Rage Click", 5]] + [["Form Error", 10 + n] for n in range(8)],
        "kinds": {"admin": [18, 19_000], "info": [20, 21_000], "product": [22, 23_000]},
    })
    x = model.features(state, now, stats)
    assert len(model.NAMES) == len(set(model.NAMES)) == len(model.values(state, now, stats))
    expected = {"log_cart_value": log1p(1), "cart_items": 2, "log_step_seconds": log1p(3),
                "log_session_seconds": log1p(4), "log_quiet_seconds": log1p(5), "log_idle_seconds": log1p(6),
                "log_still_seconds": log1p(7), "step_friction": 8, "still_after_friction": log1p(7) * 8,
                "log_events": log1p(9), "log_pages": log1p(10), "log_products": log1p(11), "adds": 12,
                "removes": 13, "fields_with_errors": 3, "most_errors_on_a_field": 10, "returning": 1.0,
                "bounce_rate": 0.15, "exit_rate": 0.16, "log_page_value": log1p(17),
                **{name: n + 1 for n, name in enumerate(model._SIGNALS)},
                "log_admin_pages": log1p(18), "log_admin_seconds": log1p(19), "log_info_pages": log1p(20),
                "log_info_seconds": log1p(21), "log_product_pages": log1p(22), "log_product_seconds": log1p(23),
                "step_shipping": 1.0, "step_browse": 0.0, "step_payment": 0.0, "idle_in_checkout": log1p(6),
                "device_tablet": 1.0, "device_mobile": 0.0, "local_evening": 1.0, "local_night": 0.0}
    assert {name: x[name] for name in expected} == expected
    groups = [("step", "step", model.STEPS, model.STEPS), ("device", "device", model.DEVICES, model.DEVICES)]
    for field, prefix, settings, names in groups:
        one_hot = {f"{prefix}_{name}" for name in names}
        for setting, name in zip(settings, names):
            x = model.features(dict(state, **{field: setting}), now)
            assert [n for n in model.NAMES if n in one_hot and x[n]] == [f"{prefix}_{name}"]
    for low, _, name in model.DAYPARTS:
        x = model.features(state, now - 20 * 3_600_000 + low * 3_600_000)  # at `low` o'clock UTC
        assert [n for n in model.NAMES if n.startswith("local_") and x[n]] == [f"local_{name}"]