"""Calls (dispatch/channels): the task carries the phone number and a tel: link; when an agent claims it,
a signed request asks the contact centre to place the call, once."""

import pytest

from dispatch import tasks
from dispatch.channels import contact
from tests.channel_jobs import contact_decision, enqueue_decision, work
from tests.conftest import ADMIN_TOKEN
from tests.receiver import SECRET, receiving


@pytest.fixture
def call_env(monkeypatch):
    monkeypatch.setenv("HANDRAIL_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("HANDRAIL_RETRY_INTERVALS", "0")


def test_call_task_carries_the_number_and_a_tel_link(redis, call_env):
    """The agent sees the shopper's number and a link her phone can dial."""
    enqueue_decision(redis, contact_decision("call"))
    work(redis)
    assert tasks.get(redis, "d-1")["contact"] == {"phone": "+49 30 1234-567", "tel": "tel:+49301234567"}


def test_tel_link_keeps_only_what_a_phone_dials():
    """Spaces, dashes, brackets and markup go; a leading + stays; nothing dialable gives no link."""
    assert contact.tel("+1 (555) 010-9999") == "tel:+15550109999"
    assert contact.tel('0301"><script>') == "tel:0301"
    assert contact.tel("call me") is None


def test_claiming_a_call_asks_the_contact_centre_to_place_it(redis, call_env, monkeypatch):
    """On claim, one signed request names the shopper's number and the agent who claimed it."""
    with receiving() as centre:
        monkeypatch.setenv("HANDRAIL_TELEPHONY_URL", centre.url)
        enqueue_decision(redis, contact_decision("call"))
        work(redis)
        assert centre.requests == []  # nobody on the line yet: no call before a claim
        tasks.claim(redis, "d-1", "admin")
        work(redis)
        work(redis)
    assert centre.rejected == 0 and len(centre.requests) == 1
    assert centre.delivered["d-1"] == {"task_id": "d-1", "to": "+49 30 1234-567", "tel": "tel:+49301234567",
                                       "agent": "admin", "callback": False, "site": "site-1"}
    task = tasks.get(redis, "d-1")
    assert task["status"] == "claimed" and task["call_requested_at"] >= task["claimed_at"]


def test_a_call_that_the_centre_refuses_says_so_on_the_task(redis, call_env, monkeypatch):
    """A 422 from the contact centre: the task stays claimed (the agent can dial the tel: link) and shows why."""
    with receiving(statuses=[422]) as centre:
        monkeypatch.setenv("HANDRAIL_TELEPHONY_URL", centre.url)
        enqueue_decision(redis, contact_decision("call"))
        work(redis)
        tasks.claim(redis, "d-1", "admin")
        work(redis)
    task = tasks.get(redis, "d-1")
    assert task["status"] == "claimed" and task["call_failed_at"] and "answered 422" in task["error"]


def test_without_telephony_nothing_is_sent_on_claim(redis, call_env):
    """No HANDRAIL_TELEPHONY_URL: the claim works and the agent dials herself."""
    enqueue_decision(redis, contact_decision("call"))
    work(redis)
    claimed = tasks.claim(redis, "d-1", "admin")
    work(redis)
    task = tasks.get(redis, "d-1")
    assert claimed["status"] == "claimed" and "call_requested_at" not in task


@pytest.mark.browser
def test_console_shows_the_number_as_a_tel_link(browser, live_server, redis, call_env):
    """The call task's card links the shopper's number with tel:, and markup in the number stays text."""
    phone = "+4930 <img src=x onerror=window.h=1>"  # under the 40 characters a number is kept to
    enqueue_decision(redis, contact_decision("call", phone=phone))
    work(redis)
    page = browser.new_context().new_page()
    page.goto(live_server + "/console/")
    page.fill("#token", ADMIN_TOKEN)
    page.click("#sign-in")
    link = page.locator('section[data-task="d-1"] a.tel')
    link.wait_for()
    assert link.get_attribute("href") == "tel:+49301"
    assert link.text_content() == phone
    assert page.evaluate("window.h") is None
