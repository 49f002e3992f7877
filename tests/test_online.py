"""scorer/online.py: the one-pass network, the logit average and online target encoding, on toy data."""

import math
import random

from river import linear_model

from scorer import metrics, online


def _xor_rows(n, seed=0):
    """Two inputs whose product decides the label: no linear model can rank it, a network can."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        a, b = rng.uniform(-1, 1), rng.uniform(-1, 1)
        rows.append(({"a": a, "b": b}, a * b > 0))
    return rows


def _auc_after_learning(model, rows, cut):
    for x, y in rows[:cut]:
        model.learn_one(x, y)
    test = rows[cut:]
    return metrics.roc_auc([y for _, y in test], [model.predict_proba_one(x)[True] for x, _ in test])


def test_mlp_learns_an_interaction_in_one_pass():
    rows = _xor_rows(4000)
    assert _auc_after_learning(online.MLP(16, 0.05, seed=0), rows, 3000) > 0.9
    assert _auc_after_learning(linear_model.LogisticRegression(), rows, 3000) < 0.65


def test_mlp_is_fixed_by_seed_and_ignores_dict_order():
    rows = _xor_rows(300)
    first, second, other = online.MLP(seed=1), online.MLP(seed=1), online.MLP(seed=2)
    for x, y in rows:
        first.learn_one(x, y)
        second.learn_one(dict(reversed(list(x.items()))), y)
        other.learn_one(x, y)
    probe = {"a": 0.3, "b": -0.2}
    assert first.predict_proba_one(probe) == second.predict_proba_one(probe)
    assert first.predict_proba_one(probe) != other.predict_proba_one(probe)


def test_an_averaged_mlp_predicts_with_the_moving_average_of_every_step():
    """With average=0.9 the prediction is the network's with each weight replaced by the exponential
    moving average of its values after every step, though a first-layer row is only touched when its
    feature is present (here one of 40 sparse features): kept up to date lazily, it is exact."""
    import numpy as np

    rng, model = random.Random(3), online.MLP(8, 0.05, seed=0, average=0.9)
    reference = {}  # row id -> its average, moved after every step as a dense implementation would
    for step in range(400):
        x = {f"f{rng.randrange(40)}": rng.uniform(-1, 1) for _ in range(3)}
        model.learn_one(x, rng.random() < 0.5)
        for name, i in model._index.items():
            current = model._W1[i]
            reference[i] = current.copy() if i not in reference else 0.9 * reference[i] + 0.1 * current
    probe = {"f1": 0.5, "f7": -0.3, "f33": 0.9}
    ids = [model._index[name] for name in sorted(probe)]
    values = np.array([probe[name] for name in sorted(probe)])
    hidden = np.maximum(values @ np.array([reference[i] for i in ids]) + model._ab1, 0)
    expected = 1 / (1 + math.exp(-(hidden @ model._aw2 + model._ab2)))
    assert math.isclose(model.predict_proba_one(probe)[True], expected, rel_tol=1e-9)
    assert not math.isclose(expected, online.MLP(8, 0.05, seed=0).predict_proba_one(probe)[True])


def test_mlp_ignores_unseen_features_and_gives_probabilities():
    model = online.MLP(seed=0)
    p = model.predict_proba_one({"never": 1.0})
    assert 0 < p[True] < 1 and math.isclose(p[True] + p[False], 1.0)


class _Constant:
    def __init__(self, p):
        self.p, self.learned = p, 0

    def predict_proba_one(self, x):
        return {True: self.p, False: 1 - self.p}

    def learn_one(self, x, y):
        self.learned += 1


def test_logit_average_is_the_mean_logit_and_all_members_learn():
    members = [_Constant(0.9), _Constant(0.1), _Constant(0.5)]
    average = online.LogitAverage(members)
    assert math.isclose(average.predict_proba_one({})[True], 0.5)
    average.learn_one({"a": 1.0}, True)
    assert [m.learned for m in members] == [1, 1, 1]


class _Recorder:
    def __init__(self):
        self.seen = []

    def predict_proba_one(self, x):
        self.seen.append(dict(x))
        return {True: 0.5, False: 0.5}

    def learn_one(self, x, y):
        self.seen.append(dict(x))


def test_target_encoding_uses_only_earlier_labels():
    inner = _Recorder()
    model = online.TargetEncoded(inner, ("Month",), prior_rows=1.0)
    model.learn_one({"Month=Nov": 1.0}, True)  # its own label is not yet counted: encoding 0
    assert inner.seen[-1]["te_Month"] == 0.0
    model.learn_one({"Month=May": 1.0}, False)
    model.predict_proba_one({"Month=Nov": 1.0, "has_PageValues": 1.0, "pv+&Month=Nov": 1.0})
    seen = inner.seen[-1]
    assert seen["te_Month"] > 0  # Nov bought more than the average row
    assert seen["pv+|te_Month"] == seen["te_Month"]  # copied into the page-value segment
    assert seen["te_pv+&Month"] == 0.0  # a crossed group never seen before: the prior
