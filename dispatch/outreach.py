"""The outreach: the rules of the ``outreach`` section, run on customers on a schedule (an RQ job every
``outreach_every``, hourly by default): a cart left and not bought, no order for a while, a reorder due.

Each run reads the customers who may qualify from dispatch's indexes (open carts by when they were left,
reorders by when they fall due, customers by their last order), never every customer. A rule fires once
per occasion: the decision id comes from the rule, the customer and what the rule is about (the cart's
time, the last order's, the reorder's due time), so a second run, or a run after a crash, finds the same
decision and sends nothing more. The live rules' policies apply as they are: consent, quiet hours and
business hours (rules.policy.blocked), the contact budget over every channel, the do-not-contact list and
the holdout (rules.policy.admit, keyed by the customer's user id as the live contacts of a signed-in
shopper are). A customer contacted during the visit that left the cart is not contacted about it again.
"""

import dataclasses
import time
from datetime import datetime, timezone

from rq import Queue, get_current_job
from rq.serializers import JSONSerializer

from dispatch import customers, keys, replenishment
from rules import customer_conditions, policy, store
from rules.conditions import segments
from rules.decision import decide
from rules.document import RuleSet, RulesError, compile_text
from rules.settings import CALLBACK
from tracker import sites as shop_sites

JOB = "dispatch.outreach.scheduled"
LOOK_BACK = 30 * 86400  # s: carts left and reorders due longer ago than this are nobody's business now
DONE_KEPT = 400 * 86400  # s an acted-on occasion is remembered (longer than any rule's window)


def run(redis, ruleset: RuleSet, now: float, enqueue) -> list[dict]:
    """Evaluate the outreach rules for every shop's customers who may qualify at ``now`` (s); each decision
    the policies let through is handed to ``enqueue`` (dispatch.jobs.handle_decision, in production).
    Answers those decisions."""
    if not ruleset.outreach:
        return []
    made = []
    for site in [found["id"] for found in shop_sites.listing(redis)]:
        for user_id in sorted(candidates(redis, site, ruleset, now)):
            decision = _decide(redis, ruleset, customers.snapshot(redis, site, user_id, int(now * 1000)))
            if decision:
                enqueue(decision)
                made.append(decision)
    return made


def candidates(redis, site: str, ruleset: RuleSet, now: float) -> set[str]:
    kinds = set().union(*(customer_conditions.anchors(rule.when) for rule in ruleset.outreach))
    found = set()
    if "cart" in kinds:
        found |= {m.decode() for m in redis.zrangebyscore(keys.customer_carts(site), now - LOOK_BACK, now)}
    if "due" in kinds:
        found |= replenishment.customers_due(redis, site, now - LOOK_BACK, now)
    if "order" in kinds:
        found |= {m.decode() for m in redis.zrangebyscore(keys.customer_ordered(site), "-inf", now)}
    return found


def _decide(redis, ruleset: RuleSet, snap: dict) -> dict | None:
    """The first outreach rule, in the order written, that holds and that the policies let through."""
    for rule in ruleset.outreach:
        about = customer_conditions.anchors(rule.when)
        occasion = "|".join(f"{kind}:{_occasion(kind, snap)}" for kind in sorted(about))
        one = dataclasses.replace(ruleset, rules=(rule,))
        decision = decide(one, snap, occasion, lambda channel, skill: _allow(one, channel, skill, snap))
        if decision is None or redis.zscore(keys.OUTREACH_DONE, decision["id"]) is not None:
            continue
        if "cart" in about and policy.contacted_since(redis, (snap["user_id"], snap["anonymous_id"]),
                                                      int((snap["cart_session_started_at"] or 0) * 1000)):
            continue  # contacted in the page during the visit that left this cart
        verdict = policy.admit(redis, one, decision, snap)
        if verdict not in (policy.CONTACT, policy.HOLDOUT):
            continue  # the budget or the list: a later run may try again
        _done(redis, decision["id"], snap["now"] / 1000)
        if verdict == policy.HOLDOUT:
            return None  # the control group: counted as held out, never contacted
        if rule.action.coupon:
            decision["coupon"] = {"percent": rule.action.coupon.percent, "valid": rule.action.coupon.valid}
        decision["context"] = {"cart": snap["cart"], "step": None, "timeline": [], "outreach": True,
                               "customer": dict(snap["traits"], user_id=snap["user_id"], returning=True,
                                                segments=sorted(segments(snap)))}
        return decision
    return None


def _occasion(kind: str, snap: dict) -> str:
    if kind == "cart":
        return str(snap["cart_left_at"])
    if kind == "order":
        return str(snap["last_order_at"])
    due = sorted(item["due_at"] for item in snap["due"] if item["due_at"] <= snap["now"])
    return str(due[-1] if due else None)


def _allow(ruleset: RuleSet, channel: str, skill: str | None, snap: dict):
    """The live policies (a call's: consent, quiet hours, business hours); a call to a customer who has left
    is a callback, queued for an agent."""
    found, why = policy.blocked(ruleset, channel, skill, snap)
    return (CALLBACK if found == "call" else found), why


def _done(redis, decision_id: str, now: float) -> None:
    pipe = redis.pipeline(transaction=False)
    pipe.zadd(keys.OUTREACH_DONE, {decision_id: now})
    pipe.zremrangebyscore(keys.OUTREACH_DONE, "-inf", now - DONE_KEPT)
    pipe.execute()


# -- trying a draft -----------------------------------------------------------------------------------
def replay(redis, ruleset: RuleSet, since: float, until: float) -> dict:
    """Which customers each outreach rule of a draft would have reached between ``since`` and ``until`` (s):
    the runs of the schedule in that time, each on the customers as they are kept now, with the channel
    policies but without contacting anyone or using up a budget. Answers {rule: {"customers", "by_channel"}}.
    Kept now: a cart since bought, or an order since placed, is not seen as it was then."""
    reached = {rule.id: {} for rule in ruleset.outreach}
    every = ruleset.settings.outreach_every
    slot = since
    while slot <= until:
        for site in [found["id"] for found in shop_sites.listing(redis)]:
            for user_id in candidates(redis, site, ruleset, slot):
                snap = customers.snapshot(redis, site, user_id, int(slot * 1000))
                for rule in ruleset.outreach:
                    one = dataclasses.replace(ruleset, rules=(rule,))
                    decision = decide(one, snap, "replay", lambda channel, skill: _allow(one, channel, skill, snap))
                    if decision:
                        reached[rule.id].setdefault(f"{site}:{user_id}", decision["channel"])
                        break
        slot += every
    return {rule: {"customers": len(found), "by_channel": _counts(found.values())} for rule, found in reached.items()}


def _counts(channels) -> dict[str, int]:
    counted: dict[str, int] = {}
    for channel in channels:
        counted[channel] = counted.get(channel, 0) + 1
    return counted


# -- the schedule -----------------------------------------------------------------------------------
def queue(redis) -> Queue:
    return Queue(keys.QUEUE, connection=redis, serializer=JSONSerializer)


def schedule(redis, every: float, now: float | None = None) -> str:
    """Make sure a run is queued for the next slot of ``every`` seconds; the job id names the slot, so
    asking twice (every scorer at start, every run at its end) queues it once."""
    now = time.time() if now is None else now
    slot = int(now // every + 1) * every
    job_id = f"outreach-{int(slot)}"
    job_queue = queue(redis)
    if job_queue.fetch_job(job_id) is None:
        job_queue.enqueue_at(datetime.fromtimestamp(slot, timezone.utc), JOB, job_id=job_id)
    return job_id


def in_force(redis) -> RuleSet:
    found = store.current(redis)
    try:
        return compile_text(found[1]) if found else RuleSet()
    except RulesError:  # stored rules were checked when saved
        return RuleSet()


def scheduled() -> int:
    """The RQ job: run the outreach rules in force now, then queue the next run."""
    redis = get_current_job().connection
    ruleset = in_force(redis)
    job_queue = queue(redis)
    made = run(redis, ruleset, time.time(),
               lambda decision: job_queue.enqueue("dispatch.jobs.handle_decision", decision, job_id=decision["id"]))
    schedule(redis, ruleset.settings.outreach_every)
    return len(made)
