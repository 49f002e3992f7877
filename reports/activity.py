"""Activity: what became of the contacts each rule fired, per channel, and the agents' load by hour of day.

Read from the hourly counters the stages keep: rules.keys.REPORT (fired, held out) and dispatch.keys.REPORT
(tasks created, offered, claimed, converted, expired unclaimed, seconds to claim; agent-seconds on shift),
plus the stretches on shift still open, counted up to now. Hours of day are UTC.
"""

from dispatch import agents
from dispatch import keys as dispatch_keys
from reports import hours
from rules import keys as rule_keys

RULE_COUNTS = {"fired": "fired", "held": "held_out"}  # rules' counter -> the column of the rules table
TASK_COUNTS = ("created", "offered", "claimed", "converted", "expired", "redeemed")  # dispatch's, each once per task
LOAD_COUNTS = ("offered", "claimed", "expired")  # by hour of day: dispatch keeps them summed over rules and channels
LOAD_FIELDS = LOAD_COUNTS + ("shift_seconds",)


def section(counters: hours.Reader, now: float) -> dict:
    """{"rules": one row per (rule, channel) seen in the period, "load": one row per hour of day, 0..23 UTC}."""
    return {"rules": _rules(counters.total(rule_keys.REPORT), counters.total(dispatch_keys.REPORT)),
            "load": _load(counters.hourly(dispatch_keys.REPORT, LOAD_FIELDS),
                          agents.open_shift_seconds(counters.redis, now), counters.since_hour, counters.until_hour,
                          now)}


def _split(field: str) -> tuple[str, str, str] | None:
    """(what, rule, channel) of a "<what>|<rule>|<channel>" field; None for any other field."""
    parts = field.split("|")
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else None


def _rules(fired: dict[str, float], tasks: dict[str, float]) -> list[dict]:
    rows: dict[tuple[str, str], dict] = {}

    def row(rule: str, channel: str) -> dict:
        if (rule, channel) not in rows:
            rows[rule, channel] = {"rule": rule, "channel": channel, **dict.fromkeys(RULE_COUNTS.values(), 0),
                                   **dict.fromkeys(TASK_COUNTS, 0), "claim_seconds": 0.0}
        return rows[rule, channel]

    for field, value in fired.items():
        found = _split(field)
        if found and found[0] in RULE_COUNTS:
            row(found[1], found[2])[RULE_COUNTS[found[0]]] += value
    for field, value in tasks.items():
        found = _split(field)
        if found and (found[0] in TASK_COUNTS or found[0] == "claim_seconds"):
            row(found[1], found[2])[found[0]] += value
    shown = []
    for key in sorted(rows):
        counts = rows[key]
        claim_seconds = counts.pop("claim_seconds")
        counts["claim_seconds_mean"] = claim_seconds / counts["claimed"] if counts["claimed"] else None
        shown.append(counts)
    return shown


def _load(by_hour: dict[int, dict[str, float]], open_shifts: dict[int, float], since_hour: int, until_hour: int,
          now: float) -> list[dict]:
    """Tasks offered, claimed and expired in each hour of day, summed over the period, and the mean number
    of agents on shift in it: agent-seconds on shift / seconds of the period in that hour of day (up to now,
    so the hour under way counts for the part of it gone by)."""
    rows = [{"hour": hour, **dict.fromkeys(LOAD_COUNTS, 0)} for hour in range(24)]
    shift = [0.0] * 24
    elapsed = [0.0] * 24
    for hour in range(since_hour, until_hour + 1):
        of_day = hour % 24
        elapsed[of_day] += max(0.0, min(float((hour + 1) * 3600), now) - hour * 3600)
        fields = by_hour.get(hour, {})
        shift[of_day] += fields.get("shift_seconds", 0) + open_shifts.get(hour, 0)
        for what in LOAD_COUNTS:
            rows[of_day][what] += fields.get(what, 0)
    for row in rows:
        hour = row["hour"]
        row["agents_on_shift"] = shift[hour] / elapsed[hour] if elapsed[hour] else 0.0
    return rows
