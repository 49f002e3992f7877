"""`handrail agents` (handrail/cli.py): add, list, status, remove on the instance's Redis."""

import pytest

from dispatch import agents
from handrail.cli import main


def run(runner, redis_server, *args):
    return runner.invoke(main, ["agents", *args, "--redis-url", redis_server.url])


def test_add_status_list_and_remove(runner, redis, redis_server):
    """An added agent lists offline; `status available` makes it free for its skills; `remove` forgets it."""
    added = run(runner, redis_server, "add", "ann", "--skills", "chat, call,vip", "--max-chats", "2")
    assert added.exit_code == 0, added.output
    assert added.output == "ann: call,chat,vip, up to 2 chats, offline\n"
    run(runner, redis_server, "add", "bob", "--skills", "chat")
    status = run(runner, redis_server, "status", "ann", "available")
    assert status.exit_code == 0 and status.output == "ann is available\n"
    assert agents.free(redis, {"vip"}, "call")
    agents.take(redis, "ann", "chat", "t1")
    lines = run(runner, redis_server, "list").output.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "CHATS", "CALLS", "SKILLS"]
    assert lines[1].split() == ["ann", "available", "1/2", "0/1", "call,chat,vip"]
    assert lines[2].split() == ["bob", "offline", "0/3", "0/1", "chat"]
    assert lines[3] == "2 agents, 1 on shift"
    removed = run(runner, redis_server, "remove", "ann")
    assert removed.exit_code == 0 and removed.output == "removed ann\n"
    assert [a["name"] for a in agents.listing(redis)] == ["bob"]


def test_a_duplicate_needs_replace(runner, redis, redis_server):
    """Adding a name twice fails and says to use --replace; with it, the skills change."""
    run(runner, redis_server, "add", "ann", "--skills", "chat")
    again = run(runner, redis_server, "add", "ann", "--skills", "call")
    assert again.exit_code == 1 and "agent ann already exists: use --replace" in again.output
    replaced = run(runner, redis_server, "add", "ann", "--skills", "call", "--replace")
    assert replaced.exit_code == 0 and agents.get(redis, "ann")["skills"] == ["call"]


def test_bad_input_names_the_option_and_stores_nothing(runner, redis, redis_server):
    """A skill with a space and max chats 0 are each reported against the option typed; nothing is stored."""
    result = run(runner, redis_server, "add", "ann", "--skills", "chat,live chat", "--max-chats", "0")
    assert result.exit_code == 1
    assert "--skills: a skill is one short lower-case word" in result.output and "got 'live chat'" in result.output
    assert "--max-chats: must be a whole number from 1 to 10, got 0" in result.output
    assert redis.keys("*") == []


def test_an_unknown_status_or_agent_is_refused(runner, redis, redis_server):
    """`status` takes only available, away, offline, and only for an agent that exists."""
    run(runner, redis_server, "add", "ann", "--skills", "chat")
    bad = run(runner, redis_server, "status", "ann", "busy")
    assert bad.exit_code == 2 and "'busy' is not one of 'available', 'away', 'offline'" in bad.output
    nobody = run(runner, redis_server, "status", "bob", "away")
    assert nobody.exit_code == 1 and "no agent named 'bob'" in nobody.output
    assert run(runner, redis_server, "remove", "bob").exit_code == 1
    assert agents.get(redis, "ann")["status"] == "offline"


def test_without_a_running_instance_it_says_where_it_looked(runner, tmp_path):
    """With no Redis in the data dir, `agents list` fails saying so."""
    result = runner.invoke(main, ["agents", "list", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1 and "cannot reach Redis" in result.output


def test_add_with_a_password_prompts_twice_and_stores_only_its_hash(runner, redis, redis_server):
    """--password asks twice without echoing; the agent can then sign in with it; a short one is refused
    and stores no agent."""
    from dispatch import login

    added = runner.invoke(main, ["agents", "add", "ann", "--skills", "chat", "--password", "--redis-url",
                                 redis_server.url], input="long enough pw\nlong enough pw\n")
    assert added.exit_code == 0, added.output
    assert "long enough pw" not in added.output
    assert login.sign_in(redis, None, "127.0.0.1", name="ann", password="long enough pw") == "ann"
    short = runner.invoke(main, ["agents", "add", "bob", "--skills", "chat", "--password", "--redis-url",
                                 redis_server.url], input="short\nshort\n")
    assert short.exit_code == 1 and "--password: must be 8 to 200 characters, got 5 characters" in short.output
    assert not agents.exists(redis, "bob")


def test_token_prints_a_new_token_once_that_signs_the_agent_in(runner, redis, redis_server):
    """`agents token` prints a token that signs ann in; a second one replaces it; an unknown agent fails."""
    from dispatch import login

    run(runner, redis_server, "add", "ann", "--skills", "chat")
    first = run(runner, redis_server, "token", "ann")
    assert first.exit_code == 0 and first.output.startswith(login.TOKEN_PREFIX)
    assert login.sign_in(redis, None, "127.0.0.1", token=first.output.strip()) == "ann"
    second = run(runner, redis_server, "token", "ann").output.strip()
    with pytest.raises(login.SignInFailed):
        login.sign_in(redis, None, "127.0.0.1", token=first.output.strip())
    assert login.sign_in(redis, None, "127.0.0.1", token=second) == "ann"
    nobody = run(runner, redis_server, "token", "bob")
    assert nobody.exit_code == 1 and "no agent named 'bob'" in nobody.output


def test_sites_limit_the_agent_and_must_exist(runner, redis, redis_server, site):
    """--sites stores the site ids given; an unknown one is refused against --sites and nothing is stored."""
    added = run(runner, redis_server, "add", "ann", "--skills", "chat", "--sites", site["id"])
    assert added.exit_code == 0 and agents.get(redis, "ann")["sites"] == [site["id"]]
    bad = run(runner, redis_server, "add", "bob", "--skills", "chat", "--sites", f"{site['id']},nope")
    assert bad.exit_code == 1 and "--sites: no site has the id 'nope'" in bad.output
    assert not agents.exists(redis, "bob")


def test_status_available_offers_her_a_waiting_task(runner, redis, redis_server):
    """A task waits while nobody is available; `agents status ann available` offers it to her."""
    from dispatch import tasks
    from tests.test_tasks import decision

    run(runner, redis_server, "add", "ann", "--skills", "chat,vip")
    tasks.create(redis, decision())
    assert tasks.get(redis, "d-1")["status"] == "open"
    run(runner, redis_server, "status", "ann", "available")
    assert tasks.get(redis, "d-1")["offered_to"] == "ann"
