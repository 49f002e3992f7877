"""Replaying a draft of the rules over recorded sessions (scorer/replay.py) and `handrail rules replay`:
sessions recorded by the real scorer on the test Redis, then replayed."""

import json
import signal
import threading
from datetime import datetime, timezone

import psutil
import pytest

from handrail.cli import main
from rules.document import compile_text
from rules.policy import in_holdout
from scorer import keys, recording, replay
from scorer.consumer import now_ms
from scorer.due import next_due
from tests.test_consumer import SHARDS, SITE, STUCK_AT_PAYMENT, drain, event, scorer_with, to_payment
from tracker import stream

MINUTE, HOUR = 60_000, 3_600_000
QUIET = "rules:\n  - id: never\n    when: {cart_value: {over: 1000000}}\n    action: {channel: chat}\n"
STUCK = STUCK_AT_PAYMENT.replace("defaults: {holdout: 0}",
                                 "defaults: {holdout: 0, cooldown: 30m, channels: {chat: {handle_time: 10m}}}")
VIEWED = "defaults: {holdout: 0}\nrules:\n  - id: viewed\n    when: {count: {event: Product Viewed, within: 5m}}\n" \
         "    action: {channel: chat}\n"
LINGERING = "defaults: {holdout: 0}\nrules:\n  - id: lingering\n    when: {dwell: {step: payment, over: 60s}}\n" \
            "    action: {channel: chat}\n"


def recorder(redis):
    """record(messages): written to the event streams and applied by a real scorer, which records them."""
    scorer = scorer_with(redis, [], QUIET)

    def record(messages: list[dict]) -> None:
        stream.append(redis, SITE, messages, SHARDS)
        drain(scorer)

    return record


@pytest.fixture
def record(redis):
    return recorder(redis)


def stuck(shopper: str, at: int, failures: int = 2) -> list[dict]:
    """Boots in the cart, the payment step, then card failures a minute apart."""
    return to_payment(at, shopper) + [event("Payment Failed", {"reason": "card declined"}, at + (n + 1) * MINUTE,
                                            shopper) for n in range(failures)]


def run(redis, draft: str, since: int, **options) -> dict:
    return replay.run(redis, compile_text(draft), since, SHARDS, **options)


def test_a_draft_reports_the_session_it_fires_on_the_moment_and_the_evidence(redis, record):
    """Of three shoppers, the one whose card failed twice on payment is found, at the second failure."""
    at = now_ms() - 2 * HOUR
    record(stuck("anon-stuck", at) + to_payment(at, "anon-fine") + [event("Product Viewed", {}, at, "anon-look")])
    result = run(redis, STUCK, at - MINUTE)
    (rule,) = result["rules"]
    assert result["sessions"] == 3 and (rule["id"], rule["fired"], rule["contacts"]) == ("stuck-at-payment", 1, 1)
    assert rule["moments"] == [{
        "session": "anon-stuck", "started_at": at, "at": at + 2 * MINUTE, "step": "payment",
        "evidence": ["step is payment", "Payment Failed 2 times in 5m"], "channel": "chat", "held_out": False,
        "trigger": "event", "event": "Payment Failed"}]


def test_how_the_sessions_it_fired_on_ended(redis, record):
    """Bought, left with a cart, left, and still on the site: each counted, for the rule and overall."""
    long_ago, now = now_ms() - 2 * HOUR, now_ms()
    view = {"product_id": "boots", "price": 120}
    record([event("Product Viewed", view, long_ago, "anon-buys"), event("Product Added", view, long_ago, "anon-buys"),
            event("Order Completed", {"revenue": 120}, long_ago + MINUTE, "anon-buys"),
            event("Product Viewed", view, long_ago, "anon-cart"), event("Product Added", view, long_ago, "anon-cart"),
            event("Product Viewed", view, long_ago, "anon-left"), event("Product Viewed", view, now, "anon-here")])
    result = run(redis, VIEWED, long_ago - MINUTE)
    (rule,) = result["rules"]
    counts = {name: rule[name] for name in replay.OUTCOMES}
    assert rule["fired"] == 4 and counts == {"bought": 1, "left_with_cart": 1, "left": 1, "live": 1}
    assert {name: result[name] for name in replay.OUTCOMES} == counts


def test_a_dwell_rule_fires_where_the_live_deadline_would_wake_the_session(redis, record):
    """No event after reaching payment: the draft fires at the deadline next_due gives, 60 s and 1 ms later."""
    at = now_ms() - 2 * HOUR
    record(to_payment(at, "anon-1"))
    result = run(redis, LINGERING, at - MINUTE)
    (moment,) = result["rules"][0]["moments"]
    state = recording.start("anon-1", at, {"site": SITE, "visits": 1, "anonymous_id": "anon-1", "user_id": None,
                                           "traits": {}, "device": None, "tz": None})
    state.update(step="payment", step_at=at, last_seen=at)
    assert moment["at"] == next_due(state, compile_text(LINGERING), at) == at + 60_001
    assert (moment["trigger"], moment["event"], moment["evidence"]) == ("deadline", None, ["on payment for 60 s"])


def test_the_cooldown_allows_one_contact_per_shopper_across_their_sessions(redis, record):
    """A shopper stuck in two visits 40 minutes apart: contacted in both with a 30 minute cooldown,
    only in the first with a 2 hour one; more failures within a visit never make a second contact."""
    first = now_ms() - 3 * HOUR
    record(stuck("anon-1", first, failures=4))
    record(stuck("anon-1", first + 4 * MINUTE + 40 * MINUTE, failures=3))
    assert [rule["fired"] for rule in run(redis, STUCK, first - MINUTE)["rules"]] == [2]
    once = run(redis, STUCK.replace("cooldown: 30m", "cooldown: 2h"), first - MINUTE)
    assert (once["sessions"], once["rules"][0]["fired"], once["rules"][0]["contacts"]) == (2, 1, 1)


def test_agent_minutes_per_hour_of_day_against_the_agents_on_shift(redis, record):
    """Three contacts of 10 minutes in one clock hour need 30 agent minutes in that hour of the day;
    with no agent on shift that hour is short, with one (60 minutes) it is not."""
    hour_start = (now_ms() // HOUR - 2) * HOUR
    record([message for n in range(3) for message in stuck(f"anon-{n}", hour_start + n * MINUTE)])
    result = run(redis, STUCK, hour_start, agents_on_shift=0)
    hour = str(datetime.fromtimestamp(hour_start / 1000, timezone.utc).hour)
    (rule,) = result["rules"]
    assert rule["agent_minutes_per_hour"][hour] == 30.0 and sum(rule["agent_minutes_per_hour"].values()) == 30.0
    assert rule["agent_minutes_peak"] == {"at": hour_start, "minutes": 30.0}
    assert result["agent_minutes_available_per_hour"] == 0 and result["hours_short"] == [int(hour)]
    staffed = run(redis, STUCK, hour_start, agents_on_shift=1)
    assert staffed["agent_minutes_available_per_hour"] == 60 and staffed["hours_short"] == []


def test_held_out_shoppers_are_counted_apart_and_need_no_agent(redis, record):
    """With half the shoppers held out, the rule fires for both, contacts one: 10 agent minutes."""
    ids = iter(f"anon-{n}" for n in range(1000))
    held = next(shopper for shopper in ids if in_holdout(shopper, 0.5))
    contacted = next(shopper for shopper in ids if not in_holdout(shopper, 0.5))
    at = now_ms() - 2 * HOUR
    record(stuck(held, at) + stuck(contacted, at))
    (rule,) = run(redis, STUCK.replace("holdout: 0", "holdout: 0.5"), at - MINUTE)["rules"]
    assert (rule["fired"], rule["contacts"], rule["held_out"]) == (2, 1, 1)
    assert sum(rule["agent_minutes_per_hour"].values()) == 10.0
    assert {moment["session"]: moment["held_out"] for moment in rule["moments"]} == {held: True, contacted: False}


def test_channel_checks_are_replayed_and_live_state_policies_named_as_not(redis, record):
    """A call rule reaches a shopper with no consent by its fallback, chat; the result says which
    policies were not replayed."""
    at = now_ms() - 2 * HOUR
    record(stuck("anon-1", at))
    draft = STUCK.replace("action: {channel: chat,", "action: {channel: call, fallback: chat,")
    result = run(redis, draft, at - MINUTE)
    assert result["rules"][0]["moments"][0]["channel"] == "chat" and result["rules"][0]["channels"] == {"chat": 1}
    assert "budgets" in result["not_replayed"] and "do-not-contact" in result["not_replayed"]


def test_only_sessions_active_since_the_moment_asked_are_replayed(redis, record):
    """A session whose last message is 3 hours old is left out of a replay of the last 2 hours."""
    old, recent = now_ms() - 3 * HOUR, now_ms() - HOUR
    record(stuck("anon-old", old) + stuck("anon-new", recent))
    last_two_hours = run(redis, STUCK, now_ms() - 2 * HOUR)
    assert last_two_hours["sessions"] == 1 and last_two_hours["rules"][0]["moments"][0]["session"] == "anon-new"
    assert run(redis, STUCK, now_ms() - 4 * HOUR)["sessions"] == 2


def test_two_processes_give_the_same_answer_as_one(redis, record, monkeypatch):
    """The replay spread over two worker processes, in chunks, counts exactly what one process does."""
    monkeypatch.setattr(replay, "CHUNK", 16)
    at = now_ms() - 2 * HOUR
    record([message for n in range(120) for message in (stuck(f"anon-{n}", at + n * 1000, failures=n % 3)
                                                         + [event("Product Viewed", {}, at, f"look-{n}")])])
    one = run(redis, STUCK, at - MINUTE, workers=1, until=now_ms())
    two = run(redis, STUCK, at - MINUTE, workers=2, until=one["until"])
    assert one["sessions"] == 240 and one["rules"][0]["fired"] == 40
    assert dict(two, seconds=0) == dict(one, seconds=0)


ROUNDS = 20


def test_workers_end_when_the_replay_ends_whatever_sigterm_handler_the_parent_has(redis, record, monkeypatch):
    """A parent with other threads and a SIGTERM handler that does not end a process (an RQ worker's asks
    Redis first): the replay's workers still end when it is done, and it returns instead of waiting for
    them for ever (workers forked from such a parent hung so)."""
    monkeypatch.setattr(replay, "CHUNK", 16)
    at = now_ms() - 2 * HOUR
    record([message for n in range(40) for message in stuck(f"anon-{n}", at + n * 1000)])
    previous = signal.signal(signal.SIGTERM, lambda *_: None)  # the handler a forked worker would inherit
    answers = []

    def replays():  # whether a worker is left waiting when the pool ends is a race: run it a few times
        for _ in range(ROUNDS):
            answers.append(run(redis, STUCK, at - MINUTE, workers=2)["sessions"])

    try:
        replaying = threading.Thread(target=replays, daemon=True)
        replaying.start()
        replaying.join(120)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if replaying.is_alive():  # end the workers left waiting, so that this fails rather than hangs at exit
        for child in psutil.Process().children(recursive=True):
            if "redis-server" not in " ".join(child.cmdline()):
                child.kill()
    assert not replaying.is_alive(), f"a replay waited for its workers after it was done, after {len(answers)}"
    assert answers == [40] * ROUNDS


def test_a_recording_whose_beginning_is_gone_is_counted_not_replayed(redis, record):
    """A recording missing its header (expired, or made by an older version) is counted as unreadable."""
    at = now_ms() - 2 * HOUR
    record(stuck("anon-1", at) + stuck("anon-2", at))
    redis.lpop(keys.recording("anon-2", at))
    result = run(redis, STUCK, at - MINUTE)
    assert (result["sessions"], result["unreadable"], result["rules"][0]["fired"]) == (1, 1, 1)


def test_progress_is_reported_up_to_every_session(redis, record):
    """progress(done, total) starts at 0 and ends with every session done."""
    at = now_ms() - 2 * HOUR
    record([message for n in range(5) for message in stuck(f"anon-{n}", at)])
    seen = []
    run(redis, STUCK, at - MINUTE, progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, 5) and seen[-1] == (5, 5)


# -- handrail rules replay ---------------------------------------------------------------------
def test_cli_an_invalid_draft_prints_the_same_lines_as_rules_check(runner, redis_server, tmp_path):
    """An invalid FILE: the `rules check` lines, exit status 1, nothing replayed."""
    draft = tmp_path / "draft.yaml"
    draft.write_text("rules:\n  - id: Bad Id\n    when: {step: payment}\n    action: {channel: pigeon}\n")
    checked = runner.invoke(main, ["rules", "check", str(draft)])
    replayed = runner.invoke(main, ["rules", "replay", str(draft), "--redis-url", redis_server.url])
    assert replayed.exit_code == checked.exit_code == 1
    assert replayed.stdout == checked.stdout and replayed.stdout.startswith(f"{draft}:2: ")


def test_cli_prints_a_table_with_a_progress_bar_and_json_on_request(runner, redis, redis_server, record, tmp_path):
    """`handrail rules replay FILE --since 3h --agents 2`: a progress bar on stderr, then a table of
    the rule's figures, its first moment and the agents on shift; --json the whole result."""
    at = now_ms() - 2 * HOUR
    record(stuck("anon-stuck", at) + to_payment(at, "anon-fine"))
    draft = tmp_path / "draft.yaml"
    draft.write_text(STUCK)
    shown = runner.invoke(main, ["rules", "replay", str(draft), "--since", "3h", "--agents", "2",
                                 "--redis-url", redis_server.url])
    assert shown.exit_code == 0, shown.output
    assert "replaying" in shown.stderr
    table = shown.stdout.splitlines()
    assert table[0].startswith("Replayed 2 sessions")
    row = next(line for line in table if line.startswith("stuck-at-payment"))
    # fired, bought, cart left, left, live, contacts, held out
    assert row.split()[1:8] == ["1", "0", "1", "0", "0", "1", "0"]
    assert any("anon-stuck" in line and "Payment Failed 2 times in 5m" in line for line in table)
    assert "Agents on shift: 2 (120 agent minutes an hour)" in shown.stdout
    as_json = runner.invoke(main, ["rules", "replay", str(draft), "--since", "3h", "--json",
                                   "--redis-url", redis_server.url])
    result = json.loads(as_json.stdout)
    assert result["rules"][0]["fired"] == 1 and result["agents_on_shift"] == 0  # nobody on shift in this instance


def test_cli_a_since_that_is_no_duration_is_refused(runner, redis_server, tmp_path):
    draft = tmp_path / "draft.yaml"
    draft.write_text(STUCK)
    refused = runner.invoke(main, ["rules", "replay", str(draft), "--since", "yesterday", "--redis-url",
                                   redis_server.url])
    assert refused.exit_code == 2 and "--since" in refused.output and "'yesterday'" in refused.output
