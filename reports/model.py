"""The model over time: ROC AUC by day and overall, and a calibration table, from recorded outcomes.

Read from the scorer's hourly counters (scorer.keys.REPORT): for each session whose outcome became known
(a purchase, or an end with a cart; contacted sessions left out, see scorer.funnel), the bin (0..99) of
its last P(abandon) before the outcome, and whether it was won. The positive class is abandonment.

The AUC is binned, not exact: an abandoned and a won session in one bin (scores within 0.01) count as a
tie, half right, so it differs from the exact AUC by at most half the share of such pairs. A day with
no abandonment or no purchase has no AUC (null). Calibration: ten rows of ten bins each; predicted is the
mean P(abandon) of the row's sessions taken at their bins' centres, observed the share abandoned.
Days are UTC.
"""

from datetime import datetime, timezone

from reports import hours
from scorer import funnel as scorer_funnel
from scorer import keys

ROWS = 10  # calibration rows


def section(counters: hours.Reader) -> dict:
    """{"auc": one row per day of the period, "auc_overall", "calibration": ROWS rows}."""
    by_day = counters.by_day(keys.REPORT)
    days = []
    for day in range(counters.since_hour // 24, counters.until_hour // 24 + 1):
        scored, won = bins(by_day.get(day, {}))
        days.append({"day": _day(day), "auc": auc(scored, won), "sessions": sum(scored)})
    scored, won = bins(counters.total(keys.REPORT))
    return {"auc": days, "auc_overall": auc(scored, won), "calibration": calibration(scored, won)}


def _day(day: int) -> str:
    return datetime.fromtimestamp(day * 86_400, timezone.utc).strftime("%Y-%m-%d")


def bins(counts: dict[str, float]) -> tuple[list[float], list[float]]:
    """(sessions, of them won) in each score bin, from ``score|<bin>`` and ``score_won|<bin>`` counters."""
    return ([counts.get(f"score|{n}", 0) for n in range(scorer_funnel.BINS)],
            [counts.get(f"score_won|{n}", 0) for n in range(scorer_funnel.BINS)])


def auc(scored: list[float], won: list[float]) -> float | None:
    """P(an abandoned session scored above a won one), ties within a bin counted half; None without both."""
    positives = sum(scored) - sum(won)
    negatives = sum(won)
    if positives <= 0 or negatives <= 0:
        return None
    below = right = 0.0
    for total, bought in zip(scored, won):
        abandoned = total - bought
        right += abandoned * (below + bought / 2)
        below += bought
    return right / (positives * negatives)


def calibration(scored: list[float], won: list[float]) -> list[dict]:
    """ROWS rows: low, high (of P(abandon)), predicted, observed (null for a row without sessions), sessions."""
    width = scorer_funnel.BINS // ROWS
    rows = []
    for row in range(ROWS):
        span = range(row * width, (row + 1) * width)
        sessions = sum(scored[n] for n in span)
        predicted = sum(scored[n] * (n + 0.5) / scorer_funnel.BINS for n in span)
        abandoned = sessions - sum(won[n] for n in span)
        rows.append({"low": row / ROWS, "high": (row + 1) / ROWS,
                     "predicted": predicted / sessions if sessions else None,
                     "observed": abandoned / sessions if sessions else None, "sessions": sessions})
    return rows
