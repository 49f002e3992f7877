"""Hourly counters and their day sums (reports/hours.py): a report over any period adds up to the same
figures as its hours, whether it starts and ends on whole days or in the middle of one."""

import random

import pytest

from reports import hours

TEMPLATE = "hr:test:report:{hour}"
DAY_0 = 20_000 * 24  # the first hour of an epoch day


@pytest.fixture
def counted(redis):
    """Counts at random instants over four days; what each hour got, as written."""
    rng = random.Random(7)
    written: dict[int, dict[str, float]] = {}
    pipe = redis.pipeline(transaction=False)
    for _ in range(600):
        at = (DAY_0 + rng.uniform(0, 4 * 24)) * 3600
        fields = {rng.choice(["a", "b|x|y", "c"]): 1, "seconds": 1.5}
        hours.add(pipe, TEMPLATE, at, fields)
        into = written.setdefault(hours.hour_of(at), {})
        for field, amount in fields.items():
            into[field] = into.get(field, 0) + amount
    pipe.execute()
    return written


@pytest.mark.parametrize("since, until", [
    (DAY_0, DAY_0 + 4 * 24 - 1),  # whole days only
    (DAY_0 + 5, DAY_0 + 3 * 24 + 2),  # edges in the first and the last day
    (DAY_0 + 30, DAY_0 + 40),  # inside one day
    (DAY_0 + 23, DAY_0 + 24),  # across one midnight, no whole day
])
def test_a_period_sums_to_its_hours_by_day_and_in_total(redis, counted, since, until):
    reader = hours.Reader(redis, since, until)
    inside = {hour: fields for hour, fields in counted.items() if since <= hour <= until}
    assert reader.total(TEMPLATE) == hours.total(inside)
    by_day: dict[int, dict[str, float]] = {}
    for hour, fields in inside.items():
        for field, amount in fields.items():
            by_day.setdefault(hour // 24, {})[field] = by_day.get(hour // 24, {}).get(field, 0) + amount
    assert reader.by_day(TEMPLATE) == by_day


def test_hourly_reads_only_the_fields_asked_for(redis, counted):
    reader = hours.Reader(redis, DAY_0, DAY_0 + 47)
    got = reader.hourly(TEMPLATE, ("a", "seconds"))
    expected = {hour: {field: fields[field] for field in ("a", "seconds") if field in fields}
                for hour, fields in counted.items() if hour <= DAY_0 + 47}
    assert got == expected
