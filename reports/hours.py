"""Hourly counters: how every stage keeps the figures the reports read.

A stage owns a key template with an ``{hour}`` field (its keys.py) and adds to the hash of the hour an
event happened in. A report over any period then sums at most a few thousand small hashes, whatever
number of sessions went through: figures are never recomputed from raw events on a view.
"""

import math

KEEP_DAYS = 400  # a year and a month: a year-on-year look stays possible
KEEP_SECONDS = KEEP_DAYS * 86_400


def hour_of(at_seconds: float) -> int:
    """The epoch hour (UTC) an instant falls in."""
    return int(at_seconds // 3600)


def add(pipe, template: str, at_seconds: float, fields: dict[str, float]) -> None:
    """Queue, on a pipeline, additions to the hour's hash of ``template`` (whole numbers stay integers)."""
    key = template.format(hour=hour_of(at_seconds))
    for field, amount in fields.items():
        if isinstance(amount, int):
            pipe.hincrby(key, field, amount)
        else:
            pipe.hincrbyfloat(key, field, amount)
    pipe.expire(key, KEEP_SECONDS)


def read(redis, template: str, since_hour: int, until_hour: int) -> dict[int, dict[str, float]]:
    """hour -> {field: value} for every hour from ``since_hour`` to ``until_hour`` inclusive that has data."""
    hours = range(since_hour, until_hour + 1)
    pipe = redis.pipeline(transaction=False)
    for hour in hours:
        pipe.hgetall(template.format(hour=hour))
    found = {}
    for hour, raw in zip(hours, pipe.execute()):
        if raw:
            found[hour] = {field.decode(): _number(value) for field, value in raw.items()}
    return found


def total(by_hour: dict[int, dict[str, float]]) -> dict[str, float]:
    """The sum of every field over the hours read."""
    summed: dict[str, float] = {}
    for fields in by_hour.values():
        for field, value in fields.items():
            summed[field] = summed.get(field, 0) + value
    return summed


def _number(raw: bytes) -> float:
    try:
        return int(raw)  # most counters are whole numbers: the cheap parse first
    except ValueError:
        pass
    value = float(raw)
    return int(value) if value.is_integer() and math.isfinite(value) else value
