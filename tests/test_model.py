"""The online model (scorer/model.py): its features, and that it learns to tell sessions apart."""

import random

from scorer import model, session

T0 = 1_800_000_000_000


def track(state, event: str, at: int, **properties) -> None:
    session.apply(state, {"type": "track", "event": event, "properties": properties}, at)


def stuck(at: int = T0) -> dict:
    state = session.new("s", "site", at)
    track(state, "Product Added", at, product_id="p", price=90)
    track(state, "Checkout Step Viewed", at + 1000, step_name="payment")
    track(state, "Payment Failed", at + 5000)
    track(state, "Payment Failed", at + 9000)
    return session.snapshot(state, at + 40_000)


def smooth(at: int = T0) -> dict:
    state = session.new("b", "site", at)
    track(state, "Product Added", at, product_id="p", price=90)
    track(state, "Checkout Step Viewed", at + 1000, step_name="payment")
    return session.snapshot(state, at + 6000)


def test_struggling_then_stopping_on_the_step_is_a_feature():
    x = model.features(stuck())
    assert x["step_friction"] == 2 and x["step_payment"] == 1.0
    assert x["still_after_friction"] > 0 and model.features(smooth())["still_after_friction"] == 0


def test_the_landing_page_counts_as_browsing():
    assert model.features(session.snapshot(session.new("a", "site", T0), T0))["step_browse"] == 1.0


def test_scaled_values_are_clipped():
    assert model.clip({"a": 300.0, "b": -9.0, "c": 0.5}) == {"a": 5.0, "b": -5.0, "c": 0.5}


def test_no_score_before_30_examples_then_it_tells_stuck_from_smooth():
    learner, rng = model.AbandonModel(), random.Random(0)
    assert learner.score(stuck()) is None
    for _ in range(200):
        abandoned = rng.random() < 0.5
        learner.learn(stuck() if abandoned else smooth(), abandoned)
    assert learner.score(stuck()) > 0.8 > 0.2 > learner.score(smooth())


def test_a_score_is_the_probability_of_rivers_own_pipeline():
    """The score reads the pipeline's parameters as lists (AbandonModel._compile): the same number as
    predict_proba_one, after every example learned."""
    learner, rng = model.AbandonModel(), random.Random(1)
    for n in range(120):
        snap = stuck(T0 + n * 1000) if rng.random() < 0.5 else smooth(T0 + n * 1000)
        if learner.learned >= model.MIN_LEARNED:
            river = learner.pipeline.predict_proba_one(model.features(snap))[True]
            assert abs(learner.probability(model.values(snap)) - river) < 1e-12
        learner.learn(snap, rng.random() < 0.5)


def test_the_model_reads_only_the_measures_of_a_snapshot():
    """A decision point's learning snapshot is taken from session.measures, not the whole snapshot: the
    same values."""
    state = session.new("s", "site", T0)
    track(state, "Product Added", T0, product_id="p", price=90)
    track(state, "Form Error", T0 + 2000, field="postcode")
    state["tz"], state["user_id"] = "Europe/Berlin", "u-1"
    assert model.values(session.measures(state, T0 + 9000)) == model.values(session.snapshot(state, T0 + 9000))
