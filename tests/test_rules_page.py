"""The rules editor at /rules in real Chromium, against the app served over HTTP on the test Redis:
sign in, check as you type, save, history, roll back, nothing from the server run as HTML."""

import subprocess
import sys
from pathlib import Path

import pytest

from rules import store
from scorer import keys as scorer_keys
from tests.conftest import ADMIN_TOKEN
from tests.test_consumer import SHARDS, SITE, drain, event, scorer_with, to_payment
from tracker import stream

pytestmark = pytest.mark.browser

TIMEOUT = 5000  # ms for the debounced check (400 ms) and the API to answer

V1 = """\
defaults: {holdout: 0}
rules:
  - id: stuck-at-payment
    description: Payment keeps failing
    when:
      count: {event: Payment Failed, within: 5m, at_least: 2}
    action: {channel: chat, message: "Trouble paying?"}
"""
V2 = V1.replace("at_least: 2", "at_least: 3")
ROOT = Path(__file__).resolve().parent.parent
PAYLOAD = '<img src=x onerror="window.pwned=1">'


class Editor:
    """A signed-in browser tab on /rules, with what the page reported going wrong."""

    def __init__(self, page):
        self.page = page
        self.errors = []
        self.dialogs = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))

    def text(self, selector: str) -> str:
        return self.page.locator(selector).inner_text()

    def wait_text(self, selector: str, text: str) -> None:
        self.page.locator(selector, has_text=text).first.wait_for(timeout=TIMEOUT)

    def type_after(self, anchor: str, typed: str) -> None:
        """Put the caret after ``anchor`` in the YAML and type, as the owner does."""
        self.page.evaluate("""([anchor]) => {
            const area = document.getElementById('yaml'), at = area.value.indexOf(anchor) + anchor.length;
            area.focus(); area.setSelectionRange(at, at); }""", [anchor])
        self.page.keyboard.type(typed)

    def erase_before(self, anchor: str, count: int) -> None:
        self.type_after(anchor, "")
        for _ in range(count):
            self.page.keyboard.press("Backspace")

    def history(self, newest: int) -> list[str]:
        """The history's entries, once version ``newest`` is among them (the list is fetched after a save)."""
        self.page.locator(f'#history li[data-version="{newest}"]').wait_for(timeout=TIMEOUT)
        return self.page.locator("#history li").all_inner_texts()


def sign_in(page, url: str) -> None:
    """Through the console's sign-in form, as a person does."""
    page.fill("#token", ADMIN_TOKEN)
    page.click("#sign-in")
    page.wait_for_url(url + "/console/")


def open_signed_in(browser, url: str) -> Editor:
    """A tab signed in on the console's form, then on /rules."""
    page = browser.new_context().new_page()
    page.route("**/console/feed", lambda route: route.abort())  # the console's task feed is not under test here
    page.goto(url + "/console/login")
    sign_in(page, url)
    tab = Editor(page)
    page.goto(url + "/rules")
    tab.wait_text("#check-status", "valid")
    return tab


@pytest.fixture
def editor(browser, live_server, redis):
    store.save(redis, V1, "ada")
    tab = open_signed_in(browser, live_server)
    yield tab
    tab.page.context.close()
    assert tab.errors == [] and tab.dialogs == []


def test_the_page_needs_the_console_sign_in_and_links_back(browser, live_server, redis):
    """/rules sends a stranger to the console's sign-in; signed in, the Rules link of the console
    header opens the editor on the rules in force, and its Console link goes back."""
    store.save(redis, V1, "ada")
    page = browser.new_context().new_page()
    page.route("**/console/feed", lambda route: route.abort())  # the task feed is not under test here
    page.goto(live_server + "/rules")
    assert page.url == live_server + "/console/login"
    assert page.locator("#yaml").count() == 0
    sign_in(page, live_server)
    page.click("#to-rules")
    tab = Editor(page)
    tab.wait_text("#check-status", "valid: 1 rule (stuck-at-payment)")
    assert page.input_value("#yaml") == V1
    assert tab.text("#in-force") == "In force: version 1"
    assert page.locator("#save").is_disabled()  # nothing changed yet
    (entry,) = tab.history(newest=1)
    assert "v1" in entry and "ada" in entry and "in force" in entry and "stuck-at-payment" in entry
    page.click("#to-console")
    page.wait_for_url(live_server + "/console/")
    page.context.close()


def test_an_error_shows_at_its_line_and_blocks_save_until_fixed_then_saves(editor, redis):
    """Typing '5 minutes' shows the error beside line 6 and under the editor, Save disabled; fixing it
    enables Save, and saving makes version 2, in force and first in the history."""
    page = editor.page
    editor.type_after("within: 5m", "x")
    editor.wait_text(".inline-error", "'within' must be a duration like 5m, got '5mx'")
    assert page.locator('.inline-error[data-line="6"]').count() == 1
    assert page.locator('#gutter .has-error').all_inner_texts() == ["6"]
    assert editor.text("#errors") == "line 6: 'within' must be a duration like 5m, got '5mx'"
    assert page.locator("#save").is_disabled()
    assert store.version(redis) == 1  # checking saves nothing

    editor.erase_before("within: 5mx", 1)
    editor.type_after("at_least: ", "4")  # at_least: 42
    editor.wait_text("#check-status", "valid: 1 rule")
    assert page.locator(".inline-error").count() == 0 and editor.text("#errors") == ""
    page.locator("#save:enabled").click(timeout=TIMEOUT)
    editor.wait_text("#save-result", "Saved as version 2.")
    assert store.current(redis) == (2, V1.replace("at_least: 2", "at_least: 42"))
    assert editor.text("#in-force") == "In force: version 2"
    assert "v2" in editor.history(newest=2)[0] and "in force" in editor.history(newest=2)[0]
    assert page.locator("#save").is_disabled()  # saved: nothing left to save


def test_a_yaml_syntax_error_is_shown_at_its_line(editor):
    page = editor.page
    editor.type_after("rules:", " [")
    editor.wait_text(".inline-error", "not valid YAML")
    assert page.locator("#save").is_disabled()
    assert editor.text("#check-status") != ""


def test_roll_back_from_the_history_panel(editor, redis):
    """With version 2 in force, 'view' shows version 1's YAML and 'roll back' on it makes version 3
    with that YAML, in the editor, in force and noted in the history."""
    store.save(redis, V2, "bob")
    editor.page.reload()
    editor.wait_text("#in-force", "In force: version 2")
    first = editor.page.locator('#history li[data-version="1"]')
    first.locator("button.view").click()
    editor.wait_text("#version-title", "Version 1 · ada")
    assert editor.page.locator("#version-yaml").text_content() == V1
    first.locator("button.rollback").click()
    editor.wait_text("#save-result", "Rolled back to version 1: the rules in force are now version 3.")
    assert store.current(redis) == (3, V1)
    assert editor.page.input_value("#yaml") == V1
    newest = editor.history(newest=3)[0]
    assert "v3" in newest and "restores v1" in newest and "in force" in newest
    assert editor.page.locator('#history li[data-version="3"] button.rollback').is_disabled()


def test_markup_in_the_rules_and_in_errors_shows_as_text_and_runs_nothing(browser, live_server, redis):
    """A description holding an <img onerror> tag and an id echoing one in its error message are shown
    as the characters typed: no element is made from them and their script never runs."""
    store.save(redis, V1.replace("Payment keeps failing", PAYLOAD), "mallory")
    tab = open_signed_in(browser, live_server)
    page = tab.page
    assert PAYLOAD in page.input_value("#yaml")
    assert PAYLOAD in page.locator("#backdrop").inner_text()
    tab.type_after("id: stuck-at-payment", "<img src=y onerror=window.pwned=2>")
    tab.wait_text("#errors", "'id' must be")
    assert "<img src=y onerror=window.pwned=2>" in tab.text("#errors")
    assert "<img src=y onerror=window.pwned=2>" in page.locator(".inline-error").inner_text()
    page.locator('#history li[data-version="1"] button.view').click()
    tab.wait_text("#version-yaml", PAYLOAD)
    page.wait_for_timeout(300)  # an injected image would have failed to load and fired by now
    assert page.locator("img").count() == 0
    assert page.evaluate("window.pwned") is None
    assert tab.errors == [] and tab.dialogs == []
    page.context.close()


@pytest.fixture
def replay_worker(redis_server, tmp_path):
    """The replay queue's own RQ worker, as `handrail run` starts it; its log in the test's tmp_path."""
    with open(tmp_path / "replay-worker.log", "wb") as log:
        worker = subprocess.Popen([sys.executable, "-m", "rq.cli", "worker", "--url", redis_server.url,
                                   "--serializer", "json", scorer_keys.REPLAY_QUEUE], cwd=ROOT, stdout=log, stderr=log)
    yield worker
    worker.terminate()
    worker.wait(10)


def record_shoppers(redis) -> None:
    """Three shoppers through the real scorer, recorded: one fails to pay twice and is still there, one
    fails twice and then buys, one buys without trouble."""
    scorer = scorer_with(redis, [], V1)
    failed = event("Payment Failed", {"reason": "card declined"})
    for shopper, tail in (("stays", []), ("buys-after", ["Order Completed"]), ("buys", None)):
        messages = to_payment(shopper=shopper)
        if tail is not None:
            messages += [dict(failed, anonymousId=shopper, messageId=f"{shopper}-f{n}") for n in range(2)]
        if tail != []:
            messages.append(event("Order Completed", {"revenue": 120}, shopper=shopper))
        stream.append(redis, SITE, messages, SHARDS)
    drain(scorer)


def test_try_on_history_replays_the_draft_and_shows_each_rule(editor, redis, replay_worker):
    """The draft in the editor is replayed over the recorded sessions by the real replay worker: a
    progress bar, then per rule the sessions it fired on and how they ended, with the moments."""
    record_shoppers(redis)
    page = editor.page
    page.select_option("#since", "1h")
    page.click("#replay")
    editor.page.locator("#replay-status", has_text="Finished").wait_for(timeout=30_000)
    assert page.locator("#replay-progress").is_visible()
    assert page.evaluate("document.getElementById('replay-progress').value") == 1
    assert "Sessions replayed: 3" in editor.text("#replay-summary")
    row = page.locator('#replay-rows tr[data-rule="stuck-at-payment"]')
    cells = row.locator("td").all_inner_texts()
    assert cells[:5] == ["stuck-at-payment", "2", "1", "0", "0"]  # fired on 2; 1 bought, the other is still there
    assert cells[6].startswith("2 moments")
    row.locator("summary").click()
    moments = row.locator(".moments li").all_inner_texts()
    assert len(moments) == 2 and all("Payment Failed 2 times in 5m" in m for m in moments)
    assert sorted(m.split(" · ")[1] for m in moments) == ["buys-after", "stays"]
    assert page.locator("#replay").is_enabled()
    assert page.locator("#outreach-table").is_hidden()  # the draft has no outreach rules


def test_try_on_history_tells_how_many_customers_each_outreach_rule_would_reach(editor, redis, replay_worker, site):
    """A draft with outreach rules: the replay shows, per outreach rule, the customers it would have reached
    in the period (a cart left two days ago; not a month ago)."""
    from tests.test_outreach import RULES as WITH_OUTREACH, cart_left_days_ago

    for user, days in (("u-1", 2), ("u-2", 30)):
        cart_left_days_ago(redis, site["id"], user, days)
    page = editor.page
    page.fill("#yaml", WITH_OUTREACH)
    page.select_option("#since", "7d")
    page.click("#replay")
    page.locator("#replay-status", has_text="Finished").wait_for(timeout=30_000)
    cells = page.locator('#outreach-rows tr[data-outreach="cart-left-yesterday"] td').all_inner_texts()
    assert cells == ["cart-left-yesterday", "1", "1 by email"]
    assert page.locator('#outreach-rows tr[data-outreach="beans-due"] td').all_inner_texts() == ["beans-due", "0",
                                                                                                  "none"]


def test_a_draft_with_errors_is_not_replayed_and_says_why(editor, replay_worker):
    editor.type_after("within: 5m", "x")
    editor.wait_text("#errors", "'within'")
    editor.page.click("#replay")
    editor.wait_text("#replay-status", "The draft cannot be tried")
    assert "rules.yaml:6: 'within' must be a duration like 5m, got '5mx'" in editor.text("#replay-errors")
    assert editor.page.locator("#replay-table").is_hidden()


def test_try_on_history_says_when_the_server_has_no_replay(editor):
    """A web process without the replay API (an older one, mid-upgrade) answers 404: the page says so
    plainly. The 404 is given by the browser here, since this server has the API."""
    editor.page.route("**/api/rules/replay", lambda route: route.fulfill(
        status=404, content_type="application/json", body='{"error": "not found"}'))
    editor.page.click("#replay")
    editor.wait_text("#replay-status", "replay is not available on this server")
    assert editor.page.locator("#replay").is_enabled()
    assert editor.page.locator("#replay-table").is_hidden()
