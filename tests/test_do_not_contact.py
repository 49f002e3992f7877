"""The do-not-contact list (rules/do_not_contact.py), through the API and the command line."""

from handrail.cli import main
from rules import do_not_contact


def test_entries_are_normalised_so_one_person_is_one_entry(redis):
    """Case, spaces and the punctuation of a phone number do not make a second entry."""
    assert do_not_contact.add(redis, ["Ann@Example.com ", "+49 (170) 123-4567"]) == 2
    assert do_not_contact.add(redis, ["ann@example.com", "+491701234567"]) == 0
    assert do_not_contact.listing(redis) == ["+491701234567", "ann@example.com"]


def test_api_adds_all_entries_or_none(client, admin, redis):
    """A bad entry (not text, or too long) is named by its index, and nothing of that request is kept."""
    bad = client.post("/api/do-not-contact", json={"entries": ["u-1", 42]}, headers=admin)
    assert bad.status_code == 422 and "entries[1]" in bad.json["error"]
    too_long = client.post("/api/do-not-contact", json={"entries": ["x" * 201]}, headers=admin)
    assert too_long.status_code == 422 and "at most 200 characters" in too_long.json["error"]
    assert do_not_contact.listing(redis) == []
    good = client.post("/api/do-not-contact", json={"entries": ["u-1", "Ann@Example.com"]}, headers=admin)
    assert good.status_code == 201 and good.json == {"added": 2, "count": 2}
    assert client.get("/api/do-not-contact", headers=admin).json == {"entries": ["ann@example.com", "u-1"], "count": 2}


def test_api_removes_an_entry_and_says_when_it_was_not_there(client, admin, redis):
    do_not_contact.add(redis, ["u-1"])
    assert client.delete("/api/do-not-contact/u-1", headers=admin).json == {"removed": "u-1"}
    missing = client.delete("/api/do-not-contact/u-1", headers=admin)
    assert missing.status_code == 404 and "'u-1' is not on the do-not-contact list" in missing.json["error"]


def test_api_needs_the_admin_token(client):
    assert client.get("/api/do-not-contact").status_code == 401


def test_command_line_adds_lists_and_removes(runner, redis, redis_server):
    url = ["--redis-url", redis_server.url]
    added = runner.invoke(main, ["do-not-contact", "add", "u-1", "+44 20 7946 0000", *url])
    assert added.exit_code == 0 and added.output == "2 added; 0 already on the list\n"
    assert runner.invoke(main, ["do-not-contact", "list", *url]).output == "+442079460000\nu-1\n"
    assert runner.invoke(main, ["do-not-contact", "remove", "u-1", *url]).output == "removed u-1\n"
    gone = runner.invoke(main, ["do-not-contact", "remove", "u-1", *url])
    assert gone.exit_code == 1 and "'u-1' is not on the do-not-contact list" in gone.output
