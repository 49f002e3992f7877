"""Save rates (rules/outcomes.py): learned from contacted sessions, starting from the priors."""

from rules import outcomes
from rules.settings import Settings


def test_rates_start_at_the_priors(redis):
    rates = outcomes.rates(outcomes.counts(redis), Settings())
    assert rates["chat"] == 0.10 and rates["call"] == 0.25


def test_recorded_outcomes_move_the_rate_from_the_prior(redis):
    """20 chats that saved 12: (12 + 0.10 x 20) / (20 + 20) = 0.35; the call rate is untouched."""
    for i in range(20):
        outcomes.record(redis, "chat", saved=i < 12)
    assert outcomes.counts(redis) == {"chat": (20, 12)}
    rates = outcomes.rates(outcomes.counts(redis), Settings())
    assert round(rates["chat"], 4) == 0.35 and rates["call"] == 0.25
