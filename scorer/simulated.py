"""How early the model flags simulated shoppers in trouble, at a false-alarm rate of 1 in 100.

Simulated visits (demo/simulator.py) are replayed, with the messages the collector would store,
through the scorer's own session code and model. The model learns from the first 70 % of the visits
(by start time); each of the other visits is then scored after every event and every second between
events until the shopper leaves or buys, since a score moves while a shopper sits on a step. The
threshold is the one that 1 in 100 smooth visits (persona not stuck) score above at some moment; at
that threshold we count the stuck shoppers flagged before they leave, and how many seconds before.
"""

import heapq
import statistics

from demo.simulator import Shopper, population
from scorer import session
from scorer.model import AbandonModel

TRAIN = 0.7  # share of the visits, by start time, learned from
FALSE_ALARMS = 0.01  # share of smooth visits the threshold may flag
SITE = "simulated"


def replay(shopper: Shopper, every_second: bool = False):
    """(ms, snapshot) after each of the shopper's events and, with ``every_second``, at each second
    between them, until they leave or buy."""
    messages = shopper.messages()
    leave_at = shopper.at(shopper.script.leave_after)
    state = session.new(shopper.anonymous_id, SITE, messages[0][0])
    for n, (at, message) in enumerate(messages):
        session.apply(state, dict(message, receivedAt=at), at)
        yield at, session.snapshot(state, at)
        if state["outcome"] is not None:
            return
        if every_second:
            until = messages[n + 1][0] if n + 1 < len(messages) else leave_at
            for now in range(at + 1000, until, 1000):
                yield now, session.snapshot(state, now)


def train(model: AbandonModel, shoppers: list[Shopper], tick=None) -> None:
    """Learn, in time order across visits, the snapshot after each event, labelled with whether its
    visit ended without a purchase. The live scorer learns from delayed outcomes instead; this is the
    one place to swap that in."""

    def labelled(shopper):
        abandoned = shopper.script.outcome != "purchase"
        for at, snap in replay(shopper):
            yield at, snap, abandoned
        if tick:
            tick()

    for _, snap, abandoned in heapq.merge(*map(labelled, shoppers), key=lambda item: item[0]):
        model.learn(snap, abandoned)


def scores(model: AbandonModel, shopper: Shopper) -> list[tuple[int, float]]:
    """(ms, score) at every moment the shopper is on the site, as a rule would see it (no score yet,
    from a model that has learned too little: 0)."""
    return [(at, model.score(snap) or 0.0) for at, snap in replay(shopper, every_second=True)]


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
    """Train on 70 % of ``count`` simulated visits, score the rest; ``tick`` is called once per visit."""
    shoppers = sorted(population(count, seed), key=lambda shopper: shopper.start)
    cut = int(len(shoppers) * TRAIN)
    model = AbandonModel()
    train(model, shoppers[:cut], tick)
    tested = []
    for shopper in shoppers[cut:]:
        tested.append((shopper, scores(model, shopper)))
        if tick:
            tick()
    smooth = [max(score for _, score in moments) for shopper, moments in tested if not shopper.script.stuck]
    line = threshold(smooth)
    personas, leads, false_alarms = {}, [], 0
    for shopper, moments in tested:
        script = shopper.script
        first = next((at for at, score in moments if line is not None and score > line), None)
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
        "seconds_before_leaving": _quartiles(leads),
        "personas": {
            name: {"stuck": row["stuck"], "sessions": row["sessions"], "flagged": row["flagged"],
                   "seconds_before_leaving": _quartiles(row["leads"])}
            for name, row in sorted(personas.items())
        },
    }
