"""Replay: a draft of the rules run over the sessions recorded since a moment (scorer.recording).

Each recorded session is rebuilt with `session.new` and `session.apply` at the recorded times and
snapshotted as the live scorer does, with the score the live rules saw (the model is not run: it is
what the rules saw, and it would be too slow). `decide` is asked after every message and at every
moment `next_due` wakes the session before the next one, as the live deadlines do. Of the contact
policies, the draft's cooldown per shopper is replayed, and so are the channel checks that depend
on the session alone (consent, quiet and business hours, the fallback they lead to); a held-out
shopper is counted apart. Policies that need live state are not (NOT_REPLAYED).

For each rule: the sessions it fired on, the moments (the earliest REPLAY_MOMENTS), how those
sessions ended, and the agent minutes its contacts would have needed per hour of day, against the
agents on shift. Sessions are replayed in chunks, a visitor's sessions in time order in one chunk
(the cooldown spans them), over every core once there are enough of them.
"""

import heapq
import multiprocessing
import os
import time
from collections import Counter
from datetime import datetime

import orjson
import redis as redis_lib

from rules import outcomes, policy
from rules.decision import decide
from rules.hours import zone
from scorer import defaults, keys, recording, session
from scorer.due import next_due

CHUNK = 250  # sessions a worker replays per task
PARALLEL_FROM = 2000  # sessions from which the replay is spread over every core
NICE = 10  # added niceness of replay workers: the live scorer and dispatch come first
HOUR = 3600 * 1000  # ms
OUTCOMES = ("bought", "left_with_cart", "left", "live")
REPLAYED = ("the draft's conditions, channels and fallbacks; its cooldown per shopper; consent, quiet hours "
            "and business hours; its holdout (held-out shoppers are counted apart and need no agent)")
NOT_REPLAYED = ("contact budgets per session, day and week, the do-not-contact list and agents being free: "
                "they depend on live state")


def find(redis, since: int, shards: int) -> list[tuple[str, int]]:
    """(session key, started_at) of the sessions recorded with a message at or after ``since`` (ms),
    each visitor's together and in time order."""
    found = []
    for shard in range(shards):
        found += [recording.parse(member) for member in redis.zrangebyscore(keys.recorded(shard), since, "+inf")]
    return sorted(found)


def count(redis, since: int, shards: int) -> int:
    return sum(redis.zcount(keys.recorded(shard), since, "+inf") for shard in range(shards))


def _chunks(found: list[tuple[str, int]]) -> list[list[tuple[str, int]]]:
    """Chunks of about CHUNK sessions, never splitting one visitor's."""
    chunks, current = [], []
    for item in found:
        if len(current) >= CHUNK and current[-1][0] != item[0]:
            chunks.append(current)
            current = []
        current.append(item)
    return chunks + [current] if current else chunks


class Replayer:
    """Replays chunks of recorded sessions and tallies what the draft would have done."""

    def __init__(self, redis, ruleset, until: int, rates: dict | None = None):
        self.redis = redis
        self.ruleset = ruleset
        self.until = until
        self.rates = rates

    def chunk(self, members: list[tuple[str, int]]) -> dict:
        pipe = self.redis.pipeline(transaction=False)
        for session_key, started in members:
            pipe.lrange(keys.recording(session_key, started), 0, -1)
        tally, last_contact = _tally(self.ruleset), {}
        tally["recordings"] = len(members)
        for (session_key, started), items in zip(members, pipe.execute()):
            self.recorded(tally, session_key, started, items, last_contact)
        for row in tally["rules"].values():  # only the earliest can be listed in the end
            row["moments"] = heapq.nsmallest(defaults.REPLAY_MOMENTS, row["moments"], key=_when)
        return tally

    def recorded(self, tally: dict, session_key: str, started: int, items: list[bytes], last_contact: dict) -> None:
        """One recording: usually one session; two when a visitor's next session began in the very
        millisecond the last one did (a late entry, reclaimed after a crash), each after its header."""
        loaded = [orjson.loads(raw) for raw in items]
        if not loaded or not isinstance(loaded[0], dict):
            tally["unreadable"] += 1  # expired since it was found, or its beginning was not recorded
            return
        parts = []
        for item in loaded:
            if isinstance(item, dict):
                parts.append((item, []))
            else:
                parts[-1][1].append(item)
        for head, entries in parts:
            if head.get("v") != recording.FORMAT:
                tally["unreadable"] += 1  # recorded by another version
                continue
            state = recording.start(session_key, started, head)
            fired = self.session(state, entries, last_contact)
            _count(tally, self.ruleset, state, fired, _outcome(state, self.until),
                   len(items) >= defaults.REPLAY_MAX_MESSAGES)

    def session(self, state: dict, entries: list, last_contact: dict) -> list[dict]:
        """Replay one session's recorded messages from ``state``: the moments the draft fired."""
        started, fired = state["started_at"], []
        for n, (at, score, message) in enumerate(entries):
            recording.remember(state)
            session.apply(state, message, at)
            state["score"] = score
            session.dump(state)  # held to 2 KB as the live scorer stores it: a long session loses old entries
            self._evaluate(state, at, f"{started}:{n}", message.get("event") or message["type"], last_contact, fired)
            following = entries[n + 1][0] if n + 1 < len(entries) else self.until
            end = state["last_seen"] + defaults.SESSION_TIMEOUT
            wake = next_due(state, self.ruleset, at)
            while wake is not None and wake < min(following, end):
                self._evaluate(state, wake, f"deadline:{wake}", None, last_contact, fired)
                wake = next_due(state, self.ruleset, wake)
        return fired

    def _evaluate(self, state: dict, now: int, trigger: str, event: str | None, last_contact: dict,
                  fired: list) -> None:
        if state["outcome"] is not None or not self.ruleset.rules or now < state["quiet_until"]:
            return
        snap = session.snapshot(state, now)

        def allow(channel, skill):
            return policy.blocked(self.ruleset, channel, skill, snap, None)

        decision = decide(self.ruleset, snap, trigger, allow, self.rates)
        if decision is None:
            return
        # As the live policy and scorer (scorer.consumer._evaluate): one contact per cooldown per shopper.
        shopper = snap.get("user_id") or snap["anonymous_id"]
        if now - last_contact.get(shopper, -10 ** 15) < self.ruleset.cooldown * 1000:
            state["quiet_until"] = now + int(min(self.ruleset.cooldown, defaults.RECHECK) * 1000)
            return
        held = policy.in_holdout(decision["anonymous_id"], self.ruleset.holdout)
        last_contact[shopper] = now
        state["quiet_until"] = now + int(self.ruleset.cooldown * 1000)
        if state["contact"] != policy.CONTACT:
            state["contact"], state["channel"] = policy.HOLDOUT if held else policy.CONTACT, decision["channel"]
        fired.append({
            "rule": decision["rule"], "session": state["session"], "started_at": state["started_at"], "at": now,
            "step": state["step"], "evidence": decision["evidence"], "channel": decision["channel"],
            "held_out": held,
            "trigger": "deadline" if event is None else "event", "event": event,
        })


def _count(tally: dict, ruleset, state: dict, fired: list[dict], ending: str, truncated: bool) -> None:
    tally["sessions"] += 1
    tally["truncated"] += truncated
    tally["outcomes"][ending] += 1
    tally["first"] = min(tally["first"] or state["started_at"], state["started_at"])
    tally["last"] = max(tally["last"] or 0, state["last_seen"])
    for rule_id in dict.fromkeys(moment["rule"] for moment in fired):
        row = tally["rules"][rule_id]
        row["fired"] += 1
        row["outcomes"][ending] += 1
    for moment in fired:
        row = tally["rules"][moment["rule"]]
        row["channels"][moment["channel"]] += 1
        row["held_out" if moment["held_out"] else "contacts"] += 1
        if not moment["held_out"]:  # agent time, in the clock hour of the contact
            row["handle"][moment["at"] // HOUR] += ruleset.channel(moment["channel"]).handle_time
        row["moments"].append({name: value for name, value in moment.items() if name != "rule"})


def _outcome(state: dict, until: int) -> str:
    if state["outcome"] == "purchase":
        return "bought"
    if until - state["last_seen"] < defaults.SESSION_TIMEOUT:
        return "live"
    return "left_with_cart" if state["cart"]["items"] else "left"


def _tally(ruleset) -> dict:
    rule = {"fired": 0, "contacts": 0, "held_out": 0}  # sessions fired on; moments contacted, held out
    return {"sessions": 0, "unreadable": 0, "truncated": 0, "first": None, "last": None, "outcomes": Counter(),
            "rules": {rule_id: dict(rule, outcomes=Counter(), channels=Counter(), handle=Counter(), moments=[])
                      for rule_id in ruleset.ids}}


def _merge(total: dict, part: dict) -> None:
    for name in ("sessions", "unreadable", "truncated"):
        total[name] += part[name]
    total["outcomes"].update(part["outcomes"])
    total["first"] = min(filter(None, (total["first"], part["first"])), default=None)
    total["last"] = max(filter(None, (total["last"], part["last"])), default=None)
    for rule_id, row in part["rules"].items():
        into = total["rules"][rule_id]
        for name in ("fired", "contacts", "held_out"):
            into[name] += row[name]
        for name in ("outcomes", "channels", "handle"):
            into[name].update(row[name])
        into["moments"] = heapq.nsmallest(defaults.REPLAY_MOMENTS, into["moments"] + row["moments"], key=_when)


def _when(moment: dict) -> tuple:
    return moment["at"], moment["session"]


# -- over every core -------------------------------------------------------------------------
_worker: Replayer | None = None  # the Replayer of a pool worker process, set by _start_worker
# What a worker needs to connect as its parent does: the connection's class and these arguments (the
# rest of a pool's are live objects, locks among them, that a process cannot be sent).
_CONNECTION = ("host", "port", "path", "db", "username", "password", "socket_timeout", "socket_connect_timeout")


def _connection_of(redis) -> tuple:
    pool = redis.connection_pool
    return pool.connection_class, {name: value for name, value in pool.connection_kwargs.items()
                                   if name in _CONNECTION or name.startswith("ssl")}


def _start_worker(connection: tuple, ruleset, until: int, rates: dict | None) -> None:
    global _worker
    os.nice(NICE)
    connection_class, arguments = connection
    client = redis_lib.Redis(connection_pool=redis_lib.ConnectionPool(connection_class=connection_class, **arguments))
    _worker = Replayer(client, ruleset, until, rates)


def _chunk_in_worker(members: list[tuple[str, int]]) -> dict:
    return _worker.chunk(members)


def _replay_chunks(replayer: Replayer, chunks: list, workers: int, progress) -> dict:
    total, done, size = _tally(replayer.ruleset), 0, sum(len(chunk) for chunk in chunks)
    if workers <= 1:
        results = map(replayer.chunk, chunks)
        pool = None
    else:
        # forkserver, not fork: a worker forked from a process with other threads (a server's, an RQ
        # worker's) inherits their locks held and its parent's signal handlers, and a worker so stuck
        # hung Pool.terminate (in a test run). The forkserver is a fresh process with one thread.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        pool = context.Pool(workers, _start_worker, (_connection_of(replayer.redis), replayer.ruleset,
                                                     replayer.until, replayer.rates))
        results = pool.imap_unordered(_chunk_in_worker, chunks)
    try:
        for part in results:
            _merge(total, part)
            done += part["recordings"]
            if progress:
                progress(done, size)
    finally:
        if pool:
            pool.terminate()
            pool.join()
    return total


def run(redis, ruleset, since: int, shards: int, agents_on_shift: int | None = None, progress=None,
        workers: int | None = None, until: int | None = None) -> dict:
    """Replay ``ruleset`` over the sessions recorded since ``since`` (ms); the result per rule and
    overall (see `result`). ``progress(done, total)`` is called as chunks finish; ``workers``:
    processes to use (default: every core once there are PARALLEL_FROM sessions)."""
    started = time.monotonic()
    until = until or int(time.time() * 1000)
    found = find(redis, since, shards)
    if workers is None:
        workers = (os.cpu_count() or 1) if len(found) >= PARALLEL_FROM else 1
    rates = outcomes.rates(outcomes.counts(redis), ruleset.settings)
    if progress:
        progress(0, len(found))
    total = _replay_chunks(Replayer(redis, ruleset, until, rates), _chunks(found), workers, progress)
    return result(ruleset, total, since, until, agents_on_shift, time.monotonic() - started)


# -- the result ------------------------------------------------------------------------------
def _hours(since: int, until: int, tz) -> Counter:
    """How many times each hour of the day (0-23, in ``tz``) begins or runs in the span."""
    return Counter(datetime.fromtimestamp(hour * HOUR / 1000, tz).hour
                   for hour in range(since // HOUR, until // HOUR + 1))


def _minutes(handle: Counter, hours: Counter, tz) -> dict:
    """Agent minutes needed per hour of day ("0" to "23"): the mean over those hours of the span."""
    needed = Counter()
    for hour, seconds in handle.items():
        needed[datetime.fromtimestamp(hour * HOUR / 1000, tz).hour] += seconds
    return {str(h): round(needed[h] / 60 / hours[h], 1) if hours[h] else 0.0 for h in range(24)}


def _peak(handle: Counter) -> dict | None:
    """The busiest clock hour of the span: when it began (ms) and the agent minutes it needed."""
    peak = max(handle.items(), key=lambda item: (item[1], -item[0]), default=None)
    return None if peak is None else {"at": peak[0] * HOUR, "minutes": round(peak[1] / 60, 1)}


def result(ruleset, total: dict, since: int, until: int, agents_on_shift: int | None, seconds: float) -> dict:
    """The replay's answer (JSON-able). Per rule: ``fired`` (sessions it fired on) and how those ended
    (``bought``, ``left_with_cart``, ``left``, ``live``: still on the site), ``contacts`` and
    ``held_out`` (moments), ``agent_minutes_per_hour`` by hour of day and its peak, ``moments``."""
    business = ruleset.settings.business_hours
    tz_name = business.zone if business and business.zone else "UTC"
    tz = zone(tz_name)
    available = None if agents_on_shift is None else agents_on_shift * 60
    # The span the recordings cover: from the first one (or `since`, if later) to the replay.
    hours = _hours(max(since, total["first"] or until), until, tz)
    handle_all, rules = Counter(), []
    for rule in ruleset.rules:
        row = total["rules"][rule.id]
        handle_all.update(row["handle"])
        rules.append({
            "id": rule.id, "description": rule.description, "channel": rule.channel, "fired": row["fired"],
            **{name: row["outcomes"][name] for name in OUTCOMES},
            "contacts": row["contacts"], "held_out": row["held_out"], "channels": dict(row["channels"]),
            "agent_minutes_per_hour": _minutes(row["handle"], hours, tz), "agent_minutes_peak": _peak(row["handle"]),
            "moments": row["moments"],
        })
    needed = _minutes(handle_all, hours, tz)
    return {
        "since": since, "until": until, "sessions": total["sessions"],
        "first_started": total["first"], "last_seen": total["last"],
        **{name: total["outcomes"][name] for name in OUTCOMES},
        "unreadable": total["unreadable"], "truncated": total["truncated"],
        "agents_on_shift": agents_on_shift, "agent_minutes_available_per_hour": available,
        "hours_in": tz_name, "agent_minutes_per_hour": needed, "agent_minutes_peak": _peak(handle_all),
        "hours_short": [] if available is None else [int(h) for h, m in needed.items() if m > available],
        "rules": rules,
        "replayed": REPLAYED, "not_replayed": NOT_REPLAYED,
        "seconds": round(seconds, 2),
    }


# -- as a table (`handrail rules replay`) ------------------------------------------------------
def _at(ms: int | None, tz) -> str:
    return "-" if ms is None else datetime.fromtimestamp(ms / 1000, tz).strftime("%Y-%m-%d %H:%M")


def table(result: dict, shown: int = 3) -> str:
    """The result for a terminal: the overall figures, one row per rule, the first ``shown`` moments
    of each rule and what was and was not replayed."""
    tz = zone(result["hours_in"])
    lines = [
        f"Replayed {result['sessions']:,} sessions recorded since {_at(result['since'], tz)} "
        f"(first {_at(result['first_started'], tz)}, last {_at(result['last_seen'], tz)}, {result['hours_in']}) "
        f"in {result['seconds']} s.",
        f"They ended: bought {result['bought']:,}, left with a cart {result['left_with_cart']:,}, left "
        f"{result['left']:,}, still on the site {result['live']:,}.",
        "",
        f"{'rule':<28}{'fired':>7}{'bought':>8}{'cart left':>10}{'left':>7}{'live':>6}{'contacts':>10}"
        f"{'held out':>10}{'agent min/h':>13}{'peak':>7}",
    ]
    for rule in result["rules"] + [None]:
        row = rule or {"id": "all rules", "agent_minutes_per_hour": result["agent_minutes_per_hour"],
                       "agent_minutes_peak": result["agent_minutes_peak"]}
        busiest = max(row["agent_minutes_per_hour"].values(), default=0.0)
        peak = row["agent_minutes_peak"]["minutes"] if row["agent_minutes_peak"] else 0.0
        counts = "".join(f"{row[name]:>{width},}" for name, width in (
            ("fired", 7), ("bought", 8), ("left_with_cart", 10), ("left", 7), ("live", 6), ("contacts", 10),
            ("held_out", 10))) if rule else " " * 58
        lines.append(f"{row['id'][:27]:<28}{counts}{busiest:>13.1f}{peak:>7.1f}")
    lines.append("")
    if result["agents_on_shift"] is None:
        lines.append("Agents on shift: unknown (give --agents N to compare).")
    else:
        short = ", ".join(f"{hour:02d}:00" for hour in result["hours_short"]) or "no hour of the day"
        lines.append(f"Agents on shift: {result['agents_on_shift']} ({result['agent_minutes_available_per_hour']} "
                     f"agent minutes an hour); hours of the day that needed more: {short}.")
    if any(rule["moments"] for rule in result["rules"]):
        lines += ["", f"First moments of each rule (up to {defaults.REPLAY_MOMENTS} each with --json):"]
    for rule in result["rules"]:
        for moment in rule["moments"][:shown]:
            lines.append(f"  {rule['id'][:27]:<28}{_at(moment['at'], tz)}  {moment['session'][:40]}  step "
                         f"{moment['step'] or '-'}  {'; '.join(moment['evidence'])}"
                         + ("  (held out)" if moment["held_out"] else ""))
    lines += ["", f"Replayed: {result['replayed']}.", f"Not replayed: {result['not_replayed']}."]
    return "\n".join(lines)
