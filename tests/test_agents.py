"""The agents registry (dispatch/agents.py): skills, status, load, and who is free for a task."""

import threading
import time

import pytest

from dispatch import agents, defaults, keys


def available(redis, name="ann", skills=("chat", "call", "vip"), max_chats=3) -> dict:
    agents.add(redis, name, skills, max_chats)
    return agents.set_status(redis, name, agents.AVAILABLE)


def test_a_new_agent_is_offline_with_no_load(redis):
    """An added agent is stored with its skills and max chats, offline, holding nothing."""
    agent = agents.add(redis, "ann.o-k_1", ["vip", "chat", "chat"], max_chats=2)
    assert agent == agents.get(redis, "ann.o-k_1")
    assert (agent["skills"], agent["max_chats"], agent["status"]) == (["chat", "vip"], 2, "offline")
    assert (agent["chats"], agent["calls"]) == (0, 0)
    assert agents.add(redis, "bob", ["chat"])["max_chats"] == 3


def test_a_duplicate_is_refused_and_the_first_agent_kept(redis):
    """Adding a name twice is refused with a message saying how to change it; --replace changes it."""
    agents.add(redis, "ann", ["chat"], max_chats=2)
    with pytest.raises(agents.DuplicateAgent, match="agent ann already exists: use --replace"):
        agents.add(redis, "ann", ["call"])
    assert agents.get(redis, "ann")["skills"] == ["chat"]
    agents.set_status(redis, "ann", "available")
    replaced = agents.add(redis, "ann", ["call", "fr"], max_chats=1, replace=True)
    assert (replaced["skills"], replaced["max_chats"], replaced["status"]) == (["call", "fr"], 1, "available")
    assert agents.free(redis, {"fr"}, "call") and not agents.free(redis, set(), "chat")


@pytest.mark.parametrize("name, skills, max_chats, status, where, what", [
    ("ann smith", ["chat"], 3, None, "name", "must be 1 to 40 letters, digits, '.', '_' or '-', got 'ann smith'"),
    ("a" * 41, ["chat"], 3, None, "name", "must be 1 to 40 letters"),
    ("ann", ["chat", "live chat"], 3, None, "skills[1]", "a skill is one short lower-case word"),
    ("ann", ["VIP"], 3, None, "skills[0]", "got 'VIP'"),
    ("ann", "chat,vip", 3, None, "skills", "must be a list of skills"),
    ("ann", [], 3, None, "skills", "give 1 to 20 skills"),
    ("ann", ["chat"], 0, None, "max_chats", "must be a whole number from 1 to 10, got 0"),
    ("ann", ["chat"], 11, None, "max_chats", "got 11"),
    ("ann", ["chat"], True, None, "max_chats", "got True"),
    ("ann", ["chat"], 3, "busy", "status", "must be one of available, away, offline, got 'busy'"),
])
def test_bad_input_names_the_field_and_stores_nothing(redis, name, skills, max_chats, status, where, what):
    """Each kind of bad input is refused with what is wrong and where, and no key is written."""
    with pytest.raises(agents.InvalidAgent) as raised:
        agents.add(redis, name, skills, max_chats, status)
    assert what in raised.value.errors[where]
    assert redis.keys("*") == []


def test_update_changes_only_what_is_given(redis):
    """Changing max chats keeps skills and status; an unknown agent or an empty change is refused."""
    available(redis)
    agent = agents.update(redis, "ann", max_chats=1)
    assert (agent["max_chats"], agent["skills"], agent["status"]) == (1, ["call", "chat", "vip"], "available")
    with pytest.raises(agents.NoSuchAgent):
        agents.update(redis, "bob", status="away")
    with pytest.raises(agents.InvalidAgent, match="body: give at least one of"):
        agents.update(redis, "ann")
    with pytest.raises(agents.InvalidAgent, match="status: must be one of"):
        agents.set_status(redis, "ann", "lunch")
    assert agents.get(redis, "ann")["status"] == "available"


def test_free_needs_an_available_agent_with_every_skill(redis):
    """Only an available agent counts, and only for tasks whose skills (and channel) it has."""
    agents.add(redis, "ann", ["chat", "vip"])
    assert not agents.free(redis, {"vip"}, "chat")  # offline
    agents.set_status(redis, "ann", "away")
    assert not agents.free(redis, {"vip"}, "chat")
    agents.set_status(redis, "ann", "available")
    assert agents.free(redis, {"vip"}, "chat") and agents.free(redis, set(), "chat")
    assert not agents.free(redis, {"vip", "fr"}, "chat")
    assert not agents.free(redis, set(), "call")  # ann has no call skill
    agents.update(redis, "ann", skills=["chat", "fr"])
    assert agents.free(redis, {"fr"}, "chat") and not agents.free(redis, {"vip"}, "chat")
    agents.remove(redis, "ann")
    assert not agents.free(redis, {"fr"}, "chat")
    with pytest.raises(agents.NoSuchAgent):
        agents.get(redis, "ann")


def test_free_counts_an_agent_only_for_the_sites_she_serves(redis):
    """An agent limited to one shop is free for that shop's shoppers, not another's; one with no
    sites serves every shop."""
    from tracker import sites

    boots, hats = sites.create(redis, "Boots", []), sites.create(redis, "Hats", [])
    agents.add(redis, "ann", ["chat"], status="available", sites=[boots["id"]])
    assert agents.free(redis, set(), "chat", boots["id"]) and agents.free(redis, set(), "chat")
    assert not agents.free(redis, set(), "chat", hats["id"])
    agents.add(redis, "bo", ["chat"], status="available")
    assert agents.free(redis, set(), "chat", hats["id"])


def test_free_follows_capacity(redis):
    """An agent at max chats is not free for a chat but is for a call; a release makes room again."""
    available(redis, max_chats=2)
    assert agents.take(redis, "ann", "chat", "t1") is True
    assert agents.take(redis, "ann", "chat", "t2") is True
    assert not agents.free(redis, set(), "chat") and agents.free(redis, set(), "call")
    with pytest.raises(agents.AgentFull, match="agent ann holds 2 of 2 chats: no room for another chat"):
        agents.take(redis, "ann", "chat", "t3")
    agents.take(redis, "ann", "call", "t4")
    assert not agents.free(redis, set(), "call")
    with pytest.raises(agents.AgentFull, match="1 of 1 calls"):
        agents.take(redis, "ann", "call", "t5")
    assert agents.release(redis, "ann", "chat", "t1") is True
    assert agents.free(redis, {"vip"}, "chat")
    assert (agents.get(redis, "ann")["chats"], agents.get(redis, "ann")["calls"]) == (1, 1)


def test_lowering_max_chats_below_the_load_leaves_no_room(redis):
    """An agent holding 2 chats whose max becomes 1 keeps both, and gets no new one."""
    available(redis)
    agents.take(redis, "ann", "chat", "t1")
    agents.take(redis, "ann", "chat", "t2")
    agents.update(redis, "ann", max_chats=1)
    assert agents.get(redis, "ann")["chats"] == 2 and not agents.free(redis, set(), "chat")
    agents.release(redis, "ann", "chat", "t1")
    assert not agents.free(redis, set(), "chat")
    agents.release(redis, "ann", "chat", "t2")
    assert agents.free(redis, set(), "chat")


def test_take_and_release_of_one_task_count_once(redis):
    """Taking a task already held, or releasing it twice, changes the load once."""
    available(redis)
    assert agents.take(redis, "ann", "chat", "t1") is True
    assert agents.take(redis, "ann", "chat", "t1") is False
    assert agents.get(redis, "ann")["chats"] == 1
    assert agents.release(redis, "ann", "chat", "t1") is True
    assert agents.release(redis, "ann", "chat", "t1") is False
    assert agents.get(redis, "ann")["chats"] == 0


def test_unknown_agent_or_channel(redis):
    """Taking for a name nobody registered raises NoSuchAgent; releasing for it is a no-op; email is no channel."""
    with pytest.raises(agents.NoSuchAgent):
        agents.take(redis, "admin", "chat", "t1")
    assert agents.release(redis, "admin", "chat", "t1") is False
    with pytest.raises(ValueError, match="channel: agents hold a chat or a call, got 'email'"):
        agents.free(redis, set(), "email")


def test_concurrent_takes_never_pass_capacity(redis):
    """Twenty threads each taking a chat of one 3-chat agent at once: exactly three get one."""
    available(redis, max_chats=3)
    start, taken, full = threading.Barrier(20), [], []

    def worker(i: int):
        start.wait()  # the pool gives each thread its own connection: the takes really race
        try:
            agents.take(redis, "ann", "chat", f"t{i}")
            taken.append(i)
        except agents.AgentFull:
            full.append(i)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (len(taken), len(full)) == (3, 17)
    assert agents.get(redis, "ann")["chats"] == 3 and not agents.free(redis, set(), "chat")


def test_on_shift_counts_agents_not_offline(redis):
    """Available and away agents are on shift; offline and removed ones are not."""
    assert agents.on_shift(redis) == 0
    available(redis, "ann")
    available(redis, "bob")
    agents.add(redis, "cy", ["chat"])
    agents.set_status(redis, "bob", "away")
    assert agents.on_shift(redis) == 2
    agents.set_status(redis, "ann", "offline")
    agents.remove(redis, "bob")
    assert agents.on_shift(redis) == 0


def test_listing_by_name_with_load(redis):
    """The listing shows every agent, by name, with status and what each holds."""
    available(redis, "bob")
    agents.add(redis, "ann", ["chat"])
    agents.take(redis, "bob", "call", "t1")
    assert [(a["name"], a["status"], a["calls"]) for a in agents.listing(redis)] == [
        ("ann", "offline", 0), ("bob", "available", 1)]


def test_a_hold_older_than_a_task_lives_is_dropped(redis):
    """A chat held longer than a task is kept (its task is gone) stops counting at the agent's next change."""
    available(redis, max_chats=1)
    agents.take(redis, "ann", "chat", "t1")
    assert not agents.free(redis, set(), "chat")
    redis.zadd(keys.agent_holds("ann", "chat"), {"t1": time.time() - defaults.HOLD_TTL - 1})
    agents.set_status(redis, "ann", "available")
    assert agents.get(redis, "ann")["chats"] == 0 and agents.free(redis, set(), "chat")


def test_free_is_cheap_with_hundreds_of_agents(redis):
    """With 500 agents, free() is one round trip of well under a millisecond on the embedded server."""
    for i in range(500):
        agents.add(redis, f"a{i}", ["chat", "call", f"lang{i % 7}"] + (["vip"] if i % 5 == 0 else []))
        agents.set_status(redis, f"a{i}", "available" if i % 3 else "away")
    assert agents.free(redis, {"vip", "lang3"}, "chat") and not agents.free(redis, {"lang9"}, "chat")
    started = time.perf_counter()
    for _ in range(1000):
        agents.free(redis, {"vip", "lang3"}, "chat")
    per_call = (time.perf_counter() - started) / 1000
    assert per_call < 0.001, f"{per_call * 1e6:.0f} µs a call"
