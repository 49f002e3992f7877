"""The report as plain-text tables for the terminal (`handrail report`): the page's tables (reports.tables),
the uplift shown as an interval in points with its verdict.

Page paths, field names and element selectors come from shoppers' browsers: control characters are
dropped, so that a crafted one cannot move the cursor or recolour the terminal.
"""

import re
import time

from reports import tables

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
WIDEST = 40  # characters of a text cell shown


def render(figures: dict) -> str:
    parts = [f"Handrail report, {_moment(figures['since'])} to {_moment(figures['until'])} (UTC, by whole hours)"]
    parts.append(_uplift(figures["uplift"]))
    parts.append(_table("Rules by channel", tables.rows(figures, "rules"), tables.COLUMNS["rules"]))
    parts.append(_table("Agent load by hour of day (UTC)", tables.rows(figures, "load"), tables.COLUMNS["load"]))
    model = figures["model"]
    parts.append(f"Model: ROC AUC over the period {_number(model.get('auc_overall'))}")
    parts.append(_table("Model ROC AUC by day", tables.rows(figures, "model_auc"), tables.COLUMNS["model_auc"]))
    parts.append(_table("Model calibration", tables.rows(figures, "model_calibration"),
                        tables.COLUMNS["model_calibration"]))
    funnel = figures["funnel"]
    parts.append(f"Funnel: {funnel.get('sessions', 0)} sessions, {funnel.get('purchased', 0)} purchased")
    parts.append(_table("Funnel by checkout step", tables.rows(figures, "funnel_steps"),
                        tables.COLUMNS["funnel_steps"]))
    parts.append(_table("Friction before abandonment", tables.rows(figures, "friction"), tables.COLUMNS["friction"]))
    return "\n\n".join(parts)


def _uplift(uplift: dict) -> str:
    lines = ["Uplift: conversion of contacted sessions against the held-out ones a rule fired on (95 % interval)"]
    header = ("rule", "contacted", "won", "holdout", "won", "difference", "interval (points)", "implied revenue")
    named = [(row["rule"], row) for row in uplift["by_rule"]] + [(tables.OVERALL, uplift["overall"])]
    lines.append(_aligned(header, [_uplift_row(name, row) for name, row in named]))
    lines += [f"  {_clean(name)}: {row['verdict']}: {row['note']}" for name, row in named]
    return "\n".join(lines)


def _uplift_row(rule: str, row: dict) -> tuple:
    interval = "-" if row["low"] is None else f"{row['low'] * 100:+.1f} to {row['high'] * 100:+.1f}"
    revenue = "-" if row["implied_revenue"] is None else (
        f"{row['implied_revenue']:.2f} ({row['implied_revenue_low']:.2f} to {row['implied_revenue_high']:.2f})")
    difference = "-" if row["difference"] is None else f"{row['difference'] * 100:+.1f} points"
    return (rule, row["contacted"], row["contacted_won"], row["holdout"], row["holdout_won"], difference, interval,
            revenue)


def _table(title: str, rows: list[dict], columns: tuple) -> str:
    if not rows:
        return f"{title}: nothing recorded"
    return f"{title}\n" + _aligned(columns, [tuple(row.get(column) for column in columns) for row in rows])


def _aligned(header: tuple, rows: list[tuple]) -> str:
    shown = [tuple(_cell(value) for value in row) for row in rows]
    widths = [max(len(str(name)), *(len(row[n]) for row in shown)) for n, name in enumerate(header)]
    lines = ["  ".join(str(name).ljust(width) for name, width in zip(header, widths))]
    lines += ["  ".join(value.rjust(width) if _numeric(value) else value.ljust(width) for value, width in
                        zip(row, widths)) for row in shown]
    return "\n".join(line.rstrip() for line in lines)


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return _number(value)
    return _clean(str(value))


def _number(value) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) and not value.is_integer() else f"{value:g}"


def _numeric(text: str) -> bool:
    return bool(re.fullmatch(r"[-+]?[\d.]+( points)?", text))


def _clean(text: str) -> str:
    return _CONTROL.sub("", text)[:WIDEST]


def _moment(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(seconds))
