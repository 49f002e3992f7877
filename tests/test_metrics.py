"""scorer/metrics.py: exact ROC AUC, F1, accuracy, log loss, calibration table."""

import doctest
import math
import random

import pytest

from scorer import metrics


def brute_auc(labels, scores):
    """P(score of a positive > score of a negative) + half P(tie), over every pair."""
    pos = [s for y, s in zip(labels, scores) if y]
    neg = [s for y, s in zip(labels, scores) if not y]
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def test_doctests_pass():
    """The examples in the docstrings are right."""
    assert doctest.testmod(metrics).failed == 0


def test_auc_with_ties_by_hand():
    """Positives at 0.8 and 0.5, negatives at 0.5, 0.5, 0.2: pairs won 3 + 0 + 0 + 1 + 0.5 + 0.5 + 1 = 5 of 6."""
    labels = [1, 1, 0, 0, 0]
    scores = [0.8, 0.5, 0.5, 0.5, 0.2]
    assert metrics.roc_auc(labels, scores) == pytest.approx(5 / 6)


def test_auc_all_tied_is_half():
    """A constant predictor ranks nothing: 0.5."""
    assert metrics.roc_auc([1, 0, 1, 0, 0], [0.3] * 5) == 0.5


def test_auc_perfect_and_inverted():
    """Every positive above every negative is 1.0; the reverse is 0.0."""
    labels = [0, 0, 1, 1, 1]
    scores = [0.1, 0.2, 0.7, 0.8, 0.9]
    assert metrics.roc_auc(labels, scores) == 1.0
    assert metrics.roc_auc(labels, [1 - s for s in scores]) == 0.0


def test_auc_matches_pairwise_count_on_random_ties():
    """On random scores with many ties, ranks agree with counting every pair."""
    rng = random.Random(7)
    labels = [rng.random() < 0.3 for _ in range(300)]
    labels[0], labels[1] = True, False
    scores = [rng.randint(0, 9) / 10 for _ in labels]
    assert metrics.roc_auc(labels, scores) == pytest.approx(brute_auc(labels, scores))


def test_auc_needs_both_classes():
    """One class only: a ValueError naming the counts."""
    with pytest.raises(ValueError, match="0 negatives"):
        metrics.roc_auc([1, 1], [0.2, 0.4])


def test_log_loss_values_and_clipping():
    """ln 2 at 0.5; a certain wrong answer costs -ln(1e-15), not infinity."""
    assert metrics.log_loss([1, 0], [0.5, 0.5]) == pytest.approx(math.log(2))
    assert metrics.log_loss([1], [0.0]) == pytest.approx(-math.log(metrics.CLIP))
    assert metrics.log_loss([0, 1], [0.0, 1.0]) == pytest.approx(0.0, abs=1e-12)


def test_f1_edge_cases():
    """No positive predicted gives 0.0; perfect gives 1.0; threshold 0.5 counts as positive."""
    assert metrics.f1([1, 0], [0.1, 0.2]) == 0.0
    assert metrics.f1([0, 0], [0.1, 0.2]) == 0.0
    assert metrics.f1([1, 0], [0.5, 0.49]) == 1.0
    assert metrics.f1([1, 1, 0, 0], [0.9, 0.2, 0.7, 0.1]) == pytest.approx(0.5)


def test_accuracy():
    """Three of four right is 0.75."""
    assert metrics.accuracy([1, 0, 0, 1], [0.9, 0.2, 0.1, 0.3]) == 0.75


def test_calibration_bins():
    """Ten equal bins; 0.0 lands in the first, 1.0 and 0.95 in the last; empty bins have no means."""
    table = metrics.calibration([0, 0, 1, 1, 0], [0.0, 0.05, 0.95, 1.0, 0.31])
    assert [row["count"] for row in table] == [2, 0, 0, 1, 0, 0, 0, 0, 0, 2]
    assert table[0] == {"low": 0.0, "high": 0.1, "count": 2, "mean_predicted": 0.025, "observed_rate": 0.0}
    assert table[9]["mean_predicted"] == pytest.approx(0.975)
    assert table[9]["observed_rate"] == 1.0
    assert table[1]["mean_predicted"] is None and table[1]["observed_rate"] is None
