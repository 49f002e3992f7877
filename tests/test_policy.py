"""Contact policies (rules/policy.py): the budget over every channel, consent and the do-not-contact
list, quiet and business hours, agent availability, and the holdout group."""

from datetime import datetime
from zoneinfo import ZoneInfo

from rules import do_not_contact, keys, policy
from rules.document import compile_text

NOON_BERLIN = int(datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("Europe/Berlin")).timestamp() * 1000)  # a Monday
HOUR = 3600 * 1000


def ruleset(holdout: float = 0, cooldown: str = "30m", **defaults):
    extra = "".join(f", {key}: {value}" for key, value in defaults.items())
    return compile_text(f"defaults: {{cooldown: {cooldown}, holdout: {holdout}{extra}}}\nrules: []\n")


def decision(decision_id: str, anonymous_id: str = "anon-1", rule: str = "stuck-at-payment",
             channel: str = "chat") -> dict:
    return {"id": decision_id, "anonymous_id": anonymous_id, "rule": rule, "channel": channel}


def snap(now: int = NOON_BERLIN, anonymous_id: str = "anon-1", session_seconds: float = 60, **extra) -> dict:
    return {"now": now, "anonymous_id": anonymous_id, "session_seconds": session_seconds, "user_id": None,
            "traits": {}, "tz": "Europe/Berlin", **extra}


def admit(redis, rules, decision_id, anonymous_id="anon-1", now=NOON_BERLIN, **extra):
    return policy.admit(redis, rules, decision(decision_id, anonymous_id), snap(now, anonymous_id, **extra))


# -- the budget ---------------------------------------------------------------------------------

def test_first_decision_contacts_the_shopper(redis):
    """With no holdout, a shopper's first decision is admitted as a contact."""
    assert admit(redis, ruleset(), "d1") == policy.CONTACT


def test_second_different_decision_within_cooldown_is_refused(redis):
    """Another decision for the same shopper during the cooldown is refused."""
    rules = ruleset(contacts="{session: 5}")
    admit(redis, rules, "d1")
    assert admit(redis, rules, "d2", now=NOON_BERLIN + 29 * 60_000) == policy.COOLDOWN
    assert admit(redis, rules, "d3", now=NOON_BERLIN + 31 * 60_000) == policy.CONTACT


def test_the_same_decision_is_admitted_again_on_replay(redis):
    """A replayed decision (same id) is let through again, so a crash between admit and save loses nothing,
    and it is logged once."""
    rules = ruleset()
    assert admit(redis, rules, "d1") == policy.CONTACT
    assert admit(redis, rules, "d1", now=NOON_BERLIN + 5000) == policy.CONTACT
    assert redis.xlen(keys.DECISIONS) == 1


def test_cooldown_is_per_shopper(redis):
    """One shopper's contact does not hold back another shopper."""
    rules = ruleset()
    admit(redis, rules, "d1", "anon-1")
    assert admit(redis, rules, "d2", "anon-2") == policy.CONTACT


def test_budget_per_session_counts_contacts_since_the_session_began(redis):
    """contacts.session 1: a second contact in the same session is refused even after the cooldown; the
    next session (which began after the first contact) may be contacted."""
    rules = ruleset(cooldown="1m", contacts="{session: 1, day: 5}")
    assert admit(redis, rules, "d1", session_seconds=60) == policy.CONTACT
    later = NOON_BERLIN + 10 * 60_000
    assert admit(redis, rules, "d2", now=later, session_seconds=700) == policy.BUDGET
    assert admit(redis, rules, "d3", now=later, session_seconds=60) == policy.CONTACT


def test_budget_per_day_and_week_is_summed_over_channels(redis):
    """contacts.day 2 over chat, email and call together; contacts.week 3 across days."""
    rules = ruleset(cooldown="1m", contacts="{session: 9, day: 2, week: 3}")
    for i, channel in enumerate(("chat", "email")):
        verdict = policy.admit(redis, rules, decision(f"d{i}", channel=channel),
                               snap(NOON_BERLIN + i * HOUR, session_seconds=1))
        assert verdict == policy.CONTACT
    third = policy.admit(redis, rules, decision("d2", channel="call"), snap(NOON_BERLIN + 2 * HOUR, session_seconds=1))
    assert third == policy.BUDGET
    assert admit(redis, rules, "d3", now=NOON_BERLIN + 25 * HOUR, session_seconds=1) == policy.CONTACT
    assert admit(redis, rules, "d4", now=NOON_BERLIN + 50 * HOUR, session_seconds=1) == policy.BUDGET
    assert admit(redis, rules, "d5", now=NOON_BERLIN + 8 * 24 * HOUR, session_seconds=1) == policy.CONTACT


def test_budget_follows_the_signed_in_person_across_devices(redis):
    """A user id known on two devices shares one budget."""
    rules = ruleset()
    assert admit(redis, rules, "d1", "phone-anon", user_id="u-7") == policy.CONTACT
    assert admit(redis, rules, "d2", "laptop-anon", user_id="u-7") == policy.COOLDOWN


def test_contacts_are_kept_a_week_and_no_longer(redis):
    """The shopper's contact record expires a week after the last contact."""
    admit(redis, ruleset(), "d1")
    assert 7 * 24 * 3600 - 5 <= redis.ttl(keys.contacts("anon-1")) <= 7 * 24 * 3600


# -- the do-not-contact list ----------------------------------------------------------------------

def test_shopper_on_the_do_not_contact_list_is_never_contacted(redis):
    """By anonymous id, user id, email or phone (written differently), or the do_not_contact trait."""
    do_not_contact.add(redis, ["anon-9", "u-1", "Ann@Example.com", "+49 170 1234567"])
    rules = ruleset()
    assert admit(redis, rules, "a", "anon-9") == policy.DO_NOT_CONTACT
    assert admit(redis, rules, "b", "anon-2", user_id="u-1") == policy.DO_NOT_CONTACT
    assert admit(redis, rules, "c", "anon-3", traits={"email": " Ann@Example.com"}) == policy.DO_NOT_CONTACT
    assert admit(redis, rules, "d", "anon-4", traits={"phone": "+49 (170) 123-4567"}) == policy.DO_NOT_CONTACT
    assert admit(redis, rules, "e", "anon-5", traits={"do_not_contact": "true"}) == policy.DO_NOT_CONTACT
    assert admit(redis, rules, "f", "anon-6") == policy.CONTACT
    assert redis.xlen(keys.DECISIONS) == 1


# -- channels: consent, hours, agents --------------------------------------------------------------

def blocked(rules, channel, skill=None, free=None, **extra):
    return policy.blocked(rules, channel, skill, snap(site="site-1", **extra), free)


def test_calls_texts_and_email_need_consent_and_an_address(redis):
    """No call, text or email without the consent trait for that channel and a phone or email to use."""
    rules = ruleset()
    assert blocked(rules, "email") == (None, "no consent for email")
    assert blocked(rules, "email", traits={"consent": "email"}) == (None, "no email to reach the shopper by email")
    assert blocked(rules, "email", traits={"consent": "email", "email": "a@b.c"}) == ("email", "")
    assert blocked(rules, "sms", traits={"consent": "email", "phone": "+4917012"}) == (None, "no consent for sms")
    assert blocked(rules, "call", traits={"consent": "call,sms", "phone": "+4917012"}) == ("call", "")
    assert blocked(rules, "chat") == ("chat", "")  # in the page, the shopper can simply close it
    assert blocked(rules, "webhook") == ("webhook", "")


def test_quiet_hours_are_read_in_the_shoppers_time_zone():
    """At 22:30 in Berlin (quiet, 21:00-09:00) no call or text; the same moment is 16:30 in New York."""
    rules = ruleset()
    late = int(datetime(2026, 11, 23, 22, 30, tzinfo=ZoneInfo("Europe/Berlin")).timestamp() * 1000)
    reachable = {"consent": "call,sms", "phone": "+4917012"}
    assert blocked(rules, "call", now=late, traits=reachable)[0] is None
    assert "quiet hours" in blocked(rules, "sms", now=late, traits=reachable)[1]
    assert blocked(rules, "chat", now=late) == ("chat", "")
    assert blocked(rules, "call", now=late, traits=reachable, tz="America/New_York") == ("call", "")


def test_quiet_hours_can_be_turned_off():
    """quiet_hours: none lets calls through at any hour."""
    rules = ruleset(quiet_hours="none")
    late = NOON_BERLIN + 11 * HOUR
    assert blocked(rules, "call", now=late, traits={"consent": "call", "phone": "+4917012"}) == ("call", "")


def test_business_hours_hold_chat_and_calls_but_not_email():
    """Outside mon-fri 09:00-18:00 Berlin, no chat or call; email still goes."""
    rules = ruleset(business_hours="{days: mon-fri, hours: '09:00-18:00', timezone: Europe/Berlin}")
    evening = NOON_BERLIN + 7 * HOUR  # 19:00
    saturday = NOON_BERLIN + 5 * 24 * HOUR
    assert blocked(rules, "chat") == ("chat", "")
    assert blocked(rules, "chat", now=evening) == (None, "chat only in business hours (09:00-18:00 Europe/Berlin)")
    assert blocked(rules, "chat", now=saturday)[0] is None
    reachable = {"consent": "email", "email": "a@b.c"}
    assert blocked(rules, "email", now=evening, traits=reachable) == ("email", "")


def test_no_chat_invitation_without_a_free_agent_with_the_skill():
    """Chat needs an agent free with the chat skill and the rule's skill; a call becomes a callback."""
    asked = []

    def free(skills, channel, site):
        asked.append((sorted(skills), channel, site))
        return "vip" not in skills

    rules = ruleset()
    assert blocked(rules, "chat", free=free) == ("chat", "")
    assert blocked(rules, "chat", "vip", free=free) == (None, "no agent with chat, vip free")
    reachable = {"consent": "call", "phone": "+4917012"}
    assert blocked(rules, "call", "vip", free=free, traits=reachable) == ("callback", "")
    assert asked == [(["chat"], "chat", "site-1"), (["chat", "vip"], "chat", "site-1"), (["call", "vip"], "call", "site-1")]


# -- the holdout ----------------------------------------------------------------------------------

def test_holdout_is_deterministic_per_shopper():
    """The same shopper is always in, or always out of, the control group."""
    ids = [f"anon-{i}" for i in range(200)]
    assert [policy.in_holdout(i, 0.3) for i in ids] == [policy.in_holdout(i, 0.3) for i in ids]


def test_holdout_share_is_near_the_configured_share():
    """Over 10,000 shoppers, the held-out share is within a point of the configured 10 %."""
    held = sum(policy.in_holdout(f"anon-{i}", 0.1) for i in range(10_000))
    assert 900 <= held <= 1100


def test_holdout_zero_and_growing_shares():
    """Holdout 0 holds nobody out, and a larger share keeps everybody a smaller share held."""
    ids = [f"anon-{i}" for i in range(2000)]
    assert not any(policy.in_holdout(i, 0) for i in ids)
    small = {i for i in ids if policy.in_holdout(i, 0.1)}
    large = {i for i in ids if policy.in_holdout(i, 0.5)}
    assert small < large


def held_out_shopper(share: float, prefix: str = "anon") -> str:
    return next(f"{prefix}-{i}" for i in range(1000) if policy.in_holdout(f"{prefix}-{i}", share))


def test_holdout_shopper_is_not_contacted_and_recorded_per_rule(redis):
    """A held-out shopper gets HOLDOUT; the rule's held-out count goes up and the decision log says so."""
    shopper, other = held_out_shopper(0.5), held_out_shopper(0.5, "x")
    rules = ruleset(holdout=0.5)
    assert policy.admit(redis, rules, decision("d1", shopper), snap(anonymous_id=shopper)) == policy.HOLDOUT
    policy.admit(redis, rules, decision("d2", other, rule="long-on-payment"), snap(anonymous_id=other))
    assert redis.hgetall(keys.HELD_OUT) == {b"stuck-at-payment": b"1", b"long-on-payment": b"1"}
    logged = [fields for _, fields in redis.xrange(keys.DECISIONS)]
    assert [(f[b"verdict"], f[b"rule"]) for f in logged] == [(b"holdout", b"stuck-at-payment"),
                                                               (b"holdout", b"long-on-payment")]


def test_holdout_is_counted_once_per_decision_and_cooled_down(redis):
    """A replayed holdout decision is not counted twice, and the shopper is cooled down like a contact."""
    shopper = held_out_shopper(0.5)
    rules = ruleset(holdout=0.5)
    admit(redis, rules, "d1", shopper)
    assert admit(redis, rules, "d1", shopper) == policy.HOLDOUT
    assert admit(redis, rules, "d2", shopper) == policy.COOLDOWN
    assert redis.hget(keys.HELD_OUT, "stuck-at-payment") == b"1"


def test_the_scorers_wire_script_admits_and_logs_as_redis_eval_does(redis):
    """The scorer runs the admission on its own connection (tracker.wire): the same verdicts, and the same
    decision log entry, floats included, as through redis-py."""
    from tracker import wire

    rules, run = ruleset(), wire.Script(redis, policy.ADMIT)
    logged = dict(decision("d1", "anon-1"), score=0.8123, cart_value=129.5, value=3.25)
    assert policy.admit(redis, rules, logged, snap(), run=run) == policy.CONTACT
    assert policy.admit(redis, rules, decision("d2", "anon-1"), snap(NOON_BERLIN + 60_000), run=run) == policy.COOLDOWN
    assert policy.admit(redis, rules, dict(logged, id="d3", anonymous_id="anon-2"), snap(anonymous_id="anon-2")) \
        == policy.CONTACT
    (_, wired), (_, plain) = redis.xrange(keys.DECISIONS)
    assert wired[b"score"] == plain[b"score"] == b"0.8123" and wired[b"cart_value"] == plain[b"cart_value"] == b"129.5"
    do_not_contact.add(redis, ["anon-3"])
    assert policy.admit(redis, rules, decision("d4", "anon-3"), snap(anonymous_id="anon-3"), run=run) \
        == policy.DO_NOT_CONTACT
