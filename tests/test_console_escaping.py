"""What a shopper's browser sent is shown as text in the agent's console: a page title, event properties
and chat messages carrying markup appear literally, and nothing in them runs."""

import pytest

from dispatch import chat, tasks
from tests.conftest import ADMIN_TOKEN
from tests.test_tasks import decision

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=window.pwned=1>"


def test_markup_from_the_shopper_shows_as_text_in_the_card_and_the_chat(browser, live_server, redis):
    """A title, a product name, a form error and a chat message with an <img onerror> show as typed."""
    page = browser.new_context().new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(live_server + "/console/login")
    page.fill("#token", ADMIN_TOKEN)
    page.click("#sign-in")
    page.wait_for_selector("#live:text('live')")

    made = decision("t-xss", "anon-x")
    made["evidence"] = ["Form Error on card: " + XSS]
    made["context"] = {"step": "payment" + XSS, "cart": {"value": 10, "items": [
        {"name": "Mug " + XSS, "quantity": 1, "price": 10}]},
        "timeline": [{"at": 1_700_000_000_000, "what": "Page Viewed", "detail": "Checkout " + XSS}]}
    tasks.create(redis, made)
    card = page.locator('section[data-task="t-xss"]')
    card.locator("button.claim").click()
    card.locator(".chat").wait_for()
    chat.add(redis, tasks.get(redis, "t-xss"), chat.SHOPPER, "help " + XSS)
    card.locator(".chat-log li").wait_for()

    text = card.inner_text()
    for shown in ("Checkout " + XSS, "Mug " + XSS, "Form Error on card: " + XSS, "help " + XSS, "payment" + XSS):
        assert shown in text
    assert card.locator("img").count() == 0
    page.wait_for_timeout(300)  # an image error handler would have run by now
    assert page.evaluate("window.pwned") is None and dialogs == []
    page.context.close()
