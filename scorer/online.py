"""Small one-pass learners on feature dicts, used by scorer.evaluation.learner(): a one-hidden-layer
network, an average of classifiers' logits, and online target encoding of one-hot groups.

All of them learn one example at a time and see a row's label only after predicting it.
"""

import math

import numpy as np
from river import base


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-max(min(z, 30.0), -30.0)))


class MLP(base.Classifier):
    """Logistic output over one hidden ReLU layer, trained by AdaGrad, one step per example.

    Inputs are sparse dicts: each new feature name gets a row of first-layer weights when first learned
    (features never learned are ignored when predicting). Names are taken in sorted order, so the
    random first rows do not depend on dict order (which River's Select leaves to Python's hash seed).
    `positive_weight` scales the gradient of positive examples (purchases are rare). Deterministic
    given `seed`.

    `average` > 0: predictions use an exponential moving average of the weights, each learning step
    moving it by 1 - `average` toward them, rather than the latest weights: a single pass of SGD ends
    wherever its last noisy steps left it, and the average of its recent iterates generalises better.
    A first-layer row changes only when its feature is present, so its average is brought up to date
    when it is next used (the row was constant meanwhile): the cost stays that of the sparse step.
    """

    def __init__(self, hidden: int = 32, lr: float = 0.05, seed: int = 0, positive_weight: float = 1.0,
                 average: float = 0.0):
        self.hidden = hidden
        self.lr = lr
        self.seed = seed
        self.positive_weight = positive_weight
        self.average = average
        self._rng = np.random.default_rng(seed)
        self._index: dict = {}
        self._W1 = np.zeros((64, hidden))
        self._G1 = np.zeros((64, hidden))  # AdaGrad's sums of squared gradients, per weight
        self._b1, self._gb1 = np.zeros(hidden), np.zeros(hidden)
        self._w2, self._gw2 = self._rng.normal(0, 1 / math.sqrt(hidden), hidden), np.zeros(hidden)
        self._b2, self._gb2 = 0.0, 0.0
        self._learned = 0
        # The averages (with average > 0): of W1's rows, each as of the step in _at; of the rest, as of now.
        self._A1, self._at = np.zeros_like(self._W1), np.zeros(len(self._W1), dtype=np.int64)
        self._ab1, self._aw2, self._ab2 = self._b1.copy(), self._w2.copy(), self._b2

    def _sparse(self, x: dict, grow: bool):
        ids, values = [], []
        for name, value in sorted(x.items()):
            if value == 0:
                continue
            i = self._index.get(name)
            if i is None:
                if not grow:
                    continue
                i = self._index[name] = len(self._index)
                if i == len(self._W1):  # double the capacity
                    self._W1 = np.vstack([self._W1, np.zeros_like(self._W1)])
                    self._G1 = np.vstack([self._G1, np.zeros_like(self._G1)])
                    self._A1 = np.vstack([self._A1, np.zeros_like(self._A1)])
                    self._at = np.concatenate([self._at, np.zeros_like(self._at)])
                self._W1[i] = self._rng.normal(0, 0.1, self.hidden)
                self._A1[i], self._at[i] = self._W1[i], self._learned  # a new row's average starts at it
            ids.append(i)
            values.append(value)
        return np.array(ids, dtype=int), np.array(values)

    def _forward(self, ids, values):
        z = values @ self._W1[ids] + self._b1
        a = np.maximum(z, 0)
        return z, a, a @ self._w2 + self._b2

    def _averaged(self, ids):
        """The averages of these first-layer rows as of now: each row kept its weights since _at."""
        kept = (self.average ** (self._learned - self._at[ids]))[:, None]
        return kept * self._A1[ids] + (1 - kept) * self._W1[ids]

    def predict_proba_one(self, x):
        ids, values = self._sparse(x, grow=False)
        if self.average:
            a = np.maximum(values @ self._averaged(ids) + self._ab1, 0)
            p = _sigmoid(a @ self._aw2 + self._ab2)
        else:
            p = _sigmoid(self._forward(ids, values)[2])
        return {True: p, False: 1 - p}

    def learn_one(self, x, y):
        ids, values = self._sparse(x, grow=True)
        if self.average:
            self._A1[ids] = self._averaged(ids)
        z, a, out = self._forward(ids, values)
        g = (_sigmoid(out) - float(y)) * (self.positive_weight if y else 1.0)  # d log loss / d out
        dz = g * self._w2 * (z > 0)
        gw1 = np.outer(values, dz)

        def step(w, g2, grad):  # AdaGrad, in place on arrays; returns the new value for scalars
            g2 += grad**2
            return w - self.lr * grad / (np.sqrt(g2) + 1e-8), g2

        self._w2, self._gw2 = step(self._w2, self._gw2, g * a)
        self._b2, self._gb2 = step(self._b2, self._gb2, g)
        self._b1, self._gb1 = step(self._b1, self._gb1, dz)
        self._G1[ids] += gw1**2
        self._W1[ids] -= self.lr * gw1 / (np.sqrt(self._G1[ids]) + 1e-8)
        self._learned += 1
        if self.average:
            keep = self.average
            self._A1[ids] = keep * self._A1[ids] + (1 - keep) * self._W1[ids]
            self._at[ids] = self._learned
            self._ab1 = keep * self._ab1 + (1 - keep) * self._b1
            self._aw2 = keep * self._aw2 + (1 - keep) * self._w2
            self._ab2 = keep * self._ab2 + (1 - keep) * self._b2
        return self


def _logit(p: float) -> float:
    p = min(max(p, 1e-12), 1 - 1e-12)
    return math.log(p / (1 - p))


class LogitAverage(base.Classifier):
    """Every member learns every example; the prediction is the sigmoid of the mean of their logits.
    Members get x sorted by name, so that float sums (and so the figures) do not depend on the hash seed."""

    def __init__(self, members: list):
        self.members = members

    def learn_one(self, x, y):
        x = dict(sorted(x.items()))
        for member in self.members:
            member.learn_one(x, y)
        return self

    def predict_proba_one(self, x):
        x = dict(sorted(x.items()))
        z = sum(_logit(m.predict_proba_one(x).get(True, 0.0)) for m in self.members) / len(self.members)
        p = _sigmoid(z)
        return {True: p, False: 1 - p}


class TargetEncoded(base.Classifier):
    """Adds to x, then hands to `model`, one number per one-hot group of `groups`: the log odds of the
    label among earlier rows with the same value, smoothed toward the overall rate by `prior_rows`
    pseudo-rows, minus the overall log odds. A group is a one-hot `Name=value` or its cross
    `tag&Name=value`; with has_PageValues set the number is also copied under `pv+|` (the page-value
    segment). A row's encoding is computed before its own label is counted."""

    def __init__(self, model, groups: tuple, prior_rows: float = 20.0):
        self.model = model
        self.groups = groups
        self.prior_rows = prior_rows
        self._count: dict = {}
        self._positives: dict = {}
        self._rows = 0
        self._all_positives = 0

    def _keys(self, x):
        for name in x:
            if "=" not in name or "|" in name or "*" in name:  # not a plain or crossed one-hot
                continue
            head = name.split("=")[0]
            if head.split("&")[-1] in self.groups:
                yield head, name

    def _encoded(self, x: dict) -> dict:
        out = dict(x)
        prior = (self._all_positives + 1) / (self._rows + 2)
        for head, name in self._keys(x):
            seen = self._count.get(name, 0) + self.prior_rows
            rate = (self._positives.get(name, 0) + self.prior_rows * prior) / seen
            out["te_" + head] = _logit(rate) - _logit(prior)
            if x.get("has_PageValues", 0.0) > 0:
                out["pv+|te_" + head] = out["te_" + head]
        return out

    def predict_proba_one(self, x):
        return self.model.predict_proba_one(self._encoded(x))

    def learn_one(self, x, y):
        self.model.learn_one(self._encoded(x), y)
        for _, name in self._keys(x):
            self._count[name] = self._count.get(name, 0) + 1
            self._positives[name] = self._positives.get(name, 0) + bool(y)
        self._rows += 1
        self._all_positives += bool(y)
        return self
