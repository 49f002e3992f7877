"""The checkout funnel, the friction that precedes abandonment, and the model's record: what a session
remembers of them, and the hourly counters (keys.REPORT, read by reports.funnel and reports.model).

A session keeps ``reached``, the steps it entered in the order first entered (at most MAX_STEPS: the
last one is the furthest, as a checkout moves forward), and ``marks``, its first MAX_MARKS distinct
friction signals as ``[page, kind, detail]``: page = the path being read, without query or fragment;
detail = the form field (Form Error), the element's selector (Rage Click, Dead Click), the reason
(Payment Failed). Text is cut to TEXT characters with "|" removed (it separates a counter field's parts).

When the session ends (one round trip of scripts; a purchase makes one more): ``sessions``,
``purchased``, ``reached|<step>``, ``abandoned|<step>`` (ended with a cart and no purchase, at its furthest
step), ``friction|<page>|<kind>|<detail>`` and ``friction_abandoned|...``, in the hour of its last event
(and its day).
Pages, step names and details are the shop's and the shopper's to choose, so an hour's hash takes at most
HOUR_FIELDS fields and a day's DAY_FIELDS: a step or a friction field new to a full hash is counted under
``(other)`` instead (``reached|(other)``, ``friction|(other)|<kind>|(other)``); hostile sessions cannot grow
them past MOST_FIELDS and MOST_DAY_FIELDS. The day's bound is what keeps a month's report quick to read.
Counted once per session: a session ends once (its state says so), but a scorer killed between this write
and the state's may count it again when the entry is replayed.

The model: ``score|<bin>`` and ``score_won|<bin>`` (bins of P(abandon), 0..99) of the session's last score
before its outcome, when the outcome is known: at the purchase, or at the end of a session with a cart.
Only the sessions scorer.learning labels count: a contacted shopper's outcome is not their own.
"""

from reports import hours
from scorer import keys

MAX_STEPS = 6  # steps a session remembers reaching
MAX_MARKS = 4  # distinct friction signals a session remembers, the first ones
TEXT = 80  # characters of a page, a step, a field, a selector or a reason in a counter field
HOUR_FIELDS = 1000  # fields of one hour's hash, beyond which new steps and friction go to "(other)"
DAY_FIELDS = 2000  # ...and of one day's
OTHER = "(other)"
BINS = 100  # score bins
KINDS = {"Form Error": "form_error", "Dead Click": "dead_click", "Payment Failed": "payment_failed",
         "Rage Click": "rage_click"}  # event -> kind of friction counted
DETAIL = {"Form Error": "field", "Dead Click": "selector", "Payment Failed": "reason", "Rage Click": "selector"}
# The most fields an hour's hash can hold: HOUR_FIELDS, then the ones always counted (sessions, purchased, the
# score bins) and the "(other)" ones (of reached, abandoned and each kind of friction, abandoned or not).
ALWAYS_FIELDS = 2 + 2 * BINS + 2 + 2 * len(KINDS)
MOST_FIELDS = HOUR_FIELDS + ALWAYS_FIELDS
MOST_DAY_FIELDS = DAY_FIELDS + ALWAYS_FIELDS

# ARGV: the hash's field cap, its expiry, then (field, gate, fallback, amount) quads: a field whose gate is
# neither empty nor in the hash yet is counted under its fallback once the hash holds the cap.
_ADD = """
local cap = tonumber(ARGV[1])
for i = 3, #ARGV, 4 do
  local field, gate = ARGV[i], ARGV[i + 1]
  if gate ~= '' and redis.call('HEXISTS', KEYS[1], gate) == 0 and redis.call('HLEN', KEYS[1]) >= cap then
    field = ARGV[i + 2]
  end
  redis.call('HINCRBY', KEYS[1], field, ARGV[i + 3])
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
"""


def clean(value, limit: int = TEXT) -> str:
    """Text fit for a counter field: at most ``limit`` characters (cut first, as a recording cuts), no "|",
    "?" when empty."""
    return (str(value)[:limit].replace("|", "") if value is not None else "") or "?"


def page_of(path: str | None) -> str:
    return clean((path or "?").split("?", 1)[0].split("#", 1)[0])


def reach(state: dict, step: str) -> None:
    """The session entered ``step``."""
    reached = state.setdefault("reached", [])
    if step not in reached and len(reached) < MAX_STEPS:
        reached.append(step)


def mark(state: dict, event: str, props: dict) -> None:
    """A friction event: remembered when it is one of the session's first MAX_MARKS distinct ones."""
    if event not in KINDS:
        return
    marks = state.setdefault("marks", [])
    found = [page_of(state.get("path")), KINDS[event], clean(props.get(DETAIL[event]))]
    if found not in marks and len(marks) < MAX_MARKS:
        marks.append(found)


def trim(state: dict, short: int = 24) -> bool:
    """Make room in a state that session.dump cannot hold otherwise (a hostile one: it lost its timeline,
    item names and traits already): the marks' and steps' text cut to ``short``, then the marks, then the
    steps dropped, keys and all. False when nothing is left to trim."""
    marks, reached = state.get("marks") or [], state.get("reached") or []
    if any(len(part) > short for mark in marks for part in mark) or any(len(step) > short for step in reached):
        state["marks"] = [[part[:short] for part in mark] for mark in marks]
        state["reached"] = [step[:short] for step in reached]
    elif "marks" in state:  # the key too: mark() brings it back
        del state["marks"]
    elif "reached" in state:
        del state["reached"]
    else:
        return False
    return True


def bin_of(score: float) -> int:
    return min(BINS - 1, max(0, int(score * BINS)))


def _model(state: dict, abandoned: bool | None) -> list[tuple]:
    if abandoned is None or state.get("score") is None:
        return []
    found = bin_of(state["score"])
    return [(f"score|{found}", "", "", 1)] + ([] if abandoned else [(f"score_won|{found}", "", "", 1)])


def bought(pipe, state: dict, at_ms: int, label: bool | None) -> None:
    """The session's purchase: the model's record of it, in the hour it happened. ``label``: what
    scorer.learning.label says of the session (None: not the model's to be judged on). ``pipe``: a
    pipeline the commands are queued on (the scorer sends a batch's in one round trip), or a client."""
    quads = _model(state, label)
    if quads:
        _write(pipe, at_ms / 1000, quads)


def closed(pipe, state: dict, label: bool | None) -> None:
    """The session ended (its outcome settled by scorer.learning.end): the funnel and friction counters,
    and the model's record of an abandonment (``label`` and ``pipe`` as for `bought`)."""
    outcome, reached = state["outcome"], [clean(step) for step in state.get("reached", [])]
    quads = [("sessions", "", "", 1)]
    if outcome == "purchase":
        quads.append(("purchased", "", "", 1))
    for step in reached:
        quads.append((f"reached|{step}", f"reached|{step}", f"reached|{OTHER}", 1))
    if outcome == "abandoned" and reached:
        step = reached[-1]
        quads.append((f"abandoned|{step}", f"reached|{step}", f"abandoned|{OTHER}", 1))
    for page, kind, detail in state.get("marks", []):
        name = f"{page}|{kind}|{detail}"
        quads.append((f"friction|{name}", f"friction|{name}", f"friction|{OTHER}|{kind}|{OTHER}", 1))
        if outcome == "abandoned":
            quads.append((f"friction_abandoned|{name}", f"friction|{name}",
                          f"friction_abandoned|{OTHER}|{kind}|{OTHER}", 1))
    if outcome == "abandoned":
        quads += _model(state, label)
    _write(pipe, state["last_seen"] / 1000, quads)


def _write(pipe, at_seconds: float, quads: list[tuple]) -> None:
    """The hour's hash and the day's (reports.hours), each capped alike: two scripts, as the two keys may
    live on different nodes of a cluster."""
    parts = [part for quad in quads for part in quad]
    hour = hours.hour_of(at_seconds)
    pipe.eval(_ADD, 1, hours.hour_key(keys.REPORT, hour), HOUR_FIELDS, hours.KEEP_SECONDS, *parts)
    pipe.eval(_ADD, 1, hours.day_key(keys.REPORT, hour // 24), DAY_FIELDS, hours.KEEP_SECONDS, *parts)
