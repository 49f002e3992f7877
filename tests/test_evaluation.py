"""scorer/evaluation.py and `handrail model evaluate` on the UCI Online Shoppers file (small slices, fast)."""

import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from handrail.cli import main
from scorer import evaluation

DATASET = Path("/work/shared/datasets/online_shoppers_intention.csv")
pytestmark = pytest.mark.skipif(not DATASET.exists(), reason=f"no {DATASET}")


@pytest.fixture(scope="module")
def rows():
    return evaluation.load(DATASET)


def test_loader_reads_every_row(rows):
    """12,330 sessions, 1,908 of them ending in a purchase."""
    assert len(rows) == 12330
    assert sum(y for _, y in rows) == 1908


def test_loader_survives_the_empty_row(rows):
    """Data row 1066 has empty numbers: it loads as zeros with its durations flagged unknown."""
    x, y = rows[1065]
    assert y is False
    assert x["Administrative"] == 0.0 and x["Administrative_Duration_unknown"] == 1.0
    assert x["Month=Mar"] == 1.0


def test_features_are_finite_numbers(rows):
    """No NaN, no infinity, nothing but floats, in any row."""
    for x, _ in rows:
        assert all(isinstance(v, float) and v == v and abs(v) != float("inf") for v in x.values())


def test_shuffle_is_fixed_by_seed(rows):
    """The same seed gives the same order; another seed another."""
    assert evaluation.shuffled(rows, 3) == evaluation.shuffled(rows, 3)
    assert evaluation.shuffled(rows, 3) != evaluation.shuffled(rows, 4)


@pytest.mark.parametrize("protocol", ["prequential", "split"])
def test_protocols_learn_on_a_slice(rows, protocol):
    """1,500 shuffled rows: the learner ranks purchases far better than chance."""
    sample = random.Random(0).sample(rows, 1500)
    result = evaluation.evaluate(sample, protocol, seed=0)
    assert result["rows"] == (1500 if protocol == "prequential" else 450)
    assert result["roc_auc"] > 0.8
    assert sum(row["count"] for row in result["calibration"]) == result["rows"]


def test_learner_is_fixed_by_seed(rows):
    """Same seed, same figures: the networks' random weights come from the evaluation seed."""
    sample = random.Random(0).sample(rows, 800)
    first = evaluation.evaluate(sample, "split", seed=2)
    assert evaluation.evaluate(sample, "split", seed=2) == first


def test_interactions_add_month_slopes_and_products(rows):
    """A month's own copy of its slope numerics, and one product per pair of PAIRED."""
    x = evaluation.interactions(evaluation.engineered(rows[0][0]))
    assert x["Month=Feb*PageValues"] == x["PageValues"]
    assert x["ExitRatesxProductRelated"] == x["ExitRates"] * x["ProductRelated"]
    paired = evaluation.PAIRED
    products = {f"{a}x{b}" for i, a in enumerate(paired) for b in paired[i + 1:]}
    assert len(products) == len(paired) * (len(paired) - 1) // 2 and products <= set(x)


def test_split_counts_ticks_once_per_row(rows):
    """The progress callback is called once per row, learning and scoring together."""
    ticks = []
    evaluation.split(evaluation.learner(), rows[:200], tick=lambda: ticks.append(1))
    assert len(ticks) == 200


@pytest.fixture(scope="module")
def slice_csv(tmp_path_factory):
    """A CSV of the header and 1,500 random data rows of the real file, CRLF like the original."""
    lines = DATASET.read_bytes().split(b"\r\n")
    body = random.Random(1).sample(lines[1:], 1500)
    path = tmp_path_factory.mktemp("data") / "slice.csv"
    path.write_bytes(b"\r\n".join([lines[0], *body]))
    return path


def test_cli_prints_the_metric_names(slice_csv):
    """The human output names every figure and has a calibration table."""
    result = CliRunner().invoke(main, ["model", "evaluate", "--dataset", str(slice_csv), "--seed", "1"])
    assert result.exit_code == 0, result.output
    for name in ("roc_auc", "f1", "accuracy", "log_loss", "calibration"):
        assert name in result.stdout


def test_cli_json_parses(slice_csv):
    """--json prints one JSON object with the figures and ten calibration bins on stdout."""
    args = ["model", "evaluate", "--dataset", str(slice_csv), "--protocol", "split", "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["protocol"] == "split" and figures["rows"] == 450
    assert 0.5 < figures["roc_auc"] <= 1.0
    assert len(figures["calibration"]) == 10
