"""The funnel: how many sessions reached each checkout step and how many were abandoned there, and the
friction signals (form errors by field, dead and rage clicks by element, payment failures by reason) seen
most often in abandoned sessions, by page.

Read from the scorer's hourly counters (scorer.keys.REPORT, kept by scorer.funnel when sessions end).
Steps come in checkout order: the scorer's own steps in STEP_ORDER, and the steps a shop names itself
(Checkout Step Viewed's step_name) before "complete", the most reached first ("(other)", what overflowed
a full hour, last of them).
"""

import heapq

from reports import hours
from scorer import funnel as scorer_funnel
from scorer import keys

STEP_ORDER = ("browse", "cart", "checkout", "shipping", "payment")  # then the shop's own steps, then "complete"
LAST = "complete"
FRICTION_ROWS = 50  # friction rows shown, the most abandoned first


def section(counters: hours.Reader) -> dict:
    """{"sessions", "purchased", "steps": [...], "friction": [...]} for the sessions that ended in the period."""
    counts = counters.total(keys.REPORT)
    return {"sessions": counts.get("sessions", 0), "purchased": counts.get("purchased", 0),
            "steps": steps(counts), "friction": friction(counts)}


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def steps(counts: dict[str, float]) -> list[dict]:
    """One row per step reached: reached, abandoned there (its furthest step), drop-off = abandoned / reached."""
    reached = {field.split("|", 1)[1]: value for field, value in counts.items() if field.startswith("reached|")}
    own = sorted((step for step in reached if step not in STEP_ORDER and step != LAST),
                 key=lambda step: (step == scorer_funnel.OTHER, -reached[step], step))
    order = [step for step in STEP_ORDER if step in reached] + own + ([LAST] if LAST in reached else [])
    rows = []
    for step in order:
        abandoned = counts.get(f"abandoned|{step}", 0)
        rows.append({"step": step, "reached": reached[step], "abandoned": abandoned,
                     "drop_off": _share(abandoned, reached[step])})
    return rows


def friction(counts: dict[str, float], shown: int = FRICTION_ROWS) -> list[dict]:
    """The ``shown`` (page, kind, detail) signals most often in abandoned sessions: sessions with the signal,
    of those abandoned, abandon_rate = abandoned / sessions."""
    ranked = []  # a month holds tens of thousands of signals: rows are made for the ones shown only
    for field, sessions in counts.items():
        if field.startswith("friction|"):
            name = field[len("friction|"):]
            parts = name.split("|")
            if len(parts) == 3:
                ranked.append((-counts.get("friction_abandoned|" + name, 0), -sessions, parts))
    return [{"page": page, "kind": kind, "detail": detail, "sessions": -sessions, "abandoned": -abandoned,
             "abandon_rate": _share(-abandoned, -sessions)}
            for abandoned, sessions, (page, kind, detail) in heapq.nsmallest(shown, ranked)]
