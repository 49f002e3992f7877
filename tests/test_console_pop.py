"""The screen pop in real Chromium: a real scorer decides, a real RQ worker makes the task, ann claims it and
sees the customer, cart, step, rule, evidence and a first line; the timeline grows while the shopper acts."""

import pytest

from dispatch import customers
from handrail.scorer_process import callbacks
from rules import store
from scorer.consumer import Scorer
from tests.channel_jobs import work
from tests.test_agent_login import PASSWORD, agent
from tests.test_consumer import SHARDS, SITE, STUCK_AT_PAYMENT, drain, event, failing, identify
from tracker import stream

pytestmark = pytest.mark.browser

HOSTILE = '<img src=x onerror="window.pwned=1">'


def test_ann_claims_a_task_and_the_pop_shows_the_shopper_live(browser, live_server, redis):
    """Claimed, the card pops the customer (with their past order), the suggested line naming the failed
    payment, and the cart, step, rule and evidence; a page the shopper opens after shows up in the timeline."""
    store.save(redis, STUCK_AT_PAYMENT, "test")
    scorer = Scorer(redis, SHARDS, name="test-scorer", **callbacks(redis))
    scorer.ensure_groups()
    agent(redis, status="available")
    customers.record_order(redis, SITE, "u-anon-1", {"order_id": "A-77", "revenue": 42.0, "at": 1700000000.0})

    page = browser.new_context().new_page()
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("dialog", lambda dialog: (problems.append(dialog.message), dialog.dismiss()))
    page.goto(live_server + "/console/login")
    page.fill("#name", "ann")
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url(live_server + "/console/")
    page.wait_for_function("document.getElementById('live').textContent === 'live'")

    stream.append(redis, SITE, [identify({"first_name": HOSTILE, "vip": True})] + failing(), SHARDS)
    drain(scorer)
    work(redis)
    card = page.locator("section.task")
    card.locator("button.claim").click()
    card.locator(".pop .suggested-line").wait_for()

    assert card.locator(".suggested-line").text_content() == (
        f"Hi {HOSTILE.split(' ')[0]}! I see the card payment didn't go through — shall I help you finish your order of Boots?")
    assert card.locator(".segments").text_content() == "segments: member, vip"
    assert f"first_name: {HOSTILE}" in card.locator(".traits").text_content()
    assert "A-77 · 42.00 EUR" in card.locator(".past-orders").text_content()
    assert card.locator(".past-tasks").text_content() == "none"
    assert card.locator(".cart-value").text_content() == "120.00 EUR"
    assert card.locator(".step").text_content() == "payment"
    assert "rule stuck-at-payment" in card.locator(".task-head").text_content()
    assert card.locator(".evidence").text_content().startswith("step is paymentPayment Failed 2 times in 5m")
    assert page.evaluate("window.pwned") is None and page.locator(".pop img").count() == 0

    timeline = card.locator(".timeline li")
    before = timeline.count()
    stream.append(redis, SITE, [event("Coupon Entered", {"coupon": "SAVE10"})], SHARDS)
    drain(scorer)
    page.wait_for_function("document.querySelectorAll('section.task .timeline li').length > %d" % before, timeout=10000)
    assert "Coupon Entered" in timeline.first.text_content()  # newest first
    assert problems == []
    page.context.close()
