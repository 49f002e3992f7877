"""SMS (dispatch/channels): a signed POST to the SMS gateway with the shopper's number and the message;
retried on network errors, not on a 4xx refusal."""

import pytest

from dispatch import dead_letters, tasks
from tests.channel_jobs import contact_decision, enqueue_decision, work
from tests.receiver import SECRET, receiving
from tests.service import free_port


@pytest.fixture
def sms_env(monkeypatch):
    monkeypatch.setenv("HANDRAIL_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("HANDRAIL_RETRY_INTERVALS", "0,0")


def test_text_goes_to_the_shoppers_number_signed(redis, sms_env, monkeypatch):
    """The gateway gets the number, the rule's message and the task id (also as Idempotency-Key)."""
    with receiving() as gateway:
        monkeypatch.setenv("HANDRAIL_SMS_URL", gateway.url)
        enqueue_decision(redis, contact_decision("sms"))
        work(redis)
    assert gateway.rejected == 0
    assert gateway.delivered == {"d-1": {"task_id": "d-1", "to": "+49 30 1234-567", "text": "Trouble paying?",
                                         "site": "site-1"}}
    task = tasks.get(redis, "d-1")
    assert task["status"] == "sent" and task["contact"] == {"phone": "+49 30 1234-567", "tel": "tel:+49301234567"}


def test_a_4xx_refusal_is_not_retried(redis, sms_env, monkeypatch):
    """A 400 from the gateway: one request, the task failed with the answer, a dead letter to look at."""
    with receiving(statuses=[400]) as gateway:
        monkeypatch.setenv("HANDRAIL_SMS_URL", gateway.url)
        enqueue_decision(redis, contact_decision("sms"))
        work(redis)
    assert len(gateway.requests) == 1
    task = tasks.get(redis, "d-1")
    assert task["status"] == "failed" and "answered 400" in task["error"]
    [letter] = dead_letters.listing(redis)
    assert (letter["task_id"], letter["channel"]) == ("d-1", "sms") and "answered 400" in letter["error"]


def test_an_unreachable_gateway_is_retried_then_kept_as_a_dead_letter(redis, sms_env, monkeypatch):
    """Nothing listens: the first try and two retries fail, then the task says failed, with the reason."""
    monkeypatch.setenv("HANDRAIL_SMS_URL", f"http://127.0.0.1:{free_port()}/sms")
    enqueue_decision(redis, contact_decision("sms"))
    work(redis)
    task = tasks.get(redis, "d-1")
    assert task["status"] == "failed" and "refused" in task["error"].lower()
    assert [letter["id"] for letter in dead_letters.listing(redis)] == ["deliver-d-1"]


def test_a_shopper_without_a_phone_fails_the_task_saying_so(redis, sms_env, monkeypatch):
    """No phone trait: nothing is sent and the task says what is missing."""
    with receiving() as gateway:
        monkeypatch.setenv("HANDRAIL_SMS_URL", gateway.url)
        enqueue_decision(redis, contact_decision("sms", phone=""))
        work(redis)
    assert gateway.requests == []
    assert "has no phone" in tasks.get(redis, "d-1")["error"]
