"""Dead letters (dispatch/dead_letters.py): sends that failed for good are listed with their task, channel,
error and time, over the API and the CLI, and can be retried."""

import pytest

from dispatch import tasks
from handrail.cli import main
from tests.channel_jobs import contact_decision, enqueue_decision, work
from tests.conftest import ADMIN_TOKEN
from tests.receiver import SECRET, receiving


@pytest.fixture
def failed_sms(redis, monkeypatch):
    """An SMS task the gateway refused (400): one dead letter, deliver-d-1."""
    monkeypatch.setenv("HANDRAIL_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("HANDRAIL_RETRY_INTERVALS", "0")
    with receiving(statuses=[400]) as gateway:
        monkeypatch.setenv("HANDRAIL_SMS_URL", gateway.url)
        enqueue_decision(redis, contact_decision("sms"))
        work(redis)
    return "deliver-d-1"


def test_api_lists_dead_letters_with_task_channel_error_and_time(client, admin, failed_sms):
    """GET /api/dead-letters names the job, its task and channel, the error and when it failed."""
    [letter] = client.get("/api/dead-letters", headers=admin).get_json()["dead_letters"]
    assert (letter["id"], letter["task_id"], letter["channel"]) == ("deliver-d-1", "d-1", "sms")
    assert "answered 400" in letter["error"] and letter["failed_at"] > 0


def test_dead_letters_need_the_admin(client, failed_sms):
    """Without the admin token nothing is listed, nor retried."""
    assert client.get("/api/dead-letters").status_code == 401
    assert client.post("/api/dead-letters/deliver-d-1/retry").status_code == 401


def test_retry_sends_again_and_the_task_says_sent(client, admin, redis, failed_sms, monkeypatch):
    """Once the gateway takes texts again, a retry delivers, the task says sent and the list is empty."""
    with receiving() as gateway:
        monkeypatch.setenv("HANDRAIL_SMS_URL", gateway.url)
        answer = client.post("/api/dead-letters/deliver-d-1/retry", headers=admin)
        assert answer.status_code == 200 and answer.get_json()["task_id"] == "d-1"
        assert tasks.get(redis, "d-1")["status"] == "sending"
        work(redis)
    assert list(gateway.delivered) == ["d-1"]
    assert tasks.get(redis, "d-1")["status"] == "sent"
    assert client.get("/api/dead-letters", headers=admin).get_json()["dead_letters"] == []


def test_retrying_an_unknown_dead_letter_is_a_404(client, admin):
    answer = client.post("/api/dead-letters/nope/retry", headers=admin)
    assert answer.status_code == 404 and "No such dead letter: nope" in answer.get_json()["error"]


def test_cli_lists_and_retries(runner, redis_server, redis, failed_sms):
    """`handrail dead-letters` prints one line per dead letter; `--retry ID` queues it again."""
    listed = runner.invoke(main, ["dead-letters", "--redis-url", redis_server.url])
    assert listed.exit_code == 0 and "deliver-d-1" in listed.output and "sms" in listed.output
    assert "task d-1" in listed.output and "answered 400" in listed.output
    retried = runner.invoke(main, ["dead-letters", "--redis-url", redis_server.url, "--retry", "deliver-d-1"])
    assert retried.exit_code == 0 and "queued again (task d-1)" in retried.output
    again = runner.invoke(main, ["dead-letters", "--redis-url", redis_server.url, "--retry", "deliver-d-1"])
    assert again.exit_code == 1 and "no dead letter deliver-d-1" in again.output


def _admin_console(browser, live_server):
    page = browser.new_context().new_page()
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(live_server + "/console/")
    page.fill("#token", ADMIN_TOKEN)
    page.click("#sign-in")
    page.wait_for_url(live_server + "/console/")
    return page, problems


@pytest.mark.browser
def test_admin_console_lists_dead_letters_and_retries_one(browser, live_server, redis, failed_sms):
    """The admin's console shows the dead letter with its error; Retry queues it again and it leaves the list."""
    page, problems = _admin_console(browser, live_server)
    row = page.locator('#dead-letters li[data-job="deliver-d-1"]')
    row.wait_for()
    assert "sms · task d-1" in row.text_content() and "answered 400" in row.text_content()
    row.locator("button.retry").click()
    page.wait_for_function("document.getElementById('dead-letters').hidden === true")
    assert tasks.get(redis, "d-1")["status"] == "sending" and problems == []
