"""The stream consumer: applies events to sessions, scores them, and asks the rules what to do.

Exactly once per session: the state and the id of the last entry applied to it are written together,
and an entry at or below that id is skipped when a dead consumer's pending entries are reclaimed. A
stream shard is read by one scorer at a time (scorer.ownership), which applies the entries its previous
owner read and never stored before anything newer of the shard, so none is skipped for a later one.
A decision is admitted by the contact policy and handed on *before* the state is written, so a crash
in between replays the entry, and the policy (keyed by the decision's deterministic id) lets the same
decision through again without making a second contact.
"""

import logging
import os
import socket
import time
from collections import defaultdict

import orjson
import redis as redis_lib

from rules import outcomes, policy, store
from rules.conditions import segments
from rules.decision import decide
from rules.document import RuleSet, RulesError, compile_text
from scorer import defaults, funnel, keys, learning, model, pages, recording, session
from scorer.due import next_due
from scorer.ownership import Ownership
from scorer.writer import Batch, NotOwner, Writer
from scorer.model import AbandonModel
from tracker import defaults as tracker_defaults
from tracker import stream, wire

log = logging.getLogger("handrail.scorer")
# The kinds of outcome Scorer.on_outcome is told: a purchase, a session's end (of a contacted session or a
# known customer's), a known customer's identify (their traits, for dispatch's customer profile), a coupon
# code entered (dispatch.coupons records the redemption of the codes Handrail issued).
PURCHASE, ENDED, IDENTIFIED, COUPON = "purchase", "ended", "identified", "coupon"


def _id_tuple(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def _slices(names: list, by_session: dict) -> list[list]:
    """``names`` cut in order into slices of at least BATCH_MAX entries (whole sessions), the last maybe fewer;
    one slice, maybe empty, at least (the read's acknowledgements go with it)."""
    slices, part, count = [], [], 0
    for name in names:
        part.append(name)
        count += len(by_session[name])
        if count >= defaults.BATCH_MAX:
            slices.append(part)
            part, count = [], 0
    return slices + [part] if part or not slices else slices


def now_ms() -> int:
    return int(time.time() * 1000)


ORDER_PRODUCTS = 10  # products of an order dispatch keeps (for replenishment reminders)


def _order(message: dict, state: dict, at: int) -> dict:
    """The Order Completed as dispatch keeps it: its id (the shop's, capped), revenue, when (s), its products
    (the message's, else the cart's) and the coupon code it carries."""
    props = message.get("properties") if isinstance(message.get("properties"), dict) else {}
    listed = props.get("products") if isinstance(props.get("products"), list) else []
    products = [{"id": session.text(p.get("product_id") or p.get("sku") or p.get("name"), 24),
                 "name": session.text(p.get("name") or p.get("product_id") or p.get("sku"), 64)}
                for p in listed[:ORDER_PRODUCTS] if isinstance(p, dict) and (p.get("product_id") or p.get("sku")
                                                                              or p.get("name"))]
    if not listed:
        products = [{"id": item["id"], "name": item["name"]} for item in state["cart"]["items"][:ORDER_PRODUCTS]]
    return {"order_id": session.text(props.get("order_id") or props.get("checkout_id"), 64),
            "revenue": learning.revenue(message, state), "at": at / 1000, "products": products,
            "coupon": session.text(props.get("coupon"), 40) or None}


class Scorer:
    replay_days: float = defaults.REPLAY_DAYS  # days applied messages are kept for replay (scorer.recording); 0: none

    def __init__(self, redis, shards: int, on_decision, name: str | None = None, checkpointer=None, free=None,
                 on_outcome=None):
        self.redis = redis
        self.shards = shards
        self.on_decision = on_decision  # called with each admitted decision (plain dict)
        # on_outcome(kind, outcome): PURCHASE or ENDED of a contacted session or a known user, IDENTIFIED of a known
        # user; None: not told
        self.on_outcome = on_outcome
        self.clock = now_ms  # ms now; a simulation runs the scorer on a virtual clock (tests/test_uplift_simulated.py)
        self.free = free  # free(skills, channel, site) -> bool: an agent can take it; None: not checked
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        # A scorer never trains: the learner (scorer.learner) learns from the examples the batches hand it and
        # publishes checkpoints, and the scorer takes the newest within MODEL_POLL seconds (refresh_model).
        self.checkpointer = checkpointer  # a scorer.checkpoint.Checkpointer, or None: the model stays as it is
        self.model, self.model_version = AbandonModel(), 0
        self.model_checked = 0.0
        self.refresh_model()
        self.pages = pages.Stats(redis)
        self.pending: dict[str, list[bytes]] = {}  # session key -> snapshots taken, not yet held in Redis
        # A batch's counters (scorer.funnel, rules.outcomes) are queued here and sent in one round trip before
        # the batch is written (_write): a round trip costs the scorer more CPU than the work around it.
        self.later = redis.pipeline(transaction=False)
        self.writer = Writer(redis, owner=self.name)
        # The stream reads and the MGET of a batch's sessions, on a connection of their own (tracker.wire): under
        # live load a read brings a few entries, and redis-py's own path cost more than its round trip.
        self.line = wire.Line(redis)
        self.admission = wire.Script(redis, policy.ADMIT)  # rules.policy.admit, on a connection of its own
        # A large batch's decisions (a backlog's), put to the contact policy together (_admit): a round trip
        # inside the loop costs the scorer far more than its own work (bench/README.md). The first waits
        # ADMIT_WAIT at most. In a small batch (the scorer keeps up) each goes at once: a shopper's contact
        # does not wait for the shoppers after them.
        self.together = False  # this batch's decisions wait for each other
        self.deciding: list[tuple[dict, dict, dict, int]] = []  # (state, decision, snapshot, now)
        self.waiting_since = 0.0  # time.perf_counter() when the first of them was made
        self.ruleset = RuleSet()
        self.rules_version = -1
        self.rules_checked = 0.0
        self.rates: dict[str, float] = {}  # channel -> save rate learned so far (rules.outcomes)
        self.reclaimed = 0.0
        # The time (ms, self.clock) from which step looks for due deadlines again: under load a read comes every
        # few ms, and a look after each cost the scorer a round trip per few entries (bench/README.md).
        self.deadlines_next = 0
        # Entries a shard a read takes: READ_COUNT while the scorer keeps up, doubled after each read that found
        # a shard full (a backlog) up to READ_MAX over all the shards. Under a backlog a session then has more of
        # its events in one read, and is evaluated once for them on its latest state, not on each state in
        # between. The read is applied in slices of BATCH_MAX entries (process), with due deadlines in between.
        self.read_count = defaults.READ_COUNT
        self.streams = stream.all_keys(shards)
        self.shard_of_stream = {key: shard for shard, key in enumerate(self.streams)}
        # The shards this scorer reads: one owner each (scorer.ownership), taken at its first step.
        self.ownership = Ownership(redis, self.name, shards)
        self.reading: list[str] = []  # their stream keys

    # -- setup -----------------------------------------------------------------------------
    def ensure_groups(self) -> None:
        for key in self.streams:
            try:
                self.redis.xgroup_create(key, keys.GROUP, id="0", mkstream=True)
            except redis_lib.ResponseError as error:
                if "BUSYGROUP" not in str(error):
                    raise

    def refresh_rules(self) -> None:
        """Take a new rules version within RULES_POLL seconds of its saving, without a restart."""
        if time.monotonic() - self.rules_checked < defaults.RULES_POLL:
            return
        self.rules_checked = time.monotonic()
        version = store.version(self.redis)
        if version != self.rules_version:
            found = store.current(self.redis)
            try:
                self.ruleset = compile_text(found[1]) if found else RuleSet()
            except RulesError as error:  # stored rules were checked when saved; keep the old ones
                log.error("rules version %s does not compile, keeping the rules in force: %s", version, error)
            self.rules_version = version
            log.info("rules version %s in force: %s", version, ", ".join(self.ruleset.ids) or "none")
        self.rates = outcomes.rates(outcomes.counts(self.redis), self.ruleset.settings)

    def refresh_model(self) -> None:
        """Take the learner's newest checkpoint within MODEL_POLL seconds of its saving."""
        if self.checkpointer is None or time.monotonic() - self.model_checked < defaults.MODEL_POLL:
            return
        self.model_checked = time.monotonic()
        found = self.checkpointer.newer(self.model_version)
        if found is not None:
            self.model, meta = found
            self.model_version = meta["version"]
            log.debug("model checkpoint v%d taken (%d examples learned)", meta["version"], meta["learned"])

    # -- the loop --------------------------------------------------------------------------
    def run(self, stop) -> None:
        self.ensure_groups()
        self.refresh_rules()
        try:
            while not stop.is_set():
                self.step()
        finally:
            self.pages.flush(force=True)
            self.ownership.release()  # another scorer takes the shards at its next renewal, not after the lease

    def step(self, block: int | None = defaults.READ_BLOCK) -> int:
        """The shards renewed (and any newly taken drained), one read of new entries plus the deadlines that are
        due; how many entries were applied."""
        self.refresh_rules()
        self.refresh_model()
        applied = self._own()
        self._reclaim()
        applied += self.process(self._read(block))
        if self.clock() >= self.deadlines_next:
            self.run_deadlines()
        self.pages.flush()
        if 0 < applied < defaults.LINGER_BELOW:
            # Under live load a read brings a few entries and pays its round trips for them (bench/README.md):
            # LINGER lets the next read gather more, at LINGER more wait at most for the events behind it.
            time.sleep(defaults.LINGER)
        return applied

    def _own(self) -> int:
        """Renew this scorer's shards (scorer.ownership) and drain the ones it just took: the entries their
        previous owner read and never stored are applied before anything newer of the shard. How many."""
        taken = self.ownership.refresh()
        self.reading = [self.streams[shard] for shard in self.ownership.owned]
        applied = 0
        for shard in taken:
            key, start = self.streams[shard], "0-0"
            while True:
                start, claimed, *_ = self.redis.xautoclaim(key, keys.GROUP, self.name, 0, start_id=start,
                                                           count=defaults.READ_COUNT)
                applied += self.process([(key, entry) for entry in claimed])
                if start in (b"0-0", "0-0"):
                    break
        return applied

    def _read(self, block: int | None) -> list:
        """``[(stream key, (entry id, fields))]`` of one XREADGROUP of new entries over this scorer's shards,
        waiting ``block`` ms at most (None: not at all). (Entries left pending are taken with XAUTOCLAIM: _own,
        _reclaim.)"""
        if not self.reading:  # every shard has another owner: wait as long as a read would
            time.sleep((block or 0) / 1000)
            return []
        parts = [b"XREADGROUP", b"GROUP", keys.GROUP, self.name, b"COUNT", self.read_count]
        if block is not None:
            parts += [b"BLOCK", block]
        found = self.line.call(*parts, b"STREAMS", *self.reading, *[b">"] * len(self.reading))
        if not found:  # nothing within the block
            self.read_count = defaults.READ_COUNT
            return []
        entries, full = [], False
        for key, listed in found.items() if isinstance(found, dict) else found:  # RESP3 answers a map
            key = key.decode()
            entries += [(key, (entry_id, dict(zip(fields[::2], fields[1::2])) if fields else None))
                        for entry_id, fields in listed]
            full = full or len(listed) >= self.read_count
        most = max(defaults.READ_COUNT, defaults.READ_MAX // len(self.reading))
        self.read_count = min(self.read_count * 2, most) if full else defaults.READ_COUNT
        return entries

    def _reclaim(self) -> None:
        if time.monotonic() - self.reclaimed < defaults.RECLAIM_EVERY:
            return
        self.reclaimed = time.monotonic()
        for key in self.reading:
            _, claimed, *_ = self.redis.xautoclaim(key, keys.GROUP, self.name, defaults.RECLAIM_IDLE, count=defaults.READ_COUNT)
            if claimed:
                self.process([(key, entry) for entry in claimed])

    # -- applying entries ------------------------------------------------------------------
    def process(self, entries: list) -> int:
        """Apply ``[(stream key, (entry id, fields))]``; returns how many were applied. The sessions are applied
        and stored in slices of about BATCH_MAX entries (a read behind a backlog takes more: Scorer.read_count),
        and the deadlines that fall due meanwhile are handled between two slices."""
        if not entries:
            return 0
        by_session = defaultdict(list)
        out = Batch()
        self.deciding.clear()  # what a batch that failed left: its entries are applied again
        together = len(entries) >= defaults.ADMIT_TOGETHER
        for key, (entry_id, fields) in entries:
            if not fields:  # trimmed away while pending: nothing left to apply
                out.ack(key, entry_id.decode())
                continue
            message = orjson.loads(fields[b"m"])
            by_session[stream.session_key(message)].append((key, entry_id.decode(), fields[b"site"].decode(), message))
        for owner_stream, (key, entry_id, site, message) in self._join(by_session):
            # Its session is another scorer's: handed to that shard (before this entry is acknowledged; a
            # repeat is dropped by its messageId), whose owner joins it.
            self.later.xadd(owner_stream, {"site": site, "m": stream.encode(message)},
                            maxlen=tracker_defaults.MAX_STREAM_LENGTH, approximate=True)
            out.ack(key, entry_id)
        # Oldest first across the shards (a read lists shard after shard): a shopper whose event waited
        # longest is decided on first, not after every session of the shards read before theirs. A session's
        # first entry is its oldest: a read lists a stream in order (joined ones, from another, come after).
        names = sorted(by_session, key=lambda name: _id_tuple(by_session[name][0][1]))
        applied = 0
        for n, part in enumerate(_slices(names, by_session)):
            if n:  # a slice is stored: deadlines due since, then the next, whose states are read after them
                if self.clock() >= self.deadlines_next:
                    self.run_deadlines()
                out = Batch()
            self.together = together
            stored = self.line.call(b"MGET", *[keys.session(name) for name in part]) if part else []
            for name, raw in zip(part, stored):
                batch = by_session[name]
                state, done, waiting = self._apply(orjson.loads(raw) if raw else None, name, batch, out)
                self._done(out, state, waiting)
                applied += done
                for key, entry_id, _, _ in batch:
                    out.ack(key, entry_id)
            self._write(out)
            self._record_aliases(part, by_session)
        return applied

    def _done(self, out: Batch, state: dict, waiting: bool) -> None:
        """A session of the batch handled: saved now, while its objects are still in the CPU's caches, or, when a
        decision on it waits, the decisions so far put to the policy unless they may wait longer (_admit saves)."""
        if not waiting:
            self._save(out, state)
        elif not self.together or time.perf_counter() - self.waiting_since >= defaults.ADMIT_WAIT:
            self._admit(out)

    def _write(self, out: Batch) -> None:
        """Put the batch's decisions to the contact policy, send the counters the batch queued, then store the
        batch (scorer.writer), its states saved into it already: only while this scorer owns its shards."""
        self._admit(out)
        if len(self.later):
            self.later.execute()
        out.shards.update(self.shard_of_stream[key] for key in out.acks)
        try:
            self.writer.write(out)
        except NotOwner as error:
            # It stalled past its lease: the shard's new owner claims these entries and applies them again.
            log.warning("scorer %s: %s passed to another scorer before this batch was stored; left to it",
                        self.name, error)
            self.pending.clear()
            self.ownership.expire()

    def _join(self, by_session: dict) -> list:
        """Messages that name only a userId (a shop's server reporting the order, say) join the
        anonymous session of that user's last identify, when there is one. They come from another
        stream shard, so they are marked to skip the per-session stream id check (their messageId
        still guards against a repeat). A session in a shard another scorer owns is that scorer's to
        change: its messages are returned as (that shard's stream, entry) to be handed over."""
        users = [name for name in by_session if name.startswith("u:")]
        if not users:
            return []
        handed = []
        owned = set(self.ownership.owned)
        for name, found in zip(users, self.redis.mget([keys.alias(name[2:]) for name in users])):
            if not found:
                continue
            target = found.decode()
            shard = stream.shard_of(target, self.shards)
            if shard not in owned:
                handed += [(self.streams[shard], entry) for entry in by_session.pop(name)]
                continue
            joined = [(key, entry_id, site, dict(message, _joined=True))
                      for key, entry_id, site, message in by_session.pop(name)]
            by_session[target].extend(joined)
        return handed

    def _record_aliases(self, names: list, by_session: dict) -> None:
        seen = {message["userId"][:200]: message["anonymousId"] for name in names
                for _, _, _, message in by_session[name] if message.get("userId") and message.get("anonymousId")}
        if seen:
            pipe = self.redis.pipeline(transaction=False)
            for user_id, anonymous_id in seen.items():
                pipe.set(keys.alias(user_id), anonymous_id, ex=defaults.SESSION_TTL)
            pipe.execute()

    def _apply(self, state: dict | None, name: str, batch: list, out: Batch) -> tuple[dict, int, bool]:
        """The session after ``batch``, how many entries were applied, and whether a decision on it waits
        for the contact policy (then _admit saves it)."""
        applied, trigger, records = 0, None, []
        last = _id_tuple(state["last_id"]) if state else (0, 0)  # the last entry applied to it (a renewal keeps it)
        for _, entry_id, site, message in batch:
            at = message["receivedAt"]
            if state is None:
                state = session.new(name, site, at)
            current = None if message.pop("_joined", False) else _id_tuple(entry_id)  # joined: see _join
            if current is not None and current <= last:
                continue  # applied before a crash; its acknowledgement was lost
            if session.ended(state, at):  # the visitor is back after the session ended
                self._close(state, out)
                state = session.renew(state, at)
            if current is not None:
                state["last_id"], last = entry_id, current
            if not session.remember(state, message.get("messageId")):
                continue
            if self.replay_days:
                recording.add(records, state, message, at)  # before applying: it leaves out what the state has
            bought, snapshot = learning.observe(state, message, at, self.pages)
            if bought:
                self._settled(state, at, revenue=learning.revenue(message, state))
                self._learn(state, out)
                funnel.bought(self.later, state, at, learning.label(state))  # the model's record
                self._outcome(PURCHASE, state, order=_order(message, state, at))
            elif snapshot:
                held = self.pending.setdefault(name, [])
                held.append(snapshot)
                if len(held) > learning.MAX_SNAPSHOTS:  # only the latest are kept (scorer.writer)
                    del held[0]
            if message.get("type") == "identify" and state["user_id"]:
                self._outcome(IDENTIFIED, state)
            elif message.get("event") == "Coupon Entered" and isinstance(message.get("properties"), dict):
                code = session.text(message["properties"].get("coupon_id") or message["properties"].get("coupon"), 40)
                if code:  # a coupon Handrail issued is redeemed (dispatch.coupons); others are the shop's own
                    self._coupon_entered(state, code, at)
            applied, trigger = applied + 1, entry_id
        waiting = self._evaluate(state, self.clock(), trigger) if trigger else False
        if records:
            recording.scored(records, state["score"])
            recording.stage(out, name, records, self.shards, self.replay_days)
        return state, applied, waiting

    def _learn(self, state: dict, out: Batch) -> None:
        """The session's outcome is known: its snapshots, held and taken in this batch, go to the learner with
        its label in the batch's write (see scorer.learning for which sessions teach). A session with an
        outcome is never admitted again, so the label does not change after this."""
        out.settled(state["session"], learning.label(state), self.pending.pop(state["session"], []))

    def _close(self, state: dict, out: Batch) -> None:
        """The session ended (SESSION_TIMEOUT without events): its outcome, learning, page statistics."""
        if state["closed"]:
            return
        state["closed"] = True
        if learning.end(state, self.pages):
            self._learn(state, out)
        funnel.closed(self.later, state, learning.label(state))  # the funnel, friction and model counters
        if state["outcome"] != "purchase":  # a purchase told dispatch, and was counted for the uplift, already
            self._outcome(ENDED, state)
            self._settled(state, state["last_seen"])
        if state["contact"] is not None:  # how contacted (and held-out) sessions end: the save rates
            outcomes.record(self.later, state.get("channel", "chat") if state["contact"] == policy.CONTACT
                            else policy.HOLDOUT, state["outcome"] == "purchase")

    def _settled(self, state: dict, at: int, revenue: float | None = None) -> None:
        """A session a rule fired on has its outcome (bought, with ``revenue``, or ended at ``at`` ms without):
        counted for the first rule that fired on it, once (reports.uplift)."""
        if state["contact"] is not None and state.get("rule"):
            outcomes.settled(self.later, state["rule"], state["contact"] == policy.HOLDOUT, at / 1000,
                             won=revenue is not None, revenue=revenue or 0.0)

    def _evaluate(self, state: dict, now: int, trigger: str) -> bool:
        """Score the session and ask the rules; True when they decided, and the decision waits for _admit."""
        state["score"] = self.model.score_values(model.values(state, now, self.pages))
        if state["outcome"] is not None or not self.ruleset.rules or now < state["quiet_until"]:
            return False  # nothing to ask the rules: no snapshot for them
        snap = session.snapshot(state, now)

        def allow(channel, skill):
            return policy.blocked(self.ruleset, channel, skill, snap, self.free)

        decision = decide(self.ruleset, snap, trigger, allow, self.rates)
        if decision is None:
            return False
        if not self.deciding:
            self.waiting_since = time.perf_counter()
        self.deciding.append((state, decision, snap, now))
        return True

    def _admit(self, out: Batch) -> None:
        """The batch's decisions put to the contact policy in one round trip (rules.policy.admit, in order),
        then each handled and its session saved."""
        asked = [policy.asking(self.ruleset, decision, snap) for _, decision, snap, _ in self.deciding]
        answers = iter(self.admission.many([(found[1], found[2]) for found in asked if found is not None]))
        for (state, decision, snap, now), found in zip(self.deciding, asked):
            verdict = policy.answered(found[0], next(answers)) if found else policy.DO_NOT_CONTACT
            self._decided(state, decision, snap, now, verdict)
            self._save(out, state)
        self.deciding.clear()

    def _decided(self, state: dict, decision: dict, snap: dict, now: int, verdict: str) -> None:
        if verdict in (policy.CONTACT, policy.HOLDOUT) and state["contact"] != policy.CONTACT:
            state["contact"] = verdict  # a contacted session is not learned from (scorer.learning)
            if verdict == policy.CONTACT:
                self.pending.pop(state["session"], None)  # nor are the snapshots it took in this batch
            state["channel"] = decision["channel"]  # its outcome teaches that channel's save rate
        if verdict in (policy.CONTACT, policy.HOLDOUT) and not state.get("rule"):
            state["rule"] = decision["rule"][:session.RULE_ID]  # its end is counted for this rule (reports.uplift)
        # The policy would refuse this shopper until then: no need to ask it on every event.
        refused = verdict in (policy.COOLDOWN, policy.BUDGET)
        wait = min(self.ruleset.cooldown, defaults.RECHECK) if refused else self.ruleset.cooldown
        state["quiet_until"] = now + int(wait * 1000)
        if verdict == policy.CONTACT:
            state["decision"] = decision["id"]  # the latest contact is the one its outcome is credited to
            decision["context"] = {
                "cart": state["cart"],
                "step": state["step"],
                "timeline": session.timeline(state),
                "customer": dict(state["traits"], user_id=state["user_id"], returning=snap["returning"],
                                 segments=sorted(segments(snap))),
            }
            self.on_decision(decision)

    def _outcome(self, kind: str, state: dict, order: dict | None = None) -> None:
        """Tell dispatch how a contacted session ended (its task is credited or withdrawn), and every
        order of a known user (their past orders). Called before the state is written, like on_decision:
        a replay calls it again, and dispatch's jobs are idempotent."""
        contacted = state.get("decision") if state["contact"] == policy.CONTACT and kind != IDENTIFIED else None
        if self.on_outcome is None or not (contacted or state["user_id"] or (order and order["coupon"])):
            return  # an order with a coupon is told whoever placed it: it may redeem one Handrail issued
        told = {"decision": contacted, "site": state["site"], "user_id": state["user_id"],
                "anonymous_id": state["anonymous_id"] or state["session"], "order": order}
        if kind == IDENTIFIED:
            told["traits"] = state["traits"]
        elif kind == ENDED:  # what a known customer's profile keeps of their last visit
            told.update(at=state["last_seen"] / 1000, started_at=state["started_at"] / 1000, cart=state["cart"],
                        step=state["step"], trouble=session.trouble(state), tz=state.get("tz"))
        self.on_outcome(kind, told)

    def _coupon_entered(self, state: dict, code: str, at: int) -> None:
        if self.on_outcome is not None:
            self.on_outcome(COUPON, {"decision": None, "site": state["site"], "user_id": state["user_id"],
                                     "anonymous_id": state["anonymous_id"] or state["session"],
                                     "coupon": code, "at": at / 1000})

    def _save(self, out: Batch, state: dict) -> None:
        name = state["session"]
        shard = stream.shard_of(name, self.shards)
        out.shards.add(shard)
        out.session(name, session.dump(state), keys.deadlines(shard), self._next_deadline(state),
                    self.pending.pop(name, []))

    def _next_deadline(self, state: dict) -> int | None:
        """The next moment this session must be looked at without a new event: a dwell threshold
        of the rules in force being crossed, or the session ending."""
        return next_due(state, self.ruleset, self.clock())

    # -- deadlines ---------------------------------------------------------------------------
    def run_deadlines(self) -> int:
        """The sessions whose deadline is due, up to READ_COUNT a shard, handled as one batch: a few round
        trips in all, not a few per session."""
        now = self.clock()
        self.deciding.clear()
        owned = self.ownership.owned
        if not owned:
            return 0
        pipe = self.redis.pipeline(transaction=False)
        for shard in owned:
            pipe.zrangebyscore(keys.deadlines(shard), 0, now, start=0, num=defaults.READ_COUNT, withscores=True)
        found = pipe.execute()
        # A shard with READ_COUNT due may have more: the next step looks again at once.
        full = any(len(listed) >= defaults.READ_COUNT for listed in found)
        self.deadlines_next = now if full else now + defaults.DEADLINE_EVERY
        due = [(shard, name, int(at)) for shard, listed in zip(owned, found) for name, at in listed]
        if not due:
            return 0
        for shard, name, _ in due:
            pipe.zrem(keys.deadlines(shard), name)
        taken = [item for item, took in zip(due, pipe.execute()) if took]  # 0: another scorer took it
        stored = self.line.call(b"MGET", *[keys.session(name.decode()) for _, name, _ in taken]) if taken else []
        out, handled = Batch(), 0
        self.together = len(taken) >= defaults.ADMIT_TOGETHER  # as in process
        for (_, _, at), raw in zip(taken, stored):
            if raw is not None:
                state = orjson.loads(raw)
                self._done(out, state, self._deadline(state, now, at, out))
                handled += 1
        self._write(out)
        return handled

    def _deadline(self, state: dict, now: int, due: int, out: Batch) -> bool:
        """True when a decision on the session waits for _admit (which saves it then)."""
        if now - state["last_seen"] >= defaults.SESSION_TIMEOUT:
            self._close(state, out)
        elif state["outcome"] is None:
            return self._evaluate(state, now, f"deadline:{due}")
        return False

