"""Hours of the week (rules/hours.py): spans, days, wrapping past midnight, time zones."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from rules import hours


def at(text: str, zone: str = "Europe/Berlin") -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp() * 1000)


def test_a_day_span_holds_inside_and_not_at_its_end():
    """09:00-18:00: 09:00 and 17:59 are in, 18:00 and 08:59 are out."""
    span = hours.Hours(*hours.span("09:00-18:00"), zone="Europe/Berlin")
    assert span.contains(at("2026-11-23T09:00")) and span.contains(at("2026-11-23T17:59"))
    assert not span.contains(at("2026-11-23T18:00")) and not span.contains(at("2026-11-23T08:59"))


def test_a_span_past_midnight_wraps():
    """21:00-09:00 holds late in the evening and early in the morning, not at noon."""
    quiet = hours.Hours(*hours.span("21:00-09:00"))
    assert quiet.contains(at("2026-11-23T22:30"), "Europe/Berlin")
    assert quiet.contains(at("2026-11-24T06:00"), "Europe/Berlin")
    assert not quiet.contains(at("2026-11-23T12:00"), "Europe/Berlin")


def test_the_zone_asked_for_is_used_when_the_span_has_none():
    """The same instant is quiet in Berlin (22:30) and not in New York (16:30); no zone means UTC."""
    quiet = hours.Hours(*hours.span("21:00-09:00"))
    instant = at("2026-11-23T22:30")
    assert quiet.contains(instant, "Europe/Berlin") and not quiet.contains(instant, "America/New_York")
    assert quiet.contains(instant, None)  # 21:30 UTC


def test_days_limit_the_span_and_the_early_morning_belongs_to_the_day_before():
    """mon-fri 22:00-02:00: Friday 23:00 and Saturday 01:00 are in; Saturday 23:00 is out."""
    span = hours.Hours(*hours.span("22:00-02:00"), hours.days("mon-fri"), "Europe/Berlin")
    assert span.contains(at("2026-11-27T23:00")) and span.contains(at("2026-11-28T01:00"))
    assert not span.contains(at("2026-11-28T23:00"))


@pytest.mark.parametrize("text, expected", [
    ("mon-fri", {0, 1, 2, 3, 4}), ("sat,sun", {5, 6}), ("fri-mon", {4, 5, 6, 0}), ("every day", set(range(7))),
    ("MON-wed, sun", {0, 1, 2, 6}),
])
def test_days_as_written(text, expected):
    assert hours.days(text) == expected


@pytest.mark.parametrize("text", ["9-17", "09:00-25:00", "09:00-09:00", "nine to five", "09:60-10:00"])
def test_bad_spans_say_what_is_expected(text):
    with pytest.raises(hours.HoursError, match="like 09:00-18:00"):
        hours.span(text)


def test_bad_days_say_what_is_expected():
    with pytest.raises(hours.HoursError, match="days must be like mon-fri or sat,sun, got 'weekdays'"):
        hours.days("weekdays")
