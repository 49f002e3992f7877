"""Save rates by channel, learned from how contacted sessions ended, starting from the priors.

A contacted session counts as saved when the shopper bought before the session ended. The rate is
the share of such sessions, pulled towards the channel's configured prior by PRIOR_WEIGHT imaginary
sessions, so that the first few outcomes do not swing the decisions. Held-out sessions are counted
too (as "holdout"), for the reports to set against. Per rule, each session a rule fired on is counted
once its outcome is settled (`settled`): the uplift report's counts (reports.uplift).
"""

from reports import hours
from rules import keys
from rules.settings import Settings

PRIOR_WEIGHT = 20  # sessions' worth of belief in the configured prior


def record(pipe, channel: str, saved: bool) -> None:
    """A contacted (or held-out) session ended, ``saved`` or not. ``pipe``: a pipeline the commands are
    queued on (the scorer sends a batch's in one round trip), or a client."""
    pipe.hincrby(keys.SAVES, f"{channel}:tried", 1)
    if saved:
        pipe.hincrby(keys.SAVES, f"{channel}:saved", 1)


def settled(pipe, rule: str, held_out: bool, at_seconds: float, won: bool, revenue: float = 0.0) -> None:
    """A session ``rule`` fired on first (contacted, or ``held_out``) is settled: at its purchase (``won``,
    with the order's ``revenue``), else at its end. Counted in that hour, for intention-to-treat: every
    such session counts, whatever happened after the rule fired (reports.uplift). ``pipe`` as for `record`."""
    group = "holdout" if held_out else "contacted"
    fields = {f"{group}|{rule}": 1}
    if won:
        fields[f"{group}_won|{rule}"] = 1
        fields[f"{group}_revenue|{rule}"] = float(revenue)
    hours.add(pipe, keys.REPORT, at_seconds, fields)


def counts(redis) -> dict[str, tuple[int, int]]:
    """channel -> (tried, saved)."""
    raw = {key.decode(): int(value) for key, value in redis.hgetall(keys.SAVES).items()}
    channels = {key.rsplit(":", 1)[0] for key in raw}
    return {name: (raw.get(f"{name}:tried", 0), raw.get(f"{name}:saved", 0)) for name in channels}


def rates(found: dict[str, tuple[int, int]], settings: Settings) -> dict[str, float]:
    """channel -> the save rate to decide with: recorded outcomes, smoothed towards the prior."""
    result = {}
    for name, channel in settings.channels.items():
        tried, saved = found.get(name, (0, 0))
        result[name] = (saved + channel.save_rate * PRIOR_WEIGHT) / (tried + PRIOR_WEIGHT)
    return result
