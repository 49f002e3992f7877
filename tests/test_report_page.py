"""The report at /reports, its JSON and its CSV tables (reports/page.py): behind the console's sign-in, over the
period asked for, every table downloadable, and nothing a shopper's browser sent run as HTML or as a formula."""

import csv
import io
import time

import pytest

from dispatch import keys as dispatch_keys
from reports import hours, tables
from rules import keys as rule_keys
from rules import outcomes
from scorer import funnel
from tests.conftest import ADMIN_TOKEN
from tests.test_agent_login import sign_in

HOSTILE_PAGE = "<img src=x onerror=alert(1)>"
FORMULA = '=HYPERLINK("http://evil.test","pay here")'
DAY = 86_400


def session_end(redis, at: float, outcome: str, reached: list[str], marks=(), score: float = 0.5) -> None:
    """A session's end as the scorer records it (scorer.funnel), with the model's record of its outcome."""
    state = {"outcome": outcome, "reached": list(reached), "marks": [list(mark) for mark in marks],
             "last_seen": int(at * 1000), "score": score}
    if outcome == "purchase":
        funnel.bought(redis, state, int(at * 1000), False)
    funnel.closed(redis, state, True if outcome == "abandoned" else None)


def seed(redis, now: float | None = None) -> float:
    """A few days of figures in every section: written through the stages' own recording functions where they
    take plain arguments (scorer.funnel, rules.outcomes), else as the contract's counters (reports.hours.add)."""
    now = now or time.time()
    for day in range(3):
        at = now - day * DAY - 600
        for n in range(6):
            session_end(redis, at - n, "purchase", ["cart", "shipping", "payment", "confirmation"], score=0.15 + n / 100)
        for n in range(4):
            session_end(redis, at - 10 - n, "abandoned", ["cart", "shipping", "payment"],
                        [(HOSTILE_PAGE, "form_error", FORMULA), ("/checkout/payment", "payment_failed", "card_declined")],
                        score=0.8 - n / 100)
    session_end(redis, now - 10 * DAY, "abandoned", ["cart"])  # 10 days ago: in 30 days, not in 7
    for n in range(60):
        outcomes.settled(redis, "stuck-at-payment", False, now - 300, won=n < 30, revenue=100.0)
        outcomes.settled(redis, "stuck-at-payment", True, now - 300, won=n < 12, revenue=100.0)
    for n in range(3):
        outcomes.settled(redis, "new-rule", n == 0, now - 300, won=n == 1, revenue=50.0)
    pipe = redis.pipeline(transaction=False)
    hours.add(pipe, rule_keys.REPORT, now - 900, {"fired|stuck-at-payment|chat": 60, "held|stuck-at-payment|chat": 60,
                                                  "fired|new-rule|email": 2, "held|new-rule|email": 1})
    hours.add(pipe, dispatch_keys.REPORT, now - 900, {
        "created|stuck-at-payment|chat": 60, "offered|stuck-at-payment|chat": 60, "claimed|stuck-at-payment|chat": 50,
        "claim_seconds|stuck-at-payment|chat": 1500.0, "expired|stuck-at-payment|chat": 10,
        "converted|stuck-at-payment|chat": 20, "shift_seconds": 3 * 3600.0})
    pipe.execute()
    return now


@pytest.fixture
def signed_in(client, redis):
    seed(redis)
    answer = sign_in(client, token=ADMIN_TOKEN)
    assert answer.status_code == 302 and answer.location.endswith("/console/")
    return client


def rows_of(answer) -> list[list[str]]:
    return list(csv.reader(io.StringIO(answer.get_data(as_text=True))))


def test_a_stranger_is_sent_to_sign_in_and_the_api_refuses_her(client, redis):
    """No sign-in: the page redirects to the console's sign-in; the JSON and the CSV are 401."""
    seed(redis)
    page = client.get("/reports")
    assert page.status_code == 302 and page.location.endswith("/console/login")
    for path in ("/api/reports", "/api/reports/rules.csv", "/api/reports/friction.csv?since=30d"):
        answer = client.get(path)
        assert answer.status_code == 401, path
        assert "Bearer" in answer.get_json()["error"]


def test_the_json_holds_the_figures_of_the_period_asked_for(signed_in, client, admin):
    """since=7d leaves out the session of 10 days ago, since=30d counts it; the admin token reads the same."""
    week = signed_in.get("/api/reports?since=7d").get_json()
    month = signed_in.get("/api/reports?since=30d").get_json()
    assert week["funnel"]["sessions"] == 30 and month["funnel"]["sessions"] == 31
    assert week["until"] - week["since"] == pytest.approx(7 * DAY, abs=5)
    by_rule = {row["rule"]: row for row in week["uplift"]["by_rule"]}
    assert by_rule["stuck-at-payment"]["contacted"] == 60 and by_rule["stuck-at-payment"]["holdout_won"] == 12
    assert by_rule["new-rule"]["verdict"] == "not enough data yet"
    rules = {(row["rule"], row["channel"]): row for row in week["rules"]}
    assert rules["stuck-at-payment", "chat"]["claimed"] == 50
    assert signed_in.get("/api/reports").get_json()["funnel"] == week["funnel"]  # 7 days unless asked
    with_token = client.application.test_client().get("/api/reports?since=7d", headers=admin).get_json()
    assert with_token["funnel"] == week["funnel"]


@pytest.mark.parametrize("name", tables.NAMES)
def test_each_table_downloads_as_csv_with_its_header_row(signed_in, name):
    """Every table of the page: an attachment, a header row, then one row per row of the figures."""
    answer = signed_in.get(f"/api/reports/{name}.csv?since=30d")
    assert answer.status_code == 200
    assert answer.mimetype == "text/csv"
    assert answer.headers["Content-Disposition"] == f'attachment; filename="handrail-{name}-30d.csv"'
    rows = rows_of(answer)
    assert tuple(rows[0]) == tables.COLUMNS[name]
    figures = signed_in.get("/api/reports?since=30d").get_json()
    assert len(rows) - 1 == len(tables.rows(figures, name)) > 0


def test_the_uplift_csv_ends_with_every_rule_pooled(signed_in):
    rows = rows_of(signed_in.get("/api/reports/uplift.csv"))
    header, last = rows[0], rows[-1]
    assert last[0] == tables.OVERALL
    assert int(last[header.index("contacted")]) == 62  # 60 + new-rule's two contacted sessions


def test_a_formula_from_a_browser_is_written_as_text_in_the_csv(signed_in):
    """A form field named like a spreadsheet formula arrives quoted, so a spreadsheet shows it and runs nothing."""
    rows = rows_of(signed_in.get("/api/reports/friction.csv"))
    details = [row[rows[0].index("detail")] for row in rows[1:]]
    assert "'" + FORMULA in details
    assert not any(detail.startswith(("=", "+", "-", "@")) for detail in details)
    pages = [row[0] for row in rows[1:]]
    assert HOSTILE_PAGE in pages  # plain text in a CSV: nothing to escape there


@pytest.mark.parametrize("path", ["/api/reports?since=soon", "/api/reports/rules.csv?since=-3d"])
def test_a_bad_since_is_a_400_that_names_it(signed_in, path):
    answer = signed_in.get(path)
    assert answer.status_code == 400
    assert answer.get_json()["error"].startswith("since:")


def test_a_bad_since_on_the_page_is_a_400_that_names_it(signed_in):
    answer = signed_in.get("/reports?since=<b>soon</b>")
    assert answer.status_code == 400
    text = answer.get_data(as_text=True)
    assert "since:" in text and "<b>soon" not in text


def test_an_unknown_table_is_a_404_naming_the_tables(signed_in):
    answer = signed_in.get("/api/reports/passwords.csv")
    assert answer.status_code == 404
    assert "friction" in answer.get_json()["error"]


def test_the_page_draws_every_chart_and_shows_a_hostile_page_path_as_text(signed_in):
    """Five charts with their data, a table and a CSV link for each, the period selector, the verdict in words;
    a page path that is an HTML tag is shown as the text it is."""
    html = signed_in.get("/reports?since=30d").get_data(as_text=True)
    assert html.count("<svg class=\"chart\"") == 5
    assert html.count('class="bar s0"') >= 4  # offered by hour and drop-off by step
    assert HOSTILE_PAGE not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    for name in tables.NAMES:
        assert f'href="/api/reports/{name}.csv?since=30d"' in html
    assert 'href="/reports?since=30d" class="current"' in html and 'href="/reports?since=24h"' in html
    assert "not enough data yet" in html
    assert "card_declined" in html


def test_the_console_and_the_rules_editor_link_to_the_reports(signed_in):
    assert 'href="/reports"' in signed_in.get("/console/").get_data(as_text=True)
    assert 'href="/reports"' in signed_in.get("/rules").get_data(as_text=True)
