"""Simulated shoppers at a set concurrency and event rate, posted to the collector; what it accepted, and
how long after a stuck shopper's decisive event the task was listed.

The shoppers are demo.simulator's (its personas, scripts and messages), with their clock squeezed: each
keeps ``rate / shoppers`` events a second, and a shopper who leaves is replaced at once, so that
``shoppers`` are on the site at every moment (slots start over the first ``ramp`` seconds). A share
``stuck`` of them is stuck at payment (two to four declined cards); the others are personas that never
fail twice (smooth buyers, browsers, price checkers, returning customers), so the rule "at payment, 2
Payment Failed within 5 minutes" fires for the stuck ones alone, at their second Payment Failed: the
*trigger*, whose arrival is the moment its POST was answered 200.

Every 10 ms the messages due are posted as batches (``batch`` at most, as a server-side source or
`handrail simulate` does) on a few keep-alive connections. A batch answered other than 200, or not
answered, is sent again with the same messageIds after a backoff, as hr.js resends (the collector drops
a repeated messageId): ``accepted`` counts each message once, when first answered 200.

With an API token, a poller asks ``GET /api/tasks?limit=20`` every ``poll`` seconds and notes when each
task was first listed: the latency is that moment minus the trigger's arrival (both this machine's
clock; the poll's interval bounds the error).
"""

import asyncio
import base64
import heapq
import itertools
import math
import random
import time
from dataclasses import dataclass, field
from functools import partial

import orjson

from bench.openloop import percentile
from demo import simulator

TICK = 0.01  # seconds between looks for due messages
START = 3.0  # seconds from now to the first shopper's start: the first shoppers' scripts are written meanwhile
CONNECTIONS = 8  # keep-alive connections posting batches
TIMEOUT = 10.0  # seconds an answer may take before the batch is sent again
BACKOFF = (0.1, 0.2, 0.5, 1.0)  # seconds before each resend of a batch, then the last again
GIVE_UP = 120.0  # seconds a batch is resent for before it counts as lost
SETTLED_EVERY = 0.5  # seconds between two questions to ``settled``
POLL_LIMIT = 20  # tasks a poll lists: many more than are made between two polls
SMOOTH = [(persona, weight) for persona, weight in simulator.PERSONAS
          if persona in (simulator.smooth_buyer, simulator.browser, simulator.price_checker,
                         simulator.returning_customer)]
TRIGGER_EVENT, TRIGGER_COUNT = "Payment Failed", 2  # what makes the bench's rule true (see RULES)
RULES = """\
defaults:
  cooldown: 30m
  holdout: 0
rules:
  - id: stuck-at-payment
    description: Payment keeps failing
    when:
      all:
        - step: payment
        - count: {event: Payment Failed, within: 5m, at_least: 2}
    action: {channel: chat, message: "Trouble paying? We can help right now."}
"""


@dataclass
class Plan:
    shoppers: int = 1000
    rate: float = 2000.0  # events a second over all shoppers
    seconds: float = 300.0
    stuck: float = 0.05
    ramp: float = 10.0  # seconds over which the slots start their first shopper
    batch: int = 100  # messages per request at most
    poll: float = 0.02  # seconds between two polls of the tasks
    linger: float = 1.0  # seconds the poller goes on once ``settled`` says the pipeline is done
    seed: int = 0


@dataclass
class Outcome:
    accepted: int = 0  # messages answered 200 (each once)
    lost: int = 0  # messages given up on
    requests: int = 0  # POSTs answered 200
    resent: int = 0  # POSTs sent again after an error or a non-200 answer
    statuses: dict = field(default_factory=dict)  # answers and errors that caused a resend
    post_ms: list = field(default_factory=list)  # due time to 200, per POST answered 200 at its first try
    shoppers: int = 0
    stuck: dict = field(default_factory=dict)  # anonymousId of a stuck shopper -> trigger arrival (s), or None
    accepted_ids: dict = field(default_factory=dict)  # anonymousId -> messageIds accepted (when recorded)
    listed: dict = field(default_factory=dict)  # task id -> (anonymousId, s first listed, created_at)
    polls: int = 0
    poll_overflows: int = 0  # polls whose every task was new: some may have been missed between two polls
    sent_events: int = 0
    started: float = 0.0
    ended: float = 0.0  # when the last message was due

    def latencies(self, after: float = 0.0) -> dict:
        """ms from the trigger's arrival to the task listed (and to its created_at), for triggers that
        arrived after ``after`` (s)."""
        first: dict = {}
        for anonymous_id, at, created in self.listed.values():
            if anonymous_id not in first or at < first[anonymous_id][0]:
                first[anonymous_id] = (at, created)
        listed, created, missing = [], [], 0
        for anonymous_id, arrival in self.stuck.items():
            if arrival is None or arrival < after:
                continue
            if anonymous_id not in first:
                missing += 1
                continue
            listed.append((first[anonymous_id][0] - arrival) * 1000)
            created.append((first[anonymous_id][1] - arrival) * 1000)
        return {"listed_ms": summary(listed), "created_ms": summary(created), "samples": len(listed),
                "no_task": missing}


def summary(values: list[float]) -> dict:
    ordered = sorted(values)
    return {"p50": round(percentile(ordered, 50), 1), "p99": round(percentile(ordered, 99), 1),
            "max": round(ordered[-1], 1) if ordered else math.nan, "n": len(ordered)}


class Driver:
    def __init__(self, url: str, write_key: str, plan: Plan, token: str | None = None, record: bool = False,
                 settled=None):
        host_port = url.split("//", 1)[1].rstrip("/")
        self.host, _, port = host_port.partition(":")
        self.port = int(port or 80)
        self.auth = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()
        self.plan, self.token, self.record = plan, token, record
        self.settled = settled or (lambda: True)  # () -> bool, asked once the last batch is accepted: all consumed
        self.rng = random.Random(plan.seed)
        self.out = Outcome()
        self.queue: asyncio.Queue | None = None
        self.pending = 0  # batches queued or in flight, resends included

    # -- shoppers -------------------------------------------------------------------------
    def _shopper(self, start: float) -> tuple[list, float]:
        """A new shopper from ``start`` (s): its messages as (due s, trigger?, message), and when it leaves."""
        stuck = self.rng.random() < self.plan.stuck
        persona = (partial(simulator.stuck_at_payment, declines=self.rng.choice([2, 3, 4])) if stuck else
                   self.rng.choices([p for p, _ in SMOOTH], [w for _, w in SMOOTH])[0])
        script = persona(self.rng)
        per_second = self.plan.rate / self.plan.shoppers
        real = len(script.steps) / per_second  # seconds this visit lasts at the shopper's event rate
        scale = real / max(script.leave_after, 1e-3)
        one = simulator.Shopper(f"sim-{script.persona}-{self.rng.getrandbits(48):012x}", int(start * 1000), script,
                                scale)
        self.out.shoppers += 1
        failures, found = 0, []
        for at_ms, message in one.messages():
            trigger = False
            if stuck and message.get("event") == TRIGGER_EVENT:
                failures += 1
                trigger = failures == TRIGGER_COUNT
            found.append((at_ms / 1000, trigger, message))
        if stuck:
            self.out.stuck[one.anonymous_id] = None
        return found, start + real

    def _place(self, slot: int, start: float) -> list:
        """(due s, trigger?, message) of a new shopper's messages, then (leaves s, None, slot)."""
        messages, leaves = self._shopper(start)
        return messages + [(leaves, None, slot)]

    # -- posting --------------------------------------------------------------------------
    def _request(self, messages: list[dict]) -> bytes:
        body = orjson.dumps({"batch": messages})
        head = (f"POST /v1/batch HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
                f"Authorization: {self.auth}\r\nContent-Length: {len(body)}\r\n\r\n")
        return head.encode() + body

    async def _connection(self) -> None:
        reader = writer = None
        while True:
            item = await self.queue.get()
            if item is None:
                break
            due, tries, first_sent, entries = item
            status = None
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(self.host, self.port)
                writer.write(self._request([message for _, message in entries]))
                status, _, close = await asyncio.wait_for(_read_answer(reader), TIMEOUT)
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as error:
                status, close = type(error).__name__, True
            if close and writer is not None:
                writer.close()
                reader = writer = None
            if status == 200:
                self._accepted(due, tries, entries)
            else:
                self._resend(due, tries, first_sent, entries, str(status))
        if writer is not None:
            writer.close()

    def _accepted(self, due: float, tries: int, entries: list) -> None:
        now = time.time()
        out = self.out
        out.requests += 1
        out.accepted += len(entries)
        if tries == 0:
            out.post_ms.append((now - due) * 1000)
        for trigger, message in entries:
            if trigger:
                out.stuck[message["anonymousId"]] = now
            if self.record:
                out.accepted_ids.setdefault(message["anonymousId"], set()).add(message["messageId"])
        self.pending -= 1

    def _resend(self, due: float, tries: int, first_sent: float, entries: list, status: str) -> None:
        out = self.out
        out.statuses[status] = out.statuses.get(status, 0) + 1
        if time.time() - first_sent > GIVE_UP:
            out.lost += len(entries)
            self.pending -= 1
            return
        out.resent += 1
        delay = BACKOFF[min(tries, len(BACKOFF) - 1)]
        asyncio.get_running_loop().call_later(delay, self.queue.put_nowait, (due, tries + 1, first_sent, entries))

    # -- the tasks ------------------------------------------------------------------------
    async def _poll(self, done: asyncio.Event) -> None:
        request = (f"GET /api/tasks?limit={POLL_LIMIT} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                   f"Authorization: Bearer {self.token}\r\n\r\n").encode()
        reader = writer = None
        settled_at, asked = None, 0.0
        while True:
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(self.host, self.port)
                writer.write(request)
                status, body, close = await asyncio.wait_for(_read_answer(reader), TIMEOUT)
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError):
                status, body, close = None, b"", True
            now = time.time()
            if close and writer is not None:
                writer.close()
                reader = writer = None
            if status == 200:
                self.out.polls += 1
                tasks = orjson.loads(body)["tasks"]
                new = [task for task in tasks if task["id"] not in self.out.listed]
                for task in new:
                    self.out.listed[task["id"]] = (task["anonymous_id"], now, task["created_at"])
                if tasks and len(new) == len(tasks) and self.out.polls > 1:
                    self.out.poll_overflows += 1
            if done.is_set() and settled_at is None and now - asked >= SETTLED_EVERY:
                asked = now
                if await asyncio.to_thread(self.settled):
                    settled_at = time.time()
            if settled_at is not None and now - settled_at >= self.plan.linger:
                break
            await asyncio.sleep(self.plan.poll)
        if writer is not None:
            writer.close()

    # -- the run --------------------------------------------------------------------------
    async def run(self) -> Outcome:
        plan = self.plan
        self.queue = asyncio.Queue()
        pool = [asyncio.create_task(self._connection()) for _ in range(CONNECTIONS)]
        sent = asyncio.Event()
        poller = asyncio.create_task(self._poll(sent)) if self.token else None
        start = time.time() + START
        end = start + plan.seconds
        self.out.started = start
        order = itertools.count()  # ties of due times keep their order
        entries = [(due, next(order), trigger, what) for slot in range(plan.shoppers)
                   for due, trigger, what in self._place(slot, start + plan.ramp * slot / plan.shoppers)]
        heapq.heapify(entries)
        while entries and entries[0][0] < end:
            now = time.time()
            due_now = []
            while entries and entries[0][0] <= now and entries[0][0] < end:
                due, _, trigger, what = heapq.heappop(entries)
                if trigger is None:  # the shopper of slot `what` leaves: the next one arrives
                    for item in self._place(what, due):
                        heapq.heappush(entries, (item[0], next(order), *item[1:]))
                else:
                    due_now.append((due, (trigger, what)))
            for first in range(0, len(due_now), plan.batch):
                chunk = due_now[first:first + plan.batch]
                self.pending += 1
                self.out.sent_events += len(chunk)
                self.queue.put_nowait((chunk[0][0], 0, time.time(), [entry for _, entry in chunk]))
            await asyncio.sleep(TICK)
        self.out.ended = min(end, time.time())
        while self.pending:
            await asyncio.sleep(TICK)
        for _ in pool:
            self.queue.put_nowait(None)
        await asyncio.gather(*pool)
        sent.set()
        if poller:
            await poller
        return self.out


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body and whether the server closes the connection (a JSON answer with Content-Length)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status, length, close = int(lines[0].split(" ", 2)[1]), 0, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
        elif name.strip().lower() == "connection":
            close = value.strip().lower() == "close"
    return status, await reader.readexactly(length), close


def drive(url: str, write_key: str, plan: Plan, token: str | None = None, record: bool = False,
          settled=None) -> Outcome:
    return asyncio.run(Driver(url, write_key, plan, token, record, settled).run())
