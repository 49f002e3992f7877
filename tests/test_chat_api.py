"""Chat (dispatch/chat.py, dispatch/chat_api.py): the shopper posts with the visitor token, the agent who
claimed the task answers into the shopper's inbox, and the transcript is kept per task and per customer."""

import json

import pytest

from dispatch import chat, defaults, keys, tasks
from tests.test_tasks import decision
from tracker import keys as tracker_keys
from tracker import visitor_token


@pytest.fixture
def task(redis, site):
    made, _ = tasks.create(redis, {**decision("t1", "anon-1"), "site": site["id"], "user_id": "u-7"})
    return made


def says(app, client, site, text, anonymous_id="anon-1", task_id="t1", token=None):
    token = token if token is not None else visitor_token.sign(app.config["VISITOR_SECRET"], site["id"], anonymous_id)
    body = {"writeKey": site["write_key"], "anonymousId": anonymous_id, "token": token, "task_id": task_id,
            "text": text}
    return client.post("/visitor/chat", data=json.dumps(body), content_type="text/plain",
                       headers={"Origin": "http://shop.test"})


def test_a_shoppers_message_is_kept_on_the_task_and_with_the_customer(app, client, site, task, admin):
    """What the shopper writes is in the task's transcript and the customer's, as text, in order."""
    answer = says(app, client, site, "  My card <b>keeps</b> failing  ")
    assert answer.status_code == 200 and answer.headers["Access-Control-Allow-Origin"] == "http://shop.test"
    assert answer.json["message"]["text"] == "My card <b>keeps</b> failing"
    got = client.get("/api/tasks/t1/chat", headers=admin).json
    assert [(m["who"], m["text"]) for m in got["transcript"]] == [("shopper", "My card <b>keeps</b> failing")]
    assert got["customer"]["id"] == "u-7" and len(got["customer"]["transcript"]) == 1


def test_the_agents_answer_reaches_the_shoppers_inbox(app, client, redis, site, task, admin):
    """The claimant's message is stored and posted into the shopper's inbox as a chat message."""
    tasks.claim(redis, "t1", "admin")
    answer = client.post("/api/tasks/t1/chat", json={"text": "Let me help"}, headers=admin)
    assert answer.status_code == 200
    (_, fields), = redis.xrange(tracker_keys.inbox("anon-1"))[-1:]
    posted = json.loads(fields[b"m"])
    assert (posted["type"], posted["who"], posted["text"], posted["task"]) == ("chat", "agent", "Let me help", "t1")


def test_the_customers_transcript_spans_their_tasks(app, client, redis, site, task, admin):
    """A later task of the same customer shows what was said in the earlier one."""
    says(app, client, site, "first visit")
    tasks.create(redis, {**decision("t2", "anon-1"), "site": site["id"], "user_id": "u-7"})
    says(app, client, site, "second visit", task_id="t2")
    got = client.get("/api/tasks/t2/chat", headers=admin).json
    assert [m["text"] for m in got["transcript"]] == ["second visit"]
    assert [(m["task"], m["text"]) for m in got["customer"]["transcript"]] == [("t1", "first visit"), ("t2", "second visit")]


def test_another_visitor_cannot_write_into_a_task(app, client, redis, site, task):
    """A valid token of another visitor, or a forged one for this one, writes nothing."""
    assert says(app, client, site, "hi", anonymous_id="anon-2").status_code == 404
    forged = says(app, client, site, "hi", token="0" * 32)
    assert forged.status_code == 403 and forged.json["error"] == "token: not this visitor's token"
    assert says(app, client, site, "hi", token="").status_code == 401
    assert redis.exists(keys.chat("t1")) == 0


def test_bad_text_is_refused_and_nothing_is_kept(app, client, redis, site, task):
    """Empty or too long text is a 400 saying what is wrong; nothing is stored."""
    empty = says(app, client, site, "   ")
    assert empty.status_code == 400 and empty.json["error"] == "text: required, a non-empty string"
    long = says(app, client, site, "x" * (defaults.CHAT_MAX_TEXT + 1))
    assert long.status_code == 400 and long.json["error"].startswith(f"text: at most {defaults.CHAT_MAX_TEXT}")
    assert chat.transcript(redis, "t1") == []


def test_a_shopper_sending_too_fast_is_told_to_wait(app, client, redis, site, task):
    """Past the rate a minute, the shopper's messages are refused with 429 and not kept."""
    for i in range(defaults.CHAT_RATE):
        assert says(app, client, site, f"m{i}").status_code == 200
    answer = says(app, client, site, "one more")
    assert answer.status_code == 429 and "messages a minute" in answer.json["error"]
    assert len(chat.transcript(redis, "t1")) == defaults.CHAT_RATE


def test_only_the_claimant_chats_and_a_closed_chat_takes_nothing(app, client, redis, site, task, admin):
    """Before a claim the agent cannot write; after the close neither side can."""
    early = client.post("/api/tasks/t1/chat", json={"text": "hello"}, headers=admin)
    assert early.status_code == 409 and "only the agent who claimed it" in early.json["error"]
    tasks.claim(redis, "t1", "admin")
    tasks.close(redis, "t1", "converted")
    late = says(app, client, site, "still there?")
    assert late.status_code == 409 and late.json["error"] == "task t1 is closed: its chat is over"


def test_the_transcript_is_capped(redis, task):
    """A task's chat keeps its newest CHAT_KEPT messages."""
    for i in range(defaults.CHAT_KEPT + 5):
        chat.add(redis, task, chat.SHOPPER, f"m{i}")
    kept = chat.transcript(redis, "t1")
    assert len(kept) == defaults.CHAT_KEPT and kept[-1]["text"] == f"m{defaults.CHAT_KEPT + 4}"
