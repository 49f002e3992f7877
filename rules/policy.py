"""Contact policies, over every channel together.

Two questions, asked in this order by the scorer:
- ``blocked``: may this channel reach this shopper now? Consent and a contact address for calls,
  texts and email; quiet hours in the shopper's time zone for calls and texts; business hours for
  chat and calls; an agent with the skill free for chat and calls (a call with none free becomes a
  callback, queued for the next free agent).
- ``admit``: the contact budget (cooldown, at most N contacts per session, day and week, summed
  over every channel), the do-not-contact list, and the holdout. A holdout shopper goes through
  exactly the same checks and is counted against the same budget, so that the control group is the
  shoppers who *would* have been contacted; each such moment is recorded as held out.
"""

import hashlib

from reports import hours
from rules import do_not_contact, keys
from rules.document import RuleSet
from rules.settings import CALLBACK

CONTACT = "contact"
HOLDOUT = "holdout"
COOLDOWN = "cooldown"
BUDGET = "budget"  # the session's, day's or week's contacts are used up
DO_NOT_CONTACT = "do-not-contact"
WEEK_MS = 7 * 24 * 3600 * 1000
DAY_MS = 24 * 3600 * 1000
DECISIONS_KEPT = 100_000  # entries of the decision log


def in_holdout(anonymous_id: str, share: float) -> bool:
    """Deterministic by a hash of the shopper's id, so a shopper stays in or out of the control group."""
    bucket = int.from_bytes(hashlib.sha256(anonymous_id.encode()).digest()[:4], "big") % 10_000
    return bucket < share * 10_000


def consented(snap: dict, channel: str) -> bool:
    return channel in (snap.get("traits") or {}).get("consent", "").split(",")


def blocked(ruleset: RuleSet, channel: str, skill: str | None, snap: dict, free=None) -> tuple[str | None, str]:
    """(the channel to use, or None) and, when it is None, why not, in words for the product owner.
    ``free(skills, channel, site) -> bool`` says whether an agent with those skills, serving the
    shopper's site, can take one more contact on that channel; None: availability is not checked."""
    settings = ruleset.settings
    spec = ruleset.channel(channel)
    traits = snap.get("traits") or {}
    if spec.needs_consent:
        if not consented(snap, channel):
            return None, f"no consent for {channel}"
        address = "email" if channel == "email" else "phone"
        if not traits.get(address):
            return None, f"no {address} to reach the shopper by {channel}"
    now = snap["now"]
    if spec.staffed and settings.business_hours and not settings.business_hours.contains(now):
        return None, f"{channel} only in business hours ({settings.business_hours.describe()})"
    if spec.quiet and settings.quiet_hours:
        zone = snap.get("tz") or (settings.business_hours.zone if settings.business_hours else None)
        if settings.quiet_hours.contains(now, zone):
            return None, f"quiet hours for the shopper ({settings.quiet_hours.describe()} {zone or 'UTC'})"
    if spec.needs_agent and free is not None:
        skills = {channel} | ({skill} if skill else set())
        if not free(skills, channel, snap.get("site")):
            if channel == "call":
                return CALLBACK, ""
            return None, f"no agent with {', '.join(sorted(skills))} free"
    return channel, ""


def flagged(snap: dict) -> bool:
    """The shopper said so themselves: a do_not_contact trait."""
    return str((snap.get("traits") or {}).get("do_not_contact", "")).lower() in ("true", "yes", "1")


def _identities(snap: dict) -> list:
    traits = snap.get("traits") or {}
    return [snap.get("anonymous_id"), snap.get("user_id"), traits.get("email"), traits.get("phone")]


# One call decides and records, so that an admission costs the scorer one round trip.
# KEYS: the shopper's contacts, the do-not-contact list, the held-out counts, the hour's and the day's
# report hash (reports.hours), the decision log.
# ARGV: member, now, cooldown, session start (ms), per session, day, week; then verdict, rule, the report's
# field, its keep (s), the log's length, the count of the shopper's ids, the ids (as do_not_contact keeps
# them), and the log entry's fields and values.
# The member is "<verdict>:<decision id>": a replayed decision finds itself and gets the same verdict.
# On a Redis Cluster these keys would have to share a slot; today every script runs on one server.
ADMIT = """
local ids = tonumber(ARGV[13])
for i = 14, 13 + ids do
  if redis.call('SISMEMBER', KEYS[2], ARGV[i]) == 1 then return 'listed' end
end
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 'again' end
local now = tonumber(ARGV[2])
local last = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if last[2] and now - tonumber(last[2]) < tonumber(ARGV[3]) then return 'cooldown' end
if redis.call('ZCOUNT', KEYS[1], ARGV[4], '+inf') >= tonumber(ARGV[5]) then return 'session' end
if redis.call('ZCOUNT', KEYS[1], now - 86400000, '+inf') >= tonumber(ARGV[6]) then return 'day' end
if redis.call('ZCOUNT', KEYS[1], now - 604800000, '+inf') >= tonumber(ARGV[7]) then return 'week' end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 604800000)
redis.call('PEXPIRE', KEYS[1], 604800000)
if ARGV[8] == 'holdout' then redis.call('HINCRBY', KEYS[3], ARGV[9], 1) end
for k = 4, 5 do
  redis.call('HINCRBY', KEYS[k], ARGV[10], 1)
  redis.call('EXPIRE', KEYS[k], ARGV[11])
end
redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[12], '*', unpack(ARGV, 14 + ids))
return 'ok'
"""


def admit(redis, ruleset: RuleSet, decision: dict, snap: dict, run=None) -> str:
    """CONTACT, HOLDOUT, COOLDOWN, BUDGET or DO_NOT_CONTACT, the same for a replayed decision. The
    budget is checked and taken in one script, so two scorers never both contact one shopper; an
    admitted decision is recorded in the same script: the decision log the reports read, for the
    holdout the moments a rule would have fired, the hour's counters of contacts made and held out by
    rule and channel (reports.hours). ``run(keys=, args=)`` runs ADMIT instead of ``redis.eval`` (a
    tracker.wire.Script). The scorer puts a batch's decisions to it at once: `asking`, then `answered`."""
    asked = asking(ruleset, decision, snap)
    if asked is None:
        return DO_NOT_CONTACT
    verdict, script_keys, args = asked
    answer = run(keys=script_keys, args=args) if run else redis.eval(ADMIT, len(script_keys), *script_keys, *args)
    return answered(verdict, answer)


def asking(ruleset: RuleSet, decision: dict, snap: dict) -> tuple[str, list, list] | None:
    """What `admit` asks ADMIT: (the verdict if the script admits it, its keys, its arguments); None for a
    shopper who said not to be contacted (DO_NOT_CONTACT without asking)."""
    if flagged(snap):
        return None
    anonymous_id = decision["anonymous_id"]
    verdict = HOLDOUT if in_holdout(anonymous_id, ruleset.holdout) else CONTACT
    budget = ruleset.settings.contacts
    now = snap["now"]
    started = now - int(snap.get("session_seconds", 0) * 1000)
    ids = [do_not_contact.normal(identity) for identity in _identities(snap) if identity]
    hour = hours.hour_of(now / 1000)
    counted = "held" if verdict == HOLDOUT else "fired"
    logged = {
        "id": decision["id"], "verdict": verdict, "rule": decision["rule"], "channel": decision["channel"],
        "anonymous_id": anonymous_id, "site": decision.get("site") or "",
        "score": "" if decision.get("score") is None else decision["score"],
        "cart_value": decision.get("cart_value", 0), "value": decision.get("value", 0),
    }
    script_keys = [keys.contacts(snap.get("user_id") or anonymous_id), keys.DO_NOT_CONTACT, keys.HELD_OUT,
                   hours.hour_key(keys.REPORT, hour), hours.day_key(keys.REPORT, hour // 24), keys.DECISIONS]
    args = [f"{verdict}:{decision['id']}", now, int(ruleset.cooldown * 1000), started,
            budget.session, budget.day, budget.week,
            verdict, decision["rule"], f"{counted}|{decision['rule']}|{decision['channel']}", hours.KEEP_SECONDS,
            DECISIONS_KEPT, len(ids), *ids, *(part for pair in logged.items() for part in pair)]
    return verdict, script_keys, args


def answered(verdict: str, answer) -> str:
    """The verdict ADMIT's ``answer`` gives a decision `asking` would make ``verdict``."""
    answer = answer.decode() if isinstance(answer, bytes) else answer
    if answer == "listed":
        return DO_NOT_CONTACT
    if answer == "cooldown":
        return COOLDOWN
    if answer in ("session", "day", "week"):
        return BUDGET
    return verdict


def contacted_since(redis, shoppers, since_ms: int) -> bool:
    """Whether any of these ids (a user id, an anonymous id) was contacted, not held out, since then: an
    outreach about a cart leaves alone a customer who was contacted during the visit that left it."""
    pipe = redis.pipeline(transaction=False)
    for shopper in {s for s in shoppers if s}:
        pipe.zrangebyscore(keys.contacts(shopper), since_ms, "+inf")
    return any(member.startswith(f"{CONTACT}:".encode()) for found in pipe.execute() for member in found)
