"""The chat invitation in real Chromium: posted into the visitor inbox, it reaches the open page over
SSE; only then is the widget loaded, and it shows the invitation; the answer is tracked at once and
an answered invitation is not shown again in this tab."""

import pytest

from dispatch import chat, tasks
from tests.test_snippet_pages import collector, pages, shopper  # noqa: F401  (fixtures)
from tests.test_tasks import decision
from tracker import inbox, sites

pytestmark = pytest.mark.browser

WIDGET_TIMEOUT = 5000  # ms for an invitation to reach the page and show


def invite(shopper, task_id: str, text: str) -> None:
    anonymous_id = shopper.page.evaluate("localStorage.hr_aid")
    inbox.post(shopper.redis, anonymous_id, {"type": "invite", "task_id": task_id, "text": text})


def widget_requests(shopper) -> list:
    return [r for r in shopper.requests if r.url.endswith("/hr-widget.js")]


def test_an_invitation_loads_the_widget_and_shows_as_text(shopper):
    """No widget is loaded until an invitation arrives; then it shows, its text as text, never HTML."""
    shopper.open("basic.html")
    shopper.settle()
    assert widget_requests(shopper) == []
    invite(shopper, "task-1", "Need a hand? <img src=x onerror=alert(1)>")
    box = shopper.page.locator("#hr-invite")
    box.wait_for(timeout=WIDGET_TIMEOUT)
    assert box.locator("p").inner_text() == "Need a hand? <img src=x onerror=alert(1)>"
    assert box.locator("img").count() == 0
    assert shopper.page.locator("#hr-invite-accept").inner_text() == "Chat now"
    assert len(widget_requests(shopper)) == 1
    assert not shopper.errors


def test_accepting_is_tracked_at_once_and_not_shown_again_in_this_tab(shopper):
    """Accept: Invite Accepted with the task id arrives without waiting for the batch; the next page
    does not show the same invitation again, while a new one still shows."""
    shopper.open("basic.html")
    invite(shopper, "task-2", "Trouble paying?")
    shopper.page.locator("#hr-invite-accept").click(timeout=WIDGET_TIMEOUT)
    assert shopper.page.locator("#hr-invite").count() == 0
    shopper.wait(lambda found: any(m.get("event") == "Invite Accepted" for m in found), "the answer", clock=False)
    assert shopper.tracked("Invite Accepted") == [{"task_id": "task-2"}]
    shopper.follow("#to-form", "form.html")  # the inbox replays the last minute to a new page
    invite(shopper, "task-3", "Still there?")
    shopper.page.locator("#hr-invite").wait_for(timeout=WIDGET_TIMEOUT)
    assert shopper.page.locator("#hr-invite p").inner_text() == "Still there?"


def test_dismissing_is_tracked_with_the_task_id(shopper):
    """Dismiss: the box goes and Invite Dismissed is tracked with the task id."""
    shopper.open("basic.html")
    invite(shopper, "task-4", "Can we help?")
    shopper.page.locator("#hr-invite-dismiss").click(timeout=WIDGET_TIMEOUT)
    assert shopper.wait_for("Invite Dismissed") == [{"task_id": "task-4"}]
    assert shopper.page.locator("#hr-invite").count() == 0


def test_accepting_opens_the_chat_and_messages_flow_both_ways_as_text(shopper):
    """Accept: the chat panel opens; what the shopper sends is kept on the task; the agent's answer
    arrives through the inbox; both show as text, markup and all, and no script runs."""
    shopper.open("basic.html")
    anonymous_id = shopper.page.evaluate("localStorage.hr_aid")
    site_id = sites.lookup(shopper.redis, shopper.pages.write_key)["id"]
    task, _ = tasks.create(shopper.redis, {**decision("task-5", anonymous_id), "site": site_id})
    invite(shopper, "task-5", "Trouble paying?")
    shopper.page.locator("#hr-invite-accept").click(timeout=WIDGET_TIMEOUT)
    shopper.page.locator("#hr-chat").wait_for()
    shopper.page.fill("#hr-chat-text", "<img src=x onerror=window.pwned=1> my card fails")
    shopper.page.click("#hr-chat-send")
    shopper.page.locator("#hr-chat-log .hr-shopper").wait_for(timeout=WIDGET_TIMEOUT)
    assert [m["text"] for m in chat.transcript(shopper.redis, "task-5")] == ["<img src=x onerror=window.pwned=1> my card fails"]
    assert shopper.page.input_value("#hr-chat-text") == ""

    tasks.claim(shopper.redis, "task-5", "admin")
    chat.add(shopper.redis, tasks.get(shopper.redis, "task-5"), chat.AGENT, "Try <b>another</b> card", name="ann")
    agent_line = shopper.page.locator("#hr-chat-log .hr-agent")
    agent_line.wait_for(timeout=WIDGET_TIMEOUT)
    assert agent_line.inner_text() == "Try <b>another</b> card"
    assert shopper.page.locator("#hr-chat-log").inner_text().count("my card fails") == 1
    assert shopper.page.locator("#hr-chat img, #hr-chat b").count() == 0
    assert shopper.page.evaluate("window.pwned") is None and not shopper.errors


def test_a_too_long_message_is_refused_with_the_reason_shown(shopper):
    """The server's refusal is shown in the panel, and the shopper's text stays in the box to fix."""
    shopper.open("basic.html")
    anonymous_id = shopper.page.evaluate("localStorage.hr_aid")
    site_id = sites.lookup(shopper.redis, shopper.pages.write_key)["id"]
    tasks.create(shopper.redis, {**decision("task-6", anonymous_id), "site": site_id})
    invite(shopper, "task-6", "Trouble paying?")
    shopper.page.locator("#hr-invite-accept").click(timeout=WIDGET_TIMEOUT)
    # The box caps what can be typed; a page script can still set more, which the server refuses.
    shopper.page.evaluate("document.getElementById('hr-chat-text').value = 'x'.repeat(1001)")
    shopper.page.click("#hr-chat-send")
    error = shopper.page.locator("#hr-chat-error")
    shopper.page.wait_for_function("document.getElementById('hr-chat-error').textContent != ''")
    assert error.inner_text() == "Not sent: text: at most 1000 characters, got 1001"
    assert chat.transcript(shopper.redis, "task-6") == []
