"""The whole story in two real Chromium pages against `handrail run --demo` (real scorer, real RQ
worker): a shopper stuck at payment is invited, accepts, chats with the agent both ways, and the agent
closes the task as converted, the shopper then completes the order, and it is credited to the task."""

import re
import time

import pytest

from tests.service import Service
from tests.test_shop_browser import agent_and_shopper, stuck_at_payment

pytestmark = pytest.mark.browser

WAIT = 20_000  # ms for what crosses the scorer, the worker and the inbox


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    running = Service(tmp_path_factory.mktemp("e2e") / "var", "--demo").start()
    yield running
    running.stop()


def test_stuck_shopper_is_invited_chats_with_the_agent_and_the_task_closes_converted(service, browser):
    """Invitation in the shop, accepted; one message each way, shown on both sides as sent; the agent
    closes the task as converted and the transcript stays on the task."""
    agent, page, anonymous_id = agent_and_shopper(browser, service)
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    stuck_at_payment(page, service.url)

    page.locator("#hr-invite").wait_for(timeout=WAIT)
    page.click("#hr-invite-accept")
    page.fill("#hr-chat-text", "My card keeps failing")
    page.click("#hr-chat-send")
    page.locator("#hr-chat-log .hr-shopper").wait_for()

    card = agent.locator(f'section[data-anonymous-id="{anonymous_id}"]')
    card.locator("button.claim").click(timeout=WAIT)
    shopper_line = card.locator(".chat-log .chat-shopper")
    shopper_line.wait_for(timeout=WAIT)
    assert shopper_line.inner_text().endswith("shopper: My card keeps failing")
    card.locator(".chat-text").fill("Try the card ending 4242, it works here")
    card.locator(".chat-send").click()

    agent_line = page.locator("#hr-chat-log .hr-agent")
    agent_line.wait_for(timeout=WAIT)
    assert agent_line.inner_text() == "Try the card ending 4242, it works here"

    card.locator("button.close-converted").click()
    agent.locator(f'section[data-anonymous-id="{anonymous_id}"].closed').wait_for(timeout=WAIT)
    assert card.locator(".actions").inner_text() == "closed: converted"
    task_id = card.get_attribute("data-task")
    task = next(t for t in service.api("/api/tasks")["tasks"] if t["id"] == task_id)
    assert (task["status"], task["outcome"]) == ("closed", "converted")
    transcript = service.api(f"/api/tasks/{task_id}/chat")["transcript"]
    assert [(m["who"], m["text"]) for m in transcript] == [
        ("shopper", "My card keeps failing"), ("agent", "Try the card ending 4242, it works here")]

    # The shopper pays with another card: the order is credited to the task.
    page.fill("#card-number", "4242 4242 4242 4242")
    page.click("#pay")
    page.wait_for_url(re.compile(r".*/order/"))
    order_id = page.url.rsplit("/", 1)[-1]
    deadline = time.monotonic() + WAIT / 1000
    while time.monotonic() < deadline:
        task = service.api(f"/api/tasks/{task_id}")
        if task.get("credited"):
            break
        time.sleep(0.3)
    assert task["credited"]["order_id"] == order_id and task["credited"]["revenue"] > 0
    assert problems == []
