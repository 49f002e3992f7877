"""The uplift section (reports/uplift.py): Newcombe's interval on known counts, the verdict, the revenue it
implies, the counters it reads (written by rules.policy and rules.outcomes through the real scorer), and
the ``since`` of the report (reports/figures.py)."""

import math
from datetime import datetime, timezone

import pytest

from reports import defaults, figures, hours, uplift
from rules import keys as rule_keys
from rules import outcomes
from tests.test_consumer import SHARDS, SITE, drain, event, scorer_with, to_payment
from tracker import stream

HOUR = 3600


def test_newcombe_gives_the_published_interval():
    """Newcombe (1998), Table II, example (a), method 10: 56/70 against 48/80 is a difference of 0.2000
    with 95 % limits 0.0524 and 0.3339. Read from two secondary sources that quote the table (the paper's
    PDF was out of reach); the limits are derived independently below from the score test."""
    difference, low, high = uplift.newcombe(56, 70, 48, 80)
    assert round(difference, 4) == 0.2 and round(low, 4) == 0.0524 and round(high, 4) == 0.3339
    difference, low, high = uplift.newcombe(9, 10, 3, 10)  # example (b) of the same sources: 0.6 (0.1705, 0.8090)
    assert round(difference, 4) == 0.6 and round(low, 4) == 0.1705 and round(high, 4) == 0.8090


def _score_limits(won: int, n: int, z: float = uplift.Z) -> tuple[float, float]:
    """The proportions the score test at level z only just fails to reject, found by bisection: the
    definition of Wilson's interval, computed without its closed form."""
    p_hat = won / n

    def rejects(p: float) -> bool:
        return abs(p_hat - p) > z * math.sqrt(p * (1 - p) / n)

    def edge(inside: float, outside: float) -> float:
        for _ in range(200):
            middle = (inside + outside) / 2
            inside, outside = (inside, middle) if rejects(middle) else (middle, outside)
        return inside

    low = 0.0 if won == 0 else edge(p_hat, 0.0)
    high = 1.0 if won == n else edge(p_hat, 1.0)
    return low, high


@pytest.mark.parametrize("won,n", [(56, 70), (48, 80), (0, 10), (10, 10), (1, 29), (150, 1000)])
def test_wilson_limits_are_where_the_score_test_stops_rejecting(won, n):
    low, high = uplift.wilson(won, n)
    expected_low, expected_high = _score_limits(won, n)
    assert low == pytest.approx(expected_low, abs=1e-9) and high == pytest.approx(expected_high, abs=1e-9)


def test_newcombe_combines_the_two_wilson_intervals():
    """Its limits are the difference less and plus the root of the squared distances to the Wilson limits
    on the sides that move the difference that way (computed from the score-test limits)."""
    (l1, u1), (l2, u2) = _score_limits(20, 100), _score_limits(9, 90)
    d = 0.2 - 0.1
    difference, low, high = uplift.newcombe(20, 100, 9, 90)
    assert difference == pytest.approx(d)
    assert low == pytest.approx(d - math.hypot(0.2 - l1, u2 - 0.1), abs=1e-9)
    assert high == pytest.approx(d + math.hypot(u1 - 0.2, 0.1 - l2), abs=1e-9)


def test_no_purchases_in_either_group_still_gives_an_interval_around_zero():
    difference, low, high = uplift.newcombe(0, 40, 0, 50)
    assert difference == 0 and -1 < low < 0 < high < 1


def test_an_empty_group_has_no_interval_and_not_enough_data():
    found = uplift.estimate(contacted=40, contacted_won=8, holdout=0, holdout_won=0)
    assert found["difference"] is None and found["low"] is None and found["rate_holdout"] is None
    assert found["verdict"] == uplift.NOT_ENOUGH


def test_fewer_than_the_minimum_sessions_in_a_group_is_not_enough_data():
    """29 held-out sessions: not enough, whatever the rates, and the note says how many are needed."""
    found = uplift.estimate(contacted=500, contacted_won=250, holdout=defaults.UPLIFT_MIN_SESSIONS - 1, holdout_won=1)
    assert found["verdict"] == "not enough data yet"
    assert f"at least {defaults.UPLIFT_MIN_SESSIONS}" in found["note"]


def test_an_interval_wider_than_the_maximum_is_not_enough_data():
    """15 of 30 in both groups: an interval about 48 points wide says nothing yet."""
    found = uplift.estimate(contacted=30, contacted_won=15, holdout=30, holdout_won=15)
    assert found["high"] - found["low"] > defaults.UPLIFT_MAX_WIDTH
    assert found["verdict"] == "not enough data yet" and "too wide" in found["note"]


def test_a_clear_rise_is_reported_in_points_with_the_revenue_it_implies():
    """200 contacted, 60 bought (6,000 in orders); 200 held out, 40 bought: +10 points, 100 a won session,
    so 0.10 x 200 x 100 = 2,000 earned, its interval carried through the same way."""
    found = uplift.estimate(contacted=200, contacted_won=60, holdout=200, holdout_won=40, contacted_revenue=6000.0)
    assert found["rate_contacted"] == 0.3 and found["rate_holdout"] == 0.2
    assert found["difference"] == pytest.approx(0.1) and found["revenue_per_won"] == 100
    assert found["implied_revenue"] == pytest.approx(2000)
    assert found["implied_revenue_low"] == pytest.approx(found["low"] * 200 * 100)
    assert found["implied_revenue_high"] == pytest.approx(found["high"] * 200 * 100)
    assert found["verdict"] == "enough" and 0 < found["low"] < 0.1 < found["high"]
    assert found["note"].startswith("contact raises conversion by 10.0 points")


def test_an_interval_across_zero_says_no_clear_effect():
    found = uplift.estimate(contacted=300, contacted_won=60, holdout=300, holdout_won=57, contacted_revenue=3000.0)
    assert found["verdict"] == "enough" and found["low"] < 0 < found["high"]
    assert found["note"].startswith("no clear effect of contact")


def test_the_section_sums_the_hours_of_the_period_by_rule(redis):
    """Sessions settled in the period count, by the first rule that fired; an hour outside it does not."""
    start = 1_780_000_000
    for n in range(40):
        outcomes.settled(redis, "stuck", held_out=False, at_seconds=start + n * 60, won=n < 12, revenue=50.0)
        outcomes.settled(redis, "stuck", held_out=True, at_seconds=start + n * 60, won=n < 4, revenue=50.0)
    outcomes.settled(redis, "lingering", held_out=False, at_seconds=start, won=True, revenue=80.0)
    outcomes.settled(redis, "stuck", held_out=False, at_seconds=start + 30 * HOUR, won=True, revenue=9.0)  # later
    first = hours.hour_of(start)
    found = uplift.section(hours.Reader(redis, first, first + 2))
    stuck, lingering = found["by_rule"]
    assert (stuck["rule"], stuck["contacted"], stuck["contacted_won"], stuck["holdout"], stuck["holdout_won"]) == (
        "stuck", 40, 12, 40, 4)
    assert stuck["revenue_per_won"] == 50 and stuck["difference"] == pytest.approx(0.2)
    assert (lingering["rule"], lingering["contacted"], lingering["holdout"]) == ("lingering", 1, 0)
    assert lingering["verdict"] == "not enough data yet"
    overall = found["overall"]
    assert (overall["contacted"], overall["contacted_won"], overall["holdout"]) == (41, 13, 40)
    assert overall["revenue_per_won"] == pytest.approx((12 * 50 + 80) / 13)


PAYING = """\
defaults: {holdout: HOLDOUT}
rules:
  - id: stuck-at-payment
    when: {all: [{step: payment}, {payment_failures: 1}]}
    action: {channel: chat}
"""


@pytest.mark.parametrize("holdout,group", [(0, "contacted"), (0.9999, "holdout")])
def test_the_scorer_counts_a_fired_session_when_it_buys(redis, holdout, group):
    """Through the real scorer: the rule fires (counted as fired or held by the hour decided), the shopper
    buys 99.50: the session counts for the rule, won, with the order's revenue, once, also after it ends."""
    scorer = scorer_with(redis, [], PAYING.replace("HOLDOUT", str(holdout)))
    stream.append(redis, SITE, to_payment() + [event("Payment Failed", {"reason": "declined"})], SHARDS)
    drain(scorer)
    stream.append(redis, SITE, [event("Order Completed", {"order_id": "o-1", "revenue": 99.5})], SHARDS)
    drain(scorer)
    later = scorer.clock() + 31 * 60 * 1000
    scorer.clock = lambda: later  # the session's end, half an hour on
    assert scorer.run_deadlines() == 1
    counts = hours.total(hours.read(redis, rule_keys.REPORT, hours.hour_of(later / 1000) - 2,
                                    hours.hour_of(later / 1000)))
    fired = "fired" if group == "contacted" else "held"
    assert counts == {f"{fired}|stuck-at-payment|chat": 1, f"{group}|stuck-at-payment": 1,
                      f"{group}_won|stuck-at-payment": 1, f"{group}_revenue|stuck-at-payment": 99.5}


def test_a_fired_session_that_ends_without_buying_counts_unwon(redis):
    scorer = scorer_with(redis, [], PAYING.replace("HOLDOUT", "0"))
    stream.append(redis, SITE, to_payment() + [event("Payment Failed", {"reason": "declined"})], SHARDS)
    drain(scorer)
    later = scorer.clock() + 31 * 60 * 1000
    scorer.clock = lambda: later
    scorer.run_deadlines()
    now = hours.hour_of(later / 1000)
    assert hours.total(hours.read(redis, rule_keys.REPORT, now - 2, now)) == {
        "fired|stuck-at-payment|chat": 1, "contacted|stuck-at-payment": 1}


# -- the period -------------------------------------------------------------------------------------

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize("text,seconds", [("7d", 7 * 86400), ("24h", 86400), ("30m", 1800), (" 1.5h ", 5400)])
def test_since_as_a_duration_back_from_now(text, seconds):
    assert figures.parse_since(text, NOW) == NOW - seconds


def test_since_as_a_date_or_time():
    assert figures.parse_since("2026-11-01", NOW) == datetime(2026, 11, 1, tzinfo=timezone.utc).timestamp()
    assert figures.parse_since("2026-12-01T09:30:00+01:00", NOW) == datetime(
        2026, 12, 1, 8, 30, tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize("text", ["7 days", "", "0d", "-3d", "2027-01-01", "yesterday", "7d; drop"])
def test_a_bad_since_says_what_is_allowed(text):
    with pytest.raises(ValueError, match="a duration like 30m, 24h or 7d, or a date like"):
        figures.parse_since(text, NOW)


def test_collect_puts_every_section_in_one_dict(redis):
    """The figures of the contract, for an instance with nothing recorded yet."""
    found = figures.collect(redis, NOW - 7 * 86400, NOW)
    assert {"since", "until", "generated_at", "rules", "uplift", "load", "model", "funnel"} <= set(found)
    assert found["uplift"]["by_rule"] == [] and found["uplift"]["overall"]["verdict"] == "not enough data yet"
    assert found["since"] == NOW - 7 * 86400 and found["until"] == NOW
