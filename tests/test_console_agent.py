"""The console in real Chromium, as an agent: ann signs in, is available, is offered a task and claims it."""

import pytest

from dispatch import agents, tasks
from tests.test_agent_login import PASSWORD, agent
from tests.test_tasks import decision

pytestmark = pytest.mark.browser


def test_ann_signs_in_is_offered_a_task_live_and_claims_it(browser, live_server, redis):
    """Signed in with her password, ann's header shows her available; a task made for a stuck shopper
    appears in her console by itself as offered to her; she claims it and it holds one of her chats."""
    agent(redis, skills=("chat", "vip"))
    page = browser.new_context().new_page()
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("dialog", lambda dialog: (problems.append(dialog.message), dialog.dismiss()))
    page.goto(live_server + "/console/")
    assert page.url == live_server + "/console/login"
    page.fill("#name", "ann")
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url(live_server + "/console/")
    assert page.text_content("#agent-name") == "ann" and page.input_value("#status") == "available"
    page.wait_for_function("document.getElementById('live').textContent === 'live'")

    tasks.create(redis, decision("t1", "anon-1"))  # as the dispatch job does, in another process
    card = page.locator('section[data-task="t1"]')
    card.locator(".offer").wait_for()
    assert card.locator(".offer").text_content() == "offered to you"
    assert card.locator(".badge").text_content() == "offered"
    assert card.locator(".why").text_content() == "Payment keeps failing"

    card.locator("button.claim").click()
    page.wait_for_function("document.querySelector('section[data-task=\"t1\"] .badge').textContent === 'claimed'")
    claimed = tasks.get(redis, "t1")
    assert (claimed["status"], claimed["agent"]) == ("claimed", "ann")
    assert agents.get(redis, "ann")["chats"] == 1

    page.select_option("#status", "away")
    page.wait_for_load_state()
    page.wait_for_function("document.getElementById('status').value === 'away'")
    assert agents.get(redis, "ann")["status"] == "away"
    assert problems == []
    page.context.close()
