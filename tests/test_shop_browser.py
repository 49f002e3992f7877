"""End to end in real Chromium: a shopper stuck at payment in the demo shop reaches an agent."""

import re

import pytest

from tests.service import Service
from tests.test_run import _shopper_not_held_out

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    running = Service(tmp_path_factory.mktemp("shop") / "var", "--demo").start()
    yield running
    running.stop()


def agent_and_shopper(browser, service):
    """The admin's console, signed in and live, and a shop page of a shopper outside the holdout (10 %, which
    could hide them): (agent page, shop page, the shopper's anonymous id)."""
    anonymous_id = _shopper_not_held_out()
    agent = browser.new_context().new_page()
    agent.goto(service.url + "/console/")
    agent.fill("#token", service.token)
    agent.click("#sign-in")
    agent.wait_for_selector("#live:text('live')")
    shop = browser.new_context()
    shop.add_init_script(f"localStorage.setItem('hr_aid', '{anonymous_id}')")
    return agent, shop.new_page(), anonymous_id


def stuck_at_payment(page, url: str) -> None:
    """A shopper in the demo shop: the espresso machine in the cart, delivery details, then a card
    declined twice at payment."""
    page.goto(url + "/shop/")
    page.click("#add-espresso-machine")
    page.click("#cart-link")
    page.click("#checkout")
    page.fill("#name", "Ada Shopper")
    page.fill("#email", "ada@example.com")
    page.fill("#address", "1 High Street")
    page.click("#shipping-continue")
    page.wait_for_url(re.compile(r".*/checkout/payment"))
    for _ in range(2):
        page.fill("#card-number", "4000 0000 0000 0002")
        page.click("#pay")
        page.wait_for_selector("#payment-error:not([hidden])")


def test_payment_failing_twice_pops_a_task_and_invites_the_shopper(service, browser):
    """Add to cart, reach payment, fail twice: the open console shows the task, without a reload, with
    the cart value and the rule, and the chat invitation appears in the shop page."""
    agent, page, anonymous_id = agent_and_shopper(browser, service)
    stuck_at_payment(page, service.url)

    card = agent.locator(f'section[data-anonymous-id="{anonymous_id}"]')
    card.wait_for(timeout=20_000)
    assert "Payment keeps failing" in card.inner_text()
    assert "stuck-at-payment" in card.inner_text()
    assert card.locator(".cart-value").inner_text() == "349.00 EUR"
    assert card.locator(".step").inner_text() == "payment"
    assert "Payment Failed 2 times in 5m" in card.locator(".evidence").inner_text()

    invite = page.locator("#hr-invite")
    invite.wait_for(timeout=20_000)
    assert "Trouble paying? We can help right now." in invite.inner_text()

    card.locator("button.claim").click()
    agent.locator(f'section[data-anonymous-id="{anonymous_id}"].claimed').wait_for(timeout=10_000)
    page.context.close()
    agent.context.close()


def test_console_needs_the_admin_token(service, browser):
    """A wrong token is refused with a message; the task list is not shown."""
    page = browser.new_page()
    page.goto(service.url + "/console/")
    page.fill("#token", "not-the-token")
    page.click("#sign-in")
    assert page.locator("#login-error").inner_text() == "Sign-in failed."
    assert page.locator("#tasks").count() == 0
    page.close()
