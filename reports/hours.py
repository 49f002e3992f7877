"""Hourly counters: how every stage keeps the figures the reports read.

A stage owns a key template with an ``{hour}`` field (its keys.py) and adds to the hash of the hour an
event happened in, and to the hash of its UTC day (the template with ``day:<epoch day>`` for the hour).
A report over any period then sums the days it covers whole and the hours at its edges: at most a few
hundred small hashes, whatever number of sessions went through; figures are never recomputed from raw
events on a view.
"""

import math

KEEP_DAYS = 400  # a year and a month: a year-on-year look stays possible
KEEP_SECONDS = KEEP_DAYS * 86_400


def hour_of(at_seconds: float) -> int:
    """The epoch hour (UTC) an instant falls in."""
    return int(at_seconds // 3600)


def hour_key(template: str, hour: int) -> str:
    return template.format(hour=hour)


def day_key(template: str, day: int) -> str:
    """The key of an epoch day's sums (UTC): the hours' hashes added up as they are written."""
    return template.format(hour=f"day:{day}")


def add(pipe, template: str, at_seconds: float, fields: dict[str, float]) -> None:
    """Queue, on a pipeline (or run, on a client), additions to the hour's and the day's hash of ``template``
    (whole numbers stay integers)."""
    hour = hour_of(at_seconds)
    for key in (hour_key(template, hour), day_key(template, hour // 24)):
        for field, amount in fields.items():
            if isinstance(amount, int):
                pipe.hincrby(key, field, amount)
            else:
                pipe.hincrbyfloat(key, field, amount)
        pipe.expire(key, KEEP_SECONDS)


def spans(since_hour: int, until_hour: int) -> tuple[list[int], list[int]]:
    """(the epoch days inside ``since_hour``..``until_hour`` whole, the hours left over at its edges)."""
    first_day, last_day = -(-since_hour // 24), (until_hour + 1) // 24 - 1  # the whole days: ceil, floor
    if first_day > last_day:
        return [], list(range(since_hour, until_hour + 1))
    edges = list(range(since_hour, first_day * 24)) + list(range((last_day + 1) * 24, until_hour + 1))
    return list(range(first_day, last_day + 1)), edges


def read(redis, template: str, since_hour: int, until_hour: int) -> dict[int, dict[str, float]]:
    """hour -> {field: value} for every hour from ``since_hour`` to ``until_hour`` inclusive that has data."""
    return _fetch(redis, [(hour, hour_key(template, hour)) for hour in range(since_hour, until_hour + 1)])


class Reader:
    """Reads for one report over whole hours: each stage's counters are fetched once however many sections
    sum them (the page's time is almost all in reading and parsing hashes)."""

    def __init__(self, redis, since_hour: int, until_hour: int):
        self.redis, self.since_hour, self.until_hour = redis, since_hour, until_hour
        self.days, self.edges = spans(since_hour, until_hour)
        self._by_day: dict[str, dict[int, dict[str, float]]] = {}
        self._total: dict[str, dict[str, float]] = {}

    def by_day(self, template: str) -> dict[int, dict[str, float]]:
        """Epoch day -> {field: sum} over the period's part of that day, for the days with data."""
        if template not in self._by_day:
            found = _fetch(self.redis, [(day, day_key(template, day)) for day in self.days])
            for hour, fields in _fetch(self.redis, [(hour, hour_key(template, hour)) for hour in self.edges]).items():
                _add_into(found.setdefault(hour // 24, {}), fields)
            self._by_day[template] = found
        return self._by_day[template]

    def total(self, template: str) -> dict[str, float]:
        """{field: sum} over the whole period."""
        if template not in self._total:
            self._total[template] = total(self.by_day(template))
        return self._total[template]

    def hourly(self, template: str, fields: tuple[str, ...]) -> dict[int, dict[str, float]]:
        """hour -> {field: value} of only ``fields``, for every hour of the period that has any of them."""
        span = range(self.since_hour, self.until_hour + 1)
        pipe = self.redis.pipeline(transaction=False)
        for hour in span:
            pipe.hmget(hour_key(template, hour), fields)
        found = {}
        for hour, values in zip(span, pipe.execute()):
            got = {field: _number(value) for field, value in zip(fields, values) if value is not None}
            if got:
                found[hour] = got
        return found


def _fetch(redis, keyed: list[tuple[int, str]]) -> dict[int, dict[str, float]]:
    pipe = redis.pipeline(transaction=False)
    for _, key in keyed:
        pipe.hgetall(key)
    return {at: _parsed(raw) for (at, _), raw in zip(keyed, pipe.execute()) if raw}


def _parsed(raw: dict[bytes, bytes]) -> dict[str, float]:
    """A hash as read, its counts as numbers. Most hashes hold whole numbers only: parsed by builtins, with
    no Python call per field (what a month's report spends its time on); the rest field by field."""
    try:
        return dict(zip(map(bytes.decode, raw.keys()), map(int, raw.values())))
    except ValueError:
        return {field.decode(): _number(value) for field, value in raw.items()}


def _add_into(summed: dict[str, float], fields: dict[str, float]) -> None:
    for field, value in fields.items():
        summed[field] = summed.get(field, 0) + value


def total(by_hour: dict[int, dict[str, float]]) -> dict[str, float]:
    """The sum of every field over the hours (or days) read."""
    summed: dict[str, float] = {}
    for fields in by_hour.values():
        _add_into(summed, fields)
    return summed


def _number(raw: bytes) -> float:
    try:
        return int(raw)  # most counters are whole numbers: the cheap parse first
    except ValueError:
        pass
    value = float(raw)
    return int(value) if value.is_integer() and math.isfinite(value) else value
