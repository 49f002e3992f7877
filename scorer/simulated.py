"""How early the model flags simulated shoppers in trouble, at a false-alarm rate of 1 in 100.

Simulated visits (demo/simulator.py) are replayed, all together in time order, with the messages the
collector would store, through the scorer's own session code, page statistics and model, learning as
the live scorer does (scorer.consumer, scorer.learning): a snapshot at each decision point, the latest
MAX_SNAPSHOTS of a session held until its outcome is known, then learned with its label. A visit's
outcome is known at its purchase, or when the shopper leaves (live: SESSION_TIMEOUT later; learning at
once only moves a few outcomes earlier). The model learns from the first 70 % of the visits (by start
time); each of the others is scored after every event and every second between events while it is
live, since a score moves while a shopper sits on a step. Page statistics count every visit.

The threshold is the one that 1 in 100 smooth visits (persona not stuck) score above at some moment;
at that threshold we count the stuck shoppers flagged before they leave, and how many seconds before.
Scores are the model's unrounded probability: rounded, near 1 smooth and stuck visits tie.
"""

import heapq
import statistics

from demo.simulator import Shopper, population
from scorer import learning, model, pages, session
from scorer.model import AbandonModel

TRAIN = 0.7  # share of the visits, by start time, learned from
FALSE_ALARMS = 0.01  # share of smooth visits the threshold may flag
EARLY = 30  # seconds before leaving: a flag this early leaves an agent time to reach the shopper
SITE = "simulated"
# Monday 2 March 2026, 13:00 in Amsterdam (the shoppers' time zone). 2000 visits at 0.4 a second last
# 83 minutes: from 11:00, the demo's start, the split fell at noon, and a model that learned only
# mornings met its first afternoons in the test, a daypart a live model has seen every day. From 13:00
# the first 7000 or so visits are all in one daypart (model.DAYPARTS), which then tells nothing.
START = 1_772_452_800_000
LEAVE = "leave"  # in a timeline, where a message would be: the shopper goes


def timeline(shopper: Shopper, every_second: bool = False):
    """(ms, message) of each of the shopper's messages as the scorer receives it; with
    ``every_second`` also (ms, None) at each second between them; last (ms, LEAVE) as they go."""
    messages = shopper.messages()
    leave_at = shopper.at(shopper.script.leave_after)
    for n, (at, message) in enumerate(messages):
        yield at, dict(message, receivedAt=at)
        if every_second:
            until = messages[n + 1][0] if n + 1 < len(messages) else leave_at
            for now in range(at + 1000, until, 1000):
                yield now, None
    yield leave_at, LEAVE


class Replay:
    """The scorer's side of the replay: one model, the site's page statistics (in memory), and each
    session's state and held snapshots."""

    def __init__(self):
        self.model = AbandonModel()
        self.stats = pages.Stats(None)
        self.states: dict[str, dict] = {}
        self.held: dict[str, list[str]] = {}  # session -> encoded snapshots, the latest MAX_SNAPSHOTS

    def run(self, learned: list[Shopper], scored: list[Shopper], tick=None) -> dict[str, list[tuple[int, float]]]:
        """Replay both groups of visits together; learn the outcomes of ``learned``; of each visit in
        ``scored``, (ms, probability) at every moment it is live, as a rule would see it (0 from a model
        that has learned too little to score). ``tick`` is called as each visit ends."""
        learning_from = {shopper.anonymous_id for shopper in learned}
        scores = {shopper.anonymous_id: [] for shopper in scored}

        def moments(shopper, every_second):
            for at, message in timeline(shopper, every_second):
                yield at, shopper.anonymous_id, message

        everyone = [moments(s, False) for s in learned] + [moments(s, True) for s in scored]
        for at, name, message in heapq.merge(*everyone, key=lambda moment: moment[0]):
            if message is LEAVE:
                self.close(self.states.pop(name), learn=name in learning_from)
                if tick:
                    tick()
                continue
            if message is not None:
                if name not in self.states:
                    self.states[name] = session.new(name, SITE, at)
                self.receive(self.states[name], message, at, learn=name in learning_from)
            state = self.states[name]
            if name in scores and state["outcome"] is None:
                scores[name].append((at, self.probability(state, at)))
        return scores

    def probability(self, state: dict, at: int) -> float:
        p = self.model.probability(model.values(state, at, self.stats))
        return 0.0 if p is None else p

    # The steps of the live scorer (Scorer._apply, _learn, _close), without Redis and rules.
    def receive(self, state: dict, message: dict, at: int, learn: bool) -> None:
        bought, snapshot = learning.observe(state, message, at, self.stats)
        if bought and learn:
            self.learn(state)
        elif snapshot and learn:
            held = self.held.setdefault(state["session"], [])
            held.append(snapshot)
            del held[:-learning.MAX_SNAPSHOTS]  # as the writer's LTRIM

    def learn(self, state: dict) -> None:
        learning.teach(self.model, state, self.held.pop(state["session"], []))

    def close(self, state: dict, learn: bool) -> None:
        if learning.end(state, self.stats) and learn:
            self.learn(state)


def threshold(maxima: list[float], rate: float = FALSE_ALARMS) -> float | None:
    """The score that at most ``rate`` of these visits' highest scores are above: the (1 - rate)
    quantile, taken as the (n * rate + 1)-th highest, so that ties cannot push the share over."""
    if not maxima:
        return None
    return sorted(maxima, reverse=True)[int(len(maxima) * rate)]


def _quartiles(values: list[float]) -> dict | None:
    if not values:
        return None
    # quantiles() needs two values; one value is its own quartiles.
    q1, median, q3 = statistics.quantiles(values * 2 if len(values) == 1 else values, n=4, method="inclusive")
    return {"q1": round(q1, 1), "median": round(median, 1), "q3": round(q3, 1)}


def evaluate(count: int = 2000, seed: int = 0, tick=None) -> dict:
    """Learn from 70 % of ``count`` simulated visits, score the rest; ``tick`` is called once per visit."""
    shoppers = sorted(population(count, seed, start_ms=START), key=lambda shopper: shopper.start)
    cut = int(len(shoppers) * TRAIN)
    scores = Replay().run(shoppers[:cut], shoppers[cut:], tick)
    tested = [(shopper, scores[shopper.anonymous_id]) for shopper in shoppers[cut:]]
    smooth = [max((p for _, p in moments), default=0.0) for shopper, moments in tested if not shopper.script.stuck]
    line = threshold(smooth)
    personas, leads, false_alarms = {}, [], 0
    for shopper, moments in tested:
        script = shopper.script
        first = next((at for at, p in moments if line is not None and p > line), None)
        lead = None if first is None else (shopper.at(script.leave_after) - first) / 1000
        row = personas.setdefault(script.persona, {"stuck": script.stuck, "sessions": 0, "flagged": 0, "leads": []})
        row["sessions"] += 1
        if lead is not None:
            row["flagged"] += 1
            row["leads"].append(lead)
            if script.stuck:
                leads.append(lead)
            else:
                false_alarms += 1
    stuck = sum(1 for shopper, _ in tested if shopper.script.stuck)
    return {
        "sessions": len(shoppers),
        "seed": seed,
        "trained_on": cut,
        "tested": len(tested),
        "smooth": len(smooth),
        "stuck": stuck,
        "threshold": line,
        "smooth_reaching_threshold": sum(1 for value in smooth if line is not None and value >= line),
        "false_alarms": false_alarms,
        "false_alarm_rate": round(false_alarms / len(smooth), 4) if smooth else None,
        "flagged": len(leads),
        "flagged_share": round(len(leads) / stuck, 4) if stuck else None,
        "flagged_30s_before": sum(1 for lead in leads if lead >= EARLY),  # time enough for an agent to act
        "seconds_before_leaving": _quartiles(leads),
        "personas": {
            name: {"stuck": row["stuck"], "sessions": row["sessions"], "flagged": row["flagged"],
                   "seconds_before_leaving": _quartiles(row["leads"])}
            for name, row in sorted(personas.items())
        },
    }
