"""The whole report over a period: what `/api/reports` serves, the page draws and `handrail report` prints.

Each section reads the hourly counters its stage keeps (reports.hours); ``since`` is a duration back from
now or a date, parsed here for the command line and the API alike.
"""

import time
from datetime import datetime, timezone

from reports import activity, funnel, hours, model, uplift
from rules import durations

SINCE_HELP = "a duration like 30m, 24h or 7d, or a date like 2026-11-01 (UTC)"


def parse_since(text, now: float | None = None) -> float:
    """The epoch second a period starts at: ``text`` is "30m", "24h", "7d" back from ``now``, or an ISO
    date or time (UTC unless it names a zone). ValueError, saying what is allowed, for anything else."""
    now = time.time() if now is None else now
    raw = str(text).strip()
    seconds = durations.parse(raw)
    if seconds is not None:
        if seconds <= 0:
            raise ValueError(f"{SINCE_HELP}, longer than nothing; got {raw[:40]!r}")
        return now - seconds
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{SINCE_HELP}; got {raw[:40]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    since = moment.timestamp()
    if since >= now:
        raise ValueError(f"{SINCE_HELP}, in the past; got {raw[:40]!r}")
    return since


def collect(redis, since_seconds: float, until_seconds: float | None = None) -> dict:
    """Every figure of the report from ``since_seconds`` to ``until_seconds`` (default now), by whole
    hours: the hour ``since`` falls in counts in full."""
    now = time.time()
    until = now if until_seconds is None else until_seconds
    counters = hours.Reader(redis, hours.hour_of(since_seconds), hours.hour_of(until))
    found = {"since": since_seconds, "until": until, "generated_at": now}
    found.update(activity.section(counters, now))  # "rules" and "load"
    found["uplift"] = uplift.section(counters)
    found["model"] = model.section(counters)
    found["funnel"] = funnel.section(counters)
    return found
