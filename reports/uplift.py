"""Uplift: do shoppers convert more when contacted than the holdout who would have been?

Intention to treat. A session counts for the first rule that fired on it (rules.outcomes.settled): in
"contacted" when the policy contacted the shopper, in "holdout" when the shopper was held out (a hash of
their id, so the two groups differ only by chance). Whether the shopper took up the chat, answered the
call or read the email does not move a session between groups: comparing only those who accepted would
compare shoppers who chose to accept, not the effect of contacting.

The difference of the two conversion rates gets a 95 % interval by Newcombe's hybrid score method (his
method 10: Wilson intervals of each rate, combined), because it keeps close to 95 % coverage with small
groups and rates near 0 or 1, where the textbook Wald interval is too narrow or leaves [-1, 1].
"""

import math

from reports import defaults, hours
from rules import keys as rule_keys

Z = 1.959963984540054  # the standard normal quantile of a two-sided 95 % interval
NOT_ENOUGH = "not enough data yet"
ENOUGH = "enough"


def wilson(won: int, sessions: int, z: float = Z) -> tuple[float, float] | None:
    """Wilson's score interval for a proportion ``won`` / ``sessions``; None without sessions."""
    if sessions <= 0:
        return None
    p = won / sessions
    scale = 1 + z * z / sessions
    centre = (p + z * z / (2 * sessions)) / scale
    half = z * math.sqrt(p * (1 - p) / sessions + z * z / (4 * sessions * sessions)) / scale
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(won1: int, n1: int, won2: int, n2: int, z: float = Z) -> tuple[float, float, float] | None:
    """(p1 - p2, low, high): Newcombe's hybrid score interval for a difference of two independent
    proportions (Statistics in Medicine 17:873-890, 1998, method 10); None when a group is empty."""
    first, second = wilson(won1, n1, z), wilson(won2, n2, z)
    if first is None or second is None:
        return None
    p1, p2 = won1 / n1, won2 / n2
    (l1, u1), (l2, u2) = first, second
    difference = p1 - p2
    low = difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return difference, max(-1.0, low), min(1.0, high)


def estimate(contacted: int, contacted_won: int, holdout: int, holdout_won: int, contacted_revenue: float = 0.0,
             min_sessions: int = defaults.UPLIFT_MIN_SESSIONS, max_width: float = defaults.UPLIFT_MAX_WIDTH) -> dict:
    """The uplift of one rule (or of all together) from its counts: rates, the difference with its 95 %
    interval, the revenue it implies and the verdict, with a note in words for the product owner."""
    found = newcombe(contacted_won, contacted, holdout_won, holdout)
    difference, low, high = found if found else (None, None, None)
    per_won = contacted_revenue / contacted_won if contacted_won else None
    implied = [None if value is None or per_won is None else value * contacted * per_won
               for value in (difference, low, high)]
    result = {
        "contacted": contacted, "contacted_won": contacted_won, "holdout": holdout, "holdout_won": holdout_won,
        "rate_contacted": contacted_won / contacted if contacted else None,
        "rate_holdout": holdout_won / holdout if holdout else None,
        "difference": difference, "low": low, "high": high,
        "revenue_per_won": per_won, "implied_revenue": implied[0],
        "implied_revenue_low": implied[1], "implied_revenue_high": implied[2],
    }
    if min(contacted, holdout) < min_sessions:
        result.update(verdict=NOT_ENOUGH, note=f"{contacted} contacted and {holdout} held-out sessions: at least "
                                               f"{min_sessions} of each are needed")
    elif high - low > max_width:
        result.update(verdict=NOT_ENOUGH, note=f"the 95 % interval spans {_points(high - low)} points, more than "
                                               f"{_points(max_width)}: too wide to say anything yet")
    else:
        result.update(verdict=ENOUGH, note=_finding(difference, low, high))
    return result


def _points(share: float) -> str:
    return f"{share * 100:.1f}"


def _finding(difference: float, low: float, high: float) -> str:
    """What the interval says, in the words a product owner acts on."""
    between = f"(95 % interval {_points(low)} to {_points(high)} points)"
    if low > 0:
        return f"contact raises conversion by {_points(difference)} points {between}"
    if high < 0:
        return f"contact lowers conversion by {_points(-difference)} points {between}"
    return f"no clear effect of contact on conversion {between}: it may be zero"


def section(counters: hours.Reader) -> dict:
    """{"overall": the uplift of every rule pooled, "by_rule": one per rule that fired, most sessions first}."""
    counts = counters.total(rule_keys.REPORT)
    by_rule: dict[str, dict[str, float]] = {}
    for field, value in counts.items():
        name, _, rule = field.partition("|")
        if name in ("contacted", "contacted_won", "contacted_revenue", "holdout", "holdout_won") and rule:
            by_rule.setdefault(rule, {})[name] = value
    rows = [dict(estimate(int(found.get("contacted", 0)), int(found.get("contacted_won", 0)),
                          int(found.get("holdout", 0)), int(found.get("holdout_won", 0)),
                          found.get("contacted_revenue", 0.0)), rule=rule)
            for rule, found in by_rule.items()]
    rows.sort(key=lambda row: (-(row["contacted"] + row["holdout"]), row["rule"]))
    pooled = {name: sum(found.get(name, 0) for found in by_rule.values())
              for name in ("contacted", "contacted_won", "holdout", "holdout_won", "contacted_revenue")}
    overall = estimate(int(pooled["contacted"]), int(pooled["contacted_won"]), int(pooled["holdout"]),
                       int(pooled["holdout_won"]), pooled["contacted_revenue"])
    return {"overall": overall, "by_rule": rows}
