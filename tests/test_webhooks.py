"""Webhooks (dispatch/channels): a signed POST per task, retried on 5xx, and never delivered twice, even
when the worker process is killed in the middle of the send."""

import time

import pytest

from dispatch import dead_letters, tasks
from dispatch.channels import signing
from tests.channel_jobs import contact_decision, enqueue_decision, kill_sender, wait_for_status, work, worker_process
from tests.receiver import SECRET, receiving


@pytest.fixture
def webhook_env(monkeypatch):
    monkeypatch.setenv("HANDRAIL_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("HANDRAIL_RETRY_INTERVALS", "0,0,0")  # retried at once: the worker runs them in this test


def test_webhook_is_signed_and_carries_the_task(redis, webhook_env, monkeypatch):
    """The receiver verifies the signature and gets the task (cart, reason) with the task id as Idempotency-Key."""
    with receiving() as receiver:
        monkeypatch.setenv("HANDRAIL_WEBHOOK_URL", receiver.url)
        enqueue_decision(redis, contact_decision("webhook"))
        work(redis)
    assert receiver.rejected == 0 and list(receiver.delivered) == ["d-1"]
    sent = receiver.delivered["d-1"]["task"]
    assert sent["id"] == "d-1" and sent["reason"]["rule"] == "stuck-at-payment"
    assert sent["context"]["cart"]["value"] == 120.0
    task = tasks.get(redis, "d-1")
    assert task["status"] == "sent" and task["sent_at"] >= task["created_at"] and task["status"] != "expired"


def test_webhook_is_retried_on_5xx_and_delivered_once(redis, webhook_env, monkeypatch):
    """Two server errors, then success: three requests, one delivery, the task sent."""
    with receiving(statuses=[500, 503]) as receiver:
        monkeypatch.setenv("HANDRAIL_WEBHOOK_URL", receiver.url)
        enqueue_decision(redis, contact_decision("webhook"))
        work(redis)
    assert [r["key"] for r in receiver.requests] == ["d-1", "d-1", "d-1"]
    assert len(receiver.delivered) == 1
    assert tasks.get(redis, "d-1")["status"] == "sent" and dead_letters.listing(redis) == []


def test_running_the_decision_again_sends_nothing_more(redis, webhook_env, monkeypatch):
    """A replayed decision job finds the webhook sent: no second request."""
    with receiving() as receiver:
        monkeypatch.setenv("HANDRAIL_WEBHOOK_URL", receiver.url)
        enqueue_decision(redis, contact_decision("webhook"))
        work(redis)
        enqueue_decision(redis, contact_decision("webhook"))
        work(redis)
    assert len(receiver.requests) == 1


def test_no_webhook_url_fails_the_task_saying_which_setting(redis, webhook_env):
    """Without HANDRAIL_WEBHOOK_URL the task fails at once, naming the setting, and waits in the dead letters."""
    enqueue_decision(redis, contact_decision("webhook"))
    work(redis)
    task = tasks.get(redis, "d-1")
    assert task["status"] == "failed" and task["failed_at"]
    assert "HANDRAIL_WEBHOOK_URL is not set" in task["error"]
    assert [letter["task_id"] for letter in dead_letters.listing(redis)] == ["d-1"]


def test_signature_rejects_a_changed_body_or_an_old_timestamp():
    """A receiver's check fails for another body, another secret, or a timestamp from an hour ago."""
    now = time.time()
    headers = signing.headers(SECRET, b'{"a":1}', "k", now=now)
    stamp, sig = headers[signing.TIMESTAMP], headers[signing.SIGNATURE]
    assert sig.startswith("sha256=") and signing.verify(SECRET, stamp, b'{"a":1}', sig, now=now)
    assert not signing.verify(SECRET, stamp, b'{"a":2}', sig, now=now)
    assert not signing.verify("other", stamp, b'{"a":1}', sig, now=now)
    assert not signing.verify(SECRET, stamp, b'{"a":1}', sig, now=now + 3600)


def test_a_worker_killed_mid_send_leads_to_exactly_one_delivery(redis, redis_server, tmp_path):
    """SIGKILL the worker process in the middle of a send (the receiver took the request and holds its
    answer): RQ retries, the retry sends with the same Idempotency-Key, and the receiver acts once."""
    with receiving(stall_first=True) as receiver:
        env = {"HANDRAIL_WEBHOOK_URL": receiver.url, "HANDRAIL_WEBHOOK_SECRET": SECRET, "HANDRAIL_RETRY_INTERVALS": "0,0,0"}
        with worker_process(redis_server.url, env, tmp_path / "worker.log") as worker:
            enqueue_decision(redis, contact_decision("webhook"))
            assert receiver.arrived.wait(30), (tmp_path / "worker.log").read_text()
            kill_sender(worker, int(receiver.url.split(":")[2].split("/")[0]))
            task = wait_for_status(redis, "d-1", "sent")
    assert task["status"] == "sent", (tmp_path / "worker.log").read_text()[-3000:]
    assert [r["key"] for r in receiver.requests] == ["d-1", "d-1"]  # the first send, and the retry's
    assert list(receiver.delivered) == ["d-1"]  # acted on once
