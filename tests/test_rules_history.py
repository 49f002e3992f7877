"""The history of the rules, rollback and checking a draft (rules/api.py, rules/store.py, the CLI)."""

import json
import threading
import time

from handrail.cli import main
from rules import keys, store
from scorer.consumer import now_ms
from tests.conftest import ADMIN_TOKEN
from tests.test_agent_login import PASSWORD, agent, form_token
from tests.test_agent_login import sign_in as console_sign_in
from tests.test_consumer import SHARDS, SITE, event, scorer_with, to_payment
from tests.test_rules_api import ONE_RULE, put
from tracker import stream

AT_PAYMENT = ("defaults: {holdout: 0}\nrules:\n  - id: at-payment\n    when: {step: payment}\n"
              "    action: {channel: chat}\n")
AT_SHIPPING = ("defaults: {holdout: 0}\nrules:\n  - id: at-shipping\n    when: {step: shipping}\n"
               "    action: {channel: chat}\n")
BAD = "rules:\n  - id: a\n    when:\n      count: {event: X, within: 5 minutes}\n    action: {channel: chat}\n"


def check(client, headers, text):
    return client.post("/api/rules/check", data=text.encode(), content_type="application/yaml", headers=headers)


def rollback(client, headers, body):
    return client.post("/api/rules/rollback", json=body, headers=headers)


def test_history_lists_every_version_newest_first_with_author_time_and_rules(client, admin):
    """Each save is listed, newest first, with who saved it, when and its rule ids, never the YAML;
    the answer says how many versions are kept."""
    before = time.time()
    put(client, admin, AT_PAYMENT)
    put(client, admin, ONE_RULE)
    answer = client.get("/api/rules/history", headers=admin).json
    assert answer["current"] == 2 and answer["kept"] == store.HISTORY_KEPT
    assert [(v["version"], v["author"], v["rules"], v["rollback_of"]) for v in answer["versions"]] == [
        (2, "admin", ["big-cart"], None), (1, "admin", ["at-payment"], None)]
    assert all(before <= v["saved_at"] <= time.time() for v in answer["versions"])
    assert all("yaml" not in v for v in answer["versions"])
    assert [v["version"] for v in client.get("/api/rules/history?limit=1", headers=admin).json["versions"]] == [2]


def test_a_limit_that_is_not_a_count_is_400_saying_so(client, admin):
    for limit in ("0", "abc", "101", "-1"):
        answer = client.get(f"/api/rules/history?limit={limit}", headers=admin)
        assert answer.status_code == 400
        assert answer.json["error"] == f"limit: must be a whole number from 1 to 100, got '{limit}'"


def test_one_version_shows_its_yaml_as_saved(client, admin):
    put(client, admin, AT_PAYMENT)
    put(client, admin, ONE_RULE)
    answer = client.get("/api/rules/history/1", headers=admin).json
    assert (answer["version"], answer["yaml"], answer["rules"], answer["author"]) == (1, AT_PAYMENT, ["at-payment"], "admin")


def test_an_unknown_version_is_404_saying_which_are_kept(client, admin):
    assert client.get("/api/rules/history/1", headers=admin).json["error"] == \
        "no rules version 1: no version is saved yet (the last 100)"
    put(client, admin, ONE_RULE)
    answer = client.get("/api/rules/history/7", headers=admin)
    assert answer.status_code == 404
    assert answer.json["error"] == "no rules version 7: versions 1 to 1 are kept (the last 100)"


def test_the_history_keeps_the_last_100_versions(client, admin, redis):
    """Past the cap the oldest versions go: they are no longer listed, and asking for one says what is kept."""
    for _ in range(store.HISTORY_KEPT + 3):
        store.save(redis, ONE_RULE, "test")
    listed = client.get("/api/rules/history?limit=100", headers=admin).json["versions"]
    assert [v["version"] for v in listed] == list(range(103, 3, -1))
    assert client.get("/api/rules/history/4", headers=admin).json["version"] == 4
    gone = client.get("/api/rules/history/3", headers=admin)
    assert gone.status_code == 404 and gone.json["error"] == "no rules version 3: versions 4 to 103 are kept (the last 100)"


def test_rollback_puts_an_old_version_in_force_as_a_new_version(client, admin):
    """Rolling back to version 1 saves its YAML as version 3, noting the rollback; 1 and 2 stay in the history."""
    put(client, admin, AT_PAYMENT)
    put(client, admin, ONE_RULE)
    answer = rollback(client, admin, {"version": 1})
    assert answer.status_code == 200
    assert answer.json == {"version": 3, "rules": ["at-payment"], "rollback_of": 1}
    assert client.get("/api/rules", headers=admin).json == {"version": 3, "yaml": AT_PAYMENT, "rules": ["at-payment"]}
    versions = client.get("/api/rules/history", headers=admin).json["versions"]
    assert [(v["version"], v["rollback_of"], v["author"]) for v in versions] == [
        (3, 1, "admin"), (2, None, "admin"), (1, None, "admin")]


def test_rollback_to_an_unknown_version_is_404_and_changes_nothing(client, admin):
    put(client, admin, ONE_RULE)
    answer = rollback(client, admin, {"version": 9})
    assert answer.status_code == 404
    assert answer.json["error"] == "no rules version 9: versions 1 to 1 are kept (the last 100)"
    assert client.get("/api/rules", headers=admin).json["version"] == 1


def test_a_rollback_request_without_a_version_number_is_400_saying_what_is_wrong(client, admin):
    put(client, admin, ONE_RULE)
    cases = [({"version": "1"}, "version: must be a whole number from 1, got '1'"),
             ({"version": True}, "version: must be a whole number from 1, got True"),
             ({}, "version: must be a whole number from 1, got None"),
             ([1], 'body: must be a JSON object naming the version, like {"version": 3}')]
    for body, error in cases:
        answer = rollback(client, admin, body)
        assert (answer.status_code, answer.json["error"]) == (400, error)
    assert client.get("/api/rules", headers=admin).json["version"] == 1


def test_check_answers_the_rule_ids_of_a_valid_draft_and_saves_nothing(client, admin):
    answer = check(client, admin, AT_PAYMENT)
    assert (answer.status_code, answer.json) == (200, {"ok": True, "rules": ["at-payment"]})
    assert client.get("/api/rules", headers=admin).json["version"] == 0


def test_check_lists_each_error_with_its_line_and_saves_nothing(client, admin):
    put(client, admin, ONE_RULE)
    answer = check(client, admin, BAD)
    assert answer.status_code == 200
    assert answer.json == {"ok": False, "errors": [
        {"line": 4, "message": "'within' must be a duration like 5m, got '5 minutes'"}]}
    assert check(client, admin, "rules: [\n").json["errors"][0]["line"] == 2
    assert client.get("/api/rules", headers=admin).json == {"version": 1, "yaml": ONE_RULE, "rules": ["big-cart"]}


def test_check_keeps_the_limits_of_put(client, admin):
    """Over 256 KB is 413, bytes that are not UTF-8 are 400, as for PUT."""
    big = check(client, admin, "# " + "x" * 256 * 1024)
    assert big.status_code == 413 and big.json["error"] == "the document is 262146 bytes, the limit is 262144"
    not_text = client.post("/api/rules/check", data=b"rules: [\xff]", headers=admin)
    assert not_text.status_code == 400 and "UTF-8" in not_text.json["error"]


def test_the_console_session_may_check_and_roll_back_only_with_its_header(client, admin, redis):
    """Signed in to the console (agent ann), the page's calls work and the rollback is hers; the same
    calls without the X-Handrail-Console header (what a cross-site form would send) are refused and
    change nothing."""
    put(client, admin, AT_PAYMENT)
    put(client, admin, ONE_RULE)
    agent(redis)
    assert console_sign_in(client, name="ann", password=PASSWORD).status_code == 302
    refused = rollback(client, {}, {"version": 1})
    assert refused.status_code == 403 and "X-Handrail-Console" in refused.json["error"]
    assert check(client, {}, AT_PAYMENT).status_code == 403
    assert client.get("/api/rules").json["version"] == 2
    page = {"X-Handrail-Console": "1"}
    assert check(client, page, AT_PAYMENT).json == {"ok": True, "rules": ["at-payment"]}
    # An agent may check a draft but not put rules in force: that is the product owner's (the admin's).
    not_hers = rollback(client, page, {"version": 1})
    assert not_hers.status_code == 403 and "only the admin may change /api/rules/rollback" in not_hers.json["error"]
    assert client.put("/api/rules", data=AT_PAYMENT.encode(), headers=page).status_code == 403
    assert client.post("/api/do-not-contact", json={"entries": ["x"]}, headers=page).status_code == 403
    assert client.get("/api/rules").json["version"] == 2
    client.post("/console/logout", data={"csrf": form_token(client)})
    assert console_sign_in(client, token=ADMIN_TOKEN).status_code == 302
    assert rollback(client, page, {"version": 1}).json["version"] == 3
    newest = client.get("/api/rules/history").json["versions"][0]
    assert (newest["author"], newest["rollback_of"]) == ("admin", 1)


def test_without_a_token_history_check_and_rollback_are_401(client, admin):
    put(client, admin, ONE_RULE)
    assert client.get("/api/rules/history").status_code == 401
    assert client.get("/api/rules/history/1").status_code == 401
    assert check(client, {}, ONE_RULE).status_code == 401
    assert rollback(client, {}, {"version": 1}).status_code == 401
    assert client.get("/api/rules", headers=admin).json["version"] == 1


def test_a_running_scorer_uses_rolled_back_rules_within_2_seconds(client, admin, redis):
    """With version 2 in force (it fires at shipping), roll back to version 1 (it fires at payment):
    shoppers reaching payment from then on are picked up by at-payment within 2 s of the rollback."""
    decisions = []
    store.save(redis, AT_PAYMENT, "test")
    scorer = scorer_with(redis, decisions, AT_SHIPPING)
    stop = threading.Event()
    loop = threading.Thread(target=scorer.run, args=(stop,))
    loop.start()
    try:
        stream.append(redis, SITE, [event("Checkout Step Viewed", {"step": 2, "step_name": "shipping"},
                                          shopper="before")], SHARDS)
        wait_for(lambda: decisions, 5)
        assert [d["rule"] for d in decisions] == ["at-shipping"]  # version 2 is in force

        assert rollback(client, admin, {"version": 1}).json["version"] == 3
        rolled_back, sent = time.monotonic(), {}
        while not any(d["rule"] == "at-payment" for d in decisions) and time.monotonic() - rolled_back < 5:
            shopper = f"after-{len(sent)}"  # a new shopper each time: the cooldown holds a contacted one
            sent[shopper] = time.monotonic() - rolled_back
            stream.append(redis, SITE, to_payment(now_ms(), shopper), SHARDS)
            time.sleep(0.1)
        wait_for(lambda: len(decisions) > 1, 2)
    finally:
        stop.set()
        loop.join(5)
    first = next(d for d in decisions if d["rule"] == "at-payment")
    assert sent[first["anonymous_id"]] < 2.0


def wait_for(condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_cli_history_and_rollback(runner, redis, redis_server):
    """`handrail rules history` lists versions as a table; `rules rollback N` makes N's rules a new version."""
    url = ["--redis-url", redis_server.url]
    store.save(redis, AT_PAYMENT, "ada")
    store.save(redis, ONE_RULE, "bob")
    result = runner.invoke(main, ["rules", "rollback", "1", *url])
    assert result.exit_code == 0, result.output
    assert result.output == "version 3 is in force: the rules of version 1 (at-payment)\n"
    result = runner.invoke(main, ["rules", "history", *url])
    assert result.exit_code == 0, result.output
    header, *rows, footer = result.output.splitlines()
    assert header.split() == ["version", "saved", "at", "author", "rules"]
    assert [row.split()[0] for row in rows] == ["3", "2", "1"]
    assert rows[0].endswith("at-payment  (in force, restores 1)")
    assert "bob" in rows[1] and rows[1].endswith("big-cart") and "ada" in rows[2]
    assert footer == "(the last 100 versions are kept)"


def test_cli_rollback_to_an_unknown_version_says_what_is_kept(runner, redis, redis_server):
    store.save(redis, ONE_RULE, "ada")
    result = runner.invoke(main, ["rules", "rollback", "5", "--redis-url", redis_server.url])
    assert result.exit_code == 1
    assert "no rules version 5: versions 1 to 1 are kept" in result.output
    assert store.version(redis) == 1


def test_rollback_to_a_version_todays_checks_refuse_is_422_and_changes_nothing(client, admin, redis):
    """A version saved under an older rule language that no longer passes is not put in force."""
    put(client, admin, ONE_RULE)
    record = json.loads(redis.lindex(keys.HISTORY, 0))
    redis.lset(keys.HISTORY, 0, json.dumps(dict(record, yaml=BAD)))  # as if the language had changed since
    put(client, admin, AT_PAYMENT)
    answer = rollback(client, admin, {"version": 1})
    assert answer.status_code == 422
    assert answer.json["errors"] == ["rules.yaml:4: 'within' must be a duration like 5m, got '5 minutes'"]
    assert client.get("/api/rules", headers=admin).json["version"] == 2
