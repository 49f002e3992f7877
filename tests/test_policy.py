"""Contact policies (rules/policy.py): one contact per shopper per cooldown, and the holdout group."""

from rules import keys, policy
from rules.document import compile_text


def ruleset(holdout: float = 0, cooldown: str = "30m"):
    return compile_text(f"defaults: {{cooldown: {cooldown}, holdout: {holdout}}}\nrules: []\n")


def decision(decision_id: str, anonymous_id: str = "anon-1", rule: str = "stuck-at-payment") -> dict:
    return {"id": decision_id, "anonymous_id": anonymous_id, "rule": rule}


def test_first_decision_contacts_the_shopper(redis):
    """With no holdout, a shopper's first decision is admitted as a contact."""
    assert policy.admit(redis, ruleset(), decision("d1")) == policy.CONTACT


def test_second_different_decision_within_cooldown_is_refused(redis):
    """Another decision for the same shopper during the cooldown is refused."""
    rules = ruleset()
    policy.admit(redis, rules, decision("d1"))
    assert policy.admit(redis, rules, decision("d2", rule="long-on-payment")) == policy.COOLDOWN


def test_the_same_decision_is_admitted_again_on_replay(redis):
    """A replayed decision (same id) is let through again, so a crash between admit and save loses nothing."""
    rules = ruleset()
    assert policy.admit(redis, rules, decision("d1")) == policy.CONTACT
    assert policy.admit(redis, rules, decision("d1")) == policy.CONTACT


def test_cooldown_is_per_shopper(redis):
    """One shopper's contact does not hold back another shopper."""
    rules = ruleset()
    policy.admit(redis, rules, decision("d1", "anon-1"))
    assert policy.admit(redis, rules, decision("d2", "anon-2")) == policy.CONTACT


def test_cooldown_lasts_as_configured(redis):
    """The shopper's contact slot expires after the configured cooldown."""
    policy.admit(redis, ruleset(cooldown="45m"), decision("d1"))
    assert 45 * 60 - 2 <= redis.ttl(keys.contact("anon-1")) <= 45 * 60


def test_sub_second_cooldown_is_usable(redis):
    """A valid cooldown under a second (0.5s) admits the contact and holds the slot for half a second."""
    rules = ruleset(cooldown="0.5s")
    assert policy.admit(redis, rules, decision("d1")) == policy.CONTACT
    assert 0 < redis.pttl(keys.contact("anon-1")) <= 500


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


def held_out_shopper(share: float) -> str:
    return next(f"anon-{i}" for i in range(1000) if policy.in_holdout(f"anon-{i}", share))


def test_holdout_shopper_is_not_contacted_and_counted_per_rule(redis):
    """A held-out shopper gets HOLDOUT, and the rule's held-out count goes up."""
    shopper = held_out_shopper(0.5)
    rules = ruleset(holdout=0.5)
    assert policy.admit(redis, rules, decision("d1", shopper, rule="stuck-at-payment")) == policy.HOLDOUT
    other = next(f"x-{i}" for i in range(1000) if policy.in_holdout(f"x-{i}", 0.5))
    policy.admit(redis, rules, decision("d2", other, rule="long-on-payment"))
    assert redis.hgetall(keys.HELD_OUT) == {b"stuck-at-payment": b"1", b"long-on-payment": b"1"}


def test_holdout_is_counted_once_per_decision_and_cooled_down(redis):
    """A replayed holdout decision is not counted twice, and the shopper is cooled down like a contact."""
    shopper = held_out_shopper(0.5)
    rules = ruleset(holdout=0.5)
    policy.admit(redis, rules, decision("d1", shopper))
    assert policy.admit(redis, rules, decision("d1", shopper)) == policy.HOLDOUT
    assert policy.admit(redis, rules, decision("d2", shopper)) == policy.COOLDOWN
    assert redis.hget(keys.HELD_OUT, "stuck-at-payment") == b"1"
