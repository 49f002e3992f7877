"""The report's tables, flat (columns and rows) as the page and its CSV exports show them.

Text in these tables comes from shoppers' browsers (page paths, field names, element selectors) or from rule ids:
a spreadsheet would run a cell starting with = + - @ as a formula, so such text is written with a leading quote.
"""

import csv
import io

OVERALL = "(all rules)"  # the uplift row of every rule pooled; rule ids cannot hold spaces or brackets
UPLIFT_COLUMNS = ("contacted", "contacted_won", "holdout", "holdout_won", "rate_contacted", "rate_holdout",
                  "difference", "low", "high", "revenue_per_won", "implied_revenue", "implied_revenue_low",
                  "implied_revenue_high", "verdict", "note")
COLUMNS = {
    "rules": ("rule", "channel", "fired", "held_out", "created", "offered", "claimed", "converted", "expired",
              "redeemed", "claim_seconds_mean"),
    "uplift": ("rule",) + UPLIFT_COLUMNS,
    "load": ("hour", "offered", "claimed", "expired", "agents_on_shift"),
    "model_auc": ("day", "auc", "sessions"),
    "model_calibration": ("low", "high", "predicted", "observed", "sessions"),
    "funnel_steps": ("step", "reached", "abandoned", "drop_off"),
    "friction": ("page", "kind", "detail", "sessions", "abandoned", "abandon_rate"),
}
NAMES = tuple(COLUMNS)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP's list: what makes a spreadsheet read a cell as a formula


def rows(figures: dict, name: str) -> list[dict]:
    """The rows of table ``name`` from collect()'s figures."""
    if name == "rules":
        return figures["rules"]
    if name == "uplift":
        uplift = figures["uplift"]
        return [*uplift["by_rule"], {**uplift["overall"], "rule": OVERALL}]
    if name == "load":
        return figures["load"]
    if name == "model_auc":
        return figures["model"]["auc"]
    if name == "model_calibration":
        return figures["model"]["calibration"]
    if name == "funnel_steps":
        return figures["funnel"]["steps"]
    if name == "friction":
        return figures["funnel"]["friction"]
    raise KeyError(name)


def as_csv(figures: dict, name: str) -> str:
    """Table ``name`` as CSV with a header row; a missing figure is an empty cell."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS[name])
    for row in rows(figures, name):
        writer.writerow([_cell(row.get(column)) for column in COLUMNS[name]])
    return out.getvalue()


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value  # numbers stay numbers: a negative difference is a figure, not a formula
