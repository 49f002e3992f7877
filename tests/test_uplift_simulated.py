"""The uplift the report shows is the effect contact really has.

Simulated shoppers (demo/simulator.py), many of them stuck at payment, go through the real scorer (in
process, on the real embedded Redis, with its real rules, policy and counters) on a virtual clock: each
second of their visits, the messages due are written to the stream as the collector would, the scorer reads
them, and its clock says that second, so that windows, cooldowns and the sessions' ends run as live
without waiting. A rule invites stuck shoppers to chat; half the shoppers are the holdout.

The true effect is known because it is made: an invited shopper accepts the chat with probability
ACCEPTANCE, and accepting adds EFFECT to her probability of buying (demo.simulator.respond rewrites the rest
of her visit: she pays and sends Order Completed instead of leaving). The true intention-to-treat effect on
the sessions the rule fired on is then the mean, over them, of ACCEPTANCE x (min(1, base + EFFECT) - base),
base being 1 for a shopper who was buying anyway and 0 for one heading away. The report's 95 % interval
must contain it, and with no effect contain 0.
"""

import heapq
import random

import pytest

from demo.simulator import population, respond, shopper, stuck_at_payment
from reports import figures
from rules import keys as rule_keys
from rules import store
from scorer import defaults, simulated
from scorer.consumer import Scorer
from tracker import stream

SHARDS = 2
SITE = "simulated"
RULES = """\
defaults: {holdout: 0.5, quiet_hours: none}
rules:
  - id: stuck-at-payment
    description: A card was declined on the payment step
    when: {all: [{step: payment}, {payment_failures: 1}]}
    action: {channel: chat, message: "Trouble paying? We can help right now."}
"""
# Shoppers per full run: half stuck at payment, half the simulator's usual mix (smooth buyers among them,
# some with a declined card, whom the rule also invites). With this seed 321 sessions got a decision, 173
# contacted and 148 held out; at conversions of about 20 % and 3 % Newcombe's interval is then about +-7
# points, so a 20-point effect is told from none (the interval excludes 0) and no effect is not mistaken for
# one, while a run took about 7 s on the 2-core development machine. A quarter of the shoppers would give
# intervals about twice as wide: too close to 0 to tell the effect apart.
SHOPPERS = 600
STUCK = 0.5
ACCEPTANCE = 1.0
EFFECT = 0.20
ARRIVALS = 2.0  # shoppers a second: the virtual clock has fewer seconds to step through


def shoppers(count: int, seed: int) -> list:
    rng = random.Random(seed)
    everyone = population(count, seed, rate=ARRIVALS, start_ms=simulated.START)
    # The same arrivals, every other one (by chance) replaced by a shopper stuck at payment.
    return [shopper(rng, one.start, stuck_at_payment) if rng.random() < STUCK else one for one in everyone]


def simulate(redis, count: int, effect: float, seed: int = 7) -> dict:
    """Run ``count`` shoppers through the scorer with this effect of an accepted chat; the report's figures
    over the run and the true effect (None when the rule never fired)."""
    store.save(redis, RULES, "test")
    everyone = {one.anonymous_id: one for one in shoppers(count, seed)}
    buying = {name for name, one in everyone.items() if one.script.outcome == "purchase"}  # without any help
    answers = random.Random(seed + 1)  # who accepts and who is persuaded, in the order they are invited
    queue, version, order = [], dict.fromkeys(everyone, 0), iter(range(10 ** 9))

    def schedule(one, after: int = -1) -> None:
        for at, message in one.messages():
            if at > after:
                heapq.heappush(queue, (at, next(order), one.anonymous_id, version[one.anonymous_id], message))

    def invited(decision: dict) -> None:  # dispatch's chat invitation, as the shopper takes it
        one = everyone[decision["anonymous_id"]]
        if respond(one, decision["decided_at"], answers, ACCEPTANCE, effect):
            version[one.anonymous_id] += 1  # what she was going to send after the invitation is not sent
            schedule(one, after=decision["decided_at"])

    scorer = Scorer(redis, SHARDS, on_decision=invited, name="simulated")
    scorer.replay_days = 0  # recordings for replay are another test's subject; they would only slow this one
    scorer.ensure_groups()
    now = [simulated.START]
    scorer.clock = lambda: now[0]
    for one in everyone.values():
        schedule(one)
    while queue:
        now[0] = queue[0][0] - queue[0][0] % 1000 + 1000  # the next second with messages due
        due = []
        while queue and queue[0][0] < now[0]:
            at, _, name, made, message = heapq.heappop(queue)
            if made == version[name]:
                due.append(dict(message, receivedAt=at))
        if due:
            stream.append(redis, SITE, due, SHARDS)
        while scorer.step(block=None):
            pass
    now[0] += defaults.SESSION_TIMEOUT + 60_000  # every session ends
    while scorer.run_deadlines():
        pass
    return {"figures": figures.collect(redis, simulated.START / 1000, now[0] / 1000),
            "truth": true_effect(redis, buying, effect)}


def true_effect(redis, buying: set, effect: float) -> float | None:
    """The mean, over the shoppers the rule fired on (the policy's decision log), of what an invitation
    changes in their chance of buying: ACCEPTANCE x (min(1, base + effect) - base), base 1 for those
    ``buying`` anyway, else 0."""
    fired = {entry[b"anonymous_id"].decode() for _, entry in redis.xrange(rule_keys.DECISIONS)}
    if not fired:
        return None
    bases = [1.0 if name in buying else 0.0 for name in fired]
    return sum(ACCEPTANCE * (min(1.0, base + effect) - base) for base in bases) / len(bases)


@pytest.fixture(scope="module")
def runs(redis_server):
    """Both full runs, on a fresh database each."""
    import redis as redis_lib

    connection = redis_lib.Redis.from_url(redis_server.url)
    found = {}
    for effect in (EFFECT, 0.0):
        connection.flushall()
        found[effect] = simulate(connection, SHOPPERS, effect)
    connection.flushall()
    connection.close()
    return found


def test_the_interval_contains_the_true_effect_of_contact(runs):
    """With a 20-point effect of an accepted chat, everyone accepting: the report's interval contains the
    true intention-to-treat effect, excludes 0, and the product owner reads that contact raises conversion."""
    run = runs[EFFECT]
    overall = run["figures"]["uplift"]["overall"]
    assert overall["contacted"] >= 100 and overall["holdout"] >= 100
    assert run["truth"] is not None and 0.15 < run["truth"] <= EFFECT
    assert overall["low"] <= run["truth"] <= overall["high"]
    assert overall["low"] > 0
    assert overall["verdict"] == "enough" and overall["note"].startswith("contact raises conversion by")
    assert overall["implied_revenue_low"] > 0
    (rule,) = run["figures"]["uplift"]["by_rule"]
    assert rule["rule"] == "stuck-at-payment" and rule["difference"] == overall["difference"]
    # one decision per session (the budget): every session counted was counted as fired or held out
    (row,) = run["figures"]["rules"]
    assert (row["fired"], row["held_out"]) == (overall["contacted"], overall["holdout"])


def test_with_no_effect_the_interval_contains_zero(runs):
    """The same shoppers, the same invitations, but an accepted chat changes nothing: the interval contains
    0 and the product owner reads that there is no clear effect."""
    overall = runs[0.0]["figures"]["uplift"]["overall"]
    assert runs[0.0]["truth"] == 0
    assert overall["contacted"] >= 100 and overall["holdout"] >= 100
    assert overall["low"] <= 0 <= overall["high"]
    assert overall["verdict"] == "enough" and overall["note"].startswith("no clear effect of contact")


def test_a_small_run_says_not_enough_data_yet(redis):
    """30 shoppers: a handful of sessions in each group, and the report says so rather than a number."""
    overall = simulate(redis, 30, EFFECT)["figures"]["uplift"]["overall"]
    assert overall["contacted"] + overall["holdout"] > 0
    assert overall["verdict"] == "not enough data yet" and "at least 30" in overall["note"]
