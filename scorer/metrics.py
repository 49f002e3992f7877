"""Figures of a probabilistic binary classifier, in plain Python: exact ROC AUC, F1, accuracy, log loss,
a calibration table.

`labels` are booleans (or 0/1), `scores` are predicted probabilities of the positive class.
"""

import math

CLIP = 1e-15  # probabilities are clipped to [CLIP, 1 - CLIP] before the logarithm
BINS = 10  # equal-width bins of the calibration table


def roc_auc(labels, scores) -> float:
    """Exact ROC AUC by ranks (Mann-Whitney U), tied scores sharing their average rank.

    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    >>> roc_auc([0, 1], [0.5, 0.5])
    0.5
    """
    labels = [bool(y) for y in labels]
    positives = sum(labels)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        raise ValueError(f"ROC AUC needs both classes: {positives} positives, {negatives} negatives")
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    rank_sum = 0.0
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and scores[order[end + 1]] == scores[order[start]]:
            end += 1
        average_rank = (start + end) / 2 + 1  # ranks count from 1
        rank_sum += average_rank * sum(labels[order[i]] for i in range(start, end + 1))
        start = end + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def f1(labels, scores, threshold: float = 0.5) -> float:
    """F1 of the positive class, predicting positive when score >= threshold; 0.0 when nothing is
    predicted or truly positive.

    >>> f1([1, 1, 0, 0], [0.9, 0.2, 0.7, 0.1])
    0.5
    """
    tp = fp = fn = 0
    for y, p in zip(labels, scores):
        predicted = p >= threshold
        tp += bool(y) and predicted
        fp += (not y) and predicted
        fn += bool(y) and not predicted
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def accuracy(labels, scores, threshold: float = 0.5) -> float:
    """Share of rows where (score >= threshold) equals the label.

    >>> accuracy([1, 0, 0, 1], [0.9, 0.2, 0.7, 0.1])
    0.5
    """
    if not labels:
        raise ValueError("accuracy of no rows")
    return sum((p >= threshold) == bool(y) for y, p in zip(labels, scores)) / len(labels)


def log_loss(labels, scores) -> float:
    """Mean negative log-likelihood (natural log), probabilities clipped to [CLIP, 1 - CLIP].

    >>> round(log_loss([1, 0], [0.5, 0.5]), 6)
    0.693147
    """
    if not labels:
        raise ValueError("log loss of no rows")
    total = 0.0
    for y, p in zip(labels, scores):
        p = min(max(p, CLIP), 1 - CLIP)
        total -= math.log(p) if y else math.log(1 - p)
    return total / len(labels)


def calibration(labels, scores, bins: int = BINS) -> list[dict]:
    """One row per equal-width bin of [0, 1] (a score of 1.0 falls in the last one): its bounds, count,
    mean predicted probability and observed positive rate (None for an empty bin).

    >>> calibration([0, 1, 1], [0.05, 0.95, 1.0], bins=2)[1]
    {'low': 0.5, 'high': 1.0, 'count': 2, 'mean_predicted': 0.975, 'observed_rate': 1.0}
    """
    counts = [0] * bins
    predicted = [0.0] * bins
    observed = [0] * bins
    for y, p in zip(labels, scores):
        b = min(int(p * bins), bins - 1)
        counts[b] += 1
        predicted[b] += p
        observed[b] += bool(y)
    return [
        {
            "low": b / bins,
            "high": (b + 1) / bins,
            "count": counts[b],
            "mean_predicted": predicted[b] / counts[b] if counts[b] else None,
            "observed_rate": observed[b] / counts[b] if counts[b] else None,
        }
        for b in range(bins)
    ]


def report(labels, scores) -> dict:
    """Every figure above in one dict."""
    return {
        "rows": len(labels),
        "positives": sum(bool(y) for y in labels),
        "roc_auc": roc_auc(labels, scores),
        "f1": f1(labels, scores),
        "accuracy": accuracy(labels, scores),
        "log_loss": log_loss(labels, scores),
        "calibration": calibration(labels, scores),
    }
