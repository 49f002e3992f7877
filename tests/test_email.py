"""Email over SMTP (dispatch/channels/mail.py): a real SMTP server receives the cart, escaped, and a
coupon code; the send is retried on 4xx, not on 5xx, and is delivered once when a worker dies mid-send."""

import pytest

from dispatch import dead_letters, tasks
from dispatch.channels import coupon
from tests.channel_jobs import contact_decision, enqueue_decision, kill_sender, wait_for_status, work, worker_process
from tests.smtp_inbox import smtp_inbox

XSS = '<img src=x onerror="alert(1)">'


@pytest.fixture
def email_env(monkeypatch):
    monkeypatch.setenv("HANDRAIL_RETRY_INTERVALS", "0,0,0")
    monkeypatch.setenv("HANDRAIL_COUPON_SECRET", "coupon-secret")
    monkeypatch.setenv("HANDRAIL_SMTP_FROM", "Shop <help@shop.test>")


def _parts(message):
    return (message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content())


def test_email_carries_the_cart_and_the_coupon_of_the_task(redis, email_env, monkeypatch):
    """The shopper gets one email, plain text and HTML, with the cart and the coupon the task records."""
    with smtp_inbox() as inbox:
        monkeypatch.setenv("HANDRAIL_SMTP_URL", inbox.url)
        enqueue_decision(redis, contact_decision("email"))
        work(redis)
    assert inbox.recipients == [["ada@example.test"]]
    message = inbox.messages[0]
    assert message["From"] == "Shop <help@shop.test>" and message["Message-ID"] == "<d-1@handrail>"
    task = tasks.get(redis, "d-1")
    assert task["status"] == "sent" and task["sent_at"] and task["coupon"].startswith("HELP-")
    plain, html = _parts(message)
    assert "2 x Red shoes (60.00)" in plain and "Total: 120.00" in plain and task["coupon"] in plain
    assert task["coupon"] in html and "Trouble paying?" in html


def test_shopper_text_in_the_cart_is_escaped_in_the_html(redis, email_env, monkeypatch):
    """A product name carrying markup arrives as text in the HTML part, never as a tag."""
    made = contact_decision("email")
    made["context"]["cart"]["items"][0]["name"] = XSS
    with smtp_inbox() as inbox:
        monkeypatch.setenv("HANDRAIL_SMTP_URL", inbox.url)
        enqueue_decision(redis, made)
        work(redis)
    _, html = _parts(inbox.messages[0])
    assert "<img" not in html and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html


def test_coupon_is_the_same_for_one_task_and_differs_between_tasks():
    """A retried send carries the same code; another task, or another secret, gets another."""
    assert coupon.code("HELP-", "s", "d-1") == coupon.code("HELP-", "s", "d-1")
    assert coupon.code("HELP-", "s", "d-1") != coupon.code("HELP-", "s", "d-2")
    assert coupon.code("HELP-", "s", "d-1") != coupon.code("HELP-", "t", "d-1")


def test_a_4xx_answer_is_retried_and_the_email_arrives_once(redis, email_env, monkeypatch):
    """'451 try later' twice, then accepted: one email, the task sent."""
    with smtp_inbox(replies=["451 4.3.0 try later", "451 4.3.0 try later"]) as inbox:
        monkeypatch.setenv("HANDRAIL_SMTP_URL", inbox.url)
        enqueue_decision(redis, contact_decision("email"))
        work(redis)
    assert inbox.seen == 3 and len(inbox.messages) == 1
    assert tasks.get(redis, "d-1")["status"] == "sent"


def test_a_5xx_answer_is_not_retried_and_the_task_says_failed(redis, email_env, monkeypatch):
    """'550 no such user': one attempt, the task failed with the server's answer, a dead letter kept."""
    with smtp_inbox(replies=["550 5.1.1 no such user"]) as inbox:
        monkeypatch.setenv("HANDRAIL_SMTP_URL", inbox.url)
        enqueue_decision(redis, contact_decision("email"))
        work(redis)
    assert inbox.seen == 1 and inbox.messages == []
    task = tasks.get(redis, "d-1")
    assert task["status"] == "failed" and task["failed_at"] and "550" in task["error"]
    assert [(d["task_id"], d["channel"]) for d in dead_letters.listing(redis)] == [("d-1", "email")]


def test_a_malformed_smtp_url_is_named_in_the_error(redis, email_env, monkeypatch):
    """HANDRAIL_SMTP_URL=http://... fails the decision job with a message naming the setting."""
    monkeypatch.setenv("HANDRAIL_SMTP_URL", "http://mail.test")
    enqueue_decision(redis, contact_decision("email"))
    work(redis)
    [letter] = dead_letters.listing(redis)
    assert "HANDRAIL_SMTP_URL: expected smtp://" in letter["error"]
    task = tasks.get(redis, "d-1")
    assert task["status"] == "failed" and "HANDRAIL_SMTP_URL" in task["error"]


def test_a_worker_killed_mid_send_leads_to_exactly_one_email(redis, redis_server, tmp_path):
    """SIGKILL the worker process while the SMTP server holds its first message: the retry sends the same
    message (same Message-ID and coupon) and exactly one email is delivered."""
    with smtp_inbox(stall_first=True) as inbox:
        env = {"HANDRAIL_SMTP_URL": inbox.url, "HANDRAIL_RETRY_INTERVALS": "0,0,0", "HANDRAIL_COUPON_SECRET": "c"}
        with worker_process(redis_server.url, env, tmp_path / "worker.log") as worker:
            enqueue_decision(redis, contact_decision("email"))
            assert inbox.arrived.wait(30), (tmp_path / "worker.log").read_text()
            kill_sender(worker, int(inbox.url.rsplit(":", 1)[1]))
            task = wait_for_status(redis, "d-1", "sent")
    assert task["status"] == "sent", (tmp_path / "worker.log").read_text()[-3000:]
    assert inbox.seen == 2 and len(inbox.messages) == 1
    assert inbox.messages[0]["Message-ID"] == "<d-1@handrail>"
    assert task["coupon"] in _parts(inbox.messages[0])[0]
