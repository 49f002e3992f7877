"""The console's customer search (dispatch/static/console.js over GET /api/customers/lookup): an agent
taking a call types the number as the caller says it and sees who it is, the cart they left, what went
wrong, an offer, their orders and past chats; text from shoppers' browsers shows as text."""

import time

import pytest

from dispatch import chat, customers, tasks
from tests.conftest import ADMIN_TOKEN
from tests.test_tasks import decision

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=window.pwned=1>"


def signed_in_console(browser, live_server):
    page = browser.new_context().new_page()
    page.goto(live_server + "/console/login")
    page.fill("#token", ADMIN_TOKEN)
    page.click("#sign-in")
    page.wait_for_selector("#live:text('live')")
    return page


@pytest.fixture
def ann(redis, site):
    """Ann: signed in once with her phone, left a cart at payment after a declined card, ordered twice before,
    and chatted with an agent about an earlier order."""
    now = time.time()
    customers.remember(redis, site["id"], "u-ann", {"first_name": "Ann " + XSS, "phone": "+44 20 7946 0958",
                                                    "vip": True}, "anon-ann", now - 7200)
    for n, days in enumerate((40, 12)):
        customers.record_order(redis, site["id"], "u-ann", {"order_id": f"o-{n}", "revenue": 30.0 + n,
                                                           "at": now - days * 86400})
    customers.left(redis, site["id"], "u-ann", {
        "at": now - 3600, "step": "payment", "anonymous_id": "anon-ann",
        "cart": {"value": 59.0, "count": 1, "items": [{"name": "Kettle " + XSS, "quantity": 1, "price": 59.0}]},
        "trouble": [{"at": int((now - 3700) * 1000), "what": "Payment Failed", "detail": "card_declined " + XSS}]})
    made = dict(decision("t-ann", "anon-old"), user_id="u-ann", site=site["id"])
    tasks.create(redis, made)
    chat.add(redis, tasks.get(redis, "t-ann"), chat.SHOPPER, "where is my order " + XSS)
    return site


def test_the_agent_finds_a_caller_by_the_number_as_said_and_sees_their_cart_trouble_and_history(
        browser, live_server, redis, ann):
    page = signed_in_console(browser, live_server)
    page.select_option("#find-kind", "phone")
    page.fill("#find-value", "020 7946 0958")
    page.click("#find")
    found = page.locator(".customer-found")
    found.wait_for()
    text = found.inner_text()
    assert "Ann " + XSS in text and "vip" in text
    assert "Kettle " + XSS in text and "59.00 EUR" in text
    assert "Payment Failed: card_declined " + XSS in text and "step payment" in text.lower()
    assert found.locator(".suggested-offer").inner_text().strip()
    assert found.locator(".past-orders li").count() == 2
    assert "where is my order " + XSS in found.locator(".past-tasks").inner_text()
    assert found.locator("img").count() == 0
    page.wait_for_timeout(300)  # an image error handler would have run by now
    assert page.evaluate("window.pwned") is None
    page.context.close()


def test_an_unknown_number_and_a_bad_one_say_so(browser, live_server, redis, ann):
    page = signed_in_console(browser, live_server)
    page.fill("#find-value", "020 7946 0000")
    page.click("#find")
    page.locator(".find-error").wait_for()
    assert "No customer with phone" in page.locator("#found").inner_text()
    page.fill("#find-value", "not a number")
    page.click("#find")
    page.wait_for_function("document.querySelector('.find-error') && "
                           "!document.querySelector('.find-error').textContent.includes('No customer')")
    assert "phone" in page.locator(".find-error").inner_text()
    assert page.locator(".customer-found").count() == 0
    page.context.close()
