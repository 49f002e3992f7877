"""Offline evaluation of an online learner on the UCI Online Shoppers Purchasing Intention file.

Two protocols over rows shuffled by a seed:
- prequential: test-then-train on every row (predict, score, then learn it);
- split: one pass of learning over the first 70 % of the rows, then predict the other 30 %.

See `learner()` for the model chosen and the figures measured for it and for the candidates that did worse.
"""

import csv
import math
import random

from scorer import metrics

LABEL = "Revenue"
SPLIT = 0.7  # share of the shuffled rows learned from in the split protocol
COUNTS = ("Administrative", "Informational", "ProductRelated")
DURATIONS = ("Administrative_Duration", "Informational_Duration", "ProductRelated_Duration")
RATES = ("BounceRates", "ExitRates")
CATEGORIES = ("Month", "VisitorType", "OperatingSystems", "Browser", "Region", "TrafficType")


def _number(text: str) -> float | None:
    return float(text) if text.strip() else None


def features(row: dict) -> dict:
    """Feature dict of one CSV row (strings): log1p of counts, durations and PageValues, rates as they
    are, a flag for a missing or -1 duration, one-hot categories, Weekend as 0/1."""
    x = {}
    for name in COUNTS:
        value = _number(row[name])
        x[name] = math.log1p(max(value or 0.0, 0.0))
    for name in DURATIONS:
        value = _number(row[name])
        x[name] = math.log1p(max(value or 0.0, 0.0))
        x[name + "_unknown"] = 1.0 if value is None or value < 0 else 0.0
    for name in RATES:
        x[name] = _number(row[name]) or 0.0
    page_value = max(_number(row["PageValues"]) or 0.0, 0.0)
    x["PageValues"] = math.log1p(page_value)
    x["has_PageValues"] = 1.0 if page_value > 0 else 0.0
    x["SpecialDay"] = _number(row["SpecialDay"]) or 0.0
    for name in CATEGORIES:
        x[f"{name}={row[name].strip()}"] = 1.0
    x["Weekend"] = 1.0 if row["Weekend"].strip().upper() == "TRUE" else 0.0
    return x


def load(path) -> list[tuple[dict, bool]]:
    """(features, label) of every row of the CSV, in file order."""
    with open(path, newline="") as f:
        return [(features(row), row[LABEL].strip().upper() == "TRUE") for row in csv.DictReader(f)]


def shuffled(rows: list, seed: int) -> list:
    """A copy of rows in an order fixed by seed."""
    rows = list(rows)
    random.Random(seed).shuffle(rows)
    return rows


def _proba(model, x) -> float:
    return model.predict_proba_one(x).get(True, 0.0)


def prequential(model, rows, tick=None) -> tuple[list[bool], list[float]]:
    """Test-then-train on every row: (labels, scores predicted before learning each row)."""
    labels, scores = [], []
    for x, y in rows:
        scores.append(_proba(model, x))
        labels.append(y)
        model.learn_one(x, y)
        if tick:
            tick()
    return labels, scores


def split(model, rows, tick=None, share: float = SPLIT) -> tuple[list[bool], list[float]]:
    """Learn the first `share` of rows once, then (labels, scores) of the rest."""
    cut = int(len(rows) * share)
    for x, y in rows[:cut]:
        model.learn_one(x, y)
        if tick:
            tick()
    labels, scores = [], []
    for x, y in rows[cut:]:
        scores.append(_proba(model, x))
        labels.append(y)
        if tick:
            tick()
    return labels, scores


PROTOCOLS = {"prequential": prequential, "split": split}


def evaluate(rows, protocol: str = "prequential", seed: int = 0, model=None, tick=None) -> dict:
    """metrics.report of `protocol` run on rows shuffled by seed, with a fresh learner() unless given."""
    run = PROTOCOLS[protocol]
    labels, scores = run(model if model is not None else learner(seed), shuffled(rows, seed), tick)
    return {"protocol": protocol, "seed": seed, **metrics.report(labels, scores)}


BIN_WIDTH = 0.5  # width of the one-hot bins of the log1p counts, durations and PageValues
RATE_BINS = 50  # ExitRates and BounceRates bins per unit (0.02 wide), the last one open-ended at 0.2
LOGGED = COUNTS + DURATIONS + ("PageValues",)
NUMERIC = LOGGED + RATES + ("SpecialDay", "mean_product_duration", "exit_minus_bounce")


def engineered(x: dict) -> dict:
    """features() plus one-hot bins of every numeric, each category crossed with whether the session
    has a page value, and two derived numbers: mean log dwell per product page and exit minus bounce."""
    out = dict(x)
    for name in LOGGED:
        out[f"{name}#{int(x[name] / BIN_WIDTH)}"] = 1.0
    for name in RATES:
        out[f"{name}#{min(int(x[name] * RATE_BINS), 10)}"] = 1.0
    has_value = "pv+" if x["has_PageValues"] else "pv-"
    for name in x:
        if "=" in name:
            out[f"{has_value}&{name}"] = 1.0
    out["mean_product_duration"] = x["ProductRelated_Duration"] - x["ProductRelated"]
    out["exit_minus_bounce"] = x["ExitRates"] - x["BounceRates"]
    return out


MONTH_SLOPES = ("PageValues", "ExitRates", "ProductRelated_Duration")  # numerics given a slope per month
PAIRED = ("PageValues", "ExitRates", "BounceRates", "ProductRelated", "ProductRelated_Duration",
          "Administrative")  # numerics multiplied two by two


def interactions(x: dict) -> dict:
    """Scaled x plus each month's own copy of MONTH_SLOPES and the products of every two of PAIRED:
    the pairs a batch gradient-boosted tree splits on most (month x page value, exit rate x product
    pages, bounce rate x page value, ...), which a linear model cannot otherwise express."""
    out = dict(x)
    for name in x:
        if name.startswith("Month="):
            for numeric in MONTH_SLOPES:
                out[f"{name}*{numeric}"] = x[numeric]
    for i, a in enumerate(PAIRED):
        for b in PAIRED[i + 1:]:
            out[f"{a}x{b}"] = x[a] * x[b]
    return out


def by_page_value(x: dict) -> dict:
    """A second copy of every (scaled) feature for sessions with a page value, so that those sessions
    get their own slopes: the linear model's way of splitting on PageValues > 0 as a tree would."""
    out = dict(x)
    if x.get("has_PageValues"):
        for name, value in x.items():
            if "&" not in name:
                out["pv+|" + name] = value
    return out


def learner(seed: int = 0):
    """The online model evaluated: engineered features, numerics standardised (one-hots are left as
    they are: River's StandardScaler would turn a feature that is only ever present as 1.0 into 0),
    month slopes and pairwise products (interactions()), a page-value segment copy, online target
    encodings of the categories, then the mean logit of a logistic regression (AdaGrad 0.05) and two
    one-hidden-layer networks (scorer.online.MLP: 32 ReLU, AdaGrad 0.05, purchases weighted 2, seeded
    from `seed` and `seed` + 100, predicting with a moving average of their weights), all three
    learning every example once.

    What was tried, full file, ROC AUC prequential / split (seed 0 unless said; seeds 0..4 where five
    figures are given), as measured on this machine:
    - StandardScaler | LogisticRegression on the features of features() (one-hots scaled to zero):
      0.872 / 0.885.
    - The same, one-hots left unscaled: 0.903 / 0.924; with one-hot bins 0.906 / 0.927; AdaGrad(0.1)
      instead of SGD(0.01): 0.910 / 0.926; Adam(0.01) instead: 0.900 / 0.914; degree-2 polynomial features: 0.897 / 0.921.
    - forest.AMFClassifier(10 trees): 0.900 / 0.910, 16 s; on scaled inputs 0.900 / 0.913;
      ARFClassifier(10) averaged with the binned linear model: 0.908 / 0.923;
      AMF averaged with it: 0.913 / 0.927, 14 s.
    - Category x has-page-value crosses (AdaGrad 0.1): 0.919 / 0.932 (seed 1: 0.920 / 0.927).
    - The previous model (AdaGrad 0.05 logistic regression, page-value segment copy, no interactions,
      no encodings, no networks), seeds 0..4: prequential 0.924 0.925 0.925 0.924 0.923,
      split 0.937 0.933 0.928 0.925 0.925, about 3 s a run.
    - Did not beat it (split, seeds 2 3 4): averaging with AMF 0.927 0.921 0.925; stacking AMF's logit
      as a feature 0.930 0.927 0.924; online bagging of 5 copies 0.927 0.925 0.924; finer rate bins and
      2-D PageValues x ExitRates bins 0.930 0.927 0.924; a three-level page-value segment 0.929 0.924 0.924.
      Random Fourier features (RBFSampler, 100 components) of the scaled numerics 0.928 0.922 0.894, 45 s;
      l2 up to 1e-2, l1 1e-4 or AdaGrad(0.07): all within 0.001 of this model.
      Five passes over the 70 % (not allowed, a diagnostic) reach only 0.928 0.927 0.927, so the
      linear model, not the single pass, is what holds seeds 3 and 4 below 0.93.
    - Ceiling, a diagnostic only (batch, many passes, not allowed): gradient-boosted trees on the
      features() columns, split seeds 0..4: depth 3, 100-200 trees, 0.939 0.937 0.933 0.932 0.931;
      depth 1 (no interactions) 0.913 on seeds 3 and 4, depth 2 0.929 0.927. The split pairs it used
      most chose interactions(). The online models below come within 0.002-0.003 of it on seeds 3 and 4.
    - Split, seeds 0..4 (all prequential figures measured were >= 0.920); "lin" is the logistic
      regression above, "mlp" the network. Until the sort in scorer.online, the networks' first weights
      followed Python's hash seed, so these figures carry about +-0.0005 of it:
      mlp alone (Adam 0.001-0.003 or AdaGrad 0.05, 16-32 hidden): 0.936-0.938 0.931-0.932 0.928-0.931
      0.925-0.926 0.924-0.927; lin + month slopes: 0.937 0.935 0.929 0.928 0.926; + TrafficType slopes
      of PageValues: worse (0.925 on seed 4); + products of PAIRED: 0.937 0.933 0.931 0.930 0.928
      (products of 8 or all numerics: worse, 0.927 / 0.925 on seed 4); lin + mlp averaged, no
      products: 0.939 0.935 0.930 0.930 0.928; with products: 0.938 0.934 0.933 0.931 0.929; with 2
      or 4 networks: seed 4 0.929-0.930; target encodings of the categories (lin alone 0.929 on seed
      4), with crossed groups, lin + 2 mlp: 0.9379 0.9341 0.9325 0.9317 0.9297; purchases weighted
      2 in the networks' training (this model): seed 4 0.9296-0.9305 over the draws of the networks'
      seeds measured, 0.9298 / 0.9299 with 4 networks.
      Did not help: iterate (Polyak) averaging of the linear weights (0.926-0.928 on seeds 2-4),
      positive weight 2-3 in the linear model, a linear skip inside the network (wide & deep, 0.9285
      on seed 4), a 64-unit or tanh network, networks on dense inputs only (0.921-0.923 on seed 4),
      a separate copy for sessions without a page value (0.928), 12 coarse 2-D bins of the GBM's pairs
      (0.929), a GaussianNB member (no change), a HoeffdingAdaptiveTree member (0.921-0.926, 8 s),
      River's FMClassifier (8 factors; 0.915-0.919 alone, 90 s a run), averaging probabilities
      instead of logits (0.9298-0.9302 on seed 4).
    - The previous model (the networks predicting with their latest weights), deterministic, seeds 0..4:
      prequential 0.9283 0.9284 0.9286 0.9273 0.9283, split 0.9387 0.9344 0.9319 0.9315 0.9297.
    - This model: the networks predict with an exponential moving average of their weights
      (scorer.online.MLP, average=0.999; 0.9995 was the one other value tried: split seed 4 0.9307,
      prequential 0.9257-0.9272), seeds 0..4: prequential 0.9282 0.9277 0.9274 0.9281 0.9273, split
      0.9387 0.9346 0.9317 0.9319 0.9306, about 10 s (prequential) and 7 s (split) a run. On split seed
      4 with three other pairs of network seeds (+1, +2, +3): 0.9312 0.9306 0.9311 averaged, against
      0.9302 0.9302 0.9304 without: the average gains a little on every draw, rather than one lucky one.
    """
    from river import compose, linear_model, optim, preprocessing

    from scorer import online

    scaled = (compose.Select(*NUMERIC) | preprocessing.StandardScaler()) + compose.Discard(*NUMERIC)
    members = [
        linear_model.LogisticRegression(optimizer=optim.AdaGrad(0.05)),
        # networks add interactions of three and more features that boosted trees find and products miss
        online.MLP(32, 0.05, seed, positive_weight=2.0, average=0.999),
        online.MLP(32, 0.05, seed + 100, positive_weight=2.0, average=0.999),
    ]
    return (
        compose.FuncTransformer(engineered)
        | scaled
        | compose.FuncTransformer(interactions)
        | compose.FuncTransformer(by_page_value)
        | online.TargetEncoded(online.LogitAverage(members), CATEGORIES)
    )
