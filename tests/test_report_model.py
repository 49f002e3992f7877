"""The model over time (scorer/funnel.py recording each outcome's score bin, reports/model.py reading): ROC
AUC by day and overall, and calibration, on the real Redis."""

import time
from datetime import datetime, timezone

import pytest

from reports import hours, model
from scorer import defaults, funnel, session
from scorer.consumer import now_ms
from scorer.model import MIN_LEARNED
from tests.test_consumer import SHARDS, SITE, STUCK_AT_PAYMENT, drain, event, live, scorer_with, teach, to_payment
from tests.test_recording import RULES
from tracker import stream

DAY_1 = int(datetime(2026, 11, 20, 10, tzinfo=timezone.utc).timestamp() * 1000)
DAY_2 = DAY_1 + 86_400_000


def outcome(redis, score: float, abandoned: bool, at: int) -> None:
    """A session last scored ``score`` whose outcome became known at ``at`` (ms), as the scorer records it."""
    state = session.new(f"s-{time.monotonic_ns()}", SITE, at)
    state["score"] = score
    if abandoned:
        state["cart"]["items"] = [{"id": "boots", "name": "Boots", "price": 120.0, "quantity": 1}]
        state["outcome"] = "abandoned"
        funnel.closed(redis, state, True)
    else:
        state["outcome"] = "purchase"
        funnel.bought(redis, state, at, False)


def report(redis, since: int = DAY_1, until: int = DAY_2) -> dict:
    return model.section(hours.Reader(redis, hours.hour_of(since / 1000 - 36_000), hours.hour_of(until / 1000 + 3600)))


def test_abandoners_all_scored_above_buyers_give_an_auc_of_1_and_identical_scores_half(redis):
    """Day 1: every abandoner scored above every buyer (AUC 1). Day 2: everybody scored 0.55 (AUC 0.5)."""
    for score, abandoned in ((0.81, True), (0.93, True), (0.12, False), (0.35, False)):
        outcome(redis, score, abandoned, DAY_1)
    for abandoned in (True, True, False):
        outcome(redis, 0.55, abandoned, DAY_2)
    found = report(redis)
    assert [(row["day"], row["auc"], row["sessions"]) for row in found["auc"]] == [
        ("2026-11-20", 1.0, 4), ("2026-11-21", 0.5, 3)]
    # Overall: of the 4 x 3 (abandoned, won) pairs, 10 are ordered right and 2 tie at 0.55 (half right each).
    assert found["auc_overall"] == pytest.approx(11 / 12)


def test_a_day_with_only_buyers_has_no_auc(redis):
    """AUC needs both classes: a day of purchases alone shows null, and so does a period with no outcome."""
    outcome(redis, 0.2, False, DAY_1)
    outcome(redis, 0.4, False, DAY_1)
    found = report(redis, DAY_1, DAY_1)
    assert [(row["auc"], row["sessions"]) for row in found["auc"]] == [(None, 2)] and found["auc_overall"] is None
    empty = report(redis, DAY_2, DAY_2)
    assert empty["auc"] == [{"day": "2026-11-21", "auc": None, "sessions": 0}] and empty["auc_overall"] is None


def test_calibration_rows_compare_the_mean_prediction_with_the_share_abandoned(redis):
    """Ten rows of P(abandon): 0.81 and 0.89 abandoned plus 0.85 bought fall in 0.8-0.9 (predicted 0.855 from
    the bins' centres, observed 2/3); 0.12 bought in 0.1-0.2; the rows without sessions show nothing."""
    for score, abandoned in ((0.81, True), (0.89, True), (0.85, False), (0.12, False)):
        outcome(redis, score, abandoned, DAY_1)
    rows = report(redis)["calibration"]
    assert [(row["low"], row["high"]) for row in rows] == [(n / 10, (n + 1) / 10) for n in range(10)]
    assert rows[8]["sessions"] == 3
    assert rows[8]["predicted"] == pytest.approx((0.815 + 0.895 + 0.855) / 3)
    assert rows[8]["observed"] == pytest.approx(2 / 3)
    assert (rows[1]["sessions"], rows[1]["predicted"], rows[1]["observed"]) == (1, pytest.approx(0.125), 0.0)
    assert all(row["sessions"] == 0 and row["predicted"] is None and row["observed"] is None
               for n, row in enumerate(rows) if n not in (1, 8))


def test_the_scorer_records_the_last_score_before_each_outcome_and_leaves_contacted_sessions_out(redis, monkeypatch):
    """Real sessions: a buyer (scored before the order), an abandoner (scored before the end), and a shopper
    the stuck-at-payment rule contacted who then buys: the model is judged on the first two only."""
    scorer = scorer_with(redis, [], RULES)
    gone = now_ms() - 31 * 60 * 1000  # sessions last seen then have ended by now
    stream.append(redis, SITE, [m for n in range(16) for m in to_payment(gone, shopper=f"warm-{n}")], SHARDS)
    drain(scorer)  # 16 abandoned carts: enough examples that the model starts scoring; none was scored yet
    monkeypatch.setattr(defaults, "MODEL_POLL", 0.0)
    assert teach(redis) >= MIN_LEARNED and live(redis, "warm-0")["score"] is None
    stream.append(redis, SITE, to_payment(shopper="buyer"), SHARDS)
    stream.append(redis, SITE, to_payment(gone, shopper="leaver"), SHARDS)
    drain(scorer)
    before_order = live(redis, "buyer")["score"]
    assert before_order is not None
    stream.append(redis, SITE, [event("Order Completed", {"revenue": 120}, shopper="buyer")], SHARDS)
    drain(scorer)
    leaver = live(redis, "leaver")
    assert leaver["outcome"] == "abandoned" and leaver["closed"]
    contacting = scorer_with(redis, [], STUCK_AT_PAYMENT)
    failures = [event("Payment Failed", shopper="helped") for _ in range(2)]
    stream.append(redis, SITE, to_payment(shopper="helped") + failures, SHARDS)
    drain(contacting)
    assert live(redis, "helped")["contact"] == "contact"
    stream.append(redis, SITE, [event("Order Completed", {"revenue": 120}, shopper="helped")], SHARDS)
    drain(contacting)
    assert live(redis, "helped")["outcome"] == "purchase"
    now = now_ms()
    found = report(redis, now - 3_600_000, now)
    assert sum(row["sessions"] for row in found["auc"]) == 2
    by_row = [0] * 10
    for score in (before_order, leaver["score"]):
        by_row[funnel.bin_of(score) // 10] += 1
    assert [row["sessions"] for row in found["calibration"]] == by_row
    bought, left = funnel.bin_of(before_order), funnel.bin_of(leaver["score"])
    assert found["auc_overall"] == (1.0 if left > bought else 0.5 if left == bought else 0.0)
