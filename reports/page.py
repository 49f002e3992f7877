"""The product owner's report at /reports: the figures as charts and tables, each table also as CSV.

Drawn on the server (SVG geometry from reports/charts.py): no script, no chart library, nothing from a CDN.
The page shares the console's sign-in as the rules editor does; /api/reports* are /api/ routes, so the admin token
or a console session lets them through (handrail/auth.py).
"""

import re
import time

from flask import Blueprint, Response, abort, current_app, jsonify, redirect, render_template, request, url_for

from reports import charts, figures, tables, uplift

bp = Blueprint("reports_page", __name__, template_folder="templates")

PERIODS = ("24h", "7d", "30d")  # the page's period selector; any value parse_since takes works in the URL
DEFAULT_SINCE = "7d"
FULL_WIDTH = 1000  # px: the load by hour takes the page's width (24 groups of bars)
HALF_WIDTH = 480  # px: the model's two charts share a row
CHART_RULES = 12  # rules drawn in the uplift chart; more make it a wall of whiskers


def _collect() -> tuple[str, dict]:
    """The period asked for (``since``) and the figures over it; a bad value is a 400 naming the parameter."""
    raw = request.args.get("since", DEFAULT_SINCE)
    try:
        since = figures.parse_since(raw)
    except ValueError as error:
        abort(400, f"since: {error}")
    return raw, figures.collect(current_app.extensions["redis"], since)


@bp.get("/reports")
def page():
    if current_app.extensions["console_actor"](current_app.extensions["redis"]) is None:
        return redirect(url_for("console.login"))
    since, found = _collect()
    return render_template("reports/reports.html", figures=found, since=since, periods=PERIODS,
                           charts=drawings(found), tables=tables, chart_rules=CHART_RULES, enough=uplift.ENOUGH,
                           pct=_percent, pts=_points, money=_money, num=_number, moment=_moment)


@bp.get("/api/reports")
def figures_json():
    return jsonify(_collect()[1])


@bp.get("/api/reports/<name>.csv")
def table_csv(name: str):
    if name not in tables.NAMES:
        abort(404, f"table: no table {name!r}; the tables are {', '.join(tables.NAMES)}")
    since, found = _collect()
    filename = f"handrail-{name}-{re.sub(r'[^0-9A-Za-z-]', '', since)[:24]}.csv"
    return Response(tables.as_csv(found, name), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def drawings(found: dict) -> dict:
    """Each chart of the page, from the figures."""
    effect, funnel, model, load = found["uplift"], found["funnel"], found["model"], found["load"]
    hours = [f"{row['hour']:02d}" for row in load]
    return {
        "uplift": charts.intervals([_interval("all rules", effect["overall"])]
                                   + [_interval(row["rule"], row) for row in _most_evidence(effect["by_rule"])]),
        "load": charts.bars(hours, [(name, [row[name] for row in load]) for name in ("offered", "claimed", "expired")],
                            line=("agents on shift", [row["agents_on_shift"] for row in load]), width=FULL_WIDTH),
        "auc": charts.line([row["day"][5:] for row in model["auc"]], [row["auc"] for row in model["auc"]],
                           "ROC AUC", reference=("chance", 0.5), width=HALF_WIDTH),
        "calibration": charts.calibration(model["calibration"]),
        "funnel": charts.bars([row["step"] for row in funnel["steps"]],
                              [("drop-off", [row["drop_off"] for row in funnel["steps"]])], percent=True),
    }


def _most_evidence(by_rule: list[dict]) -> list[dict]:
    """The rules with the most sessions behind their figure, at most CHART_RULES (the table has them all)."""
    return sorted(by_rule, key=lambda row: -(row["contacted"] + row["holdout"]))[:CHART_RULES]


def _interval(label: str, figures_of: dict) -> dict:
    return {"label": label, "difference": figures_of.get("difference"), "low": figures_of.get("low"),
            "high": figures_of.get("high"), "enough": figures_of.get("verdict") == uplift.ENOUGH}


def _percent(value) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def _points(value) -> str:
    return "–" if value is None else f"{value * 100:+.1f} pts"


def _money(value) -> str:
    return "–" if value is None else f"{value:,.2f}"


def _number(value) -> str:
    if value is None:
        return "–"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def _moment(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(epoch))
