"""The report at /reports in real Chromium, over HTTP on the test Redis with seeded figures: signed in through the
console's form, the charts drawn with their data, a table downloaded as CSV, the period changed; no errors."""

import pytest

from tests.test_report_page import HOSTILE_PAGE, seed
from tests.test_rules_page import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def report(browser, live_server, redis):
    """A signed-in tab on /reports, with what the page reported going wrong."""
    seed(redis)
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    problems = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}")
            if message.type in ("error", "warning") else None)
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.route("**/console/feed", lambda route: route.abort())  # the console's task feed is not under test here
    page.goto(live_server + "/console/login")
    sign_in(page, live_server)
    page.click("#to-reports")
    page.wait_for_url(live_server + "/reports")
    problems.clear()  # the console's aborted feed is its own affair: what counts is what the report does
    yield page, problems
    context.close()


def test_the_charts_are_drawn_with_the_figures_and_nothing_goes_wrong(report):
    page, problems = report
    assert page.locator("svg.chart").count() == 5
    drop_off = page.locator("#funnel svg.chart rect.bar")
    assert drop_off.count() == 4  # cart, shipping, payment, confirmation: every abandoned session left at payment
    assert [float(value) for value in drop_off.evaluate_all("bars => bars.map(b => b.dataset.value)")] == \
        pytest.approx([0.0, 0.0, 12 / 30, 0.0])
    box = drop_off.nth(2).bounding_box()
    assert box["height"] > 20  # drawn at a size a person sees, not collapsed
    assert page.locator("#load svg.chart rect.bar").count() > 0
    assert page.locator("#load svg.chart circle.dot").count() == 24  # agents on shift, every hour of the day
    assert page.locator("#auc svg.chart circle.dot").count() >= 1
    assert page.locator("#calibration svg.chart circle.dot").count() >= 2
    assert page.locator("#uplift svg.chart circle.point").count() == 3  # all rules, and each of the two rules
    assert page.locator("#uplift svg.chart text.verdict", has_text="not enough data yet").count() >= 1
    friction = page.locator("#table-friction").inner_text()
    assert HOSTILE_PAGE in friction  # shown as text...
    assert page.evaluate("document.querySelectorAll('main img').length") == 0  # ...never made an element
    assert problems == []


def test_a_table_downloads_as_csv_and_the_period_changes(report, live_server):
    page, problems = report
    with page.expect_download() as download:
        page.click("#friction a.csv")
    saved = download.value
    assert saved.suggested_filename == "handrail-friction-7d.csv"
    with open(saved.path()) as downloaded:
        lines = downloaded.read().splitlines()
    assert lines[0] == "page,kind,detail,sessions,abandoned,abandon_rate" and len(lines) > 1
    page.click(".periods a:text-is('30d')")
    page.wait_for_url(live_server + "/reports?since=30d")
    assert page.locator(".periods a.current").inner_text() == "30d"
    assert "31 sessions ended" in page.locator("#funnel").inner_text()
    assert problems == []
